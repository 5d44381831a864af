"""A uv workspace member (lock and .python-version at the repository root): `init` → `build`
works, and changing [tool.shipyard] keeps the dependency layer cached.

The workspace is written from scratch (tests/fixtures/uv_workspace.py).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from fixtures.uv_workspace import commit, make_workspace
from shipyard.imagebuild.run import build
from shipyard.init import init
from shipyard.tools import buildlog
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _step(log: list[str], needle: str) -> buildlog.Vertex:
    found = [v for v in buildlog.parse("\n".join(log)) if needle in v.name]
    assert found, f"no build step with {needle!r}"
    return found[0]


def test_workspace_member_builds_and_tool_shipyard_keeps_the_dependency_layer(
        docker_engine: Docker, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    member = make_workspace(root, library=True)  # the app imports libs/greeting, a member
    # Dependency data never built before (an empty dependency group of a unique name): the
    # first build must run the sync and the second reuse it, whatever BuildKit's cache
    # already holds from earlier runs (a test that passed on a warm cache hid a real miss).
    pyproject_root = root / "pyproject.toml"
    pyproject_root.write_text(pyproject_root.read_text(encoding="utf-8").replace(
        "dev = []", f"dev = []\nrun-{uuid.uuid4().hex[:8]} = []"), encoding="utf-8")
    result = init(member)
    assert result.written
    assert not any("without pinned versions" in w for w in result.project.warnings)
    commit(root, "shipyard init")
    refs: list[str] = []
    try:
        first_log: list[str] = []
        first = build(member, on_output=first_log.append)
        refs += first.refs
        assert not first.unique_tag.endswith("-dirty")
        listing = docker_engine.run(["run", "--rm", "--entrypoint", "python", first.image_id,
                                     "-c", "import svc.main, greeting, shutil; "
                                     "print(shutil.which('svc'), greeting.WORD)"])
        assert listing.stdout.strip() == "/opt/venv/bin/svc ok"
        assert not _step(first_log, "--no-install-workspace").cached  # fresh data: it ran

        pyproject = member / "pyproject.toml"
        pyproject.write_text(pyproject.read_text(encoding="utf-8")
                             + f'\n[tool.shipyard]\nimage = "acme/svc-{uuid.uuid4().hex[:8]}"\n\n'
                               '[tool.shipyard.test]\nhealth_timeout = 60\n', encoding="utf-8")
        commit(root, "configure shipyard")
        second_log: list[str] = []
        second = build(member, on_output=second_log.append)
        refs += second.refs
        assert not second.unique_tag.endswith("-dirty")  # the first build's report is ignored
        rerun = [v.name[:60] for v in buildlog.parse("\n".join(second_log))
                 if not v.cached and ("[builder" in v.name or "[uv" in v.name
                                      or "[dependency" in v.name)]
        assert _step(second_log, "--no-install-workspace").cached, rerun
        # never-seen pyproject bytes (a fresh image name): the project itself is rebuilt
        assert not _step(second_log, "--prefix /opt/project").cached
    finally:
        docker_engine.remove_images(refs)
