"""Find the app's own health endpoint, so the image's HEALTHCHECK asks the app what it knows.

Why: a health check on a path the app does not serve keeps every container unhealthy —
in `compose up --wait`, in a deploy, in production. Real apps already have one under
some conventional name (`/health`, `/healthz`, `/-/health`, `/api/v1/utils/health-check/`,
`/up`, `/ping`, `/status`...), declared on a router with a prefix, on a blueprint, or in
a Django URLconf behind `include()`. This module reads those declarations statically
(shipyard.detect.routes, shipyard.detect.django_urls) and picks the best health-like
GET route without path parameters.

The choice, most specific name first: a `health` word (health, healthz, health-check,
_health) beats liveness/readiness names (livez, readyz), which beat the generic ones
(heartbeat, up, ping, alive), which beat `status`; then the shorter path; then the first
declared. No route declared → a path named by a constant (HEALTH_ENDPOINT = "/health",
shipyard.detect.healthconst). Nothing found → the fallback probe (shipyard.healthprobe):
`/`, where any answer below 500 means alive.
"""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.detect.django_urls import find_django_routes
from shipyard.detect.healthconst import health_constants
from shipyard.detect.pysource import SourceIndex
from shipyard.detect.routes import Route, find_routes
from shipyard.healthprobe import HealthProbe, fallback

# Health-like path segments and their rank (lower is better).
_NAMES: dict[str, int] = {
    "health": 0, "healthz": 0, "healthcheck": 0, "health-check": 0, "health_check": 0,
    "livez": 1, "readyz": 1, "liveness": 1, "readiness": 1, "live": 1, "ready": 1,
    "heartbeat": 2, "up": 2, "ping": 2, "alive": 2,
    "status": 3,
}
# Segments that may follow a health word: /health/live, /healthz/ready.
_QUALIFIERS = frozenset({"live", "liveness", "ready", "readiness", "alive"})
_SUFFIXES = (".json",)


def health_rank(path: str) -> tuple[int, int] | None:
    """(name rank, qualifier count) when path is a health-like route, else None."""
    if "{" in path or "<" in path or ":" in path or "*" in path:
        return None  # path parameters: no single URL to probe
    segments = [s for s in path.strip("/").split("/") if s]
    for position in range(len(segments) - 1, -1, -1):
        word = _word(segments[position])
        tail = segments[position + 1:]
        if word in _NAMES and len(tail) <= 1 and all(_word(t) in _QUALIFIERS for t in tail):
            if word in _QUALIFIERS and position == len(segments) - 1 and position > 0 and \
                    _word(segments[position - 1]) in _NAMES:
                continue  # /health/live: ranked by its health word, below
            return _NAMES[word], len(tail)
    return None


def _word(segment: str) -> str:
    word = segment.lower().lstrip("_-")
    for suffix in _SUFFIXES:
        word = word.removesuffix(suffix)
    return word


def best_route(routes: Sequence[Route]) -> Route | None:
    """The most health-like route (see the module docstring for the order)."""
    ranked = [(rank, len(route.path.strip("/").split("/")), order, route)
              for order, route in enumerate(routes)
              if (rank := (0, 0) if route.health_package else health_rank(route.path))
              is not None]
    return min(ranked, key=lambda item: item[:3])[3] if ranked else None


def find_health_route(root_index: SourceIndex, *, django_settings: str | None = None,
                      django: bool = False, app_target: str = "") -> Route | None:
    """The app's health route, from its Django URLconf or its FastAPI/Starlette/Flask
    routes (of the app app_target names, "pkg.main:app", when that is found), or None."""
    if not django:
        return best_route(find_routes(root_index, served=app_target.replace(":", ".")
                                      if app_target else None)) \
            or best_route(health_constants(root_index))
    routes, mounted = find_django_routes(root_index, django_settings)
    return best_route(routes + (find_routes(root_index, mounted) if mounted else []))


def choose_probe(configured: str | None, found: Route | None,
                 config_source: str = "[tool.shipyard]") -> HealthProbe:
    """One value for the Dockerfile, compose and `shipyard test`: the configured path
    wins, then the route found in the code, then the fallback probe of `/`."""
    if configured:
        return HealthProbe(configured, origin=f"from {config_source} health_path",
                           configured=True)
    if found is not None:
        return HealthProbe(found.path, origin=f"found at {found.where}")
    return fallback()
