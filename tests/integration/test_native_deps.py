"""Compiled dependencies, built for real: headers in the builder, their shared libraries
(found from the built extension's ELF entries) in the runtime image, no compiler there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_json, wait_healthy
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.fixture(scope="module")
def psycopg2_image(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[str]:
    project = tmp_path_factory.mktemp("native") / "psycopg2-app"
    shutil.copytree(PROJECTS / "native-psycopg2", project)
    result = init(project)
    assert any("psycopg2" in reason for reason in result.project.compiled)
    tag = f"shipyard-test/native-psycopg2:{project.parent.name}"
    build(docker_engine, project, tag)
    yield tag
    docker_engine.remove_images([tag])


def _installed(docker: Docker, image: str, package: str) -> bool:
    probe = docker.run(["run", "--rm", "--entrypoint", "dpkg-query", image,
                        "-W", "-f=${Status}", package], check=False)
    return probe.returncode == 0 and "install ok installed" in probe.stdout


def test_runtime_has_libpq_but_no_compiler_or_headers(docker_engine: Docker,
                                                      psycopg2_image: str) -> None:
    assert _installed(docker_engine, psycopg2_image, "libpq5")
    for package in ("build-essential", "gcc", "libpq-dev"):
        assert not _installed(docker_engine, psycopg2_image, package), package
    probe = docker_engine.run(["run", "--rm", "--entrypoint", "sh", psycopg2_image, "-c",
                               "command -v gcc cc make pg_config || echo none"])
    assert probe.stdout.strip() == "none"


def test_compiled_extension_imports_as_the_non_root_user(docker_engine: Docker,
                                                         psycopg2_image: str) -> None:
    probe = docker_engine.run([
        "run", "--rm", "--read-only", "--entrypoint", "python", psycopg2_image, "-c",
        "import os, psycopg2, psycopg2._psycopg as ext;"
        " print(os.getuid(), psycopg2.__libpq_version__, ext.__file__)"])
    uid, libpq, module = probe.stdout.split()
    assert uid != "0"
    assert int(libpq) >= 150000  # built against Debian bookworm's libpq 15
    assert module.startswith("/opt/venv/") and module.endswith(".so")


def test_the_app_runs_hardened_and_answers(docker_engine: Docker, psycopg2_image: str) -> None:
    with hardened_container(docker_engine, psycopg2_image) as container:
        wait_healthy(container)
        status, body = http_json(f"{container.url}/healthz")
        assert status == 200 and body["status"] == "ok"  # type: ignore[index]
