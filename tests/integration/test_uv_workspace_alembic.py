"""A uv workspace member with Alembic and a compiled dependency, `init`ed and built for real
(the shape of full-stack-fastapi-template's backend: the build context is the workspace
root, the member is built in /src/backend): every path the Dockerfile reads from the
context or the builder is the member's, the compiled module's library is in the runtime
image, and the container migrates its SQLite database at start and serves the table.

The workspace is written from scratch (tests/projects/fixmerge-uv-workspace-alembic).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.containers import hardened_container, http_json, wait_healthy
from fixtures.uv_workspace import commit
from shipyard.imagebuild.run import build
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECT = Path(__file__).resolve().parents[1] / "projects" / "fixmerge-uv-workspace-alembic"


def test_workspace_member_with_alembic_and_psycopg2_builds_migrates_and_serves(
        docker_engine: Docker, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True)
    commit(root, "workspace")
    member = root / "backend"
    result = init(member)
    assert result.written
    assert any("psycopg2" in reason for reason in result.project.compiled)
    dockerfile = (member / "Dockerfile").read_text(encoding="utf-8")
    assert "source=backend/docker/runtime_libs.py" in dockerfile
    assert "COPY --from=builder /src/backend/alembic.ini /app/alembic.ini" in dockerfile
    commit(root, "shipyard init")
    refs: list[str] = []
    try:
        built = build(member)
        refs += built.refs
        with hardened_container(docker_engine, built.image_id) as container:
            wait_healthy(container, timeout=180)
            status, body = http_json(f"{container.url}/")
            assert status == 200, container.logs()
            assert body == {"issues": ["migrated at start"]}, container.logs()
            assert "applying database migrations (alembic" in container.logs()
            status, health = http_json(f"{container.url}/healthz")
            assert status == 200 and health["libpq"] >= 150000  # type: ignore[index]
        probe = docker_engine.run(["run", "--rm", "--entrypoint", "sh", built.image_id, "-c",
                                   "command -v gcc cc pg_config || echo none"])
        assert probe.stdout.strip() == "none"  # the compiler stayed in the builder
    finally:
        docker_engine.remove_images(refs)
