"""`shipyard build --builder buildah`: the daemonless, unprivileged builder (issue 18), and
the same digest for two builds of one commit (issue 19).

Each bundled example (Django: requirements; FastAPI: uv lock, package install; Flask: a
private git dependency cloned over an ssh mount) is built with Buildah, loaded into the
engine (FastAPI: built and published on a "runner" with no engine at all, through an
archive, then loaded as CI's test job does), and must pass
`shipyard test` — metadata (its HEALTHCHECK survives: the image is docker format), every
layer scanned for the proxy CA and keys — and `--verify-repro` must prove the stronger
level: the second build, without cache, is the very same image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.docker import DockerCli
from fixtures.gitserver import GitServer, commit_all
from fixtures.imagescan import scan_image
from fixtures.registry import running_registry
from shipyard.cli import main
from shipyard.imagebuild.run import build, verify_repro
from shipyard.init import init
from shipyard.publish.publish import publish
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMIT_DATE = "2026-11-20T10:00:00+00:00"


@pytest.fixture
def buildah_binary() -> str:
    found = shutil.which("buildah")
    if found is None:
        message = "buildah is not installed; run scripts/test, which installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _committed_example(root: Path, example: str,
                       edit: Callable[[Path], None] | None = None) -> Path:
    project = root / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", "static.dist", "*.mo"))
    if edit is not None:
        edit(project)
    init(project)
    with (project / ".gitignore").open("a") as handle:
        handle.write("shipyard-build.json\nshipyard-sbom.cdx.json\n")
    commit_all(project, COMMIT_DATE)
    return project


@pytest.mark.parametrize("example", ["django-app"])
def test_buildah_image_passes_shipyard_test_and_repeats_its_digest(
    docker_engine: Docker, buildah_binary: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], example: str,
) -> None:
    project = _committed_example(tmp_path, example)
    ca = ca_secrets()
    ca_bundle = ca[0].src if ca else None
    report = build(project, env=dict(os.environ), docker=docker_engine, ca_bundle=ca_bundle,
                   builder="buildah")
    try:
        assert report.builder == "buildah"
        held = subprocess.run([buildah_binary, "images", "--format", "{{.Tag}}"], check=True,
                              capture_output=True, text=True).stdout.split()
        assert report.unique_tag not in held  # loaded into the engine, not left in Buildah's store
        inspected = docker_engine.inspect(report.image_id, "image")
        assert inspected["Config"]["Healthcheck"]["Test"][0] == "CMD"
        assert inspected["Created"].startswith("2026-11-20T10:00:00")  # the commit, not now
        image = f"{report.repository}:{report.unique_tag}"
        assert main(["test", image, "--project", str(project)]) == 0, \
            capsys.readouterr().out[-3000:]

        result = verify_repro(project, report, env=dict(os.environ), docker=docker_engine,
                              ca_bundle=ca_bundle)
        assert result.differences == []
        assert result.same_digest, (result.first, result.second)
    finally:
        docker_engine.remove_images(report.tags)


@pytest.mark.ssh
def test_buildah_builds_the_flask_example_with_its_private_git_dependency(
    docker_engine: Docker, buildah_binary: str, tmp_path: Path, git_server: GitServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def point_at_the_git_server(project: Path) -> None:
        requirements = project / "requirements.txt"
        text = requirements.read_text()
        line = next(x for x in text.splitlines() if x.startswith("greetings @"))
        requirements.write_text(text.replace(line, git_server.pip_requirement))

    project = _committed_example(tmp_path, "flask-app", point_at_the_git_server)
    ca = ca_secrets()
    report = build(project, env=dict(os.environ), docker=docker_engine,
                   ca_bundle=ca[0].src if ca else None, builder="buildah",
                   ssh=(f"default={git_server.key_path}",), network="host")
    try:
        assert report.builder == "buildah"
        image = f"{report.repository}:{report.unique_tag}"
        assert main(["test", image, "--project", str(project)]) == 0, \
            capsys.readouterr().out[-3000:]
        key = git_server.key_path.read_text().strip()
        assert scan_image(docker_engine, image, tmp_path, extra_needles=[key]) == []
    finally:
        docker_engine.remove_images(report.tags)


def _no_engine(tmp_path: Path) -> tuple[Docker, Path]:
    """A Docker whose binary only records that it was called, and fails (no engine)."""
    called = tmp_path / "docker-was-called"
    binary = tmp_path / "no-docker"
    binary.write_text(f'#!/bin/sh\necho "$@" >> {called}\nexit 1\n')
    binary.chmod(0o755)
    return Docker(binary=str(binary)), called


def test_without_an_engine_buildah_builds_an_archive_that_publishes_and_passes_its_tests(
    docker_engine: Docker, docker_cli: DockerCli, buildah_binary: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The unprivileged CI runner: build and publish never call docker; the test job
    loads the archive into an engine; the registry serves that very image."""
    no_engine, called = _no_engine(tmp_path)
    archive = tmp_path / "artifacts" / "image.tar"
    archive.parent.mkdir()
    with running_registry(auth=True) as registry:
        def publish_to_the_registry(project: Path) -> None:
            with (project / "pyproject.toml").open("a") as handle:
                handle.write(f'\n[tool.shipyard]\nregistry = "{registry.host}"\n')

        project = _committed_example(tmp_path, "fastapi-app", publish_to_the_registry)
        ca = ca_secrets()
        ci_env = {**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main",
                  "SHIPYARD_REGISTRY_USER": str(registry.username),
                  "SHIPYARD_REGISTRY_PASSWORD": str(registry.password)}
        report = build(project, env=ci_env, docker=no_engine, builder="buildah",
                       ca_bundle=ca[0].src if ca else None, archive=archive)
        published = publish(project, env=ci_env, docker=no_engine, archive=archive)
        assert not called.exists(), called.read_text()
        assert report.packages > 50  # the SBOM was read in a Buildah container
        assert published.pushed[0].endswith(f":{report.unique_tag}")
        for ref in report.refs:  # every tag, at the digest the push reported
            name, _, tag = ref.partition("/")[2].rpartition(":")
            assert registry.manifest_digest(name, tag) == published.digest

        docker_engine.run(["load", "--input", str(archive)])  # CI's test job
        try:
            assert docker_engine.inspect(report.image_id, "image")["Config"]["Healthcheck"]
            image = f"{report.repository}:{report.unique_tag}"
            assert main(["test", image, "--project", str(project)]) == 0, \
                capsys.readouterr().out[-3000:]
            docker_engine.run(["image", "rm", image])  # what the host pulls is that image
            pulled = docker_cli.track(f"{report.repository}@{published.digest}")
            docker_cli.login(registry.host, str(registry.username), str(registry.password))
            docker_cli.run("pull", pulled)
            assert docker_engine.inspect(pulled, "image")["Id"] == report.image_id
        finally:
            docker_engine.remove_images([*report.refs, report.image_id])
