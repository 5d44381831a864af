"""shipyard.dockerignore agrees with BuildKit: each pattern table row's file is sent
into a `FROM scratch` build and exported, and the files that arrive are compared with
what the matcher predicts. Why: init proves with this matcher that a merged
.dockerignore keeps secrets out and lets the Dockerfile's COPY sources in."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from fixtures.dockerignore_cases import MATCHES
from shipyard.dockerignore import DockerIgnore
from shipyard.generate.ignoremerge import Exclusion, merge
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker]

_GROUPS: dict[str, list[str]] = defaultdict(list)
for _patterns, _path, _ in MATCHES:
    _GROUPS[_patterns].append(_path)


def _context_files(docker: Docker, tmp_path: Path, ignore: str, files: list[str]) -> set[str]:
    """The files BuildKit puts into the build context for this .dockerignore."""
    context, out = tmp_path / "context", tmp_path / "out"
    for name in files:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    (context / ".dockerignore").write_text(ignore)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /\n")
    docker.run(["build", "--quiet", "--output", f"type=local,dest={out}", "--file",
                str(dockerfile), str(context)], env={"DOCKER_BUILDKIT": "1"})
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("patterns", "paths"), list(_GROUPS.items()),
                         ids=[repr(p) for p in _GROUPS])
def test_matcher_agrees_with_buildkit(docker_engine: Docker, tmp_path: Path, patterns: str,
                                      paths: list[str]) -> None:
    files = sorted({*paths, "README.md", "src/app.py"})
    files = [f for f in files if not any(g.startswith(f + "/") for g in files)]
    arrived = _context_files(docker_engine, tmp_path, patterns, files)
    ignore = DockerIgnore(patterns)
    predicted = {f for f in files if not ignore.excludes(f)}
    assert arrived - {".dockerignore"} == predicted


def test_merged_allow_list_keeps_secrets_out_and_copy_sources_in(docker_engine: Docker,
                                                                   tmp_path: Path) -> None:
    files = ["shop/app.py", "shop/.env", "shop/settings/dev.py", "shop/certs/tls.key",
             "docker/entrypoint.sh", "docker/healthcheck.py", "docker/dev.Dockerfile",
             "requirements.txt", ".env", "notes.md"]
    merged = merge("*\n!/shop\n!/requirements.txt\n",
                   copies=["requirements.txt", "docker/entrypoint.sh", "docker/healthcheck.py"],
                   extra=[Exclusion("shop/settings/dev.py", ("shop/settings/dev.py",))],
                   top_dirs=["shop", "docker"]).text
    arrived = _context_files(docker_engine, tmp_path, merged, files)
    assert arrived == {"shop/app.py", "docker/entrypoint.sh", "docker/healthcheck.py",
                       "requirements.txt"}


def test_dockerfile_dockerignore_wins_over_dockerignore(docker_engine: Docker,
                                                        tmp_path: Path) -> None:
    """Why init merges into Dockerfile.dockerignore when there is one."""
    context, out = tmp_path / "context", tmp_path / "out"
    context.mkdir()
    for name in ("left-out-by-dockerignore", "left-out-by-dockerfile-dockerignore"):
        (context / name).write_text(name)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (context / ".dockerignore").write_text("left-out-by-dockerignore\n")
    (context / "Dockerfile.dockerignore").write_text("left-out-by-dockerfile-dockerignore\n")
    docker_engine.run(["build", "--quiet", "--output", f"type=local,dest={out}", str(context)],
                      env={"DOCKER_BUILDKIT": "1"})
    assert (out / "left-out-by-dockerignore").is_file()
    assert not (out / "left-out-by-dockerfile-dockerignore").exists()
