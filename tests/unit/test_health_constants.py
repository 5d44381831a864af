"""A health path named by a constant, when no route declares one (routes added at run time
from a setting, like pypiserver's `HEALTH_ENDPOINT`): sources in, the probed path out."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree
from shipyard.detect.health import find_health_route
from shipyard.detect.pysource import SourceIndex

DEFAULTS_CLASS = 'class DEFAULTS:\n    PORT = 8080\n    HEALTH_ENDPOINT = "/health"\n'
FLASK_ROUTE = ('from flask import Flask\napp = Flask(__name__)\n\n'
               '@app.get("/healthz")\ndef alive():\n    return "ok"\n')

CASES: list[tuple[str, dict[str, str], str | None]] = [
    ("class-attribute", {"srv/config.py": DEFAULTS_CLASS}, "/health"),
    ("module-constant", {"srv/settings.py": 'HEALTHCHECK_URL = "/-/ping"\n'}, "/-/ping"),
    ("annotated-setting", {"srv/settings.py": (
        "class Settings:\n    health_check_path: str = '/status/health'\n")}, "/status/health"),
    ("health-path-name", {"srv/app.py": 'HEALTH_PATH = "/healthz"\n'}, "/healthz"),
    ("other-services-url-is-not-ours", {"srv/app.py": 'UPSTREAM_HEALTH_URL = "/health"\n'}, None),
    ("a-full-url-is-not-a-path", {"srv/app.py": 'HEALTH_URL = "http://db:8080/health"\n'}, None),
    ("inside-a-function-is-not-a-constant", {"srv/app.py": (
        'def f():\n    HEALTH_PATH = "/health"\n')}, None),
    ("a-declared-route-wins", {"app.py": FLASK_ROUTE, "srv/config.py": DEFAULTS_CLASS},
     "/healthz"),
    ("tests-are-not-read", {"tests/conftest.py": DEFAULTS_CLASS}, None),
]


@pytest.mark.parametrize(("files", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_health_constant(tmp_path: Path, files: dict[str, str], path: str | None) -> None:
    found = find_health_route(SourceIndex(write_tree(tmp_path, files)))
    assert (found.path if found else None) == path


def test_where_names_the_constant(tmp_path: Path) -> None:
    found = find_health_route(SourceIndex(write_tree(tmp_path, {"srv/config.py": DEFAULTS_CLASS})))
    assert found is not None and found.where == "srv/config.py:3"
