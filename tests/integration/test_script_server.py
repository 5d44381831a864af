"""A console-script server (pypiserver's shape), `init`ed, built for real and run by
`shipyard test`: the entrypoint runs `tinyrepo serve --port "$PORT" --host 0.0.0.0`
(options read from its argparse code), the health check asks the route its constant
names (`HEALTH_ENDPOINT = "/health"`), and the server — which installs no SIGTERM
handler — stops at once on `docker stop` through the launcher.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.containers import build
from shipyard.config import Config, TestConfig
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECT = Path(__file__).resolve().parents[1] / "projects" / "scriptserver-argparse"


@pytest.fixture
def built(docker_engine: Docker, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    project = tmp_path / "tinyrepo"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    tag = f"shipyard-test/tinyrepo:{tmp_path.name}".lower()
    build(docker_engine, project, tag)
    yield tag, project
    docker_engine.remove_images([tag])


def test_console_script_server_serves_on_port_and_stops_on_sigterm(
        docker_engine: Docker, built: tuple[str, Path]) -> None:
    tag, project = built
    config = Config(project_dir=project, test=TestConfig(health_timeout=60.0, stop_grace=5))
    report = run_image_tests(tag, config, project, docker=docker_engine)
    results = {r.id: f"{r.status}: {r.reason}" for r in report.results}
    for check in ("runtime.healthy", "runtime.http", "runtime.stop"):
        assert results[check].startswith("pass"), results
    assert "/health → 200" in results["runtime.http"], results
    assert "exit code 0" in results["runtime.stop"], results
    entrypoint = (project / "docker/entrypoint.sh").read_text()
    assert ('exec python /usr/local/lib/shipyard/launch.py tinyrepo serve --port'
            ' "${PORT:-8000}" --host 0.0.0.0') in entrypoint
    assert "HEALTHCHECK_PATH=/health" in docker_engine.inspect(tag)["Config"]["Env"]
