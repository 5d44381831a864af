"""Two shapes of real apps that used to die on their first start, `init`ed and built for real:

- the Flask tutorial's (flaskr): SQLite in the instance folder, schema made by a one-off
  `flask init-db` that drops the tables — it runs on the first start of a data volume
  only, so the page serves and rows survive a restart;
- microblog's: log files in ./logs unless LOG_TO_STDOUT is set — the image sets it, so
  the container turns healthy on the read-only root and logs to stdout.
"""

from __future__ import annotations

import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from fixtures.containers import (
    Container,
    build,
    hardened_container,
    http_get,
    http_json,
    wait_healthy,
)
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def _copy(name: str, tmp_path: Path) -> Path:
    project = tmp_path / name
    shutil.copytree(PROJECTS / name, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def _sign(container: Container, who: str) -> int:
    data = urllib.parse.urlencode({"who": who}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{container.url}/sign", data=data, timeout=10) as response:
        return int(response.status)


def test_init_db_runs_once_per_data_volume(docker_engine: Docker, tmp_path: Path) -> None:
    project = _copy("firstrun-init-db", tmp_path)
    result = init(project)
    assert [f.command for f in result.project.first_start] == [
        "flask --app 'guestbook:create_app()' init-db"]
    tag = f"shipyard-test/guestbook:{tmp_path.name}"
    build(docker_engine, project, tag)
    volume = f"shipyard-test-guestbook-{time.monotonic_ns()}"
    try:
        with hardened_container(docker_engine, tag, volume=volume) as first:
            wait_healthy(first)
            assert http_json(f"{first.url}/") == (200, {"entries": []}), first.logs()
            assert _sign(first, "ada") == 201
            assert "first start on this data volume: initialising the database" in first.logs()
        with hardened_container(docker_engine, tag, volume=volume) as second:
            wait_healthy(second)
            status, body = http_json(f"{second.url}/")
            assert (status, body) == (200, {"entries": ["ada"]}), second.logs()
            assert "initialising the database" not in second.logs()
    finally:
        docker_engine.run(["volume", "rm", "-f", volume], check=False)
        docker_engine.remove_images([tag])


def test_log_switch_lets_the_app_start_on_a_read_only_root(docker_engine: Docker,
                                                           tmp_path: Path) -> None:
    project = _copy("firstrun-log-switch", tmp_path)
    assert init(project).project.env["LOG_TO_STDOUT"] == "1"
    tag = f"shipyard-test/notes:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            assert http_get(f"{container.url}/health")[0] == 200
            assert "notes startup" in container.logs()  # to stdout, not to ./logs
    finally:
        docker_engine.remove_images([tag])
