"""`--verify-repro` for the strategies whose sources are not a plain index: a Poetry lock
(installed from the lock by pip, hash-checked, without Poetry) and a private git
dependency cloned over ssh at build time (issue 19 item 1).

Each builds once, runs `shipyard test` on the image where it says something new, and
builds again without cache: the two images must hold the same files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.gitserver import GitServer, commit_all
from fixtures.poetry_project import poetry_project
from shipyard.config import load_config
from shipyard.imagebuild.run import build, verify_repro
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMIT_DATE = "2026-11-20T10:00:00+00:00"


def _commit(project: Path) -> None:
    with (project / ".gitignore").open("a") as handle:
        handle.write("shipyard-build.json\nshipyard-sbom.cdx.json\n")
    commit_all(project, COMMIT_DATE)


def _ca_bundle() -> Path | None:
    ca = ca_secrets()
    return Path(ca[0].src) if ca else None


def test_poetry_lock_installs_without_poetry_passes_test_and_repeats(
    docker_engine: Docker, tmp_path: Path
) -> None:
    project = poetry_project(tmp_path / "app")
    init(project)
    dockerfile = (project / "Dockerfile").read_text()
    assert "poetry install" not in dockerfile and "--require-hashes" in dockerfile
    _commit(project)
    env = dict(os.environ)
    report = build(project, env=env, docker=docker_engine, ca_bundle=_ca_bundle())
    try:
        tested = run_image_tests(report.image_id, load_config(project), project,
                                 docker=docker_engine)
        assert tested.passed, [f"{r.id}: {r.reason}" for r in tested.failures]
        result = verify_repro(project, report, env=env, docker=docker_engine,
                              ca_bundle=_ca_bundle())
        assert result.differences == []
        assert result.second != result.first
    finally:
        docker_engine.remove_images(report.tags)


@pytest.mark.ssh
def test_private_git_dependency_repeats(
    docker_engine: Docker, tmp_path: Path, git_server: GitServer
) -> None:
    project = tmp_path / "flask-app"
    shutil.copytree(EXAMPLES / "flask-app", project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var"))
    requirements = project / "requirements.txt"
    line = next(x for x in requirements.read_text().splitlines() if x.startswith("greetings @"))
    requirements.write_text(requirements.read_text().replace(line, git_server.pip_requirement))
    init(project)  # pins the git server's host key in docker/known_hosts
    _commit(project)
    env = dict(os.environ)
    options = {"ssh": (f"default={git_server.key_path}",), "network": "host"}
    report = build(project, env=env, docker=docker_engine, ca_bundle=_ca_bundle(), **options)
    try:
        result = verify_repro(project, report, env=env, docker=docker_engine,
                              ca_bundle=_ca_bundle(), **options)
        assert result.differences == []
    finally:
        docker_engine.remove_images(report.tags)
