"""`--verify-repro` per install strategy: two builds of one commit have the same files.

The Django example (pip, pinned requirements) is covered in test_build_publish.py; this
covers the uv lock with the project installed as a package (the FastAPI example), whose
`*.dist-info/uv_cache.json` held the source tree's wall-clock mtimes (issue 19).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
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


@pytest.mark.parametrize("example", ["fastapi-app"])
def test_verify_repro_passes_for_uv_lock_package_install(
    docker_engine: Docker, tmp_path: Path, example: str
) -> None:
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", ".venv"))
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
