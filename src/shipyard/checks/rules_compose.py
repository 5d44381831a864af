"""compose.yaml / compose.override.yaml rules: seed 000's "good docker compose setup".

Why two kinds of file: compose.yaml is in git and describes the project for every
environment, so it must not bind host ports or hold secrets; compose.override.yaml is
per host (not in git) and is exactly where ports and API keys belong. Rules about
something missing (read_only, restart, healthcheck) are judged on the effective service
(the base file plus its overrides and `extends:`, see compose_project) and reported at
the base file's service; rules about what a line does (writable bind mounts,
container_name, a `latest` image) apply to every file, at that file's line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from shipyard import secretpatterns as secrets
from shipyard.checks.compose_file import PLACEHOLDER, ComposeContext, interpolate
from shipyard.checks.model import Finding, Rule, Severity, finding, register
from shipyard.checks.rules_dockerfile import split_image
from shipyard.checks.yamlfile import item_line, key_line

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

register(
    Rule("CO001", "read-only", WARNING, "compose",
         "Every service runs with `read_only: true`.",
         "A read-only root filesystem means a compromised or buggy process cannot change the "
         "application or plant files; writes go to tmpfs and volumes you chose.",
         "Add `read_only: true` (and tmpfs for /tmp, /run).", "seed 000"),
    Rule("CO002", "tmpfs", WARNING, "compose",
         "Read-only services get tmpfs mounts for scratch space.",
         "Most programs need a writable /tmp (and /run); without tmpfs they fail on a "
         "read-only root.",
         "Add `tmpfs: [/tmp, /run]`.", "seed 000"),
    Rule("CO003", "config-mounts-read-only", WARNING, "compose",
         "Host paths are mounted read-only (`:ro`).",
         "Configuration mounted from outside must not be changeable from inside; data that "
         "must be written belongs in a named volume.",
         "Append `:ro` to the bind mount, or move writable data to a named volume.",
         "seed 000"),
    Rule("CO004", "named-volumes", WARNING, "compose",
         "Data lives in named volumes, not anonymous ones.",
         "An anonymous volume has no name to back up, restore or keep across `down`: data "
         "paths are handled by (named) volumes.",
         "Use `name:/path` and declare `name` under top-level `volumes:`.", "seed 000, 004 #14"),
    Rule("CO005", "no-ports-in-compose-yaml", WARNING, "compose",
         "compose.yaml publishes no ports; each host's compose.override.yaml does.",
         "Host ports are a global resource: a port in compose.yaml prevents a second instance "
         "(staging next to production) on the same host.",
         "Move `ports:` to compose.override.yaml (and document that in the README).",
         "seed 000"),
    Rule("CO006", "no-container-name", WARNING, "compose",
         "Services have no fixed `container_name`.",
         "The directory name is the project name; a fixed container name makes a second "
         "instance of the project on the same host impossible.",
         "Remove `container_name:`; compose names containers <project>-<service>-N.",
         "seed 000"),
    Rule("CO007", "healthcheck", WARNING, "compose",
         "Every service has a health check (in compose or in its image).",
         "`docker compose up --wait` and `depends_on: condition: service_healthy` need one to "
         "know a service is ready.",
         "Add `healthcheck:` with a test that exists in the image.", "seed 004 #12"),
    Rule("CO008", "restart-policy", WARNING, "compose",
         "Every service has a restart policy.",
         "Containers should come back by themselves after a crash or a host reboot.",
         "Add `restart: unless-stopped`.", "seed 000"),
    Rule("CO009", "image-not-latest", ERROR, "compose",
         "Images name a tag, and it is not `latest` (nor defaults to it).",
         "`latest` is not a version: a `pull` can silently change what runs, and you cannot "
         "roll back to it.",
         "Use a unique tag: `image: registry/app:${IMAGE_TAG:?set IMAGE_TAG}`.", "seed 004 #6"),
    Rule("CO010", "image-tag-variable", WARNING, "compose",
         "The project's own image takes its tag from a variable.",
         "A deploy is `IMAGE_TAG=<unique tag> docker compose up -d`; a tag written into "
         "compose.yaml needs a commit per deploy and invites editing files on the host.",
         "Write `image: registry/app:${IMAGE_TAG:?set IMAGE_TAG}`.", "seed 000, 004 #6"),
    Rule("CO011", "pull-not-build", WARNING, "compose",
         "Services the deploy runs use a pushed image, not `build:` alone.",
         "`docker compose pull && up -d` cannot update a service that is built on the host, "
         "and building per host breaks build-once-run-anywhere.",
         "Give the service an `image:` that CI pushes (keep `build:` for development only).",
         "seed 000, 004 #4"),
    Rule("CO012", "no-secrets-in-compose-yaml", ERROR, "compose",
         "compose.yaml (in git) holds no secret values.",
         "Secrets committed to git are readable by everyone with repository access, forever.",
         "Move the value to compose.override.yaml or an env_file that is not in git.",
         "seed 000"),
)

def _services(ctx: ComposeContext) -> Iterable[tuple[str, Any, int | None]]:
    services = ctx.data.get("services") or {}
    for name, service in services.items():
        yield name, service or {}, key_line(services, name)


# One-shot jobs by the names compose projects give them: mongo-init, db_migrate, seed ...
_JOB_NAME = re.compile(r"(?:^|[-_])(?:init|setup|migrate|migration|migrations|seed|bootstrap|"
                       r"createbuckets|create-buckets|provision|test|tests)(?:[-_]|$)",
                       re.IGNORECASE)
# Writable binds of data (a database directory, uploads, an inbox folder) are about where
# data lives, not configuration that the container could change: CO003 is about the latter.
_DATA_NAMES = re.compile(r"^(?:data|db|database|media|uploads?|consume|export|exports|backups?|"
                         r"storage|files|downloads|documents|photos|library|logs?|var)$",
                         re.IGNORECASE)


def _one_shot(ctx: ComposeContext) -> set[str]:
    """Jobs meant to exit (a migration run, a seed), so no restart and no health: services
    others wait for with `condition: service_completed_successfully`, and services named
    as such a job."""
    jobs: set[str] = {str(name) for name, _, _ in _services(ctx) if _JOB_NAME.search(str(name))}
    for _, svc, _ in _services(ctx):
        depends = svc.get("depends_on")
        if isinstance(depends, dict):
            jobs |= {str(name) for name, cond in depends.items() if isinstance(cond, dict)
                     and cond.get("condition") == "service_completed_successfully"}
    return jobs


def _f(ctx: ComposeContext, rule_id: str, message: str, line: int | None) -> Finding:
    return finding(rule_id, message, ctx.file, line)


def co001(ctx: ComposeContext) -> Iterable[Finding]:
    if ctx.is_override:
        return
    for name, svc, line in _services(ctx):
        if not _true(ctx.service(name, svc).get("read_only")):
            where = key_line(svc, "read_only") or line
            yield _f(ctx, "CO001", f"service {name}: root filesystem is writable "
                     "(read_only is not true)" + ctx.not_here(name), where)


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _has_tmpfs(svc: Any) -> bool:
    if svc.get("tmpfs"):
        return True
    return any(isinstance(v, dict) and v.get("type") == "tmpfs" for v in svc.get("volumes") or ())


def co002(ctx: ComposeContext) -> Iterable[Finding]:
    if ctx.is_override:
        return
    for name, svc, line in _services(ctx):
        merged = ctx.service(name, svc)
        if _true(merged.get("read_only")) and not _has_tmpfs(merged):
            yield _f(ctx, "CO002", f"service {name}: read-only without tmpfs for /tmp or /run",
                     key_line(svc, "read_only") or line)


def _volume(entry: Any) -> tuple[str, str | None, bool]:
    """(kind, source, read_only) of a volumes entry; kind: bind|named|anonymous|tmpfs|other."""
    if isinstance(entry, dict):
        kind = str(entry.get("type", "volume"))
        source = entry.get("source")
        read_only = bool(entry.get("read_only"))
        if kind == "volume":
            return ("named" if source else "anonymous"), source, read_only
        return kind, source, read_only
    parts = _split_outside_braces(str(entry))
    if len(parts) == 1:
        return "anonymous", None, False
    source, mode = parts[0], (parts[2] if len(parts) > 2 else "")
    read_only = "ro" in interpolate(mode).split(",")
    resolved = interpolate(source)
    if resolved.startswith((".", "/", "~")) or (resolved.startswith(PLACEHOLDER)
                                                and source.startswith("$")):
        return "bind", source, read_only
    return "named", source, read_only


def _is_data(entry: Any, source: str | None) -> bool:
    target = entry.get("target") if isinstance(entry, dict) else (
        [*_split_outside_braces(str(entry)), ""])[1]
    names = [posixpath.basename(interpolate(str(p)).rstrip("/")) for p in (source, target) if p]
    return any(_DATA_NAMES.match(word) for name in names for word in re.split(r"[-_.]", name))


def _split_outside_braces(text: str) -> list[str]:
    """Split a short volume `SRC:DST:MODE` on colons that are not inside `${...}`
    (`${MEDIA_DIR:-./media}:/media:ro` has three parts, not four)."""
    parts, current, depth = [], "", 0
    for index, char in enumerate(text):
        if char == "{" and text[index - 1:index] == "$":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        if char == ":" and not depth:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def co003(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, _ in _services(ctx):
        volumes = svc.get("volumes") or []
        for index, entry in enumerate(volumes):
            kind, source, read_only = _volume(entry)
            if kind == "bind" and not read_only and not _is_data(entry, source):
                yield _f(ctx, "CO003", f"service {name}: host path {source} is mounted "
                         "writable", item_line(volumes, index))


def co004(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, _ in _services(ctx):
        volumes = svc.get("volumes") or []
        for index, entry in enumerate(volumes):
            if _volume(entry)[0] == "anonymous":
                yield _f(ctx, "CO004", f"service {name}: anonymous volume "
                         f"{entry if not isinstance(entry, dict) else entry.get('target')}",
                         item_line(volumes, index))


def co005(ctx: ComposeContext) -> Iterable[Finding]:
    if ctx.is_override:
        return
    for name, svc, _ in _services(ctx):
        if svc.get("ports"):
            yield _f(ctx, "CO005", f"service {name}: publishes ports in compose.yaml",
                     key_line(svc, "ports"))


def co006(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, _ in _services(ctx):
        if "container_name" in svc:
            yield _f(ctx, "CO006", f"service {name}: container_name "
                     f"{svc['container_name']!r} allows only one instance per host",
                     key_line(svc, "container_name"))


def _long_running(ctx: ComposeContext) -> Iterator[tuple[str, Any, int | None]]:
    """The services a health check and a restart policy are for: those of the main
    compose.yaml (overrides only adjust them) that are not one-shot jobs."""
    if ctx.is_override:
        return
    jobs = _one_shot(ctx)
    for name, svc, line in _services(ctx):
        if name not in jobs:
            yield name, svc, line


def co007(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, line in _long_running(ctx):
        merged = ctx.service(name, svc)
        check = merged.get("healthcheck")
        if isinstance(check, dict) and check.get("disable") is True:
            yield _f(ctx, "CO007", f"service {name}: healthcheck disabled",
                     key_line(svc, "healthcheck") or line)
        elif check is None and not ("build" in merged and ctx.dockerfile_healthcheck):
            image = merged.get("image")
            known = ctx.image_healthcheck(image) if isinstance(image, str) else None
            if known:
                continue  # the image declares one, and compose uses it
            message = f"service {name}: no healthcheck" + ctx.not_here(name)
            if known is None and isinstance(image, str) and "build" not in merged:
                message = (f"service {name}: no healthcheck declared here (image {image} is"
                           " not local, so whether it declares one is unknown)")
            yield _f(ctx, "CO007", message, line)


def co008(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, line in _long_running(ctx):
        merged = ctx.service(name, svc)
        restart = merged.get("restart")
        deploy = merged.get("deploy") if isinstance(merged.get("deploy"), dict) else {}
        if deploy.get("restart_policy"):
            continue
        if restart is None or str(restart) in ("no", "False", "false"):
            yield _f(ctx, "CO008", f"service {name}: no restart policy" + ctx.not_here(name),
                     key_line(svc, "restart") or line)


def _image_tag(image: str) -> tuple[str, str | None, bool]:
    """(repository, tag, tag_is_variable) after interpolation."""
    resolved = interpolate(image)
    repo, tag, digest = split_image(resolved)
    if digest:
        return repo, "@" + digest, PLACEHOLDER in digest
    if tag is None and PLACEHOLDER in repo.rsplit("/", 1)[-1]:
        return repo, None, True  # `image: ${IMAGE}`: the whole reference is a variable
    return repo, tag, tag is not None and PLACEHOLDER in tag


def co009(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, _ in _services(ctx):
        image = svc.get("image")
        if not isinstance(image, str) or "build" in ctx.service(name, svc):
            continue  # built here: the tag names the local build (CO010 judges the project's)
        _, tag, variable = _image_tag(image)
        if variable:
            continue
        if tag is None:
            yield _f(ctx, "CO009", f"service {name}: image {image} has no tag (so `latest`)",
                     key_line(svc, "image"))
        elif tag == "latest":
            yield _f(ctx, "CO009", f"service {name}: image {image} "
                     + ("defaults to `latest`" if "$" in image else "uses `latest`"),
                     key_line(svc, "image"))


def co010(ctx: ComposeContext) -> Iterable[Finding]:
    for name, svc, _ in _services(ctx):
        image = svc.get("image")
        if not isinstance(image, str):
            continue
        repo, tag, variable = _image_tag(image)
        own = "build" in svc or (ctx.project_image and (
            repo == ctx.project_image or repo.endswith("/" + ctx.project_image)))
        if own and tag not in (None, "latest") and not variable:
            yield _f(ctx, "CO010", f"service {name}: the project's image tag {tag!r} is "
                     "written into the file", key_line(svc, "image"))


def co011(ctx: ComposeContext) -> Iterable[Finding]:
    if ctx.is_override:
        return
    for name, svc, line in _services(ctx):
        if "build" in svc and "image" not in svc:
            yield _f(ctx, "CO011", f"service {name}: built on the host (`build:` without "
                     "`image:`), so `docker compose pull` cannot update it", line)


def _environment(svc: Any) -> Iterable[tuple[str, Any, int | None]]:
    env = svc.get("environment")
    if isinstance(env, dict):
        for key, value in env.items():
            yield str(key), value, key_line(env, key)
    elif isinstance(env, list):
        for index, entry in enumerate(env):
            key, eq, value = str(entry).partition("=")
            yield key, (value if eq else None), item_line(env, index)


def co012(ctx: ComposeContext) -> Iterable[Finding]:
    if ctx.is_override:
        return
    for name, svc, _ in _services(ctx):
        for key, value, line in _environment(svc):
            if value is None or secrets.is_harmless_value(str(value)):
                continue
            if secrets.is_secret_name(key) or secrets.looks_like_token(str(value)) or \
                    secrets.url_with_credentials(str(value)):
                yield _f(ctx, "CO012", f"service {name}: {key} has a literal secret value",
                         line)


COMPOSE_RULES: tuple[Callable[[ComposeContext], Iterable[Finding]], ...] = (
    co001, co002, co003, co004, co005, co006, co007, co008, co009, co010, co011, co012,
)


def check_compose(ctx: ComposeContext) -> list[Finding]:
    return [item for rule in COMPOSE_RULES for item in rule(ctx)]
