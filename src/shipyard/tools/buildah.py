"""Buildah, wrapped once: the unprivileged, daemonless builder (issue 18, seed 003).

Why a second builder: a CI runner that builds with Docker needs a privileged
`docker:dind` service; Buildah builds the same Dockerfile — secret, ssh and cache
mounts included — without a daemon or privileges. And with `--timestamp` it sets every
layer's file times and the image's creation time to one value, so two builds of one
commit give the same image digest (issue 19), which BuildKit in the engines we support
cannot promise.

The image ends up where the rest of Shipyard looks for it: in the Docker engine (for
`shipyard test`, the SBOM, `--verify-repro`), loaded there from a `docker load` archive;
or, on a CI runner without any engine, only in that archive (`shipyard build --archive`),
which a later job loads or pushes (`push_archive`): base lookup, SBOM and push then go
through Buildah alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shipyard.tools import process
from shipyard.tools.docker import BuildFailed, BuildSpec, Docker, spec_flags
from shipyard.tools.process import CommandError, Result

TAIL_LINES = 20  # how much of a failed build's log the error quotes


class BuildahError(CommandError):
    """buildah exited non-zero (a missing binary is process.CommandNotFound, with a hint)."""


def buildah_argv(spec: BuildSpec, iidfile: Path, timestamp: int | None) -> list[str]:
    """The buildah arguments (after the binary) for building spec.

    `--format docker` because the OCI image format has no HEALTHCHECK (buildah drops it
    with a warning), and the generated images rely on theirs. No `--layers`: Buildah
    1.28's layer cache keys a step by its text before ARG expansion, so the final
    `LABEL ...="${BUILD_REVISION}"` step of a new commit reused the previous commit's
    image, labels and all (measured). Each stage is then one layer and every build runs
    every step; the cache mounts (pip, uv) still carry over between builds."""
    argv = ["build", "--format", "docker", "--iidfile", str(iidfile)]
    if timestamp is not None:
        argv += ["--timestamp", str(timestamp)]
    argv += spec_flags(spec)
    if spec.no_cache:
        argv.append("--no-cache")
    if spec.pull:
        argv.append("--pull-always")
    argv.append(str(spec.context))
    return argv


def push_argv(image: str, ref: str, digestfile: Path, authfile: Path | None,
              tls_verify: bool) -> list[str]:
    """`buildah push` arguments for one ref; credentials only ever through an auth file."""
    argv = ["push", "--quiet", "--format", "v2s2", "--digestfile", str(digestfile)]
    if authfile is not None:
        argv += ["--authfile", str(authfile)]
    if not tls_verify:
        argv.append("--tls-verify=false")
    return [*argv, image, f"docker://{ref}"]


def failure_tail(result: Result, lines: int = TAIL_LINES) -> str:
    """The failing step's last output lines: buildah prints `STEP n/m: ...` before each
    step and `Error: ...` last, so the tail from the last STEP line is the cause."""
    text = (result.stdout + "\n" + result.stderr).rstrip().splitlines()
    start = max((i for i, line in enumerate(text) if "STEP " in line and ": " in line),
                default=max(0, len(text) - lines))
    quoted = text[start:][-lines:]
    step = text[start].strip() if start < len(text) else "the build"
    return f"buildah build failed at {step}\n" + "\n".join(f"  | {line}" for line in quoted)


class Buildah:
    """One buildah binary and the operations Shipyard needs from it."""

    def __init__(self, binary: str | None = None, env: Mapping[str, str] | None = None):
        self.binary = binary or os.environ.get("SHIPYARD_BUILDAH") or "buildah"
        self.env = dict(env or {})

    def run(self, args: Sequence[str], *, check: bool = True, timeout: float | None = None,
            on_output: Callable[[str], None] | None = None) -> Result:
        """Run `buildah ARGS`; a failure is BuildahError."""
        result = process.run([self.binary, *args], env=self.env, timeout=timeout, check=False,
                             on_output=on_output)
        if check and not result.ok:
            raise BuildahError(result)
        return result

    def build(self, spec: BuildSpec, *, timestamp: int | None = None,
              on_output: Callable[[str], None] | None = None) -> str:
        """Build spec and return the image id (the config digest, as Docker reports it)."""
        with tempfile.TemporaryDirectory(prefix="shipyard-buildah-") as tmp:
            iidfile = Path(tmp) / "iid"
            result = self.run(buildah_argv(spec, iidfile, timestamp), check=False,
                              on_output=on_output)
            if not result.ok:
                raise BuildFailed(result, failure_tail(result))
            image_id = iidfile.read_text().strip()
        return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"

    def to_docker(self, image_id: str, tags: Sequence[str], docker: Docker) -> str:
        """Load the built image into the Docker engine under tags, with a normalised config
        (normalised_config); returns the image id Docker knows it by."""
        with tempfile.TemporaryDirectory(prefix="shipyard-buildah-export-") as tmp:
            archive = Path(tmp) / "loaded.tar"
            loaded_id = self.to_archive(image_id, tags, archive)
            docker.run(["load", "--quiet", "--input", str(archive)])
        return loaded_id

    def to_archive(self, image_id: str, tags: Sequence[str], archive: Path) -> str:
        """Write the built image as a `docker load` archive under tags, its config
        normalised; returns the image id an engine loading it will report."""
        with tempfile.TemporaryDirectory(prefix="shipyard-buildah-export-") as tmp:
            exported = Path(tmp) / "image"
            self.run(["push", "--quiet", image_id.removeprefix("sha256:"), f"dir:{exported}"])
            partial = Path(tmp) / "image.tar"  # never a half-written archive at the target
            loaded_id = write_docker_archive(exported, tags, partial)
            shutil.move(partial, archive)
        return loaded_id

    def image_digest(self, reference: str) -> str | None:
        """The manifest digest of reference in Buildah's storage; None when it has none."""
        result = self.run(["inspect", "--type", "image", "--format", "{{.FromImageDigest}}",
                           reference], check=False)
        return (result.stdout.strip() or None) if result.ok else None

    @contextmanager
    def working_container(self, image: str) -> Iterator[Callable[[Sequence[str]], Result]]:
        """A container of image (never pulled) and a function running argv in it, directly
        (no entrypoint; BUILDAH_ISOLATION decides how, chroot on unprivileged runners)."""
        lines = self.run(["from", "--pull-never", "--quiet", image]).stdout.split()
        container = lines[-1]
        try:
            yield lambda argv: self.run(["run", container, "--", *argv], check=False)
        finally:
            self.run(["rm", container], check=False)

    def push_archive(self, archive: Path, refs: Sequence[str], *, authfile: Path | None,
                     tls_verify: bool, on_output: Callable[[str], None] | None = None) -> str:
        """Push the image in a `docker load` archive to each ref in order, in Docker's
        manifest format (OCI has no HEALTHCHECK); returns the manifest digest pushed."""
        image = self.run(["pull", "--quiet", f"docker-archive:{archive}"]).stdout.split()[-1]
        digest = ""
        try:
            with tempfile.TemporaryDirectory(prefix="shipyard-buildah-push-") as tmp:
                digestfile = Path(tmp) / "digest"
                for ref in refs:
                    self.run(push_argv(image, ref, digestfile, authfile, tls_verify),
                             on_output=on_output)
                    digest = digest or digestfile.read_text(encoding="utf-8").strip()
        finally:
            self.remove([image])
        return digest

    def remove(self, refs: Sequence[str]) -> None:
        if refs:
            self.run(["rmi", "--force", *refs], check=False)


# What a docker-format config records about the one build that made it: the build
# container's id and hostname, the previous step's intermediate image (`parent`) and
# `FROM <intermediate id>` comments. None of it says anything about the image, and all
# of it differs between two builds of one commit.
_VOLATILE_KEYS = ("container", "container_config", "parent")


def normalised_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The image config without what only describes one build run."""
    result = {key: value for key, value in config.items() if key not in _VOLATILE_KEYS}
    if isinstance(result.get("config"), dict):
        result["config"] = {**result["config"], "Hostname": ""}
    result["history"] = [{key: value for key, value in entry.items() if key != "comment"}
                         for entry in config.get("history") or () if isinstance(entry, dict)]
    return result


def write_docker_archive(exported: Path, tags: Sequence[str], archive: Path) -> str:
    """A `docker load` archive of the image in `exported` (buildah's `dir:` layout: a
    manifest.json and blobs named by digest), its config normalised; returns the image id
    (the config's digest)."""
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    config_blob = exported / manifest["config"]["digest"].split(":", 1)[1]
    config = normalised_config(json.loads(config_blob.read_text(encoding="utf-8")))
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    layers = [layer["digest"].split(":", 1)[1] for layer in manifest["layers"]]
    entry = {"Config": f"{config_digest}.json", "RepoTags": list(tags),
             "Layers": [f"{digest}/layer.tar" for digest in layers]}
    with tarfile.open(archive, "w") as tar:
        _add_bytes(tar, f"{config_digest}.json", config_bytes)
        for digest in layers:
            tar.add(exported / digest, arcname=f"{digest}/layer.tar")
        _add_bytes(tar, "manifest.json", json.dumps([entry]).encode())
    return f"sha256:{config_digest}"


def archive_image_id(archive: Path) -> str | None:
    """The image id (config digest) a `docker load` archive holds: Docker's and ours name
    the config `<hex>.json`, Docker 25+'s OCI layout `blobs/sha256/<hex>`. None when the
    file is no such archive or holds more than one image."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("manifest.json")
            entries = json.loads(member.read()) if member else None
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return None
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        return None
    config = str(entries[0].get("Config", ""))
    digest = config.rpartition("/")[2].removesuffix(".json")
    return f"sha256:{digest}" if len(digest) == 64 else None


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
