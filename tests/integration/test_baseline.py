"""The test bed works end to end: the naive single-stage Dockerfile from seed 000 builds
with the real engine and BuildKit, and the container answers on its health endpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.containers import build, plain_container, wait_http
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
BASELINES = REPO / "benchmarks" / "baselines"


def test_naive_baseline_builds_and_answers(docker_engine: Docker, tmp_path: Path) -> None:
    context = tmp_path / "django-app"
    shutil.copytree(REPO / "examples" / "django-app", context,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "var"))
    shutil.copy2(BASELINES / "django-naive-entrypoint.sh", context / "docker-entrypoint.sh")
    tag = f"shipyard-test/naive:{tmp_path.name}"
    build(docker_engine, context, tag, dockerfile=BASELINES / "django-naive.Dockerfile")
    try:
        with plain_container(docker_engine, tag) as container:
            _, body = wait_http(f"{container.url}/healthz", container=container)
            assert json.loads(body)["status"] == "ok"
        # the naive image keeps the compiler: the very thing the generated one avoids
        gcc = docker_engine.run(["run", "--rm", "--entrypoint", "sh", tag, "-c",
                                 "command -v gcc"], check=False)
        assert gcc.returncode == 0
    finally:
        docker_engine.remove_images([tag])
