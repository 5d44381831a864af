"""Dockerfile rules: seed 004's image checklist and seed 000's multi-stage build, as data
plus one pure function each (model in, findings out), each rule's text next to its code.

This module: base image, user, healthcheck, labels, secrets, and the list of all
Dockerfile rules; rules_dockerfile_build.py and rules_dockerfile_runtime.py hold the rest.

Stage awareness: each rule says whether it looks at the final stage (what ships: user,
healthcheck, labels, build tools, logging, one service, exec), at every stage (what
leaks or breaks the cache anywhere: secrets, unversioned downloads, migrations at
build), and the final stage's view includes the stages it builds FROM inside the file,
because their instructions are part of the image too.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping

from shipyard import secretpatterns as secrets
from shipyard.checks.dockerfile_context import DockerfileContext as DockerfileContext
from shipyard.checks.dockerfile_context import all_instructions as _all
from shipyard.checks.dockerfile_context import entrypoint_script
from shipyard.checks.dockerfile_context import final_chain as _final_chain
from shipyard.checks.dockerfile_context import found as _f
from shipyard.checks.dockerfile_context import from_image_stages as _from_image_stages
from shipyard.checks.dockerfile_context import shown as _shown
from shipyard.checks.dockerfile_context import start_instructions as _start_instructions
from shipyard.checks.dockerfile_context import with_triggers as _with_triggers
from shipyard.checks.model import Finding, Rule, Severity, register
from shipyard.checks.rules_dockerfile_build import df008, df009, df010, df011
from shipyard.checks.rules_dockerfile_runtime import df013, df014, df015, df016, df017
from shipyard.dockerfile_model import (
    DockerfileModel,
    Instruction,
    Stage,
    arg_pairs,
    env_pairs,
    expand,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

register(
    Rule("DF001", "base-image-tagged", ERROR, "all stages",
         "Every FROM names a tag or digest, and not `latest`.",
         "`latest` (or no tag) is whatever the registry serves today: two builds of one "
         "commit get different bases, and a rollback rebuild is not the image you tested.",
         "Name a version tag (python:3.12-slim-bookworm) or a digest (@sha256:...); an ARG "
         "used in FROM needs a default.", "seed 004 #8"),
    Rule("DF002", "base-image-pinned", WARNING, "all stages",
         "Base images use a specific version tag or a digest, or the build records the base "
         "digest in a label.",
         "A moving tag (python:slim, python:3, debian:bookworm) changes under you; seed 004 "
         "accepts that only when the build records which image was used.",
         "Use a major.minor tag or @sha256 digest, or label the final image with "
         "org.opencontainers.image.base.digest.", "seed 004 #8"),
    Rule("DF003", "non-root-user", ERROR, "final",
         "The final stage runs as a non-root user.",
         "A process running as root in the container is root on the host's kernel after any "
         "container escape, and can rewrite the application it serves.",
         "Create a user in the final stage and switch to it: `USER 10001:10001` "
         "(numeric, so Kubernetes' runAsNonRoot can verify it).", "seed 004 #1"),
    Rule("DF004", "healthcheck", WARNING, "final",
         "The final stage declares a HEALTHCHECK.",
         "Without one, Docker (and `compose up --wait`, and a deploy) cannot tell a hung "
         "service from a working one.",
         'Add `HEALTHCHECK CMD ["python", "/path/healthcheck.py"]` (a program that exists '
         "in the image, no curl needed).", "seed 004 #12"),
    Rule("DF005", "no-secret-in-arg-env", ERROR, "all stages",
         "No secret is passed through ARG or ENV.",
         "ARG values are recorded in the image history and ENV values in its config: anyone "
         "who can pull the image can read them.",
         "Pass build secrets with `RUN --mount=type=secret,id=NAME` and runtime secrets "
         "through the environment at run time (compose.override.yaml).", "seed 004 #3"),
    Rule("DF006", "no-secret-file-copied", ERROR, "all stages",
         "No secret file (.env, keys, .npmrc, .pypirc, .netrc ...) is copied into the image.",
         "A file copied into any layer stays in the image even if a later step deletes it.",
         "Mount it for the one step that needs it: `RUN --mount=type=secret,id=npmrc,"
         "target=/root/.npmrc ...`.", "seed 004 #3"),
    Rule("DF007", "secrets-via-mounts", ERROR, "all stages",
         "RUN steps get secrets only through BuildKit secret or ssh mounts.",
         "A token in a build arg, in a URL, or copied out of /run/secrets into a file ends "
         "up in a layer or in the history.",
         "Use `RUN --mount=type=secret,id=token,env=TOKEN` (or `--mount=type=ssh` for git) "
         "and never write the secret to a file that stays.", "seed 002"),
    Rule("DF012", "oci-labels", WARNING, "final",
         "The final image has revision, source and created labels.",
         "Labels tie an image found on a host back to the commit and repository it was "
         "built from (seed 004 #10/#11).",
         "Declare ARG BUILD_REVISION etc. and LABEL org.opencontainers.image.revision="
         '"${BUILD_REVISION}" (…source, …created); `shipyard build` fills them.',
         "seed 004 #11"),
)

_VERSION_TAG = re.compile(r"(?:^|[^0-9])\d+\.\d+")
_ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
_OCI_NEEDED: Mapping[str, tuple[str, ...]] = {
    "revision": ("org.opencontainers.image.revision", "org.label-schema.vcs-ref"),
    "source": ("org.opencontainers.image.source", "org.label-schema.vcs-url"),
    "created": ("org.opencontainers.image.created", "org.label-schema.build-date"),
}
BASE_DIGEST_LABELS = ("org.opencontainers.image.base.digest",)


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag, digest or None
    return name, None, digest or None


def df001(ctx: DockerfileContext) -> Iterable[Finding]:
    for stage in _from_image_stages(ctx.model):
        if stage.unresolved:
            yield _f(ctx, "DF001", f"FROM {stage.base}: build arg "
                     f"{', '.join(stage.unresolved)} has no default, so the base image is "
                     "unknown until build time", stage.line,
                     f"Give it a default: ARG {stage.unresolved[0]}=python:3.12-slim-bookworm")
            continue
        _, tag, digest = split_image(stage.image)
        if digest:
            continue
        if tag is None or tag == "latest":
            yield _f(ctx, "DF001", f"FROM {stage.image}: "
                     + ("no tag, so `latest`" if tag is None else "the `latest` tag")
                     + " — the base changes without a commit", stage.line)


def df002(ctx: DockerfileContext) -> Iterable[Finding]:
    labels = _labels(ctx.model.final.ancestry())
    if any(k in labels for k in BASE_DIGEST_LABELS):
        return
    for stage in _from_image_stages(ctx.model):
        if stage.unresolved:
            continue
        _, tag, digest = split_image(stage.image)
        if digest or tag is None or tag == "latest":
            continue  # digest: pinned; no tag/latest: DF001's finding
        if not _VERSION_TAG.search(tag):
            yield _f(ctx, "DF002", f"FROM {stage.image}: tag {tag!r} moves (no major.minor "
                     "version) and no base-digest label records what was used", stage.line)


def effective_user(model: DockerfileModel, build_args: Mapping[str, str] | None = None
                   ) -> tuple[str | None, Instruction | None]:
    """The USER the final stage ends with (expanded where its ARGs/ENVs allow), or None."""
    final = model.final
    users = [(s, i) for s, i in _final_chain(model) if i.cmd == "USER"]
    if not users:
        return None, None
    stage, item = users[-1]
    value = expand(item.args[0], model.variables_at(final if stage is final else stage,
                                                    item, build_args))[0]
    return value, item


_INTERACTIVE = re.compile(r"^(sh|bash|ash|dash|zsh|python[\d.]*|php|node|ruby|irb|pwsh|"
                          r"powershell(\.exe)?|cmd(\.exe)?|jshell|iex|erl|ghci|lua[\d.]*)$")


_PRIVILEGE_DROP = re.compile(r"\b(gosu|su-exec|setpriv\s+--reuid|runuser\s+-u|s6-setuidgid|"
                             r"chpst\s+-u|chroot\s+--userspec)\b")


def runs_a_service(ctx: DockerfileContext) -> bool:
    """Whether the final image starts a long-running service (EXPOSE, or a start command
    that is not an interpreter prompt): HEALTHCHECK and USER are about services, while a
    base or tool image (`CMD ["python3"]`, no CMD at all) is built upon or run by hand."""
    if any(i.cmd == "EXPOSE" for _, i in _final_chain(ctx.model)):
        return True
    starts = _start_instructions(ctx.model)
    if not starts:
        return False
    # With both, the ENTRYPOINT is usually a wrapper that ends in `exec "$@"`: the CMD
    # (`php -a`, `python3`) says what runs by default.
    first = starts[-1]
    argv = list(first.args) if first.json else (first.args[0].split() if first.args else [])
    program = posixpath.basename(argv[0]) if argv else ""
    options_only = all(a.startswith("-") for a in argv[1:])
    return not (_INTERACTIVE.match(program) and options_only)


_SELF_DROPPING = re.compile(r"^(php-fpm[\d.]*|apache2-foreground|httpd-foreground|httpd|nginx|"
                            r"apache2ctl|haproxy|postfix|dovecot|sshd)$")


def _drops_privileges(ctx: DockerfileContext) -> bool:
    starts = _start_instructions(ctx.model)
    if starts:
        last = starts[-1]
        argv = list(last.args) if last.json else (last.args[0].split() if last.args else [])
        if argv and _SELF_DROPPING.match(posixpath.basename(argv[0])):
            return True
    script = entrypoint_script(ctx)
    texts = [i.script for i in _start_instructions(ctx.model)] + ([script[1]] if script else [])
    return any(_PRIVILEGE_DROP.search(text) for text in texts)


def df003(ctx: DockerfileContext) -> Iterable[Finding]:
    final = ctx.model.final
    user, item = effective_user(ctx.model, ctx.build_args)
    root = user is None or user.strip() in _ROOT_USERS or user.split(":")[0] in ("root", "0")
    if root and (not runs_a_service(ctx) or _drops_privileges(ctx)):
        return  # a base/tool image, or a start script that switches user (gosu ...)
    if user is None:
        if final.is_external and final.image.endswith((":nonroot", "-nonroot")):
            return
        yield _f(ctx, "DF003", f"{final.label} sets no USER, so the container runs as root",
                 final.line)
    elif user.strip() in _ROOT_USERS or user.split(":")[0] in ("root", "0"):
        assert item is not None
        yield _f(ctx, "DF003", f"the final stage ends with USER {user}", item.line)


def df004(ctx: DockerfileContext) -> Iterable[Finding]:
    checks = [i for _, i in _final_chain(ctx.model) if i.cmd == "HEALTHCHECK"]
    final = ctx.model.final
    if not checks:
        if runs_a_service(ctx):
            yield _f(ctx, "DF004", f"{final.label} has no HEALTHCHECK", final.line)
    elif checks[-1].args[0].upper() == "NONE":
        yield _f(ctx, "DF004", "HEALTHCHECK NONE disables the health check", checks[-1].line)


def _labels(stages: Iterable[Stage]) -> dict[str, int]:
    found: dict[str, int] = {}
    for stage in stages:
        for item in stage.of("LABEL"):
            for key, _ in env_pairs(item):
                found[key] = item.line
    return found


def df012(ctx: DockerfileContext) -> Iterable[Finding]:
    labels = set(_labels(ctx.model.final.ancestry())) | set(ctx.external_labels)
    missing = [what for what, keys in _OCI_NEEDED.items() if not any(k in labels for k in keys)]
    if missing:
        final = ctx.model.final
        yield _f(ctx, "DF012", f"{final.label} has no "
                 + ", ".join(f"org.opencontainers.image.{m}" for m in missing) + " label",
                 final.line)


def df005(ctx: DockerfileContext) -> Iterable[Finding]:
    items = [i for i in _with_triggers(ctx.model) if i.cmd in ("ARG", "ENV")]
    for item in items:
        pairs: list[tuple[str, str | None]] = (list(arg_pairs(item)) if item.cmd == "ARG"
                                               else list(env_pairs(item)))
        for name, value in pairs:
            if secrets.is_secret_name(name):
                if item.cmd == "ENV" and value is not None and secrets.is_harmless_value(value):
                    continue
                yield _f(ctx, "DF005", f"{_shown(item)} {name}: a secret in "
                         + ("a build arg is recorded in the image history" if item.cmd == "ARG"
                            else "ENV is stored in the image config"), item.line)
            elif value and (secrets.url_with_credentials(value) or secrets.looks_like_token(value)):
                yield _f(ctx, "DF005", f"{_shown(item)} {name}: the value carries a credential",
                         item.line)


def _public_material(ctx: DockerfileContext, source: str) -> bool:
    """A signing key or certificate, by content where the file is in the context,
    else by its conventional name."""
    text = ctx.read(posixpath.normpath(source.lstrip("/")))
    if text is not None:
        return secrets.content_is_public(text)
    return secrets.is_public_key_name(source)


def df006(ctx: DockerfileContext) -> Iterable[Finding]:
    for item in _with_triggers(ctx.model):
        if item.cmd not in ("COPY", "ADD") or item.heredocs:
            continue
        for source in item.args[:-1]:
            if secrets.is_secret_file(source) and not _public_material(ctx, source):
                yield _f(ctx, "DF006", f"{_shown(item)} {source}: a secret file copied into a "
                         "layer stays in the image", item.line)


_SECRET_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


_LITERAL_URL_CREDENTIALS = secrets.url_credentials_pattern(not_in_parts="$")


_SECRET_COPY_OUT = re.compile(r"\b(cp|mv|install|tee|ln)\b[^;&|]*?/run/secrets/|"
                              r"cat\s+/run/secrets/\S+\s*>")


def df007(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item in _all(ctx.model):
        if item.cmd != "RUN":
            continue
        script = item.script
        mounted = {m.options.get("env") for m in item.mounts if m.type == "secret"}
        for name in dict.fromkeys(_SECRET_REF.findall(script)):
            if (secrets.is_secret_name(name) and name not in mounted
                    and not re.search(rf"(^|[\s;&|(]){name}=", script)):
                yield _f(ctx, "DF007", f"RUN uses ${name} from a build arg/env instead of a "
                         "secret mount", item.line,
                         f"RUN --mount=type=secret,id={name.lower()},env={name} ...")
        if _LITERAL_URL_CREDENTIALS.search(script):
            yield _f(ctx, "DF007", "RUN puts credentials in a URL (kept in the layer's "
                     "history and often in config files)", item.line)
        if _SECRET_COPY_OUT.search(script):
            yield _f(ctx, "DF007", "RUN copies a mounted secret out of /run/secrets into the "
                     "layer", item.line, "Use the secret where it is mounted (or mount it with "
                     "target= at the path the tool reads) instead of copying it.")


DOCKERFILE_RULES: tuple[Callable[[DockerfileContext], Iterable[Finding]], ...] = (
    df001, df002, df003, df004, df005, df006, df007, df008, df009, df010, df011, df012, df013,
    df014, df015, df016, df017,
)


def check_dockerfile(ctx: DockerfileContext) -> list[Finding]:
    return [item for rule in DOCKERFILE_RULES for item in rule(ctx)]
