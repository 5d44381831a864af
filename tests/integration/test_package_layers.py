"""A code-only change leaves the runtime image's dependency layer alone, package mode too.

Issue 12: installing the project from its own pyproject.toml used to rewrite the whole
/opt/venv layer on every code change, so a push shipped every dependency again. The
project now goes into its own prefix and reaches the runtime as a thin layer after
the dependencies; this builds a package-mode project twice (before and after a code
edit) and compares diff ids in the RUNTIME image, for uv pip (a pyproject without a
lock), a uv lock (the FastAPI example) and a requirements file (source mode, where the
code's layer is the application's /app).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.strategy_projects import pyproject_project, requirements_project
from shipyard.image.layers import layer_for_step
from shipyard.init import init
from shipyard.tools.docker import BuildSpec, Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEPENDENCIES = "/opt/venv /opt/venv"  # the runtime's COPY of the dependencies
PROJECT = "/opt/project/ /opt/venv/"  # package mode: the runtime's COPY of the project
SOURCE = "/src /app"  # source mode: the runtime's COPY of the application


def _pyproject(root: Path) -> tuple[Path, Path, str]:
    return pyproject_project(root), root / "hello" / "__init__.py", PROJECT


def _fastapi_example(root: Path) -> tuple[Path, Path, str]:
    shutil.copytree(EXAMPLES / "fastapi-app", root, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", ".venv"))
    return root, root / "src" / "notes_api" / "main.py", PROJECT


def _requirements(root: Path) -> tuple[Path, Path, str]:
    return requirements_project(root), root / "app.py", SOURCE


@pytest.mark.parametrize("make", [_pyproject, _fastapi_example, _requirements],
                         ids=["pyproject-package", "uv-lock-package", "requirements-source"])
def test_code_only_change_keeps_the_runtime_dependency_layer(
    docker_engine: Docker, tmp_path: Path, make: Callable[[Path], tuple[Path, Path, str]]
) -> None:
    project, code, code_step = make(tmp_path / "app")
    init(project)
    run = uuid.uuid4().hex[:10]  # a fresh edit: BuildKit's cache is content-addressed
    before, after = f"shipyard-test/package-layers:{run}", f"shipyard-test/package-layers:{run}-b"
    # The runtime stage's first step is the same in every generated Dockerfile; a
    # --no-cache build of another project running meanwhile (a shared engine) re-executes
    # it and so every layer after it. A uid of its own keeps this build's chain apart.
    uid = {"APP_UID": str(20000 + int(run[:4], 16) % 10000)}
    try:
        docker_engine.build(BuildSpec(context=project, tags=(before,), secrets=ca_secrets(),
                                      build_args=uid))
        code.write_text(code.read_text() + f"\n# a code-only change {run}\n")
        docker_engine.build(BuildSpec(context=project, tags=(after,), secrets=ca_secrets(),
                                      build_args=uid))
        assert layer_for_step(docker_engine, before, DEPENDENCIES) == layer_for_step(
            docker_engine, after, DEPENDENCIES), "the code change rewrote the dependency layer"
        assert layer_for_step(docker_engine, before, code_step) != layer_for_step(
            docker_engine, after, code_step), "the code change did not reach the code layer"
        shown = docker_engine.run(["run", "--rm", "--entrypoint", "sh", after, "-c",
                                   f"grep -rl 'code-only change {run}' /opt/venv/lib /app"])
        assert shown.stdout.strip(), "the edited module is not in the runtime venv"
    finally:
        docker_engine.remove_images([before, after])
