"""Dockerfile rules: seed 004's image checklist and seed 000's multi-stage build, as data
plus one pure function each (model in, findings out).

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
from dataclasses import dataclass, field

from shipyard import secretpatterns as secrets
from shipyard.checks import shell
from shipyard.checks.model import Finding, Rule, Severity, finding, register
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
    Rule("DF008", "dependencies-before-source", WARNING, "all stages",
         "Dependency declarations are copied and installed before the source code.",
         "Copying the whole source before installing dependencies invalidates the install "
         "layer on every code change: every build reinstalls everything.",
         "COPY requirements.txt (or pyproject.toml + lock) first, install, then COPY . .",
         "seed 000"),
    Rule("DF009", "no-build-tools-in-final", WARNING, "final",
         "Compilers and -dev packages stay in a builder stage.",
         "Build tools in the runtime image make it larger and hand an attacker a compiler.",
         "Install build tools in a builder stage and COPY --from=builder only the result "
         "(a virtualenv or /install prefix).", "seed 000"),
    Rule("DF010", "versioned-downloads", WARNING, "all stages",
         "Nothing is downloaded from an unversioned URL (latest, master, a branch, a pipe "
         "into sh).",
         "An unversioned download makes the image unrepeatable: rebuilding the same commit "
         "gives different contents.",
         "Download a tagged release (…/v1.2.3/…) and verify it (ADD --checksum=sha256:… or "
         "sha256sum -c); clone with --branch TAG or check out a commit.", "seed 004 #8"),
    Rule("DF011", "pinned-python-packages", WARNING, "all stages",
         "`pip install NAME` pins a version (or installs from a lock/requirements file).",
         "An unpinned package installs whatever is newest at build time.",
         "Pin it (`pip install gunicorn==23.0.0`) or add it to the requirements/lock file.",
         "seed 004 #8"),
    Rule("DF012", "oci-labels", WARNING, "final",
         "The final image has revision, source and created labels.",
         "Labels tie an image found on a host back to the commit and repository it was "
         "built from (seed 004 #10/#11).",
         "Declare ARG BUILD_REVISION etc. and LABEL org.opencontainers.image.revision="
         '"${BUILD_REVISION}" (…source, …created); `shipyard build` fills them.',
         "seed 004 #11"),
    Rule("DF013", "logs-to-stdout", WARNING, "final",
         "The service logs to stdout/stderr, not to files.",
         "Log files fill the container's filesystem (read-only anyway here) and are invisible "
         "to `docker logs` and log drivers.",
         "Log to stdout/stderr (gunicorn: --access-logfile - --error-logfile -).",
         "seed 004 #5"),
    Rule("DF014", "one-service", WARNING, "final",
         "The image runs one service: no supervisord, init system, cron or backgrounded "
         "daemons.",
         "Several services in one container cannot be restarted, scaled, health-checked or "
         "updated separately; compose exists for that.",
         "Run each service in its own container (another compose service).", "seed 004 #2"),
    Rule("DF015", "exec-entrypoint", WARNING, "final",
         "The entrypoint hands PID 1 to the server (`exec`, JSON-form CMD/ENTRYPOINT).",
         "A shell left as PID 1 does not forward SIGTERM: `docker stop` waits 10 s and kills "
         "the server mid-request.",
         'Use JSON form (`ENTRYPOINT ["docker-entrypoint"]`) and end the script with '
         '`exec gunicorn ...`.', "seed 000"),
    Rule("DF016", "no-migrations-at-build", ERROR, "all stages",
         "Database migrations do not run during the build.",
         "At build time there is no production database: migrating then creates one inside "
         "the image (or fails), and the real database is never migrated.",
         "Run migrations at container start (entrypoint: `python manage.py migrate "
         "--noinput`, then `exec` the server).", "seed 000"),
    Rule("DF017", "migrations-at-start", INFO, "final",
         "A Django project with migrations runs `migrate` when the container starts.",
         "Seed 000: updates must need no manual command; migrate is idempotent, so running "
         "it on every start is safe.",
         "Add `python manage.py migrate --noinput` to the entrypoint before `exec`.",
         "seed 000"),
)

_VERSION_TAG = re.compile(r"(?:^|[^0-9])\d+\.\d+")
_BUILD_TOOLS = re.compile(
    r"^(build-essential|build-base|gcc(-\d+)?|g\+\+(-\d+)?|cc|clang(-\d+)?|make|cmake|autoconf"
    r"|automake|libtool|pkg-?config|pkgconf|git|rustc|cargo|golang(-go)?|[\w.+-]+-dev|"
    r"[\w.+-]+-devel|musl-dev|linux-headers)$")
_ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
_UNVERSIONED_URL = re.compile(
    r"(?i)(?:/|=)(latest|master|main|head|nightly|trunk)(?:/|\.(?:zip|tar|tgz|tar\.gz|gz|"
    r"deb|rpm|sh|exe|bin)|$|[?&#])|refs/heads/|@latest\b")
_URL = re.compile(r"https?://[^\s\"'|;&)]+")
# A tag or release in the path (…/nvm/v0.39.5/install.sh, …/1.2.3/…) or a commit id.
_VERSIONED_URL = re.compile(r"/v?\d+\.\d+(?:\.\d+)*(?:[-.\w]*)/|/[0-9a-f]{40}/")
_FETCHERS = frozenset({"curl", "wget", "git", "pip", "pip3", "go", "npm", "aria2c", "fetch"})
_MIGRATE = re.compile(
    r"(manage\.py|django-admin)\s+migrate\b|alembic\s+upgrade"
    r"|flask\s+(?:--app\s+\S+\s+)?db\s+upgrade"
    r"|rake\s+db:migrate|prisma\s+migrate\s+deploy|sequelize\s+db:migrate|knex\s+migrate")
_DEP_INSTALL = re.compile(
    r"\b(pip[0-9.]*|uv\s+pip)\s+install\b|\buv\s+sync\b|\bpoetry\s+install\b|\bpipenv\s+"
    r"(install|sync)\b|\bpdm\s+(install|sync)\b|\bnpm\s+(ci|install)\b|\byarn(\s+install)?\s*"
    r"($|&|;)|\bpnpm\s+install\b|\bbundle\s+install\b|\bcomposer\s+install\b|\bgo\s+mod\s+"
    r"download\b")
_PROJECT_ONLY = re.compile(r"--no-deps\b|--no-dependencies\b|\buv\s+sync\b.*--no-editable|"
                           r"--only-root\b")
_LOG_FLAGS = re.compile(r"--(access-logfile|error-logfile|log-file|logto|logto2)(?:=|\s+)(\S+)")
_LOG_REDIRECT = re.compile(r"(?:^|\s)(?:\d?>>?|&>>?)\s*(/var/log/\S+|\S+\.log)\b")
_SUPERVISORS = re.compile(r"^(supervisor|supervisord|s6|s6-overlay|runit|cron|cronie|"
                          r"systemd|systemd-sysv|openrc|openssh-server|dcron|busybox-openrc)$")
_SUPERVISOR_CMDS = frozenset({"supervisord", "s6-svscan", "runsvdir", "cron", "crond",
                              "systemd", "init", "sshd", "service", "/init"})
_OCI_NEEDED: Mapping[str, tuple[str, ...]] = {
    "revision": ("org.opencontainers.image.revision", "org.label-schema.vcs-ref"),
    "source": ("org.opencontainers.image.source", "org.label-schema.vcs-url"),
    "created": ("org.opencontainers.image.created", "org.label-schema.build-date"),
}
BASE_DIGEST_LABELS = ("org.opencontainers.image.base.digest",)


@dataclass(frozen=True)
class DockerfileContext:
    """A parsed Dockerfile plus what the rules may need from around it."""

    model: DockerfileModel
    file: str  # project-relative
    read: Callable[[str], str | None] = lambda _path: None  # project-relative → text
    external_labels: frozenset[str] = frozenset()  # label keys set by CI (--label)
    django_migrations: bool = False
    start_commands: str = ""  # compose `command:`/`entrypoint:` text
    build_args: Mapping[str, str] = field(default_factory=dict)


def _f(ctx: DockerfileContext, rule_id: str, message: str, line: int | None,
       fix: str | None = None) -> Finding:
    return finding(rule_id, message, ctx.file, line, fix)


def _final_chain(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    """(stage, instruction) for the final stage and the stages it builds FROM, oldest first."""
    out: list[tuple[Stage, Instruction]] = []
    for stage in reversed(model.final.ancestry()):
        out += [(stage, item) for item in stage.instructions]
    return out


def _all(model: DockerfileModel) -> list[tuple[Stage, Instruction]]:
    return [(stage, item) for stage in model.stages for item in stage.instructions]


def _from_image_stages(model: DockerfileModel) -> list[Stage]:
    return [s for s in model.stages if s.is_external and s.image.lower() != "scratch"]


# -- base image ----------------------------------------------------------------------------------


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


# -- user, healthcheck, labels -------------------------------------------------------------------


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
# Start scripts that switch to an unprivileged user before `exec`ing the service.
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


# Servers that start as root only to bind ports and read keys, and run their workers as
# the user their configuration names (php-fpm's pool user, Apache's User, nginx's user).
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


# -- secrets -------------------------------------------------------------------------------------


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


# -- cache order, build tools, downloads ---------------------------------------------------------


def _is_context_copy(item: Instruction) -> bool:
    return (item.cmd in ("COPY", "ADD") and item.flag("from") is None and not item.heredocs
            and any(src.rstrip("/") in (".", "./.", "*", "") for src in item.args[:-1]))


def _with_triggers(model: DockerfileModel) -> list[Instruction]:
    """Every instruction, plus ONBUILD triggers as the instructions they will run."""
    return [*model.instructions, *model.onbuild_triggers]


def _shown(item: Instruction) -> str:
    return f"ONBUILD {item.cmd}" if item.original.upper().startswith("ONBUILD") else item.cmd


def df008(ctx: DockerfileContext) -> Iterable[Finding]:
    sequences = [(s.label, s.instructions) for s in ctx.model.stages]
    if ctx.model.onbuild_triggers:
        sequences.append(("ONBUILD", ctx.model.onbuild_triggers))
    for label, instructions in sequences:
        copied: Instruction | None = None
        for item in instructions:
            if copied is None and _is_context_copy(item):
                copied = item
            if item.cmd != "RUN":
                continue
            if not _installs_dependencies(item.script):
                continue
            if copied is not None and not _PROJECT_ONLY.search(item.script):
                yield _f(ctx, "DF008", f"{label}: dependencies are installed (line "
                         f"{item.line}) after the whole source is copied (line {copied.line}),"
                         " so every code change reinstalls them", copied.line)
            break


def _installs_dependencies(script: str) -> bool:
    """True for installs from a declaration (requirements, lock, the project itself);
    false for a tool install such as `pip install poetry==1.8.3`."""
    if not _DEP_INSTALL.search(script):
        return False
    for command in shell.commands(script):
        args = shell.pip_install_args(command)
        if args is None:
            if _DEP_INSTALL.search(" ".join(command.argv)):
                return True
            continue
        if any(a in ("-r", "--requirement", "-e", "--editable") or a.startswith(
                ("-r", "--requirement=", ".", "/", "$")) for a in args):
            return True
    return False


def df009(ctx: DockerfileContext) -> Iterable[Finding]:
    final = ctx.model.final
    for stage, item in _final_chain(ctx.model):
        if item.cmd != "RUN":
            continue
        cmds = shell.commands(item.script)
        if _auto_removes_what_it_installed(cmds):
            continue
        removed = {p for c in cmds for p in shell.removed_packages(c)}
        tools: list[str] = []
        for command in cmds:
            packages = shell.os_packages(command)
            if any(p.startswith(".") and p in removed for p in packages):
                continue  # apk add --virtual .deps ... && apk del .deps: gone in the same layer
            tools += [p for p in packages if _BUILD_TOOLS.match(p) and p not in removed]
        if tools:
            where = "" if stage is final else f" (inherited from {stage.label})"
            yield _f(ctx, "DF009", f"build tools in the final image{where}: "
                     + ", ".join(dict.fromkeys(tools)), item.line)


def _auto_removes_what_it_installed(cmds: list[shell.Command]) -> bool:
    """The official images' idiom: `apt-mark auto '.*'; apt-mark manual $saved; … apt-get
    purge --auto-remove` (the build dependencies leave in the same layer without being
    named again)."""
    marks_auto = any(c.name == "apt-mark" and "auto" in c.argv for c in cmds)
    auto_removes = any(c.name in ("apt-get", "apt") and (
        "autoremove" in c.argv or (("purge" in c.argv or "remove" in c.argv)
                                   and "--auto-remove" in c.argv)) for c in cmds)
    return marks_auto and auto_removes


_GIT_PINS = re.compile(r"\bgit\b[^\n;&|]*\b(?:checkout|reset|switch)\b")


def df010(ctx: DockerfileContext) -> Iterable[Finding]:
    for stage, item in _all(ctx.model):
        if item.cmd == "ADD":
            for src in item.args[:-1]:
                if src.startswith(("http://", "https://", "git@")) and (
                        _UNVERSIONED_URL.search(src) or src.endswith(".git")) and not (
                        item.flag("checksum")):
                    yield _f(ctx, "DF010", f"ADD {src}: an unversioned download", item.line)
        if item.cmd != "RUN":
            continue
        # `RUN git clone …` then `RUN git checkout "$REF"`: pinned in a later step.
        pinned_later = any(_GIT_PINS.search(later.script) for later in stage.instructions
                           if later.cmd == "RUN" and later.line > item.line)
        for problem in _download_problems(item.script):
            if pinned_later and problem.startswith("clones a git repository"):
                continue
            yield _f(ctx, "DF010", f"RUN {problem}", item.line)


def _download_problems(script: str) -> list[str]:
    problems: list[str] = []
    cmds = shell.commands(script)
    for index, command in enumerate(cmds):
        urls = [w for w in command.argv if _URL.match(w)]
        # Only commands that fetch: `apk add -X <repository>` or `echo <url> >> sources`
        # name where packages come from, and the packages carry the versions.
        if command.name in _FETCHERS:
            for url in urls:
                if _UNVERSIONED_URL.search(url):
                    problems.append(f"downloads an unversioned URL: {url}")
        if command.name in ("curl", "wget") and command.piped and index + 1 < len(cmds) and \
                cmds[index + 1].name in ("sh", "bash", "zsh", "dash", "ash", "python", "python3") \
                and not any(_VERSIONED_URL.search(url) for url in urls):
            problems.append(f"pipes a download into {cmds[index + 1].name}: the script is "
                            "whatever the server serves today")
        if command.name == "git" and "clone" in command.argv:
            pinned = any(a in ("--branch", "-b") or a.startswith("--branch=")
                         for a in command.argv)
            later = [c for c in cmds[index + 1:] if c.name == "git" and
                     ({"checkout", "reset", "switch"} & set(c.argv))]
            branch = _option(command.argv, ("--branch", "-b"))
            if (not pinned and not later) or branch in ("master", "main", "HEAD"):
                problems.append("clones a git repository without a tag or commit "
                                "(--branch TAG, or git checkout SHA)")
        pip = shell.pip_install_args(command)
        for arg in pip or ():
            if arg.startswith("git+") and ("@" not in arg.split("://", 1)[-1].split("/", 1)[-1]
                                           or re.search(r"@(main|master|HEAD)\b", arg)):
                problems.append(f"installs {arg} without a tag or commit")
        if command.name == "go" and any(a.endswith("@latest") for a in command.argv):
            problems.append("installs a Go module @latest")
    return problems


def _option(argv: Iterable[str], names: tuple[str, ...]) -> str | None:
    words = list(argv)
    for index, word in enumerate(words):
        if word in names and index + 1 < len(words):
            return words[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


_PIP_VALUE_OPTIONS = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable",
                                "-t", "--target", "--prefix", "--root", "-i", "--index-url",
                                "--extra-index-url", "-f", "--find-links", "--python",
                                "--cache-dir", "--src", "--trusted-host", "--platform",
                                "--python-version", "--implementation", "--abi"})


def df011(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item in _all(ctx.model):
        if item.cmd != "RUN":
            continue
        for command in shell.commands(item.script):
            args = shell.pip_install_args(command)
            if args is None:
                continue
            unpinned: list[str] = []
            skip = False
            for arg in args:
                if skip:
                    skip = False
                    continue
                if arg in _PIP_VALUE_OPTIONS:
                    skip = True
                    continue
                if arg.startswith("-") or "/" in arg or arg in (".", "..") or \
                        arg.endswith((".whl", ".tar.gz", ".zip")) or arg.startswith("$"):
                    continue
                if not re.search(r"(==|===|@|~=|<=?|>=?)", arg):
                    unpinned.append(arg)
            if unpinned:
                yield _f(ctx, "DF011", "RUN installs unpinned Python packages: "
                         + ", ".join(unpinned), item.line)


# -- runtime behaviour: logs, one service, exec, migrations --------------------------------------


def _start_instructions(model: DockerfileModel) -> list[Instruction]:
    """The last ENTRYPOINT and the last CMD of the final image (the ones that run)."""
    chain = [i for _, i in _final_chain(model)]
    out = []
    for cmd in ("ENTRYPOINT", "CMD"):
        found = [i for i in chain if i.cmd == cmd]
        if found and found[-1].args:  # `ENTRYPOINT []` clears it: nothing of it runs
            out.append(found[-1])
    return out


def entrypoint_script(ctx: DockerfileContext) -> tuple[str, str] | None:
    """(project-relative path or 'Dockerfile:LINE', text) of the script the container starts,
    when it is a file the project copies in (or a COPY heredoc)."""
    starts = _start_instructions(ctx.model)
    if not starts:
        return None
    first = starts[0]
    program = first.args[0] if first.json else (first.args[0].split() or [""])[0]
    if program in ("sh", "/bin/sh", "bash", "/bin/bash") or not program:
        return None
    base = posixpath.basename(program)
    for _, item in reversed(_final_chain(ctx.model)):
        if item.cmd not in ("COPY", "ADD"):
            continue
        dest = item.args[-1]
        for doc in item.heredocs:
            if posixpath.basename(dest.rstrip("/")) == base:
                return f"{ctx.file}:{item.line}", doc.content
        if item.flag("from") is not None:
            continue
        for src in item.args[:-1]:
            src_base = posixpath.basename(src.rstrip("/"))
            target = posixpath.basename(dest.rstrip("/")) if not dest.endswith("/") else src_base
            if target == base or (dest.endswith("/") and src_base == base):
                rel = posixpath.normpath(src.lstrip("/"))  # context-relative, as COPY means it
                text = ctx.read(rel)
                if text is not None:
                    return rel, text
    for candidate in (base, f"docker/{base}", f"scripts/{base}", f"bin/{base}"):
        text = ctx.read(candidate)
        if text is not None:
            return candidate, text
    return None


def _start_texts(ctx: DockerfileContext) -> list[tuple[str, int | None, str]]:
    """(file, line, text) of everything that runs at container start."""
    starts = _start_instructions(ctx.model)
    if starts and starts[0].cmd == "ENTRYPOINT" and starts[0].json:
        starts = starts[:1]  # CMD only passes arguments to an exec-form ENTRYPOINT
    out: list[tuple[str, int | None, str]] = [(ctx.file, i.line, i.script) for i in starts]
    script = entrypoint_script(ctx)
    if script is not None:
        out.append((script[0], None, script[1]))
    return out


def df013(ctx: DockerfileContext) -> Iterable[Finding]:
    for file, line, text in _start_texts(ctx):
        for match in _LOG_FLAGS.finditer(text):
            if match[2] not in ("-", '"-"', "'-'", "/dev/stdout", "/dev/stderr"):
                yield finding("DF013", f"--{match[1]} {match[2]}: logs written to a file",
                              _file(file), line or _line_in(file, text, match.start()))
        for match in _LOG_REDIRECT.finditer(text):
            yield finding("DF013", f"output redirected to {match[1]}", _file(file),
                          line or _line_in(file, text, match.start()))
    for _, item in _final_chain(ctx.model):
        if item.cmd == "ENV":
            for name, value in env_pairs(item):
                if "LOG" in name.upper() and (value.endswith(".log") or
                                              value.startswith("/var/log/")):
                    yield _f(ctx, "DF013", f"ENV {name}={value}: logs written to a file",
                             item.line)


def _file(file: str) -> str:
    return file.rsplit(":", 1)[0] if re.search(r":\d+$", file) else file


def _line_in(file: str, text: str, offset: int) -> int:
    base = int(file.rsplit(":", 1)[1]) if re.search(r":\d+$", file) else 0
    return base + text.count("\n", 0, offset) + 1


def df014(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item in _final_chain(ctx.model):
        if item.cmd != "RUN":
            continue
        found = [p for c in shell.commands(item.script) for p in shell.os_packages(c)
                 if _SUPERVISORS.match(p)]
        if found:
            yield _f(ctx, "DF014", "installs a process supervisor/extra daemon in the final "
                     "image: " + ", ".join(found), item.line)
    for file, line, text in _start_texts(ctx):
        for command in shell.commands(text):
            where = line or _line_in(file, text, _offset_of_line(text, command.line))
            if command.name in _SUPERVISOR_CMDS:
                shown = " ".join(command.argv[:3]) if command.name == "service" else command.name
                yield finding("DF014", f"starts `{shown}` — a second service or an init "
                              "system in the container", _file(file), where)
            elif command.background:
                yield finding("DF014", f"starts `{' '.join(command.argv[:3])}` in the "
                              "background — a second process nobody supervises", _file(file),
                              where)


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1 if "\n" in text[offset:] else offset
    return offset


def df015(ctx: DockerfileContext) -> Iterable[Finding]:
    for item in _start_instructions(ctx.model):
        if not item.json:
            if not item.script.lstrip().startswith("exec "):
                yield _f(ctx, "DF015", f"{item.cmd} in shell form runs under /bin/sh -c, which "
                         "stays PID 1 and does not forward SIGTERM", item.line,
                         f'Write it in JSON form ({item.cmd} ["program", "arg", ...]), or start '
                         "the shell form with `exec`.")
        elif len(item.args) >= 3 and posixpath.basename(item.args[0]) in ("sh", "bash") and \
                item.args[1] == "-c" and not _ends_with_exec(item.args[2]):
            yield _f(ctx, "DF015", f"{item.cmd} runs a shell (-c) whose last command is not "
                     "`exec`", item.line)
    script = entrypoint_script(ctx)
    if script is not None and not _ends_with_exec(script[1]):
        file, text = script
        lines = shell.logical_lines(text)
        last = lines[-1][0] if lines else 1
        yield finding("DF015", "the entrypoint script does not `exec` the server at the end, so "
                      "the shell stays PID 1", _file(file), _line_in(file, text, 0) + last - 1,
                      "End the script with `exec <server> ...` (and `exec \"$@\"` for other "
                      "commands).")


_EXEC = re.compile(r"^exec\s+(?![<>0-9&])\S")


def _ends_with_exec(text: str) -> bool:
    lines = [t for _, t in shell.logical_lines(text)]
    if not lines:
        return True
    last = lines[-1].strip()
    if _EXEC.match(last) or last.startswith("exit"):
        return True
    if re.fullmatch(r"(fi|esac|done|\}|;;)\s*", last):
        return any(_EXEC.match(t.strip()) or re.search(r"(then|;|do|\))\s*exec\s+\S", t)
                   for t in lines)
    return False


def df016(ctx: DockerfileContext) -> Iterable[Finding]:
    for _, item in _all(ctx.model):
        if item.cmd == "RUN" and _MIGRATE.search(item.script):
            yield _f(ctx, "DF016", "RUN migrates a database at build time", item.line)


def df017(ctx: DockerfileContext) -> Iterable[Finding]:
    if not ctx.django_migrations:
        return
    texts = [t for _, _, t in _start_texts(ctx)] + [ctx.start_commands]
    if not any(_MIGRATE.search(t) for t in texts):
        final = ctx.model.final
        yield _f(ctx, "DF017", "the Django project has migrations but nothing runs `migrate` "
                 "when the container starts", final.line)


DOCKERFILE_RULES: tuple[Callable[[DockerfileContext], Iterable[Finding]], ...] = (
    df001, df002, df003, df004, df005, df006, df007, df008, df009, df010, df011, df012, df013,
    df014, df015, df016, df017,
)


def check_dockerfile(ctx: DockerfileContext) -> list[Finding]:
    return [item for rule in DOCKERFILE_RULES for item in rule(ctx)]
