"""The health probe as one value, shared by `init` (which writes it) and `test` (which reads it).

Why a neutral module: the generated image is the single carrier of the health path —
`init` writes it into the Dockerfile's ENV, docker/healthcheck.py and the compose
healthcheck read it there, and `shipyard test` reads it back from the image's config.
The stages must not import each other, so the names of those variables and the rule
for what counts as "alive" live here, below all of them.

Two modes:
* a real health route (configured or found in the code): 2xx (or a redirect) is healthy;
* the fallback when the app has none: probe `/`, and ANY HTTP answer below 500 counts as
  alive (a 404 or a login redirect still proves the server is up and serving requests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PATH_ENV = "HEALTHCHECK_PATH"
ANY_ANSWER_ENV = "HEALTHCHECK_ANY_ANSWER"
"""Set to 1 in the fallback mode: any HTTP answer below 500 means alive."""
PROBE_HOST = "localhost"
"""The Host the probes send. A Django app answers 400 (DisallowedHost) to a Host its
ALLOWED_HOSTS lacks; `localhost` is the name an app's own defaults allow (a SITE_ROOT of
http://localhost:8000, django-environ examples), where 127.0.0.1:PORT rarely is."""
FALLBACK_PATH = "/"
UNMARKED_PATH = "/healthz"
"""What `shipyard test` probes on an image that carries no HEALTHCHECK_PATH (not from init)."""


@dataclass(frozen=True)
class HealthProbe:
    """Where the health check asks, how strictly, and why (for `init`'s report)."""

    path: str
    any_answer: bool = False
    """True in the fallback mode: every HTTP status below 500 counts as alive."""
    origin: str = ""
    """Why this path, e.g. "from [tool.shipyard] health_path", "found at app/api.py:12"."""
    configured: bool = False
    """Set by the user's configuration rather than found in the code."""

    def accepts(self, status: int) -> bool:
        """Is this HTTP status an answer of a live app?"""
        return accepts(status, any_answer=self.any_answer)

    def env(self) -> dict[str, str]:
        """The image's ENV entries that carry this probe."""
        values = {PATH_ENV: self.path}
        if self.any_answer:
            values[ANY_ANSWER_ENV] = "1"
        return values


def accepts(status: int, *, any_answer: bool) -> bool:
    """2xx/3xx for a real health route; anything below 500 in the fallback mode."""
    return status < 500 if any_answer else 200 <= status < 400


def fallback(origin: str = "no health route found") -> HealthProbe:
    return HealthProbe(FALLBACK_PATH, any_answer=True, origin=origin)


def from_image_env(env: Sequence[str] | Mapping[str, str]) -> HealthProbe | None:
    """The probe an image carries in its ENV (`docker inspect` .Config.Env), if any."""
    values = dict(env) if isinstance(env, Mapping) else dict(
        item.partition("=")[::2] for item in env)
    path = values.get(PATH_ENV, "")
    if not path.startswith("/"):
        return None
    return HealthProbe(path, any_answer=values.get(ANY_ANSWER_ENV, "") == "1",
                       origin=f"the image's {PATH_ENV}")
