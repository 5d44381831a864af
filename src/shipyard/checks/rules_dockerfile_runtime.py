"""Dockerfile rules on how the container runs: logs to stdout, one service, exec into the
server, migrations at start and never at build (DF013-DF017). Texts and code together; the
shared views are in dockerfile_context.py."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from shipyard.checks import shell
from shipyard.checks.dockerfile_context import DockerfileContext, entrypoint_script
from shipyard.checks.dockerfile_context import all_instructions as _all
from shipyard.checks.dockerfile_context import final_chain as _final_chain
from shipyard.checks.dockerfile_context import found as _f
from shipyard.checks.dockerfile_context import start_instructions as _start_instructions
from shipyard.checks.model import Finding, Rule, Severity, finding, register
from shipyard.dockerfile_model import (
    env_pairs,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

register(
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

_MIGRATE = re.compile(
    r"(manage\.py|django-admin)\s+migrate\b|alembic\s+upgrade"
    r"|flask\s+(?:--app\s+\S+\s+)?db\s+upgrade"
    r"|rake\s+db:migrate|prisma\s+migrate\s+deploy|sequelize\s+db:migrate|knex\s+migrate")
_LOG_FLAGS = re.compile(r"--(access-logfile|error-logfile|log-file|logto|logto2)(?:=|\s+)(\S+)")
_LOG_REDIRECT = re.compile(r"(?:^|\s)(?:\d?>>?|&>>?)\s*(/var/log/\S+|\S+\.log)\b")
_SUPERVISORS = re.compile(r"^(supervisor|supervisord|s6|s6-overlay|runit|cron|cronie|"
                          r"systemd|systemd-sysv|openrc|openssh-server|dcron|busybox-openrc)$")
_SUPERVISOR_CMDS = frozenset({"supervisord", "s6-svscan", "runsvdir", "cron", "crond",
                              "systemd", "init", "sshd", "service", "/init"})


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
