"""The health check asks what the app really serves: `init` → real build → hardened run.

Two from-scratch apps of the shapes real projects have (issue 10, item 1): a FastAPI
service whose health route lives on a router under two prefixes (`/api` + `/health`,
no /healthz anywhere), and a Flask app with no health route at all, whose `/` only
redirects to a login page. Both must turn healthy, and `shipyard test` — which reads
the probe from the image's ENV — must accept them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_get, wait_healthy
from shipyard.config import Config
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROUTER_APP = {
    "requirements.txt": "fastapi==0.165.0\nuvicorn==0.54.0\n",
    "svc/__init__.py": "",
    "svc/settings.py": 'class Settings:\n    API_PREFIX: str = "/api"\n\n\nsettings = Settings()\n',
    "svc/ops.py": '''from fastapi import APIRouter

router = APIRouter(prefix="/health", tags=["ops"])


@router.get("")
def health() -> dict[str, str]:
    return {"status": "ok", "from": "router"}
''',
    "svc/main.py": '''from fastapi import FastAPI

from svc import ops
from svc.settings import settings

app = FastAPI()
app.include_router(ops.router, prefix=settings.API_PREFIX)


@app.get("/")
def home() -> dict[str, str]:
    return {"hello": "world"}
''',
}

NO_HEALTH_APP = {
    "requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\n",
    "app.py": '''from flask import Flask, redirect

app = Flask(__name__)


@app.get("/")
def home():
    return redirect("/login")


@app.route("/login", methods=["GET", "POST"])
def login():
    return "please log in", 401
''',
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def built(docker_engine: Docker, tmp_path: Path, request: pytest.FixtureRequest
          ) -> Iterator[tuple[str, Path]]:
    files, name = request.param
    project = _write(tmp_path / name, files)
    init(project)
    tag = f"shipyard-test/{name}:{tmp_path.name}".lower()
    build(docker_engine, project, tag)
    yield tag, project
    docker_engine.remove_images([tag])


def _runtime_results(docker: Docker, tag: str, project: Path) -> dict[str, str]:
    report = run_image_tests(tag, Config(project_dir=project), project, docker=docker)
    return {r.id: f"{r.status}: {r.reason}" for r in report.results if r.id in (
        "runtime.healthy", "runtime.http")}


@pytest.mark.parametrize("built", [(ROUTER_APP, "router-health")], indirect=True)
def test_health_route_on_a_prefixed_router_is_found_and_used(
        docker_engine: Docker, built: tuple[str, Path]) -> None:
    tag, project = built
    assert "HEALTHCHECK_PATH=/api/health" in (project / "Dockerfile").read_text()
    env = docker_engine.inspect(tag)["Config"]["Env"]
    assert "HEALTHCHECK_PATH=/api/health" in env
    assert not any(e.startswith("HEALTHCHECK_ANY_ANSWER=") for e in env)
    with hardened_container(docker_engine, tag) as container:
        wait_healthy(container)
        status, body = http_get(f"{container.url}/api/health")
        assert status == 200 and "router" in body
    results = _runtime_results(docker_engine, tag, project)
    assert results["runtime.healthy"].startswith("pass"), results
    assert results["runtime.http"].startswith("pass: GET http://127.0.0.1:"), results
    assert "/api/health → 200" in results["runtime.http"]


@pytest.mark.parametrize("built", [(NO_HEALTH_APP, "no-health")], indirect=True)
def test_app_without_health_route_is_alive_in_the_fallback_mode(
        docker_engine: Docker, built: tuple[str, Path]) -> None:
    tag, project = built
    env = docker_engine.inspect(tag)["Config"]["Env"]
    assert {"HEALTHCHECK_PATH=/", "HEALTHCHECK_ANY_ANSWER=1"} <= set(env)
    with hardened_container(docker_engine, tag) as container:
        wait_healthy(container)  # `/` only redirects to a 401 login page: alive all the same
        status, _ = http_get(f"{container.url}/login")
        assert status == 401
    results = _runtime_results(docker_engine, tag, project)
    assert results["runtime.healthy"].startswith("pass"), results
    assert "/ → 302" in results["runtime.http"] and "any answer below 500" in \
        results["runtime.http"], results
