"""Build plans, base-image resolution, SBOM documents and reproducibility diffs, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.config import load_config
from shipyard.errors import ConfigError, UsageError
from shipyard.image.registry import is_loopback
from shipyard.imagebuild.base import BaseImage, final_base, split_digest
from shipyard.imagebuild.cienv import BuildContext
from shipyard.imagebuild.plan import RepoFacts, ca_bundle_from_env, plan_build
from shipyard.imagebuild.repro import Entry, compare
from shipyard.imagebuild.sbom import Package, cyclonedx
from shipyard.publish.publish import credentials_from_env, split_repository

SHA = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
COMMIT = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)
BASE = BaseImage("python:3.11-slim-bookworm", "sha256:" + "b" * 64, "registry")


def _config(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "app"\n[tool.shipyard]\nimage = "acme/app"\n'
        f'registry = "registry.example.com"\n{extra}')
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim-bookworm\n")
    return tmp_path


def _context(**overrides: object) -> BuildContext:
    values: dict[str, object] = {"provider": "gitlab", "branch": "main", "sha": SHA, "tag": None,
                                 "pull_request": None, "pipeline_url": "https://ci/p/1",
                                 "is_ci": True}
    values.update(overrides)
    return BuildContext(**values)  # type: ignore[arg-type]


PLANS = [
    # id, context overrides, dirty, tags at repo, expected refs suffixes, local
    ("ci-main", {}, False, (), ["main-1a2b3c4-20261126T120000Z", "main"], False),
    ("ci-feature", {"branch": "feature/x"}, False, (), ["feature-x-1a2b3c4-20261126T120000Z"],
     False),
    ("ci-release", {"branch": None, "tag": "v1.2.0"}, False, ("v1.2.0",),
     ["tag-v1.2.0-1a2b3c4-20261126T120000Z", "1.2.0", "1.2", "1", "latest"], False),
    ("dirty-ci", {}, True, (), ["local-main-1a2b3c4-20261126T120000Z-dirty"], True),
    ("outside-ci", {"is_ci": False, "provider": "local"}, False, (),
     ["local-main-1a2b3c4-20261126T120000Z"], True),
]


@pytest.mark.parametrize(("context", "dirty", "tags", "expected", "local"),
                         [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_plan_tags_and_locality(tmp_path: Path, context: dict[str, object], dirty: bool,
                                tags: tuple[str, ...], expected: list[str], local: bool) -> None:
    config = load_config(_config(tmp_path))
    plan = plan_build(config, _context(**context), RepoFacts(COMMIT, tags, dirty, None), BASE,
                      now=NOW, ca_bundle=None)
    assert [ref.split(":", 1)[1] for ref in plan.refs] == expected
    assert plan.refs[0].startswith("registry.example.com/acme/app:")
    assert plan.local is local
    assert (plan.labels.get("org.shipyard.build.local") == "true") is local


def test_plan_labels_come_from_the_commit_not_the_clock(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    plan = plan_build(config, _context(), RepoFacts(COMMIT, (), False,
                                                    "https://u:p@git.example.com/a.git"),
                      BASE, now=NOW, ca_bundle=None)
    assert plan.build_args["BUILD_CREATED"] == "2026-11-20T10:00:00Z"
    assert plan.build_args["BUILD_REVISION"] == SHA
    assert plan.build_args["BUILD_SOURCE"] == "https://git.example.com/a.git"
    assert plan.build_args["BASE_IMAGE_DIGEST"] == BASE.digest
    assert "u:p" not in repr(plan)


def test_secretish_build_args_are_refused(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[tool.shipyard.build_args]\nNPM_TOKEN = "x"\n'))
    with pytest.raises(ConfigError, match=r"build_args\.NPM_TOKEN"):
        plan_build(config, _context(), RepoFacts(COMMIT, (), False, None), BASE, now=NOW,
                   ca_bundle=None)


@pytest.mark.parametrize(("dockerfile", "ca", "secret"), [
    ("RUN --mount=type=secret,id=ca_bundle pip install x", True, True),
    ("RUN pip install x", True, False),
    ("RUN --mount=type=secret,id=ca_bundle pip install x", False, False),
], ids=["used-and-given", "not-used", "not-given"])
def test_ca_bundle_is_a_secret_only_when_the_dockerfile_asks(
    tmp_path: Path, dockerfile: str, ca: bool, secret: bool
) -> None:
    config = load_config(_config(tmp_path))
    bundle = tmp_path / "ca.pem" if ca else None
    plan = plan_build(config, _context(), RepoFacts(COMMIT, (), False, None), BASE, now=NOW,
                      ca_bundle=bundle, dockerfile_text=dockerfile)
    assert bool(plan.spec.secrets) is secret
    assert all("ca.pem" not in value for value in plan.build_args.values())


def test_ssh_mount_without_agent_or_key_is_a_clear_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    with pytest.raises(UsageError, match="needs ssh access"):
        plan_build(config, _context(), RepoFacts(COMMIT, (), False, None), BASE, now=NOW,
                   ca_bundle=None, dockerfile_text="RUN --mount=type=ssh pip install x")


def test_ca_bundle_from_env_prefers_shipyard_then_pip(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pem", tmp_path / "b.pem"
    a.write_text("a")
    b.write_text("b")
    assert ca_bundle_from_env({"PIP_CERT": str(b), "SHIPYARD_CA_BUNDLE": str(a)}) == a
    assert ca_bundle_from_env({"PIP_CERT": str(b)}) == b
    assert ca_bundle_from_env({"PIP_CERT": str(tmp_path / "missing")}) is None


FROMS = [
    ("plain", "FROM python:3.12-slim\n", {}, "python:3.12-slim"),
    ("arg-default", "ARG IMG=python:3.11\nFROM ${IMG} AS base\nFROM base\n", {}, "python:3.11"),
    ("arg-override", "ARG IMG=python:3.11\nFROM $IMG\n", {"IMG": "python:3.13"}, "python:3.13"),
    ("stage-chain", "FROM debian:12 AS a\nFROM a AS b\nFROM python:3 AS c\nFROM b\n", {},
     "debian:12"),
    ("continuation", "FROM \\\n  python:3.11@sha256:abc AS x\n", {}, "python:3.11@sha256:abc"),
    # BuildKit's parser, not a line regex: a FROM inside a heredoc is script text
    ("heredoc", "FROM python:3.11\nRUN <<EOF\nFROM evil:1\nEOF\n", {},
     "python:3.11"),
]


@pytest.mark.parametrize(("text", "args", "expected"), [f[1:] for f in FROMS],
                         ids=[f[0] for f in FROMS])
def test_final_base(tmp_path: Path, text: str, args: dict[str, str], expected: str) -> None:
    (tmp_path / "Dockerfile").write_text(text)
    assert final_base(tmp_path / "Dockerfile", args) == expected


@pytest.mark.parametrize(("text", "where"), [
    ("ARG A=1\n", ":1: no FROM instruction"),
    ("FROM python:3\nFROBNICATE x\n", ":2: unknown instruction 'FROBNICATE'"),
])
def test_final_base_names_file_and_line_of_a_bad_dockerfile(tmp_path: Path, text: str,
                                                           where: str) -> None:
    (tmp_path / "Dockerfile").write_text(text)
    with pytest.raises(UsageError) as caught:
        final_base(tmp_path / "Dockerfile", {})
    assert str(caught.value).startswith(f"{tmp_path / 'Dockerfile'}{where}")


def test_split_digest() -> None:
    assert split_digest("python:3@sha256:ab") == ("python:3", "sha256:ab")
    assert split_digest("python:3") == ("python:3", None)


def test_cyclonedx_document() -> None:
    doc = cyclonedx("r/app:t", "sha256:1", [Package("pypi", "Django", "5.2"),
                                            Package("deb", "libc6", "2.36", "amd64")], NOW)
    assert doc["specVersion"] == "1.5"
    purls = [c["purl"] for c in doc["components"]]  # type: ignore[union-attr, index]
    assert purls == ["pkg:deb/debian/libc6@2.36?arch=amd64", "pkg:pypi/django@5.2"]


def test_compare_reports_content_and_ignores_documented_paths() -> None:
    def entry(digest: str) -> Entry:
        return Entry("file", 0o644, "0:0", digest)

    first = {"app/a.py": entry("1"), "etc/shadow": entry("x"), "var/log/apt/h.log": entry("1")}
    second = {"app/a.py": entry("2"), "etc/shadow": entry("y"), "new": entry("3")}
    described = [d.describe() for d in compare(first, second)]
    assert described == ["app/a.py: digest differ", "new: only in the second build"]


REPOS = [
    ("host-port", "127.0.0.1:5000/acme/app", ("127.0.0.1:5000", "acme/app")),
    ("domain", "registry.example.com/app", ("registry.example.com", "app")),
    ("localhost", "localhost/app", ("localhost", "app")),
]


@pytest.mark.parametrize(("repository", "expected"), [r[1:] for r in REPOS],
                         ids=[r[0] for r in REPOS])
def test_split_repository(repository: str, expected: tuple[str, str]) -> None:
    assert split_repository(repository) == expected


def test_repository_without_registry_is_refused() -> None:
    with pytest.raises(UsageError, match="names no registry"):
        split_repository("acme/app")


CREDENTIALS = [
    ("explicit", {"SHIPYARD_REGISTRY_USER": "u", "SHIPYARD_REGISTRY_PASSWORD": "s3cr3t-1"},
     "r.io", ("u", "s3cr3t-1")),
    ("gitlab-token", {"CI_REGISTRY": "r.io", "CI_REGISTRY_USER": "gitlab-ci-token",
                      "CI_REGISTRY_PASSWORD": "s3cr3t-2"}, "r.io", ("gitlab-ci-token", "s3cr3t-2")),
    ("gitlab-other-registry", {"CI_REGISTRY": "r.io", "CI_REGISTRY_PASSWORD": "t"}, "x.io",
     None),
    ("github", {"GITHUB_ACTOR": "me", "GITHUB_TOKEN": "s3cr3t-3"}, "ghcr.io", ("me", "s3cr3t-3")),
    ("none", {}, "r.io", None),
]


@pytest.mark.parametrize(("env", "registry", "expected"), [c[1:] for c in CREDENTIALS],
                         ids=[c[0] for c in CREDENTIALS])
def test_credentials_from_env(env: dict[str, str], registry: str,
                              expected: tuple[str, str] | None) -> None:
    found = credentials_from_env(env, registry)
    assert (found.username, found.password) == expected if found else expected is None
    if found:
        assert found.password not in repr(found)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1:5000", True), ("localhost:5000", True), ("[::1]:5000", True),
    ("registry.example.com", False), ("10.0.0.1:5000", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_configured_platforms_reach_the_build(tmp_path: Path) -> None:
    from shipyard.tools.docker import build_argv

    config = load_config(_config(tmp_path, 'platforms = ["linux/amd64"]\n'))
    plan = plan_build(config, _context(), RepoFacts(COMMIT, (), False, None), BASE, now=NOW,
                      ca_bundle=None)
    argv = build_argv(plan.spec, "env", tmp_path / "iid")
    assert argv[argv.index("--platform") + 1] == "linux/amd64"


def test_sbom_time_is_the_commit_time_so_two_builds_of_one_commit_agree(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    config = load_config(_config(tmp_path))
    plan = plan_build(config, _context(), RepoFacts(COMMIT, (), False, None), BASE, now=NOW,
                      ca_bundle=None)
    assert plan.created == COMMIT  # what build() stamps the SBOM (and Buildah's layers) with
    first = cyclonedx("r/app:t", "sha256:1", [], plan.created or NOW)
    second = cyclonedx("r/app:t", "sha256:1", [],
                       plan.created or NOW + timedelta(hours=1))
    assert first == second
    assert first["metadata"]["timestamp"] == "2026-11-20T10:00:00Z"  # type: ignore[index]
