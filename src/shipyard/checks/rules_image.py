"""Image rules: what a built image says about itself, without running it.

Why metadata only: `docker image inspect` and `docker history` answer most questions
(user, healthcheck, labels, environment, build args left in the history). The checks
`shipyard test` makes on that metadata are reused as they are (shipyard.image.metadata),
so the two commands cannot disagree about an image; checking
that a program exists needs only a *created* container: `docker cp` reads its
filesystem while nothing from the image executes — cheaper than exporting the whole
filesystem, and safe on images you do not trust or that have no shell (distroless).

Cross-checks against the project: the revision label must be the commit HEAD points
at (GitRepo), so an image cannot claim to be built from code it was not built from.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard import secretpatterns as secrets
from shipyard.checks.model import Finding, Rule, Severity, finding, register
from shipyard.errors import UsageError

if TYPE_CHECKING:
    from shipyard.tools.docker import Docker

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
_OCI_LABELS = ("org.opencontainers.image.revision", "org.opencontainers.image.source",
               "org.opencontainers.image.created")

register(
    Rule("IM001", "image-non-root", ERROR, "image",
         "The image's configured user is not root.",
         "What the Dockerfile says is one thing; this is what the container will run as.",
         "Set USER to a numeric non-root uid in the final stage and rebuild.", "seed 004 #1"),
    Rule("IM002", "image-healthcheck", WARNING, "image",
         "The image has a healthcheck.",
         "The engine can only report health for images that define how to test it.",
         "Add HEALTHCHECK to the final stage and rebuild.", "seed 004 #12"),
    Rule("IM003", "image-labels", WARNING, "image",
         "The image carries the required labels ([tool.shipyard.test] required_labels), "
         "non-empty.",
         "An image must say which commit and repository it came from and when it was built "
         "(an empty label is a build that forgot to pass its args).",
         "Build with `shipyard build` (or pass the BUILD_* build args / --label).",
         "seed 004 #10, #11"),
    Rule("IM004", "image-revision-is-head", ERROR, "image",
         "The revision label equals the commit checked out (git HEAD).",
         "An image whose label names another commit was not built from this checkout: "
         "testing or deploying it tests or deploys something else.",
         "Rebuild from this checkout, or check out the commit the image names.",
         "seed 004 #10"),
    Rule("IM005", "image-healthcheck-program", ERROR, "image",
         "The healthcheck's program (and script) exist in the image.",
         "A healthcheck that calls curl in an image without curl makes every container "
         "unhealthy forever.",
         "Use a program the image has (python + a small script), or install it.",
         "seed 004 #12, #13"),
    Rule("IM006", "image-no-secrets", ERROR, "image",
         "No secret in the image's environment, labels or build history.",
         "`docker inspect` and `docker history` show ENV values, labels and the build args RUN "
         "steps saw to anyone who can pull the image.",
         "Use BuildKit secret mounts at build time and runtime environment for secrets; rotate "
         "the leaked one.", "seed 004 #3"),
    Rule("IM007", "image-no-build-tools", WARNING, "image",
         "The image has no compiler or make.",
         "Build tools in a runtime image are dead weight and an attacker's toolbox.",
         "Build in a builder stage and copy only the result into the final stage.",
         "seed 000"),
    Rule("IM008", "image-exec-form", WARNING, "image",
         "The image's ENTRYPOINT/CMD are in exec (JSON) form.",
         "A shell-form start command leaves /bin/sh as PID 1, which does not forward SIGTERM.",
         'Write ENTRYPOINT ["program", "arg"] / CMD [...] in JSON form.', "seed 000"),
    Rule("IM009", "image-port", WARNING, "image",
         "The image exposes the configured port.",
         "EXPOSE documents the port the healthcheck, compose and the deploy use; a mismatch "
         "means one of them is wrong.",
         "Make EXPOSE and [tool.shipyard] port (or [tool.shipyard.test] port) agree.",
         "shipyard"),
)

# `shipyard test`'s metadata checks (shipyard.image.metadata), which need neither a
# running container nor the image's files, mapped to rule ids: `check --image` and
# `shipyard test` then agree by construction.
_FROM_IMAGETEST: Mapping[str, str] = {
    "metadata.user": "IM001",
    "metadata.healthcheck": "IM002",
    "metadata.labels": "IM003",
    "metadata.revision": "IM004",
    "metadata.secrets": "IM006",
    "metadata.exec_form": "IM008",
    "metadata.port": "IM009",
}
_BUILD_TOOLS = ("gcc", "cc", "g++", "make")
_HISTORY_ARGS = re.compile(r"^\|\d+\s+((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+)")


@dataclass(frozen=True)
class ImageFacts:
    """What the rules read: inspect output, history lines, a way to test paths, and what
    the project expects (HEAD, port, labels)."""

    ref: str
    inspect: Mapping[str, Any]
    history: Sequence[str] = ()
    exists: Callable[[str], bool] = field(default=lambda _path: True)
    head: str | None = None  # git HEAD of the project, when it is a checkout
    port: int = 8000
    required_labels: tuple[str, ...] = tuple(_OCI_LABELS)

    @property
    def config(self) -> Mapping[str, Any]:
        return self.inspect.get("Config") or {}

    @property
    def env(self) -> dict[str, str]:
        pairs = (str(e).partition("=") for e in self.config.get("Env") or ())
        return {k: v for k, _, v in pairs}

    def which(self, program: str) -> bool:
        if "/" in program:
            workdir = str(self.config.get("WorkingDir") or "/")
            return self.exists(posixpath.normpath(posixpath.join(workdir, program)))
        from shipyard.image import metadata  # only when an image is checked (CLI start-up)

        path = self.env.get("PATH", metadata.DEFAULT_PATH)
        return any(self.exists(posixpath.join(d, program)) for d in path.split(":") if d)


def check_image(facts: ImageFacts, file: str) -> list[Finding]:
    from shipyard.image import metadata  # only when an image is checked (CLI start-up)

    out: list[Finding] = []
    expected = metadata.Expected(facts.port, facts.required_labels, facts.head)
    results = [
        metadata.check_user(facts.config),
        metadata.check_healthcheck(facts.config),
        metadata.check_labels(facts.config, expected.required_labels),
        metadata.check_revision(facts.config, expected.head, expected.checkout),
        metadata.check_secrets(facts.config),
        metadata.check_exec_form(facts.config),
        metadata.check_port(facts.config, expected.port),
    ]
    for result in results:
        if not result.passed and not result.skipped:
            out.append(finding(_FROM_IMAGETEST[result.id], f"image {facts.ref}: {result.reason}",
                               file))
    out += _healthcheck_program(facts, file)
    out += _history_secrets(facts, file)
    tools = [t for t in _BUILD_TOOLS if facts.which(t)]
    if tools:
        out.append(finding("IM007", f"image {facts.ref} contains " + ", ".join(tools), file))
    return out


def _healthcheck_program(facts: ImageFacts, file: str) -> list[Finding]:
    from shipyard.image import metadata

    test = metadata.healthcheck_test(facts.config)
    if test is None:
        return []
    programs, scripts = metadata.healthcheck_programs(test)
    missing = [p for p in programs if not facts.which(p)]
    missing += [s for s in scripts if not facts.exists(s)]
    if missing:
        return [finding("IM005", f"image {facts.ref}: the healthcheck needs "
                        + ", ".join(missing) + ", which the image does not have", file)]
    return []


def _history_secrets(facts: ImageFacts, file: str) -> list[Finding]:
    out: dict[str, Finding] = {}
    for line in facts.history:
        match = _HISTORY_ARGS.match(line.strip())
        if not match:
            continue
        for pair in match[1].split():
            name, _, value = pair.partition("=")
            if value and secrets.is_secret_name(name):
                message = f"image {facts.ref}: build arg {name} is recorded in the history"
                out[message] = finding("IM006", message, file)
    return list(out.values())


# -- gathering the facts through the docker wrapper ----------------------------------------------


class ImageProbe:
    """Reads an image's metadata and tests paths in a created (never started) container."""

    def __init__(self, docker: Docker, ref: str) -> None:
        self.docker = docker
        self.ref = ref
        self._container: str | None = None
        self._cache: dict[str, bool] = {}
        import tempfile  # only when an image is checked (CLI start-up)

        self._tmp = tempfile.TemporaryDirectory(prefix="shipyard-check-")

    def __enter__(self) -> ImageProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._container:
            self.docker.remove_containers([self._container])
        self._tmp.cleanup()

    @property
    def container(self) -> str | None:
        """The probe container's name once a path was tested (created, never started)."""
        return self._container

    def inspect(self) -> dict[str, Any]:
        from shipyard.tools.docker import NotFound

        try:
            return self.docker.inspect(self.ref, "image")
        except NotFound:
            raise UsageError(f"image {self.ref} not found in the local engine",
                             hint="build or pull it first, or pass the right --image") from None

    def history(self) -> list[str]:
        result = self.docker.run(["history", "--no-trunc", "--format", "{{.CreatedBy}}",
                                  self.ref], check=False)
        return result.stdout.splitlines() if result.ok else []

    def exists(self, path: str) -> bool:
        if path not in self._cache:
            self._cache[path] = self._copy(path)
        return self._cache[path]

    def _copy(self, path: str) -> bool:
        if self._container is None:
            import uuid

            name = f"shipyard-check-{uuid.uuid4().hex[:12]}"
            self.docker.run(["create", "--name", name, "--network", "none",
                             "--entrypoint", "/shipyard-check-never-started", self.ref])
            self._container = name
        import uuid

        target = Path(self._tmp.name) / uuid.uuid4().hex
        result = self.docker.run(["cp", "--follow-link", f"{self._container}:{path}",
                                  str(target)], check=False)
        return result.ok


def image_findings(docker: Docker, ref: str, file: str, *, head: str | None = None,
                   port: int = 8000, required_labels: Sequence[str] = _OCI_LABELS
                   ) -> list[Finding]:
    """Inspect `ref` and run the image rules; the probe container is always removed."""
    with ImageProbe(docker, ref) as probe:
        facts = ImageFacts(ref, probe.inspect(), probe.history(), probe.exists, head, port,
                           tuple(required_labels))
        return check_image(facts, file)
