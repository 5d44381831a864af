"""A uv workspace member's Dockerfile is built with the workspace root as context and the
member in /src/<member>: every path it reads — COPY and RUN bind-mount sources from the
context, and what the runtime stage copies from the builder's /src — must name the
member's file. The real case was full-stack-fastapi-template's backend: the native scan's
`source=docker/runtime_libs.py` and the Alembic copies `/src/alembic.ini` missed `backend/`.

The workspace (Alembic setup and a compiled dependency) is written from scratch:
tests/projects/fixmerge-uv-workspace-alembic.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from shipyard.generate.userfiles import context_sources
from shipyard.generate.uvproject import from_workspace_root
from shipyard.init import init

PROJECT = Path(__file__).resolve().parents[1] / "projects" / "fixmerge-uv-workspace-alembic"


def test_every_path_the_member_dockerfile_reads_exists_in_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT, root)
    (root / ".git").mkdir()
    member = root / "backend"
    result = init(member)
    assert result.written and result.project.workspace is not None
    assert result.project.migrations and result.project.needs_compiler
    dockerfile = (member / "Dockerfile").read_text()
    from_context = context_sources(dockerfile)
    assert "backend/docker/runtime_libs.py" in from_context
    assert [s for s in from_context if not (root / s).exists()] == []
    from_builder = re.findall(r"^COPY --from=builder /src(\S*) ", dockerfile, re.M)
    assert "/backend/alembic.ini" in from_builder
    assert [s for s in from_builder if not (root / s.lstrip("/")).exists()] == []


def test_from_workspace_root_moves_mounts_and_builder_copies_under_the_member() -> None:
    text = ("RUN --mount=type=bind,source=docker/runtime_libs.py,target=/tmp/r.py \\\n"
            "    --mount=type=bind,from=base,target=/run/base \\\n"
            "    --mount=type=cache,target=/root/.cache/uv python /tmp/r.py\n"
            "RUN --mount=type=bind,from=builder,source=/opt/list,target=/tmp/list true\n"
            "COPY --from=dependency-project /src/ /src/\n"
            "COPY --from=builder /src/alembic.ini /app/alembic.ini\n"
            "COPY --from=builder /opt/venv /opt/venv\n")
    assert from_workspace_root(text, "backend") == (
        "RUN --mount=type=bind,source=backend/docker/runtime_libs.py,target=/tmp/r.py \\\n"
        "    --mount=type=bind,from=base,target=/run/base \\\n"
        "    --mount=type=cache,target=/root/.cache/uv python /tmp/r.py\n"
        "RUN --mount=type=bind,from=builder,source=/opt/list,target=/tmp/list true\n"
        "COPY --from=dependency-project /src/ /src/\n"
        "COPY --from=builder /src/backend/alembic.ini /app/alembic.ini\n"
        "COPY --from=builder /opt/venv /opt/venv\n")


def test_a_rerun_reads_the_workspace_ignore_file_relative_to_the_workspace_root(
        tmp_path: Path) -> None:
    """Dockerfile.dockerignore filters the workspace root: a second init must not claim it
    leaves out the member's module (it let in `backend`), but must name the member's path
    when a line of the user's does leave it out."""
    root = tmp_path / "repo"
    shutil.copytree(PROJECT, root)
    (root / ".git").mkdir()
    member = root / "backend"
    init(member)
    again = init(member)
    assert [w for w in again.project.warnings if "leaves out" in w] == []
    ignore = member / "Dockerfile.dockerignore"
    ignore.write_text(ignore.read_text() + "backend/src/tracker/main.py\n")
    edited = init(member)
    assert any(w.startswith("Dockerfile.dockerignore leaves out backend/src/tracker/main.py,")
               for w in edited.project.warnings), edited.project.warnings
