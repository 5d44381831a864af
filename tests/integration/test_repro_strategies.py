"""`--verify-repro` per install strategy: two builds of one commit have the same files.

The Django example (pip, pinned requirements) is covered in test_build_publish.py; this
covers a uv lock with the project installed as a package (the FastAPI example, whose
`*.dist-info/uv_cache.json` held the source tree's wall-clock mtimes: issue 19), a
pyproject without a lock (package mode: the project in its own prefix), a classic
setup.py, and a requirements file with a local path package, installed by uv (issue 12
moved requirements files from pip to uv; issue 19 item 1 asks for both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.gitserver import commit_all
from fixtures.strategy_projects import pyproject_project, requirements_project, setup_py_project
from shipyard.imagebuild.run import build, verify_repro
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMIT_DATE = "2026-11-20T10:00:00+00:00"


def _fastapi_example(root: Path) -> Path:
    shutil.copytree(EXAMPLES / "fastapi-app", root, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", ".venv"))
    return root


@pytest.mark.parametrize("make", [_fastapi_example, pyproject_project, setup_py_project,
                                  requirements_project],
                         ids=["uv-lock-package", "pyproject-no-lock-package", "setup-py",
                              "requirements-uv"])
def test_verify_repro_passes_per_strategy(
    docker_engine: Docker, tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    project = make(tmp_path / "app")
    init(project)
    with (project / ".gitignore").open("a") as handle:
        handle.write("shipyard-build.json\nshipyard-sbom.cdx.json\n")
    commit_all(project, COMMIT_DATE)
    ca = ca_secrets()
    ca_bundle = ca[0].src if ca else None
    env = dict(os.environ)
    report = build(project, env=env, docker=docker_engine, ca_bundle=ca_bundle)
    try:
        result = verify_repro(project, report, env=env, docker=docker_engine,
                              ca_bundle=ca_bundle)
        assert result.differences == []
        assert result.second != result.first
    finally:
        docker_engine.remove_images(report.tags)
