"""`shipyard publish`: push every tag of a build, the unique tag first, and prove it.

Order matters: the unique tag is pushed first and the moving tags (latest, X,
X.Y, branch) only after it succeeded, so a moving tag never points at
something that is not also reachable by its immutable name. Local builds are
refused unless asked for (seed 004: manually built images must be easy to
tell apart and never become releases). Credentials come from the environment
(a CI job token) via --password-stdin into a throwaway docker config, or from
the user's own docker config; they are never printed or put on argv.

From an archive (`shipyard build --archive`, a CI runner without an engine) Buildah
pushes instead of Docker, in Docker's manifest format, credentials in a throwaway auth
file; the registry is then asked for the unique tag's digest exactly as after a docker
push.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import UsageError
from shipyard.image.buildreport import REPORT_NAME, BuildReport
from shipyard.image.registry import RegistryClient, RegistryError, is_loopback
from shipyard.image.tags import split_registry
from shipyard.tools.buildah import Buildah, archive_image_id
from shipyard.tools.docker import Docker

_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass
class PublishResult:
    registry: str
    repository: str
    digest: str
    pushed: list[str]


def split_repository(repository: str) -> tuple[str, str]:
    """(registry host, name) of a repository that names its registry."""
    host, rest = split_registry(repository)
    if host is not None and rest:
        return host, rest
    raise UsageError(
        f"image {repository!r} names no registry",
        hint="set tool.shipyard.registry (e.g. registry.example.com) or a full image name",
    )


def credentials_from_env(env: Mapping[str, str], registry: str) -> Credentials | None:
    """CI job tokens and explicit variables, most specific first."""
    if env.get("SHIPYARD_REGISTRY_USER") and env.get("SHIPYARD_REGISTRY_PASSWORD"):
        return Credentials(env["SHIPYARD_REGISTRY_USER"], env["SHIPYARD_REGISTRY_PASSWORD"])
    if env.get("CI_REGISTRY") == registry and env.get("CI_REGISTRY_PASSWORD"):
        return Credentials(env.get("CI_REGISTRY_USER", "gitlab-ci-token"),
                           env["CI_REGISTRY_PASSWORD"])
    if registry == "ghcr.io" and env.get("GITHUB_TOKEN") and env.get("GITHUB_ACTOR"):
        return Credentials(env["GITHUB_ACTOR"], env["GITHUB_TOKEN"])
    return None


def push_order(report: BuildReport) -> list[str]:
    """Every ref of the build, the unique tag's first."""
    unique = f"{report.repository}:{report.unique_tag}"
    return [unique] + [ref for ref in report.refs if ref != unique]


def publish(
    project_dir: Path,
    *,
    report_path: Path | None = None,
    allow_local: bool = False,
    env: Mapping[str, str] | None = None,
    docker: Docker | None = None,
    on_output: Callable[[str], None] | None = None,
    archive: Path | None = None,
    buildah: Buildah | None = None,
) -> PublishResult:
    """Push every ref of the last build (from the engine, or from archive with Buildah)
    and check the registry holds the unique tag at the digest pushed."""
    env = os.environ if env is None else env
    docker = docker or Docker()
    report = BuildReport.load(report_path or project_dir / REPORT_NAME)
    if report.local and not allow_local:
        raise UsageError(
            f"refusing to publish local build {report.unique_tag}: it was built outside CI"
            " or from a dirty tree",
            hint="build in CI, or pass --allow-local to push a development image on purpose",
        )
    registry, name = split_repository(report.repository)
    credentials = credentials_from_env(env, registry)
    if archive is not None:
        held = archive_image_id(archive) if archive.is_file() else None
        if held != report.image_id:
            found = f"holds {held}" if held else "is no image archive"
            raise UsageError(f"{archive} {found}, not the build's image {report.image_id}",
                             hint="publish the archive the same `shipyard build --archive`"
                                  " wrote with its report")
        pushed = push_order(report)
        with _authfile(registry, credentials) as authfile:
            digest = (buildah or Buildah()).push_archive(
                archive, pushed, authfile=authfile, tls_verify=not is_loopback(registry),
                on_output=on_output)
    else:
        pushed, digest = _docker_push(docker, report, registry, credentials, on_output)
    if not digest:
        raise RegistryError(f"{registry}: the push reported no digest",
                            hint="check the registry and the docker client")
    client = RegistryClient(registry, credentials.username if credentials else None,
                            credentials.password if credentials else None)
    remote = client.manifest_digest(name, report.unique_tag)
    if remote != digest:
        raise RegistryError(
            f"{registry}/{name}:{report.unique_tag} points at {remote}, but the push wrote"
            f" {digest}", hint="someone else pushed the same tag; unique tags must not be reused",
        )
    return PublishResult(registry, name, digest, pushed)


def _docker_push(docker: Docker, report: BuildReport, registry: str,
                 credentials: Credentials | None,
                 on_output: Callable[[str], None] | None) -> tuple[list[str], str]:
    """`docker push` each ref in order; (refs pushed, the digest the first push printed)."""
    pushed: list[str] = []
    digest = ""
    with _docker_config(docker, registry, credentials) as client_env:
        for ref in push_order(report):
            result = docker.run(["push", ref], env=client_env, on_output=on_output)
            found = _DIGEST.search(result.stdout)
            if found and not digest:
                digest = found.group(1)
            pushed.append(ref)
    return pushed, digest


@contextmanager
def _authfile(registry: str, credentials: Credentials | None) -> Iterator[Path | None]:
    """A throwaway containers-auth.json with credentials (mode 0600), or None: Buildah
    then uses the user's own login."""
    if credentials is None:
        yield None
        return
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
    with tempfile.TemporaryDirectory(prefix="shipyard-auth-") as directory:
        path = Path(directory) / "auth.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"auths": {registry: {"auth": token.decode()}}}, handle)
        yield path


@contextmanager
def _docker_config(docker: Docker, registry: str,
                   credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """A throwaway DOCKER_CONFIG logged in with credentials, or the user's own config."""
    if credentials is None:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="shipyard-docker-config-") as config_dir:
        env = {"DOCKER_CONFIG": config_dir}
        docker.run(["login", "--username", credentials.username, "--password-stdin", registry],
                   input=credentials.password, env=env)
        yield env
