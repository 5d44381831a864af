"""The Docker CLI, wrapped once: argv lists in, typed results and typed errors out.

Why one wrapper: every stage (build, image tests, checks, publish) talks to
the same binary, and a failure must always name the command, exit code and
stderr. Which binary is configurable (SHIPYARD_DOCKER) because a machine can
carry several clients and only some of them can drive BuildKit.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from shipyard.errors import ShipyardError
from shipyard.tools import buildlog, process
from shipyard.tools.process import CommandError, Result

BuildKitMode = Literal["buildx", "env"]


class DockerError(CommandError):
    """docker exited non-zero for a reason not covered by a more specific error."""


class DaemonUnreachable(DockerError):
    """The client cannot reach an engine."""


class NotFound(DockerError):
    """No such image, container, volume or network."""


class RegistryAuthError(DockerError):
    """The registry refused the credentials (or none were given)."""


class BuildFailed(DockerError):
    """A build step failed; stderr holds BuildKit's log."""


class BuildKitUnavailable(ShipyardError):
    """The chosen client cannot run BuildKit builds (needed for secret and ssh mounts)."""


# (substring of stderr, error class, hint) — first match wins; tested as a table.
_STDERR_RULES: tuple[tuple[str, type[DockerError], str], ...] = (
    ("cannot connect to the docker daemon", DaemonUnreachable,
     "start the Docker engine or set DOCKER_HOST"),
    ("is the docker daemon running", DaemonUnreachable,
     "start the Docker engine or set DOCKER_HOST"),
    ("permission denied while trying to connect", DaemonUnreachable,
     "add your user to the docker group or use a rootless engine"),
    ("unauthorized", RegistryAuthError, "log in with `docker login` or give credentials"),
    ("authentication required", RegistryAuthError,
     "log in with `docker login` or give credentials"),
    ("no basic auth credentials", RegistryAuthError,
     "log in with `docker login` or give credentials"),
    ("pull access denied", NotFound, "check the image name, or log in to the registry"),
    ("manifest unknown", NotFound, "check the image name and tag"),
    ("no such image", NotFound, "check the image name, or build it first"),
    ("no such object", NotFound, "check the name or id"),
    ("no such container", NotFound, "check the container name or id"),
    ("failed to solve", BuildFailed, "read the build log above for the failing step"),
    ("executor failed running", BuildFailed, "read the build log above for the failing step"),
    ("did not complete successfully", BuildFailed,
     "read the build log above for the failing step"),
)


def classify(result: Result) -> DockerError:
    """Map a failed docker invocation to the most specific error class."""
    text = (result.stderr or result.stdout).lower()
    for needle, cls, hint in _STDERR_RULES:
        if needle in text:
            return cls(result, hint=hint)
    return DockerError(result)


def explain_build_failure(exc: BuildFailed) -> BuildFailed:
    """The same failure, its message naming the failing step and quoting that step's last
    output lines (parsed from BuildKit's plain log), instead of the log's first line."""
    result = exc.result
    found = buildlog.failure(result.stderr if result.stderr.strip() else result.stdout)
    if found is None:
        return exc
    return BuildFailed(result, found.describe() + "\n  (rerun with -v for the whole BuildKit log)")


@dataclass(frozen=True)
class BuildSecret:
    """A BuildKit secret: mounted only for the RUN steps that ask for it, never in a layer."""

    id: str
    src: Path


@dataclass(frozen=True)
class BuildSpec:
    """Everything one image build needs, as data (the argv is derived from it)."""

    context: Path
    dockerfile: Path | None = None
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[BuildSecret, ...] = ()
    ssh: tuple[str, ...] = ()
    target: str | None = None
    network: str | None = None
    no_cache: bool = False
    pull: bool = False
    platforms: tuple[str, ...] = ()


def build_argv(spec: BuildSpec, mode: BuildKitMode, iidfile: Path) -> list[str]:
    """The docker arguments (after the binary) for a BuildKit build of spec."""
    argv = ["buildx", "build", "--load"] if mode == "buildx" else ["build"]
    argv += ["--progress", "plain", "--iidfile", str(iidfile), *spec_flags(spec)]
    if spec.no_cache:
        argv.append("--no-cache")
    if spec.pull:
        argv.append("--pull")
    argv.append(str(spec.context))
    return argv


def spec_flags(spec: BuildSpec) -> list[str]:
    """The flags docker build and buildah build spell alike: file, tags, build args,
    labels, secrets, ssh, target, network, platforms."""
    argv: list[str] = []
    if spec.dockerfile is not None:
        argv += ["--file", str(spec.dockerfile)]
    for tag in spec.tags:
        argv += ["--tag", tag]
    for key, value in sorted(spec.build_args.items()):
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    for secret in spec.secrets:
        argv += ["--secret", f"id={secret.id},src={secret.src}"]
    for ssh in spec.ssh:
        argv += ["--ssh", ssh]
    if spec.target:
        argv += ["--target", spec.target]
    if spec.network:
        argv += ["--network", spec.network]
    if spec.platforms:
        argv += ["--platform", ",".join(spec.platforms)]
    return argv


def repository_of(ref: str) -> str:
    """The repository part of an image reference, normalised (no tag, no digest, no
    implicit docker.io/library/ prefix): `python:3.11` → `python`."""
    name = ref.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name.removeprefix("docker.io/").removeprefix("library/")


class Docker:
    """One docker client binary and the operations Shipyard needs from it."""

    def __init__(self, binary: str | None = None, env: Mapping[str, str] | None = None):
        self.binary = binary or os.environ.get("SHIPYARD_DOCKER") or "docker"
        self.env = dict(env or {})

    def run(
        self,
        args: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
        cwd: str | Path | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> Result:
        """Run `docker ARGS`; on failure raise the error class that classify() picks."""
        result = process.run(
            [self.binary, *args],
            input=input,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
            cwd=cwd,
            on_output=on_output,
        )
        if check and not result.ok:
            raise classify(result)
        return result

    # --- engine -------------------------------------------------------------

    def ping(self) -> str:
        """The engine's version; raises DaemonUnreachable when there is none."""
        return self.run(["version", "--format", "{{.Server.Version}}"], timeout=30).stdout.strip()

    def client_version(self) -> str:
        return self.run(["version", "--format", "{{.Client.Version}}"], check=False).stdout.strip()

    @cached_property
    def buildkit_mode(self) -> BuildKitMode:
        """How this client runs BuildKit: the buildx plugin, or DOCKER_BUILDKIT=1 (< 23)."""
        if self.run(["buildx", "version"], check=False, timeout=30).ok:
            return "buildx"
        version = self.client_version()
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            return "env"
        raise BuildKitUnavailable(
            f"docker client `{self.binary}` ({version or 'unknown version'}) cannot run BuildKit"
            " builds: it has no buildx plugin",
            hint="install the docker-buildx plugin, or set SHIPYARD_DOCKER to a client that has it",
        )

    # --- images -------------------------------------------------------------

    def build(self, spec: BuildSpec, on_output: Callable[[str], None] | None = None) -> str:
        """Build spec with BuildKit and return the image id."""
        mode = self.buildkit_mode
        if len(spec.platforms) > 1 and mode != "buildx":
            raise BuildKitUnavailable(
                f"building for {', '.join(spec.platforms)} needs the buildx plugin",
                hint="install docker-buildx, or configure a single platform",
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-build-") as tmp:
            iidfile = Path(tmp) / "iid"
            env = {"DOCKER_BUILDKIT": "1"} if mode == "env" else {}
            try:
                self.run(build_argv(spec, mode, iidfile), env=env, on_output=on_output)
            except BuildFailed as exc:
                raise explain_build_failure(exc) from exc
            return iidfile.read_text().strip()

    def inspect(self, ref: str, kind: str = "image") -> dict[str, Any]:
        """`docker <kind> inspect` of one object, as a dict."""
        out = self.run([kind, "inspect", ref]).stdout
        data: list[dict[str, Any]] = json.loads(out)
        return data[0]

    def has_image(self, ref: str) -> bool | None:
        """Whether the engine has the image locally; None when no engine answers."""
        try:
            return self.exists(ref)
        except ShipyardError:
            return None

    def exists(self, ref: str, kind: str = "image") -> bool:
        try:
            self.inspect(ref, kind)
        except NotFound:
            return False
        return True

    def registry_digest(self, ref: str) -> str | None:
        """The registry digest (sha256:…) of a local image pulled from ref's repository,
        or None: never pulled, built or imported locally, or no engine reachable."""
        try:
            digests = self.inspect(ref).get("RepoDigests") or []
        except (ShipyardError, ValueError):
            return None
        for entry in digests:
            name, _, digest = str(entry).partition("@")
            if repository_of(name) == repository_of(ref):
                return digest
        return None

    def remove_images(self, refs: Sequence[str]) -> None:
        if refs:
            self.run(["image", "rm", "--force", *refs], check=False)

    # --- containers -----------------------------------------------------------

    def remove_containers(self, refs: Sequence[str]) -> None:
        if refs:
            self.run(["rm", "--force", "--volumes", *refs], check=False)

    def logs(self, ref: str, tail: int = 50) -> str:
        result = self.run(["logs", "--tail", str(tail), ref], check=False)
        return result.stdout + result.stderr
