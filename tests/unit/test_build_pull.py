"""`shipyard build --pull` (scheduled rebuilds, issue 15): the base is fetched again before
its digest is recorded, and the builder is told to pull too; a digest-pinned base is not
pulled (it cannot change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.gitserver import commit_all
from shipyard.imagebuild.run import make_plan
from shipyard.tools.buildah import buildah_argv

DIGEST = "sha256:" + "a" * 64


class StubDocker:
    """Answers what make_plan asks the engine and records every command."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, args: list[str], **_: Any) -> None:
        self.calls.append(list(args))

    def registry_digest(self, name: str) -> str:
        return DIGEST


def project(tmp_path: Path, base: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.0"\n')
    (tmp_path / "Dockerfile").write_text(f"FROM {base}\nCOPY . /app\n")
    commit_all(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("base", "pull", "pulled"), [
    ("python:3.11-slim-bookworm", True, [["pull", "python:3.11-slim-bookworm"]]),
    ("python:3.11-slim-bookworm", False, []),
    (f"python:3.11-slim-bookworm@{DIGEST}", True, []),
])
def test_pull_fetches_the_base_first(tmp_path: Path, base: str, pull: bool,
                                     pulled: list[list[str]]) -> None:
    docker = StubDocker()
    plan = make_plan(project(tmp_path, base), {"CI": "true", "SHIPYARD_BRANCH": "main"},
                     docker, pull=pull)  # type: ignore[arg-type]
    assert docker.calls == pulled
    assert plan.spec.pull is pull
    assert ("--pull-always" in buildah_argv(plan.spec, tmp_path / "iid", None)) is pull
