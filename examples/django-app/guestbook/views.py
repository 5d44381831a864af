"""Project-level views that do not belong to any app, i.e. the health check."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def database_status() -> str:
    """Return ``"ok"`` if the default database answers a trivial query, else ``"error"``.

    ``SELECT 1`` checks connectivity (for SQLite: that the data directory
    exists and is writable enough to open the file) without depending on the
    schema, so the probe stays cheap and does not lock tables.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: database query failed")
        return "error"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report liveness and database readiness for load balancers and ``docker run`` tests.

    Returns 200 when the database answers and 503 otherwise, so orchestrators
    take an instance out of rotation when its volume or database goes away.
    """
    database = database_status()
    healthy = database == "ok"
    return JsonResponse(
        {
            "status": "ok" if healthy else "error",
            "database": database,
            "version": settings.APP_VERSION,
        },
        status=200 if healthy else 503,
    )
