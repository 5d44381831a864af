"""Apps that need a newer Python than the default get it: init → BuildKit build → a
hardened container running that Python and turning healthy.

Each fixture imports a module of its Python's standard library that older versions
lack, so the build-time smoke test fails on a too-old base image: a wrong choice
cannot pass. The 3.13 app says so only with requires-python; the 3.14 app's pin
sits at the repository root above the app directory, as in a uv workspace, and it
compiles a C extension, so its builder apt-gets a compiler on the 3.14 base.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.containers import build, ca_secrets, hardened_container, http_json, wait_healthy
from shipyard.config import load_config
from shipyard.imagebuild.run import build as shipyard_build
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECTS = Path(__file__).resolve().parents[1] / "projects"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def _runs_and_turns_healthy(docker: Docker, tag: str, version: str) -> dict[str, object]:
    """The image's python is `version`, and a hardened container of it turns healthy;
    returns its health answer."""
    probe = docker.run(["run", "--rm", "--entrypoint", "python", tag, "-c",
                        "import sys; print('%d.%d' % sys.version_info[:2])"])
    assert probe.stdout.strip() == version
    with hardened_container(docker, tag) as container:
        wait_healthy(container)
        status, health = http_json(f"{container.url}/healthz")
    assert status == 200 and isinstance(health, dict)
    assert health["status"] == "ok"
    assert str(health["python"]).startswith(f"{version}.")
    return health


def test_requires_python_313_builds_on_313(docker_engine: Docker, tmp_path: Path) -> None:
    project = tmp_path / "bookmarks"
    shutil.copytree(PROJECTS / "pyver-requires-python", project)
    result = init(project, ci="none")
    assert result.project.python_version == "3.13"
    assert "requires-python >=3.13 in pyproject.toml" in result.project.python_source
    assert "ARG PYTHON_IMAGE=python:3.13-slim-trixie\n" in (project / "Dockerfile").read_text()
    tag = f"shipyard-test/pyver-313:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        _runs_and_turns_healthy(docker_engine, tag, "3.13")
    finally:
        docker_engine.remove_images([tag])


def test_repository_root_pin_314_builds_with_shipyard_build_and_passes_its_tests(
    docker_engine: Docker, tmp_path: Path
) -> None:
    repository = tmp_path / "monorepo"
    shutil.copytree(PROJECTS / "pyver-monorepo-pin", repository)
    app = repository / "backend"
    _git(repository, "init", "-q", "-b", "main")
    result = init(app, ci="none")
    assert (result.project.python_version, result.project.python_source) == (
        "3.14", ".python-version in ../ (repository root)")
    _git(repository, "add", "-A")
    _git(repository, "commit", "-q", "-m", "packaged")  # a clean tree: a CI build, not local
    ca = ca_secrets()
    report = shipyard_build(app, env={**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main"},
                            docker=docker_engine, ca_bundle=ca[0].src if ca else None,
                            report_path=tmp_path / "report.json")
    try:
        labels = docker_engine.inspect(report.image_id)["Config"]["Labels"]
        assert labels["org.opencontainers.image.base.name"] == "python:3.14-slim-trixie"
        health = _runs_and_turns_healthy(docker_engine, report.image_id, "3.14")
        assert str(health["compiled_for"]).startswith("3.14.")  # built on 3.14's headers
        tested = run_image_tests(report.image_id, load_config(app), app, docker=docker_engine)
        assert tested.passed, [f"{r.id}: {r.reason}" for r in tested.failures]
    finally:
        docker_engine.remove_images(report.refs)
