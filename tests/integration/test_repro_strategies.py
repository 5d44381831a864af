"""`--verify-repro` per install strategy: two builds of one commit have the same files.

The Django example (pip, pinned requirements) is covered in test_build_publish.py; this
covers a uv lock with the project installed as a package (the FastAPI example, whose
`*.dist-info/uv_cache.json` held the source tree's wall-clock mtimes: issue 19), a
pyproject without a lock (package mode, pip) and a classic setup.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.strategy_projects import pyproject_project, setup_py_project
from shipyard.imagebuild.run import build, verify_repro
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMIT_DATE = "2026-11-20T10:00:00+00:00"


def _commit_all(project: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "app"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, env=env,
                       capture_output=True)


def _fastapi_example(root: Path) -> Path:
    shutil.copytree(EXAMPLES / "fastapi-app", root, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", ".venv"))
    return root


@pytest.mark.parametrize("make", [_fastapi_example, pyproject_project, setup_py_project],
                         ids=["uv-lock-package", "pyproject-no-lock-package", "setup-py"])
def test_verify_repro_passes_per_strategy(
    docker_engine: Docker, tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    project = make(tmp_path / "app")
    init(project)
    with (project / ".gitignore").open("a") as handle:
        handle.write("shipyard-build.json\nshipyard-sbom.cdx.json\n")
    _commit_all(project)
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
