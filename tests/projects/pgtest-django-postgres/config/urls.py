from django.db import connection
from django.http import JsonResponse
from django.urls import path


def healthz(request):
    """Which database engine answers, and that the PostgreSQL-only migration ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('shop_ticket_seq')")
        ticket = cursor.fetchone()[0]
    return JsonResponse({"vendor": connection.vendor, "ticket": ticket})


urlpatterns = [path("healthz", healthz)]
