"""`shipyard build` / `publish` / `--verify-repro` on the Django example, against a real
registry with htpasswd auth: tags, labels, SBOM, digest read-back, local-build refusal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.registry import Registry, running_registry
from shipyard.cli import main
from shipyard.errors import UsageError
from shipyard.imagebuild.run import BuildReport, build, verify_repro
from shipyard.init import init
from shipyard.publish.publish import publish
from shipyard.tools.buildah import archive_image_id
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django-app"
COMMIT_DATE = "2026-11-20T10:00:00+00:00"


@dataclass
class Built:
    project: Path
    registry: Registry
    report: BuildReport
    ci_env: dict[str, str]
    head: str
    archive: Path


def _git(project: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(project), *args], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def built(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The Django example as a clean git checkout, built once as a CI build of `main`."""
    project = tmp_path_factory.mktemp("publish") / "guestbook"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "var", "static.dist", "*.mo"))
    init(project)
    with running_registry(auth=True) as registry:
        pyproject = project / "pyproject.toml"  # the example has a [tool.shipyard] table
        pyproject.write_text(pyproject.read_text().replace(
            "\n[tool.shipyard]\n", f'\n[tool.shipyard]\nimage = "acme/guestbook"\n'
            f'registry = "{registry.host}"\n', 1))
        (project / ".gitignore").write_text(
            (project / ".gitignore").read_text() + "shipyard-build.json\nshipyard-sbom.cdx.json\n")
        _git(project, "init", "-q", "-b", "main")
        _git(project, "remote", "add", "origin", "https://user:token@git.example.com/acme/gb.git")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "-m", "v1")
        head = _git(project, "rev-parse", "HEAD")
        ci_env = {**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main",
                  "SHIPYARD_BUILD_URL": "https://ci.example.com/pipelines/7"}
        ca = ca_secrets()
        archive = project.parent / "image.tar"
        report = build(project, env=ci_env, docker=docker_engine,
                       ca_bundle=ca[0].src if ca else None, archive=archive)
        yield Built(project, registry, report, ci_env, head, archive)
        docker_engine.remove_images([report.image_id])


def test_ci_build_has_unique_and_moving_tags(built: Built) -> None:
    report = built.report
    assert not report.local
    assert report.unique_tag.startswith(f"main-{built.head[:7]}-")
    assert report.refs[0] == f"{built.registry.host}/acme/guestbook:{report.unique_tag}"
    assert f"{built.registry.host}/acme/guestbook:main" in report.refs
    assert not any(ref.endswith(":latest") for ref in report.refs)  # no release, no latest


def test_labels_are_readable_with_docker_inspect(docker_engine: Docker, built: Built) -> None:
    labels = docker_engine.inspect(built.report.image_id)["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == built.head
    assert labels["org.opencontainers.image.created"] == "2026-11-20T10:00:00Z"  # commit time
    assert labels["org.opencontainers.image.version"] == built.report.unique_tag
    assert labels["org.opencontainers.image.source"] == "https://git.example.com/acme/gb.git"
    assert labels["org.opencontainers.image.base.name"] == "python:3.11-slim-bookworm"
    assert labels["org.opencontainers.image.base.digest"].startswith("sha256:")
    assert labels["org.shipyard.build.url"] == "https://ci.example.com/pipelines/7"
    assert "org.shipyard.build.local" not in labels
    history = docker_engine.run(["history", "--no-trunc", built.report.image_id]).stdout
    assert "token" not in history  # the remote's credentials never reach the image


def test_the_archive_holds_the_built_image_under_every_tag(built: Built) -> None:
    """`--archive` with BuildKit: what CI hands to later jobs is this build's image."""
    assert archive_image_id(built.archive) == built.report.image_id
    with tarfile.open(built.archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        (entry,) = json.loads(member.read())
    assert sorted(entry["RepoTags"]) == sorted(built.report.refs)


def test_sbom_lists_the_python_and_debian_packages(built: Built) -> None:
    sbom = json.loads(Path(str(built.report.sbom)).read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    purls = {c["purl"].split("@")[0] for c in sbom["components"]}
    for name in ("django", "gunicorn", "whitenoise", "textstats", "psycopg"):
        assert f"pkg:pypi/{name}" in purls
    assert "pkg:deb/debian/libc6" in purls
    report = json.loads((built.project / "shipyard-build.json").read_text())
    assert report["packages"] == len(sbom["components"])


def test_publish_pushes_every_tag_and_reads_the_digest_back(
    docker_engine: Docker, built: Built
) -> None:
    env = {**built.ci_env, "SHIPYARD_REGISTRY_USER": str(built.registry.username),
           "SHIPYARD_REGISTRY_PASSWORD": str(built.registry.password)}
    result = publish(built.project, env=env, docker=docker_engine)
    assert result.pushed[0].endswith(built.report.unique_tag)  # unique first
    assert set(result.pushed) == set(built.report.refs)
    assert result.digest == built.registry.manifest_digest("acme/guestbook",
                                                           built.report.unique_tag)
    assert built.registry.manifest_digest("acme/guestbook", "main") == result.digest


def test_publish_without_credentials_fails_cleanly(docker_engine: Docker, built: Built,
                                                   tmp_path: Path) -> None:
    env = {**built.ci_env, "DOCKER_CONFIG": str(tmp_path)}  # no login anywhere
    docker = Docker(env={"DOCKER_CONFIG": str(tmp_path)})
    with pytest.raises(Exception, match=r"no basic auth credentials|unauthorized|authentication"):
        publish(built.project, env=env, docker=docker)


def test_local_build_is_marked_and_refused_by_publish(
    docker_engine: Docker, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    (built.project / "local-change.txt").write_text("dirty tree\n")
    report_path = built.project.parent / "local-report.json"
    try:
        env = {k: v for k, v in built.ci_env.items() if k not in ("CI", "SHIPYARD_BRANCH")}
        report = build(built.project, env=env, docker=docker_engine,
                       report_path=report_path)
        assert report.local and report.unique_tag.startswith("local-")
        labels = docker_engine.inspect(report.image_id)["Config"]["Labels"]
        assert labels["org.shipyard.build.local"] == "true"
        with pytest.raises(UsageError, match="refusing to publish local build"):
            publish(built.project, report_path=report_path, env=env, docker=docker_engine)
        assert main(["publish", str(built.project), "--report", str(report_path)]) == 2
        assert "refusing to publish local build" in capsys.readouterr().err
    finally:
        (built.project / "local-change.txt").unlink()


def test_verify_repro_passes_for_the_generated_dockerfile(
    docker_engine: Docker, built: Built
) -> None:
    ca = ca_secrets()
    result = verify_repro(built.project, built.report, env=built.ci_env, docker=docker_engine,
                          ca_bundle=ca[0].src if ca else None)
    assert result.differences == []
    assert result.second != result.first  # a second image really was built and compared
