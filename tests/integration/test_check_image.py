"""`shipyard check --image` against two real images built FROM python:3.11-slim-bookworm:
a good one (non-root, healthcheck whose program and script exist, labels with the
revision of HEAD, the configured port) and a bad one (root, no healthcheck, no labels).

Cost: two builds of one small layer each, for the whole module; the probe container
that `docker cp` reads from is never started and must be gone afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.containers import build
from shipyard.checks import check
from shipyard.commands.check import check_command
from shipyard.tools import process
from shipyard.tools.docker import Docker
from shipyard.tools.git import GitRepo

pytestmark = [pytest.mark.docker, pytest.mark.slow]
BASE = "python:3.11-slim-bookworm"
PREFIX = "shipyard-test/check-image"
IGNORE = "**/.git\n**/.env\n**/.env.*\n**/*.pem\n**/*.key\n**/id_rsa*\n**/id_ed25519*\n**/.ssh\n"

GOOD = f"""FROM {BASE}
COPY healthcheck.py /usr/local/lib/shipyard/healthcheck.py
EXPOSE 8000
USER 10001:10001
HEALTHCHECK CMD ["python", "/usr/local/lib/shipyard/healthcheck.py"]
ARG BUILD_REVISION=""
LABEL org.opencontainers.image.revision="${{BUILD_REVISION}}" \\
      org.opencontainers.image.source="https://git.example.com/acme/app" \\
      org.opencontainers.image.created="2024-05-01T10:00:00Z" \\
      org.opencontainers.image.title="app" \\
      org.opencontainers.image.version="1.0.0"
CMD ["python", "-m", "http.server", "8000"]
"""
BAD = f"""FROM {BASE}
RUN echo built > /built
CMD ["python", "-m", "http.server", "8000"]
"""


def git(project: Path, *args: str) -> None:
    process.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@x", *args])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check-image")
    (root / "Dockerfile").write_text(GOOD)
    (root / "healthcheck.py").write_text("import sys\nsys.exit(0)\n")
    (root / ".dockerignore").write_text(IGNORE)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "images")
    return root


@pytest.fixture(scope="module")
def images(docker_engine: Docker, project: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    good, bad = f"{PREFIX}:good-{run_id}", f"{PREFIX}:bad-{run_id}"
    head = GitRepo(project).head_sha()
    elsewhere = tmp_path_factory.mktemp("bad-image")  # not part of the checked project
    (elsewhere / "Dockerfile").write_text(BAD)
    try:
        build(docker_engine, project, good, build_args={"BUILD_REVISION": head})
        build(docker_engine, elsewhere, bad)
        yield good, bad
    finally:
        docker_engine.remove_images([good, bad])


def probe_containers(docker: Docker) -> list[str]:
    out = docker.run(["ps", "-a", "--filter", "name=shipyard-check-", "--format", "{{.Names}}"])
    return out.stdout.split()


def image_rules(project: Path, image: str, docker: Docker) -> list[str]:
    report = check(project, image=image, docker=docker)
    return sorted(f.rule_id for f in report.findings if f.rule_id.startswith("IM"))


def test_good_image_has_no_image_findings(docker_engine: Docker, project: Path,
                                          images: tuple[str, str]) -> None:
    before = probe_containers(docker_engine)
    report = check(project, image=images[0], docker=docker_engine)
    assert [(f.rule_id, f.message) for f in report.findings] == []
    assert report.exit_code() == 0
    assert probe_containers(docker_engine) == before


def test_bad_image_fails_the_image_rules(docker_engine: Docker, project: Path,
                                         images: tuple[str, str]) -> None:
    report = check(project, image=images[1], docker=docker_engine)
    found = {f.rule_id: f for f in report.findings if f.rule_id.startswith("IM")}
    assert sorted(found) == ["IM001", "IM002", "IM003", "IM004", "IM009"]
    assert "root" in found["IM001"].message
    assert all(f.file == "Dockerfile" for f in found.values())
    assert report.exit_code() == 1


def test_revision_label_must_be_head(docker_engine: Docker, project: Path,
                                     images: tuple[str, str], tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    process.run(["git", "clone", "-q", str(project), str(clone)])
    (clone / "healthcheck.py").write_text("import sys\nsys.exit(1)\n")
    git(clone, "commit", "-q", "-am", "a newer commit")
    assert image_rules(clone, images[0], docker_engine) == ["IM004"]


def test_probe_reads_files_of_a_container_that_never_starts(docker_engine: Docker,
                                                             images: tuple[str, str]) -> None:
    from shipyard.checks.rules_image import ImageProbe

    with ImageProbe(docker_engine, images[0]) as probe:
        assert probe.exists("/usr/local/lib/shipyard/healthcheck.py")
        assert probe.exists("/usr/local/bin/python")  # a symlink, followed
        assert not probe.exists("/usr/bin/curl")
        assert not probe.exists("/usr/bin/gcc")
        (name,) = [c for c in probe_containers(docker_engine) if c == probe.container]
        state = docker_engine.inspect(name, "container")["State"]
        assert state["Status"] == "created"
    assert name not in probe_containers(docker_engine)


def test_cli_with_image(docker_engine: Docker, project: Path, images: tuple[str, str]) -> None:
    result = CliRunner().invoke(check_command, [str(project), "--image", images[1],
                                                "--format", "json"])
    assert result.exit_code == 1, result.output
    assert '"IM001"' in result.output
    ok = CliRunner().invoke(check_command, [str(project), "--image", images[0],
                                            "--fail-on", "info"])
    assert ok.exit_code == 0, ok.output


def test_unknown_image_is_a_usage_error(docker_engine: Docker, project: Path) -> None:
    from shipyard.errors import UsageError

    with pytest.raises(UsageError, match="not found in the local engine"):
        check(project, image=f"{PREFIX}:does-not-exist", docker=docker_engine)
