"""The dependency strategies no bundled example uses, built and run for real:
`[project.dependencies]` without a lock (package mode) and a classic setup.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_get, wait_healthy
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]

APP = '''from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "strategy": "%s"}
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "hello"
version = "1.0.0"
dependencies = ["flask==3.1.0", "gunicorn==23.0.0"]

[tool.setuptools]
packages = ["hello"]
'''

SETUP_PY = '''from setuptools import setup

setup(
    name="hello",
    version="1.0.0",
    py_modules=["hello"],
    install_requires=["flask==3.1.0", "gunicorn==23.0.0"],
    extras_require={"yaml": ["PyYAML==6.0.2"]},
)
'''


def _pyproject_project(root: Path) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "__init__.py").write_text(APP % "pyproject")
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def _setup_py_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "hello.py").write_text(APP % "setuptools")
    (root / "setup.py").write_text(SETUP_PY)
    return root


@pytest.mark.parametrize(("make", "kind", "mode", "extras"), [
    (_pyproject_project, "pyproject", "package", []),
    (_setup_py_project, "setuptools", "source", ["yaml"]),
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
