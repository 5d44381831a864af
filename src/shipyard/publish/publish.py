"""`shipyard publish`: push every tag of a build, the unique tag first, and prove it.

Order matters: the unique tag is pushed first and the moving tags (latest, X,
X.Y, branch) only after it succeeded, so a moving tag never points at
something that is not also reachable by its immutable name. Local builds are
refused unless asked for (seed 004: manually built images must be easy to
tell apart and never become releases). Credentials come from the environment
(a CI job token) via --password-stdin into a throwaway docker config, or from
the user's own docker config; they are never printed or put on argv.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import UsageError
from shipyard.image.buildreport import REPORT_NAME, BuildReport
from shipyard.image.registry import RegistryClient, RegistryError
from shipyard.image.tags import split_registry
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
) -> PublishResult:
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
    with _docker_config(docker, registry, credentials) as client_env:
        pushed: list[str] = []
        digest = ""
        for ref in push_order(report):
            result = docker.run(["push", ref], env=client_env, on_output=on_output)
            found = _DIGEST.search(result.stdout)
            if found and not digest:
                digest = found.group(1)
            pushed.append(ref)
    if not digest:
        raise RegistryError(f"{registry}: `docker push` printed no digest",
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
