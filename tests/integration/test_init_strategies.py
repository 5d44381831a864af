"""The dependency strategies no bundled example uses, built and run for real:
`[project.dependencies]` without a lock (package mode) and a classic setup.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_get, wait_healthy
from fixtures.strategy_projects import pyproject_project, setup_py_project
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize(("make", "kind", "mode", "extras"), [
    (pyproject_project, "pyproject", "package", []),
    (setup_py_project, "setuptools", "source", ["yaml"]),
], ids=["pyproject-no-lock", "setup-py-with-extra"])
def test_strategy_builds_and_runs(docker_engine: Docker, tmp_path: Path, make: object,
                                  kind: str, mode: str, extras: list[str]) -> None:
    project = make(tmp_path / "hello")  # type: ignore[operator]
    result = init(project, extras=extras)
    assert result.project.dependencies.kind == kind
    assert result.project.install_mode == mode
    assert any("not repeatable" in w for w in result.project.warnings)  # no lock: said so
    tag = f"shipyard-test/hello-{kind}:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_get(f"{container.url}/healthz")
            assert status == 200 and kind in body
        if extras:  # the extra's packages were installed too
            docker_engine.run(["run", "--rm", tag, "python", "-c", "import yaml"])
    finally:
        docker_engine.remove_images([tag])
