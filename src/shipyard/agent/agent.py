#!/usr/bin/env python3
"""Shipyard host agent: deploy, roll back and inspect one docker compose project.

Why it exists: a CI deploy key must be able to do exactly one thing on a host,
update the running version of one project, and nothing else (seed 000). This
file is the ``command=`` of a ``restrict``-ed authorized_keys line, so sshd runs
it for every login with that key, whatever the client asked for. The client's
request arrives only as text in SSH_ORIGINAL_COMMAND, is parsed against a tiny
grammar, and never reaches a shell. Standard library only; runs on python3 >= 3.9
with docker compose v2; one file, installed by ``shipyard host setup``.

CONTRACT (``shipyard deploy/rollback/status/history``, ``host setup`` and ``ci`` rely on it)

Invocation (the authorized_keys line; host setup writes it, the caller cannot change it)::

    restrict,command="/usr/bin/python3 /home/deploy/.shipyard/agent.py
      --project /home/deploy/frobnicator --key-id SHA256:..." ssh-ed25519 AAAA...

(one line in the file; wrapped here).

``--project`` is the absolute compose project directory (its name is the compose
project name). ``--key-id`` names the caller in the journal; when sshd has
``ExposeAuthInfo yes``, the fingerprint computed from SSH_USER_AUTH is preferred.
The docker client is ``docker`` on PATH, or SHIPYARD_AGENT_DOCKER if set (on the
command line, e.g. ``command="env SHIPYARD_AGENT_DOCKER=/usr/bin/docker /usr/bin/python3 ..."``).
The agent trusts its environment: never enable PermitUserEnvironment for the deploy user.

Grammar (SSH_ORIGINAL_COMMAND; words separated by exactly one space, printable ASCII,
at most 256 characters)::

    deploy [TAG]      deploy TAG, or without TAG re-pull and restart the configured tag
    rollback [TAG]    back to the last good tag before the current one, or to TAG
                      (which must have been deployed successfully here before)
    status            tag, digest, one line per service, drift of what runs from .env
    history [N]       the last N (default 10, 1..9999) journal lines, as stored
    backup            dump the database now (``backup`` in shipyard-agent.json, below)
    restore [BACKUP]  load BACKUP (a file name as the journal lists it; default the
                      newest) into the database; only with ``--allow-restore`` (below)

No SSH_ORIGINAL_COMMAND at all (``ssh host`` without a command, also ``ssh -tt``) is
refused like any other text outside the grammar: nothing defaults to deploying.
TAG follows the OCI tag grammar ``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``: no registry,
repository or digest, ever; the image repository is fixed by the project's compose
file. An explicit TAG must also match the project's ``allow_tags`` pattern
(``re.search``) if one is set.
Anything else is refused: one line on stderr starting ``refused:``, exit 2, and
nothing runs, is written or is journaled.

Exit codes (EXIT_* below; the client words them, see shipyard/deploy/client.py):
0 done; 1 deploy/rollback failed and what ran before runs again (restored, or never
stopped: a failed hook or pull, an older build, an unwritable journal), also status
could not be read; 2 request refused (nothing ran); 3 lock timeout; 4 configuration
error (bad --project/--key-id, bad or unknown key in shipyard-agent.json, no tag
configured, docker or hook not found); 5 rollback target unknown; 6 deploy/rollback
failed and the previous version was NOT restored (journal outcome ``failed``; or
there was none: first deploy): the host needs a look.

Output: progress on stdout, one flushed line at a time (``==> step``, ``!!! problem``,
and the output of docker compose and the hook indented by two spaces); errors on
stderr. ``status`` prints exactly::

    tag: v2                      what the env file says (or "tag: (none)")
    digest: sha256:...           of the image it names here (or "digest: unknown")
    web: running healthy v2 sha256:...
                                 per container: SERVICE: STATE HEALTH (health "-": none),
                                 and for a running one the TAG it was created from and
                                 the digest (else the image id) of the image it RUNS
    drift: none                  or "; "-joined differences of what runs from the env
                                 file (another tag, or an earlier image of the same tag)
    zero-downtime: yes (...)     or "zero-downtime: no (why)": is there a proxy (below)

Per-project config, optional: ``<project>/shipyard-agent.json``::

    {"allow_tags": "^(main|dev)-", "deploy_timeout": 300, "lock_timeout": 120,
     "pre_deploy": ["argv", "..."], "env_file": ".env", "tag_variable": "IMAGE_TAG",
     "log_lines": 50, "engine": "compose",
     "backup": {"engine": "postgres", "service": "db", "keep": 7,
                "dir": ".shipyard/backups", "before_deploy": true}}

Unknown keys are a configuration error (exit 4) that names the key. ``pre_deploy``
runs (argv, no shell, cwd = project, env SHIPYARD_PROJECT, SHIPYARD_ACTION,
SHIPYARD_TAG_BEFORE, SHIPYARD_TAG_AFTER) before anything changes; if it fails,
nothing changes and the deploy fails (exit 1).

Backups (BackupRequests below): with ``backup`` set (engine postgres, or mysql/mariadb),
every deploy and rollback first dumps the database service's data (``docker compose exec
-T SERVICE sh -c`` pg_dump custom format / mysqldump, credentials from the container's
own POSTGRES_* / MYSQL_* / MARIADB_* variables) into ``dir`` as
``SERVICE-YYYYMMDDTHHMMSSmmmZ-TAG.pgdump|.sql`` (mode 0600), keeps the newest ``keep``,
and journals ``{"action": "backup", "trigger", "tag", "file", "bytes", "duration_s",
"outcome": "ok" | "failed" | "skipped"}``; the deploy's own entry gets
``steps.backup``. No database container yet (a first deploy): skipped. A failed dump
stops the deploy before anything changes (exit 1). ``backup`` does the same on request.
``restore [BACKUP]`` is refused (exit 2) unless the authorized_keys line passes
``--allow-restore`` (an operator's key: restoring replaces data, which a CI key must
not be able to do); under the lock it journals ``started``, takes a safety dump,
stops the running services other than the database and the proxy, loads the file
(PostgreSQL: ``pg_restore --clean --if-exists --no-owner --single-transaction``), starts
them, waits until all are healthy and journals ``{"action": "restore", "file",
"safety_backup", "outcome": "ok" | "failed"}``; exit 5 for an unknown BACKUP.

deploy TAG / rollback: take the lock; journal the intent (``outcome: started``; if
the journal cannot be written, stop: exit 1, nothing changed); run the hook; write
``TAG_VARIABLE=TAG`` into the env file (atomically; other lines kept); ``docker compose
pull`` (a rollback pulls only the services whose image is missing on this host, so
it works with the registry down); a deploy (not a rollback) then fails if the new
image was built before the healthy one that runs (``org.opencontainers.image.created``,
else the image's Created): never an older build over a newer one;
``docker compose up -d --wait --wait-timeout T``; check every container is running
and healthy (or has no healthcheck, or is a one-shot that exited 0). On any failure
(or SIGTERM/SIGINT): print the failing containers' last ``log_lines`` log lines,
restore the previous env file and the previous image of every reference (so a
re-pulled mutable tag comes back too), ``up -d --wait`` again, journal, exit 1.
SIGHUP and a vanished ssh client are ignored: the deploy runs to a consistent end.
docker compose always runs as ``docker compose --ansi never --project-directory
<project> [--env-file F] ...`` (argv lists, stdin /dev/null), with SSH_ORIGINAL_COMMAND,
SSH_USER_AUTH, the tag variable, COMPOSE_* and locale variables removed from its
environment, so the project's own files alone decide what runs. DOCKER_CONFIG is
left alone: the registry login lives in the deploy user's ~/.docker/config.json.

Zero downtime: when a service of compose.yaml carries the labels
``org.shipyard.proxy=nginx`` and ``org.shipyard.proxy.upstream=SERVICE:PORT`` (as
``shipyard init`` writes them), ``up`` above is replaced by: ``up -d --wait`` of the
other services, ``up -d`` of the proxy, then ``up -d --no-deps --no-recreate --scale
SERVICE=N+1`` starts the new container next to the serving one; the agent runs its
health check itself every second (Docker's rule: failures in the start period do not
count, ``retries`` failures after it are final); once it passes, the proxy is pointed
at the new container (``upstream.conf`` + graceful ``nginx -s reload``), its old
workers finish their requests, and the old container gets a graceful ``docker stop``
and is removed. A new container that never passes is stopped and removed without
having received a request; the old one kept serving. Restore and rollback are the same
motion. Migrations (the entrypoint's) run in the new container before it can pass.

Docker Swarm (``"engine": "swarm"``; the agent runs on a manager node): the same four
requests, lock, env file, hook, pull and journal; ``up`` becomes ``docker stack deploy
--with-registry-auth`` of a stack file the agent derives from ``docker compose config``
into ``.shipyard/stack.json`` (stack name = compose project name; per service: a
``deploy`` section with ``update_config``/``rollback_config`` ``order: start-first``
(stop-first where a host port is published), ``failure_action: rollback``, ``monitor``,
``endpoint_mode: dnsrr``, restart policy from ``restart``; ports in host mode; no
``container_name``/``depends_on``; ``tmpfs`` as tmpfs mounts; what compose.yaml's own
``deploy:`` says wins). The agent then waits until every service converged (its tasks
run its current image, Swarm gates ``running`` on the health check) or Swarm rolled the
update back (then the deploy failed, the previous tag is deployed again: exit 1,
``failed-rolled-back``). ``status`` prints one line per task instead of per container,
``web.1 on NODE: STATE TAG DIGEST``, drift between tasks, services and the env file, and
``engine: swarm (...)`` as its last line. Rollback = deploy of the previous tag.

Journal: ``<project>/.shipyard/journal.jsonl``, append-only JSON lines::

    {"time": "2025-01-31T12:00:00.123Z",   start (UTC, RFC 3339), after the lock was taken
     "action": "deploy" | "rollback",
     "caller": "SHA256:..." | "unknown",
     "tag_before": "v1" | null,  "tag_requested": "v2",  "tag_after": "v1",
     "digest_before": "sha256:..." | null,  "digest_after": "sha256:..." | null,
     "outcome": "ok" | "failed-rolled-back" | "failed" | "interrupted" | "started",
     "duration_s": 12.3 | null,
     "steps": {"pre_deploy": 0.4, "pull": 2.1, "up": 9.0, "verify": 0.2, "restore": 8.8},
     "detail": "one line",
     "build_url": "https://ci.example.com/.../pipelines/7" | null}

``build_url`` is the CI pipeline that built what runs after the action (the image's
``org.shipyard.build.url`` label), so ``history`` answers "which pipeline put this here".

Autoheal (autoheal.py, installed next to this file) appends lines of its own to the same
journal: ``"action": "autoheal"``, ``"outcome": "restarted" | "restart-failed"``, with
``service``, ``container`` and ``image``; never ``ok``, so they move no rollback stack.
Each deploy/rollback writes two lines: ``started`` (the intent, before anything
switches; ``duration_s`` null) and then its outcome. If the outcome cannot be
written, the agent says so and keeps its lock record, so the next run journals it
as ``interrupted``. ``tag_after``/``digest_after`` are what runs *after* the action: for
``failed-rolled-back`` that is the restored version; ``tag_requested`` is what was
asked for. ``failed`` means the previous version could not be restored (or there
was none: first deploy). ``interrupted`` is written by the *next* run when it finds
that an agent was killed before finishing (see the lock); its ``tag_after`` is the tag
the running container was created from, not what the env file says. Refused requests and lock
timeouts change nothing and are not journaled. ``rollback`` without TAG replays the
``ok`` entries as a stack (a deploy pushes its tag, a rollback pops back to its
tag) and picks the newest tag on it that is not the current one, so repeated
rollbacks keep going back instead of flip-flopping.

Lock: ``<project>/.shipyard/deploy.lock``, ``fcntl.flock`` (exclusive). A second
deploy waits up to ``lock_timeout`` seconds, then exits 3 naming the holder. A
lock left by a killed agent is detected and broken safely by the kernel: flock
locks vanish with the last descriptor. The descriptor is inherited by the agent's
children on purpose, so an orphaned ``docker compose`` of a killed agent keeps the
project locked until it has exited too. Every step runs in its own process group,
recorded in the lock record as ``group`` when it starts: a run that finds the
recorded agent pid gone and that group alive stops the group (SIGTERM, then
SIGKILL), whether it holds the lock (then instead of waiting for it) or not (docker
compose's plugin does not keep the inherited descriptor, and must not run on beside
the next deploy). While holding the lock the agent writes
its pid, action, caller, tags and current step (pre_deploy, env, pull, up, verify,
restore) into the lock file as JSON and empties it on a clean exit; a run that
takes the lock and finds that record knows its predecessor was killed, checks
whether that pid still exists, says so, journals ``interrupted`` (with the step),
and, if its own deploy fails, restores the predecessor's ``tag_before``, the last
version known to have run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

# _LAZY_IMPORTS: base64, difflib, hashlib and tempfile are imported in the one function that
# uses each. The library imports this module for its contract (verbs, tag grammar, exit
# codes) on every CLI start, and those four were a third of that import's cost.

# --- exit codes -------------------------------------------------------------------
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_LOCK_TIMEOUT = 3
EXIT_CONFIG = 4
EXIT_UNKNOWN_TARGET = 5
EXIT_NOT_RESTORED = 6

# --- grammar --------------------------------------------------------------------
COMMANDS = ("deploy", "rollback", "status", "history", "backup", "restore")  # as HELP lists them
HELP = "deploy [TAG], rollback [TAG], status, history [N], backup, restore [BACKUP]"
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"  # OCI distribution spec, tags
COUNT_PATTERN = r"[1-9][0-9]{0,3}"
HISTORY_MAX = 9999  # the largest N that COUNT_PATTERN admits
MAX_COMMAND_LENGTH = 256
DEFAULT_HISTORY = 10
_TAG_RE = re.compile(TAG_PATTERN)
_COUNT_RE = re.compile(COUNT_PATTERN)

# --- files ------------------------------------------------------------------------
CONFIG_NAME = "shipyard-agent.json"
STATE_DIR = ".shipyard"
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "deploy.lock"
DEFAULT_ENV_FILE = ".env"
DOCKER_ENV = "SHIPYARD_AGENT_DOCKER"

QUERY_TIMEOUT = 120.0  # docker compose config/ps/logs, docker image inspect/tag
KILL_GRACE = 10.0  # SIGTERM -> SIGKILL for a child that overran its timeout
UP_GRACE = 30.0  # the process timeout of `up --wait` is its --wait-timeout plus this

Entry = dict[str, Any]


# --- errors -----------------------------------------------------------------------
class AgentError(Exception):
    """An expected failure: one line for the CI log and an exit code."""

    exit_code = EXIT_FAILED


class Refused(AgentError):
    """The request is not in the grammar or not allowed here; nothing ran."""

    exit_code = EXIT_REFUSED


class LockTimeout(AgentError):
    """Another deploy held the lock for longer than lock_timeout."""

    exit_code = EXIT_LOCK_TIMEOUT


class ConfigError(AgentError):
    """The host side is misconfigured (authorized_keys line, config file, env file)."""

    exit_code = EXIT_CONFIG


class UnknownTarget(AgentError):
    """rollback has nothing (known good) to go back to."""

    exit_code = EXIT_UNKNOWN_TARGET


class JournalUnwritable(AgentError):
    """The journal cannot be written, so nothing may switch (it is rollback's source of truth)."""


class StepFailed(Exception):
    """A deploy step failed; the deploy is rolled back."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived during a deploy; the deploy is rolled back.

    A BaseException, so that no ``except Exception`` on the way swallows it.
    """


# --- the request ------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A parsed, grammar-valid request."""

    action: str  # deploy | rollback | status | history
    tag: str | None = None
    count: int | None = None


def _shown(text: str, limit: int = 60) -> str:
    """The caller's text, quoted on one line (repr escapes controls), shortened."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _tag_problem(word: str) -> str:
    if any(c in word for c in "/@:"):
        return (f"{_shown(word)} is not a tag: give only the tag, the image repository "
                "is fixed by the host's compose file (no registry, repository or digest)")
    return (f"{_shown(word)} is not a valid tag (letters, digits, '_', '.', '-', "
            "at most 128, not starting with '.' or '-')")


def parse_command(text: str | None) -> Request:
    """Parse SSH_ORIGINAL_COMMAND; raise Refused for anything outside the grammar.

    None (no command sent: a plain login, ``ssh -tt``) is refused: nothing defaults
    to deploying. Pure: reads nothing, runs nothing.
    """
    if text is None:
        raise Refused(f"no command given (a plain or interactive login); allowed: {HELP}")
    if len(text) > MAX_COMMAND_LENGTH:
        raise Refused(f"command is {len(text)} characters long, more than {MAX_COMMAND_LENGTH}; "
                      f"allowed: {HELP}")
    if not (text.isascii() and text.isprintable()):
        raise Refused(f"command {_shown(text)} contains control or non-ASCII characters; "
                      f"allowed: {HELP}")
    verb, sep, rest = text.partition(" ")
    args = rest.split(" ") if sep else []
    if verb in ("deploy", "rollback"):
        if not args:
            return Request(verb)
        if len(args) == 1 and _TAG_RE.fullmatch(args[0]):
            return Request(verb, tag=args[0])
        if len(args) == 1:
            raise Refused(f"{verb}: {_tag_problem(args[0])}")
        raise Refused(f"{verb} takes at most one TAG, got {_shown(rest)}; allowed: {HELP}")
    if verb == "status":
        if not args:
            return Request("status")
        raise Refused(f"status takes no arguments, got {_shown(rest)}; allowed: {HELP}")
    if verb == "history":
        if not args:
            return Request("history", count=DEFAULT_HISTORY)
        if len(args) == 1 and _COUNT_RE.fullmatch(args[0]):
            return Request("history", count=int(args[0]))
        raise Refused(f"history takes one count from 1 to 9999, got {_shown(rest)}")
    if verb in ("backup", "restore"):
        return parse_backup_request(verb, args, rest)
    raise Refused(f"{_shown(verb)} is not an agent command; allowed: {HELP}")


def check_allowed(tag: str, allow_tags: str | None) -> None:
    """Refuse a caller-chosen tag that the project's allow pattern does not match."""
    if allow_tags is not None and re.search(allow_tags, tag) is None:
        raise Refused(f"tag {tag!r} does not match this project's allow_tags {allow_tags!r}")


# --- configuration ----------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """shipyard-agent.json, validated; every field has a default."""

    allow_tags: str | None = None
    deploy_timeout: int = 300
    lock_timeout: int = 120
    pre_deploy: tuple[str, ...] = ()
    env_file: str = DEFAULT_ENV_FILE
    tag_variable: str = "IMAGE_TAG"
    log_lines: int = 50
    backup: BackupConfig | None = None
    engine: str = "compose"  # or "swarm": deploy the project as a stack (see SwarmAgent)


CONFIG_KEYS = ("allow_tags", "deploy_timeout", "lock_timeout", "pre_deploy", "env_file",
               "tag_variable", "log_lines", "backup", "engine")
_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _int_setting(data: Mapping[str, Any], key: str, low: int, high: int, default: int,
                 where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} must be a whole number from {low} to {high}, "
                          f"not {json.dumps(value)}")
    return value


def parse_config(data: object, where: str = CONFIG_NAME) -> Config:
    """Validate decoded JSON into a Config; ConfigError names the key. Pure."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a JSON object, not {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in CONFIG_KEYS)
    if unknown:
        import difflib  # see _LAZY_IMPORTS

        close = difflib.get_close_matches(unknown[0], CONFIG_KEYS, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise ConfigError(f'{where}: unknown key "{unknown[0]}"{hint}; '
                          f"known keys: {', '.join(CONFIG_KEYS)}")
    allow = data.get("allow_tags")
    if allow is not None:
        if not isinstance(allow, str) or not allow:
            raise ConfigError(f"{where}: allow_tags must be a non-empty regular expression "
                              f"string, not {json.dumps(allow)}")
        try:
            re.compile(allow)
        except re.error as exc:
            raise ConfigError(f"{where}: allow_tags {allow!r} is not a valid regular "
                              f"expression: {exc}") from None
    hook = data.get("pre_deploy", [])
    if not isinstance(hook, list) or not all(isinstance(a, str) and a and "\0" not in a
                                             for a in hook):
        raise ConfigError(f"{where}: pre_deploy must be a list of non-empty strings (argv, "
                          f"no shell), not {json.dumps(hook)}")
    env_file = data.get("env_file", DEFAULT_ENV_FILE)
    if (not isinstance(env_file, str) or not env_file or "\0" in env_file
            or Path(env_file).is_absolute() or ".." in Path(env_file).parts):
        raise ConfigError(f"{where}: env_file must be a path inside the project directory, "
                          f"not {json.dumps(env_file)}")
    variable = data.get("tag_variable", "IMAGE_TAG")
    if not isinstance(variable, str) or not _VARIABLE_RE.fullmatch(variable):
        raise ConfigError(f"{where}: tag_variable must be a variable name like IMAGE_TAG, "
                          f"not {json.dumps(variable)}")
    engine = data.get("engine", "compose")
    if engine not in ENGINES:
        raise ConfigError(f'{where}: engine must be "compose" or "swarm", not '
                          f"{json.dumps(engine)}")
    return Config(
        engine=engine,
        allow_tags=allow,
        deploy_timeout=_int_setting(data, "deploy_timeout", 1, 86400, 300, where),
        lock_timeout=_int_setting(data, "lock_timeout", 0, 86400, 120, where),
        pre_deploy=tuple(hook),
        env_file=env_file,
        tag_variable=variable,
        log_lines=_int_setting(data, "log_lines", 1, 10000, 50, where),
        backup=parse_backup_config(data.get("backup"), where),
    )


def load_config(project: Path) -> Config:
    """``<project>/shipyard-agent.json`` if it exists, else the defaults."""
    path = project / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return parse_config(data, str(path))


# --- the env file -----------------------------------------------------------------
def _assignment(variable: str) -> re.Pattern[str]:
    return re.compile(r"[ \t]*(export[ \t]+)?" + re.escape(variable) + r"[ \t]*=")


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    for marker in (" #", "\t#"):
        if marker in raw:
            raw = raw.split(marker, 1)[0]
    return raw.strip()


def env_value(text: str, variable: str) -> str | None:
    """The value ``variable`` gets from dotenv ``text`` (the last assignment wins)."""
    pattern, value = _assignment(variable), None
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            value = _unquote(line[match.end():])
    return value or None


def rewrite_env(text: str, variable: str, value: str) -> str:
    """``text`` with every assignment of ``variable`` set to ``value``; appended if absent.

    Other lines (comments, blank lines, other variables, line endings) are kept
    byte for byte. ``value`` must be a tag: nothing that dotenv would interpret.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise ValueError(f"refusing to write {value!r} into an env file")
    pattern, out, replaced = _assignment(variable), [], False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = pattern.match(body)
        if match:
            ending = line[len(body):] or "\n"
            out.append(f"{match.group(1) or ''}{variable}={value}{ending}")
            replaced = True
        else:
            out.append(line)
    if not replaced:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(f"{variable}={value}\n")
    return "".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never half.

    Temp file in the same directory, fsync, same mode as the old file (0600 for a
    new one: env files hold secrets), rename over, fsync the directory.
    """
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    import tempfile  # see _LAZY_IMPORTS

    fd, tmp_name = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.",
                                    suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(str(path.parent), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- the journal ------------------------------------------------------------------
def now_rfc3339() -> str:
    """The current UTC time, RFC 3339 with milliseconds and ``Z``."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")  # noqa: UP017 - python 3.9
    return stamp.replace("+00:00", "Z")


def parse_journal(text: str) -> list[Entry]:
    """The entries of a journal; lines that are not JSON objects (a torn write) are skipped."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def read_journal(path: Path) -> list[Entry]:
    try:
        return parse_journal(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return []


def append_journal(path: Path, entry: Entry) -> None:
    """Append one JSON line with a single O_APPEND write, then fsync."""
    path.parent.mkdir(mode=0o750, exist_ok=True)
    data = (json.dumps(entry, ensure_ascii=True, separators=(", ", ": ")) + "\n").encode()
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def known_good_stack(entries: Iterable[Entry]) -> list[str]:
    """Replay ``ok`` entries: a deploy pushes its tag, a rollback pops back to its tag."""
    stack: list[str] = []
    for entry in entries:
        tag = entry.get("tag_after")
        if entry.get("outcome") != "ok" or not isinstance(tag, str) or not tag:
            continue
        if entry.get("action") == "rollback" and tag in stack:
            while stack[-1] != tag:
                stack.pop()
        elif not stack or stack[-1] != tag:
            stack.append(tag)
    return stack


def rollback_target(entries: Iterable[Entry], current: str | None) -> str | None:
    """The last good tag before ``current`` (newest on the stack that is not current)."""
    for tag in reversed(known_good_stack(entries)):
        if tag != current:
            return tag
    return None


def deployed_tags(entries: Iterable[Entry]) -> list[str]:
    """Every tag that ever ran successfully here, oldest first, once each."""
    seen: dict[str, None] = {}
    for entry in entries:
        tag = entry.get("tag_after")
        if entry.get("outcome") == "ok" and isinstance(tag, str) and tag:
            seen.pop(tag, None)
            seen[tag] = None
    return list(seen)


# --- the caller -------------------------------------------------------------------
_KEY_ID_RE = re.compile(r"SHA256:[A-Za-z0-9+/]{16,86}={0,2}")


def fingerprint_from_auth_info(text: str) -> str | None:
    """``SHA256:...`` of the last public key in sshd's ExposeAuthInfo file, as ssh-keygen -l."""
    import base64  # see _LAZY_IMPORTS
    import hashlib

    found = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "publickey":
            try:
                blob = base64.b64decode(parts[2], validate=True)
            except ValueError:
                continue
            digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
            found = f"SHA256:{digest}"
    return found


def caller_id(environ: Mapping[str, str], key_id: str | None) -> str:
    """Who is deploying: sshd's exposed key if available, else --key-id, else unknown."""
    auth_file = environ.get("SSH_USER_AUTH")
    if auth_file:
        try:
            found = fingerprint_from_auth_info(Path(auth_file).read_text(errors="replace"))
        except OSError:
            found = None
        if found:
            return found
    return key_id or "unknown"


# --- docker compose: argv and output, as data --------------------------------------
def compose_argv(docker: str, project: Path, env_file: str, args: Sequence[str]) -> list[str]:
    """``docker compose`` for this project, reading only the project's own files."""
    argv = [docker, "compose", "--ansi", "never", "--project-directory", str(project)]
    if env_file != DEFAULT_ENV_FILE:
        argv += ["--env-file", str(project / env_file)]
    return [*argv, *args]


def child_environment(environ: Mapping[str, str], tag_variable: str) -> dict[str, str]:
    """The environment for docker and the hook: nothing the caller could have set.

    SSH_ORIGINAL_COMMAND is the caller's raw text; the tag variable, COMPOSE_* and
    the locale (AcceptEnv LANG LC_* is common) would override the project's files.
    """
    dropped = {"SSH_ORIGINAL_COMMAND", "SSH_USER_AUTH", tag_variable, "LANG", "LANGUAGE"}
    return {key: value for key, value in environ.items()
            if key not in dropped and not key.startswith(("COMPOSE_", "LC_"))}


@dataclass(frozen=True)
class ServiceState:
    """One container of the project as ``docker compose ps`` reports it."""

    service: str
    name: str
    state: str  # running, exited, restarting, created, ...
    health: str  # healthy, unhealthy, starting, "" (no healthcheck)
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        """Running and healthy (or without healthcheck), or a one-shot that exited 0."""
        if self.state == "running":
            return self.health in ("", "healthy")
        return self.state == "exited" and self.exit_code == 0

    def line(self) -> str:
        return f"{self.service}: {self.state} {self.health or '-'}"


def verified_line(state: ServiceState) -> str:
    """A verified container, as the deploy reports it: one Docker still calls ``starting``
    passed its own health check when the agent ran it (Docker 20.10 has no start_interval,
    so its verdict lags by up to one interval) — say so, rather than "healthy: starting"."""
    if state.state == "running" and state.health == "starting":
        return f"{state.service}: running, its health check passed (Docker still says starting)"
    return state.line()


def parse_ps(text: str) -> list[ServiceState]:
    """``docker compose ps --format json``: JSON lines (compose >= 2.21) or one array."""
    text = text.strip()
    if not text:
        return []
    items = json.loads(text) if text.startswith("[") else [
        json.loads(line) for line in text.splitlines() if line.strip()]
    states = []
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            code = int(item.get("ExitCode") or 0)
        except (TypeError, ValueError):
            code = 0
        states.append(ServiceState(
            service=str(item.get("Service") or "?"), name=str(item.get("Name") or ""),
            state=str(item.get("State") or "").lower(),
            health=str(item.get("Health") or "").lower(), exit_code=code))
    return sorted(states, key=lambda s: (s.service, s.name))


def service_images(config_json: str) -> dict[str, str]:
    """service -> image reference, from ``docker compose config --format json``."""
    data = json.loads(config_json)
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return {}
    return {str(name): str(svc["image"]) for name, svc in sorted(services.items())
            if isinstance(svc, dict) and svc.get("image")}


def split_ref(ref: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference; tag None for a digest reference."""
    if "@" in ref:
        return ref.split("@", 1)[0], None
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def digest_ref(images: Mapping[str, str], tag: str | None) -> str | None:
    """The reference whose digest stands for the deployment: the first using ``tag``."""
    refs = list(images.values())
    tagged = [ref for ref in refs if tag is not None and split_ref(ref)[1] == tag]
    chosen = tagged or refs
    return chosen[0] if chosen else None


def pick_digest(repo_digests: Sequence[str], repository: str) -> str | None:
    """``sha256:...`` from RepoDigests, preferring the reference's own repository."""
    for wanted in (repository, None):
        for item in repo_digests:
            name, _, digest = item.partition("@")
            if digest and (wanted is None or name == wanted):
                return digest
    return None


CREATED_LABEL = "org.opencontainers.image.created"
BUILD_URL_LABEL = "org.shipyard.build.url"  # the CI pipeline that built the image
_TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?"
                      r"\s*([Zz]|[+-]\d\d:?\d\d)?")


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 time (docker's nanoseconds too) as an aware datetime, or None. Pure."""
    match = _TIME_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or ".0")[1:7].ljust(6, "0"))
    zone = (match.group(8) or "Z").upper().replace(":", "")
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (
        int(zone[1:3]) * 60 + int(zone[3:5]))
    try:
        stamp = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)  # noqa: UP017 - python 3.9
    except ValueError:
        return None
    return stamp - timedelta(minutes=offset)


def build_time(info: Mapping[str, Any]) -> tuple[datetime, str] | None:
    """When an image was built (``docker image inspect`` item): its
    org.opencontainers.image.created label, else the image's own Created. Pure."""
    config = info.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    label = labels.get(CREATED_LABEL) if isinstance(labels, dict) else None
    for text in (label, info.get("Created")):
        stamp = parse_time(text)
        if stamp is not None:
            return stamp, str(text)
    return None


@dataclass(frozen=True)
class RunningImage:
    """What one running container really runs (``docker container inspect``)."""

    service: str
    ref: str  # the reference it was created from (Config.Image)
    image_id: str
    digest: str | None = None


def drift(running: Sequence[RunningImage], configured: Mapping[str, str],
          configured_ids: Mapping[str, str]) -> list[str]:
    """How the running containers differ from what the env file configures. Pure.

    ``configured``: service -> reference (compose config); ``configured_ids``:
    reference -> image id it points to on this host now.
    """
    problems = []
    for item in running:
        want = configured.get(item.service)
        if want is None:
            continue
        if item.ref != want:
            problems.append(f"{item.service} runs {item.ref}, the env file says {want}")
        elif configured_ids.get(want) not in (None, item.image_id):
            problems.append(f"{item.service} runs an earlier image of {want} "
                            f"({item.image_id[:19]}; {want} is {configured_ids[want][:19]} now)")
    return problems


# --- output and processes ---------------------------------------------------------
class Output:
    """Lines to stdout/stderr, flushed one by one; a vanished reader is not an error.

    Why bytes: the agent may run under the C locale, and docker prints UTF-8.
    """

    def __init__(self, stdout: Any = None, stderr: Any = None) -> None:
        self._stdout = stdout if stdout is not None else sys.stdout.buffer
        self._stderr = stderr if stderr is not None else sys.stderr.buffer
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        self._write(self._stdout, text)

    def error(self, text: str) -> None:
        self._write(self._stderr, text)

    def _write(self, stream: Any, text: str) -> None:
        with self._lock:
            try:
                stream.write(text.encode("utf-8", "replace") + b"\n")
                stream.flush()
            except (OSError, ValueError):
                # The ssh client went away: the deploy still runs to a consistent end.
                # Point the descriptor at /dev/null, or Python's own flush at exit fails.
                _silence(stream)


def _silence(stream: Any) -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
        stream.flush()


@dataclass
class StepResult:
    returncode: int
    timed_out: bool = False
    tail: list[str] = field(default_factory=list)


def _step_failure(what: str, result: StepResult) -> str:
    """One line for a failed compose step: timed out, or its exit code and last line."""
    if result.timed_out:
        return f"{what} timed out"
    last = result.tail[-1].strip() if result.tail else "no output"
    return f"{what} exited {result.returncode}: {last}"


class Runner:
    """Runs programs as argv lists (never a shell), stdin /dev/null, in their own group.

    ``keep_fds`` (the lock) is inherited on purpose: see the module docstring.
    ``on_spawn`` hears each child's pid (= its process group) so the lock record can
    name it: the next run stops the group if this agent is killed (DeployLock).
    """

    on_spawn: Callable[[int], None] | None = None

    def __init__(self, out: Output, env: Mapping[str, str], cwd: Path,
                 keep_fds: Sequence[int] = ()) -> None:
        self.out, self.env, self.cwd, self.keep_fds = out, dict(env), cwd, tuple(keep_fds)

    def _popen(self, argv: Sequence[str], env: Mapping[str, str] | None,
               **kwargs: Any) -> subprocess.Popen[bytes]:
        try:
            proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, cwd=str(self.cwd),
                env=dict(env if env is not None else self.env), start_new_session=True,
                pass_fds=self.keep_fds, **kwargs)
        except OSError as exc:
            raise ConfigError(f"cannot run {argv[0]!r}: {exc.strerror or exc} (set "
                              f"{DOCKER_ENV} or fix the pre_deploy hook)") from None
        if self.on_spawn is not None:
            self.on_spawn(proc.pid)
        return proc

    def stream(self, argv: Sequence[str], timeout: float, tail_lines: int = 200,
               env: Mapping[str, str] | None = None) -> StepResult:
        """Run, relaying each output line (stderr merged) indented; kill at ``timeout``."""
        proc = self._popen(argv, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        tail: collections.deque[str] = collections.deque(maxlen=tail_lines)

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                tail.append(line)
                self.out.line("  " + line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.poll() is None:
                _stop_group(proc)
        reader.join(timeout=5)  # a grandchild may keep the pipe open; do not wait for it
        return StepResult(proc.returncode, timed_out, list(tail))

    def capture(self, argv: Sequence[str], timeout: float = QUERY_TIMEOUT) -> tuple[int, str, str]:
        """Run quietly; (exit code, stdout, stderr); exit code -1 on timeout."""
        proc = self._popen(argv, None, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            return -1, "", f"{argv[0]} timed out after {timeout:g}s"
        finally:
            if proc.poll() is None:
                _stop_group(proc)
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, SIGKILL it after a grace period, reap."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=KILL_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- the lock ---------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(record: Entry | None) -> str:
    """``pid 123 (running): deploy v2 by SHA256:... since T``, from a lock record."""
    if not record:
        return "holder unknown"
    pid = record.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool):
        state = "running" if pid_alive(pid) else "gone, its child processes still hold the lock"
        who = f"pid {pid} ({state})"
    else:
        who = "unknown pid"
    what = f"{record.get('action', '?')} {record.get('tag_requested') or ''}".strip()
    step = f", step {record['step']}" if record.get("step") else ""
    return (f"{who}: {what} by {record.get('caller', 'unknown')} since "
            f"{record.get('started', '?')}{step}")


def _is_pid(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 1


def group_alive(pgid: int) -> bool:
    """Whether any process is still in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphaned_group(record: Entry | None, out: Output) -> bool:
    """End the step a killed agent left running (it holds the inherited lock); True if any.

    Why it is safe: every step runs in its own process group, recorded in the lock
    record when it starts; the group is stopped only when the agent that recorded it
    is gone. SIGTERM first (compose cancels cleanly), SIGKILL after KILL_GRACE.
    """
    pid, group = (record or {}).get("pid"), (record or {}).get("group")
    if not (isinstance(pid, int) and isinstance(group, int) and _is_pid(pid)
            and _is_pid(group)) or pid_alive(pid) or not group_alive(group):
        return False
    step = (record or {}).get("step") or "?"
    out.line(f"!!! stopping process group {group} (step {step}) left running by the killed "
             f"agent pid {pid}")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
        deadline = time.monotonic() + KILL_GRACE
        while group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)  # polling a bounded wait for the group to exit
        if not group_alive(group):
            break
    return True


class DeployLock:
    """An exclusive flock on ``<project>/.shipyard/deploy.lock`` plus a record of the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.record: Entry = {}
        self.keep_record = False  # the outcome is not journaled: let the next run record it

    def acquire(self, timeout: float, out: Output) -> Entry | None:
        """Wait up to ``timeout`` s; return the record a killed predecessor left, if any."""
        self.path.parent.mkdir(mode=0o750, exist_ok=True)
        fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        deadline = time.monotonic() + timeout
        announced = stopped = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                record = self._read(fd)
                holder = describe_holder(record)
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(f"another deploy still holds {self.path} after "
                                      f"{timeout:g}s ({holder}); try again later") from None
                # The holder rewrites its record in place (it cannot rename a file it holds
                # flock on), so a read can find it empty for a moment: name the holder once
                # the record reads back, or after a second without it.
                settled = record is not None or time.monotonic() > deadline - timeout + 1
                if not announced and settled:
                    out.line(f"==> waiting up to {timeout:g}s for the deploy lock ({holder})")
                    announced = True
                if not stopped:
                    stopped = stop_orphaned_group(record, out)
                time.sleep(0.2)  # polling interval of a bounded wait
        self.fd = fd
        return self._read(fd)

    @staticmethod
    def _read(fd: int) -> Entry | None:
        raw = os.pread(fd, 65536, 0).decode("utf-8", "replace").strip()
        if not raw:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return {"detail": f"unreadable lock record {raw[:80]!r}"}
        return record if isinstance(record, dict) else {"detail": "unreadable lock record"}

    def write(self, record: Entry) -> None:
        """Say who holds the lock (for waiters, and for the next run if we get killed)."""
        assert self.fd is not None
        self.record = dict(record)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (json.dumps(self.record) + "\n").encode(), 0)
        os.fsync(self.fd)

    def step(self, name: str) -> None:
        """Record the step under way: waiters and a successor see where we are."""
        if self.fd is not None and self.record:
            self.write(dict(self.record, step=name))

    def child(self, pid: int) -> None:
        """Record the process group of the step just started (see stop_orphaned_group)."""
        if self.fd is not None and self.record:
            self.write(dict(self.record, group=pid))

    def release(self) -> None:
        """Empty the record (a clean exit), then unlock."""
        if self.fd is None:
            return
        try:
            if not self.keep_record:
                os.ftruncate(self.fd, 0)
                os.fsync(self.fd)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None


# --- signals ----------------------------------------------------------------------
_signalled: list[str] = []


def _on_signal(signum: int, _frame: object) -> None:
    """First SIGTERM/SIGINT aborts the deploy (which then rolls back); later ones wait."""
    if _signalled:
        return
    _signalled.append(signal.Signals(signum).name)
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}")


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the ssh client went away: finish


# --- zero downtime: a proxy in front of the web service ---------------------------
# A compose project whose proxy service carries these labels (``shipyard init`` writes
# them) is deployed without downtime: the new container of the upstream service starts
# next to the old one, the agent runs its health check itself every second, switches the
# proxy to it once it passes, waits until the proxy's old workers have answered what they
# had in flight, then stops (gracefully) and removes the old container. A version that
# never passes never receives a request. Without the labels, deploys work as before.
PROXY_LABEL = "org.shipyard.proxy"  # value: the proxy's kind ("nginx")
UPSTREAM_LABEL = "org.shipyard.proxy.upstream"  # value: "SERVICE:PORT" it forwards to
PROXY_KINDS = ("nginx",)
NGINX_DIR = "/tmp/nginx"  # noqa: S108 - inside the proxy container: its private tmpfs
HEALTH_POLL = 1.0  # seconds between two health probes of a new container
DRAIN_TIMEOUT = 40.0  # nginx's worker_shutdown_timeout (30 s) plus slack
DEFAULT_RETRIES = 3  # Docker's default when a healthcheck sets no retries
_UPSTREAM_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,127}):([0-9]{1,5})")
_UPSTREAM_SET_RE = re.compile(r"^\s*set\s+\$shipyard_upstream\s+([^\s;:]+):[0-9]+\s*;", re.M)
# Run in the proxy container (sh + /proc: the official image and any Linux have them).
_NGINX_WORKERS = ("for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < \"$p/cmdline\" 2>/dev/null)"
                  " || continue; case \"$c\" in 'nginx: worker process'*) echo \"${p#/proc/}\";;"
                  " esac; done")
_NGINX_SWITCH = (
    "set -e; d=" + NGINX_DIR + "; workers() { " + _NGINX_WORKERS + "; }; old=$(workers);"
    " cp \"$d/upstream.conf\" \"$d/upstream.conf.bak\";"
    " printf 'set $shipyard_upstream %s;\\n' \"$1\" > \"$d/upstream.conf.new\";"
    " mv \"$d/upstream.conf.new\" \"$d/upstream.conf\";"
    " if ! nginx -q -t -c \"$d/nginx.conf\"; then mv \"$d/upstream.conf.bak\" \"$d/upstream.conf\";"
    " exit 3; fi; nginx -s reload -c \"$d/nginx.conf\"; echo \"old workers:\" $old")


@dataclass(frozen=True)
class ProxySpec:
    """The proxy service of a project and the service (and port) it forwards to."""

    proxy: str
    kind: str
    service: str
    port: int


def _labels(service: Mapping[str, Any]) -> dict[str, str]:
    labels = service.get("labels")
    if isinstance(labels, list):  # ["key=value", ...] is valid compose too
        return dict(str(item).partition("=")[::2] for item in labels)
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


# --- backing services and workers (issue 17) ----------------------------------------
# ``shipyard init`` labels its database/cache services ``org.shipyard.role: backing`` and
# its worker services ``org.shipyard.role: worker``. A deploy creates the backing ones
# once (``up --no-recreate``: their data, connections and caches outlive every app
# version) and recreates the workers with the new image only after web is up on it, so
# the new workers meet a migrated schema; compose stops the old ones with their
# stop_signal and waits stop_grace_period, in which a running job finishes or requeues.
ROLE_LABEL = "org.shipyard.role"


def service_roles(config_json: str) -> dict[str, list[str]]:
    """role -> services, from ``docker compose config --format json`` (unlabelled: "")."""
    try:
        services = json.loads(config_json).get("services") or {}
    except (ValueError, AttributeError):
        return {}
    roles: dict[str, list[str]] = {}
    for name in sorted(services):
        role = _labels(services[name]).get(ROLE_LABEL, "")
        roles.setdefault(role if role in ("backing", "worker") else "", []).append(name)
    return roles


def backing_up_args(backing: Sequence[str], wait: int) -> list[str]:
    """``docker compose up`` arguments that create missing backing services, never recreate."""
    return ["up", "-d", "--wait", "--wait-timeout", str(max(1, wait)), "--no-recreate",
            "--no-deps", *backing]


def proxy_spec(config_json: str) -> ProxySpec | None:
    """The labelled proxy in ``docker compose config --format json``; None if there is none.

    ValueError (one line, naming the service and label) for a label that cannot work. Pure.
    """
    data = json.loads(config_json)
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return None
    found: list[ProxySpec] = []
    for name, service in sorted(services.items()):
        labels = _labels(service) if isinstance(service, dict) else {}
        if PROXY_LABEL not in labels:
            continue
        kind, upstream = labels[PROXY_LABEL], labels.get(UPSTREAM_LABEL, "")
        where = f"service {name!r} of compose.yaml"
        if kind not in PROXY_KINDS:
            raise ValueError(f"{where}: label {PROXY_LABEL}={kind!r} is not a proxy the agent "
                             f"can switch ({', '.join(PROXY_KINDS)})")
        match = _UPSTREAM_RE.fullmatch(upstream)
        if match is None or match.group(1) not in services or match.group(1) == name:
            raise ValueError(f"{where}: label {UPSTREAM_LABEL}={upstream!r} must name another "
                             "service and its port, like web:8000")
        found.append(ProxySpec(str(name), kind, match.group(1), int(match.group(2))))
    if len(found) > 1:
        raise ValueError(f"services {', '.join(s.proxy for s in found)} all carry "
                         f"{PROXY_LABEL}; one proxy per project")
    return found[0] if found else None


def upstream_port_problem(config_json: str, spec: ProxySpec) -> str | None:
    """Why the upstream service cannot run twice side by side, or None. Pure.

    A host port published by the upstream service (an override written before the proxy
    existed) makes a second container fail with "port is already allocated"."""
    services = json.loads(config_json).get("services") or {}
    ports = (services.get(spec.service) or {}).get("ports")
    if not ports:
        return None
    return (f"service {spec.service!r} publishes a host port (compose.override.yaml?), so a "
            "second one cannot start next to it: publish the port on service "
            f"{spec.proxy!r} instead (container port 8080, or 8443 and 8080 with TLS)")


@dataclass(frozen=True)
class Replica:
    """One container of the upstream service, from ``docker inspect``."""

    id: str
    name: str
    config_hash: str
    image: str  # image id
    running: bool
    health: str  # healthy, unhealthy, starting, "" (none)
    test: tuple[str, ...] = ()  # its healthcheck: ("CMD", ...), ("CMD-SHELL", "..."), ()
    start_period: float = 0.0
    retries: int = DEFAULT_RETRIES
    probe_timeout: float = 30.0


def parse_replicas(inspect_json: str) -> list[Replica]:
    """``docker inspect`` output of containers -> Replicas, oldest name first. Pure."""
    out = []
    for item in json.loads(inspect_json or "[]"):
        if not isinstance(item, dict):
            continue
        config, state = item.get("Config") or {}, item.get("State") or {}
        check = config.get("Healthcheck") or {}
        test = tuple(str(x) for x in check.get("Test") or ())
        out.append(Replica(
            id=str(item.get("Id", "")), name=str(item.get("Name", "")).lstrip("/"),
            config_hash=str((config.get("Labels") or {}).get("com.docker.compose.config-hash",
                                                             "")),
            image=str(item.get("Image", "")), running=bool(state.get("Running")),
            health=str((state.get("Health") or {}).get("Status", "")),
            test=() if test[:1] == ("NONE",) else test,
            start_period=(check.get("StartPeriod") or 0) / 1e9,
            retries=int(check.get("Retries") or DEFAULT_RETRIES),
            probe_timeout=(check.get("Timeout") or 30e9) / 1e9))
    return sorted(out, key=lambda r: r.name)


def probe_argv(docker: str, container: str, test: Sequence[str]) -> list[str] | None:
    """The container's own health check as a ``docker exec``; None if it has none. Pure."""
    if len(test) >= 2 and test[0] == "CMD":
        return [docker, "exec", container, *test[1:]]
    if len(test) == 2 and test[0] == "CMD-SHELL":
        return [docker, "exec", container, "/bin/sh", "-c", test[1]]
    return None


def probe_verdict(results: Sequence[tuple[float, bool]], start_period: float,
                  retries: int) -> str:
    """``healthy``, ``unhealthy`` or ``starting`` from (seconds since start, passed) probes.

    Docker's rule, polled faster: one pass is healthy; failures inside the start period
    do not count; ``retries`` failures in a row after it are unhealthy. Pure.
    """
    if results and results[-1][1]:
        return "healthy"
    counted = 0
    for elapsed, passed in reversed(results):
        if passed or elapsed < start_period:
            break
        counted += 1
    return "unhealthy" if counted >= max(1, retries) else "starting"


def parse_upstream(text: str) -> str | None:
    """The host the proxy forwards to, from its upstream.conf. Pure."""
    found = _UPSTREAM_SET_RE.findall(text)
    return found[-1] if found else None


@dataclass(frozen=True)
class RolloutPlan:
    """What a deploy does to the upstream service's containers."""

    remove_first: tuple[Replica, ...]  # stopped leftovers and running ones out of rotation
    retire: tuple[Replica, ...]  # in rotation now: stopped after the switch
    keep: Replica | None  # already runs what is wanted and is in rotation: start nothing

    @property
    def scale(self) -> int:
        """``--scale`` that starts exactly one new container next to those in rotation."""
        return len(self.retire) + 1


def plan_rollout(replicas: Sequence[Replica], wanted_hash: str, wanted_image: str | None,
                 active: str | None) -> RolloutPlan:
    """Decide from the containers, the wanted config hash/image and the proxy's target. Pure.

    ``active`` is the container name the proxy forwards to; anything else (the service
    name, as right after the proxy started, or None) puts every running container in
    rotation. A running container out of rotation never served: a leftover, removed.
    """
    running = [r for r in replicas if r.running]
    named = [r for r in running if r.name == active]
    in_rotation = named or running
    leftovers = tuple(r for r in replicas if r not in in_rotation)
    if len(in_rotation) == 1 and in_rotation[0].config_hash == wanted_hash and (
            wanted_image is None or in_rotation[0].image == wanted_image):
        return RolloutPlan(leftovers, (), in_rotation[0])
    return RolloutPlan(leftovers, tuple(in_rotation), None)


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent queries at once (each is a docker process); results in order.

    The first exception is re-raised after all have finished."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


class Rollout:
    """The zero-downtime ``up`` of one project with a proxy (see the section comment)."""

    def __init__(self, agent: Agent, spec: ProxySpec, config_json: str) -> None:
        self.agent, self.spec, self.config_json = agent, spec, config_json
        self.out, self.runner, self.docker = agent.out, agent.runner, agent.docker

    def up(self, timeout: int) -> StepResult:
        """Others, proxy, then the new upstream container; never raises StepFailed."""
        deadline = time.monotonic() + max(1, timeout)
        try:
            self._others(deadline)
            self._compose_step(f"up -d {self.spec.proxy}", deadline,
                               "up", "-d", "--no-deps", self.spec.proxy)
            self._roll(deadline)
            self._workers(deadline)
        except StepFailed as exc:
            return StepResult(1, False, [str(exc)])
        return StepResult(0)

    # -- steps --
    def _compose_step(self, what: str, deadline: float, *args: str) -> None:
        self.out.line(f"==> docker compose {what}")
        result = self.runner.stream(self.agent.compose(*args),
                                    timeout=max(1.0, deadline - time.monotonic()))
        if result.returncode != 0 or result.timed_out:
            raise StepFailed(_step_failure(f"docker compose {what}", result))

    def _others(self, deadline: float) -> None:
        """Services other than the proxy and its upstream: as before (up --wait)."""
        roles = service_roles(self.config_json)
        if roles.get("backing"):
            self._compose_step(f"up -d --no-recreate {' '.join(roles['backing'])} (created"
                               " once, never recreated by a deploy)", deadline,
                               *backing_up_args(roles["backing"],
                                                int(deadline - time.monotonic())))
        others = [s for s in roles.get("", []) if s not in (self.spec.proxy, self.spec.service)]
        if others:
            wait = str(max(1, int(deadline - time.monotonic())))
            self._compose_step(f"up -d --wait {' '.join(others)}", deadline,
                               "up", "-d", "--wait", "--wait-timeout", wait, "--no-deps",
                               *others)

    def _workers(self, deadline: float) -> None:
        """The workers, on the new image once web serves it (their old containers drain)."""
        workers = service_roles(self.config_json).get("worker")
        if workers:
            wait = str(max(1, int(deadline - time.monotonic())))
            self._compose_step(f"up -d --wait {' '.join(workers)} (old workers drain)",
                               deadline, "up", "-d", "--wait", "--wait-timeout", wait,
                               "--no-deps", *workers)

    def replicas(self) -> list[Replica]:
        service = self.spec.service
        code, out, err = self.runner.capture(self.agent.compose("ps", "--all", "-q", service))
        if code != 0:
            raise StepFailed(f"docker compose ps {service} failed: {_last_line(err)}")
        ids = out.split()
        if not ids:
            return []
        code, out, err = self.runner.capture([self.docker, "inspect", *ids])
        if code != 0:
            raise StepFailed(f"docker inspect of {service} failed: {_last_line(err)}")
        return parse_replicas(out)

    def _wanted(self) -> tuple[str, str | None]:
        service = self.spec.service
        code, out, err = self.runner.capture(self.agent.compose("config", "--hash", service))
        words = out.split()
        if code != 0 or len(words) < 2:
            raise StepFailed(f"docker compose config --hash {service} failed: "
                             f"{_last_line(err or out)}")
        image = None
        ref = service_images(self.config_json).get(service)
        if ref:
            code, iid, _err = self.runner.capture(
                [self.docker, "image", "inspect", "--format", "{{.Id}}", ref])
            image = iid.strip() if code == 0 else None
        return words[-1], image

    def _proxy_exec(self, *argv: str) -> tuple[int, str, str]:
        return self.runner.capture(self.agent.compose("exec", "-T", self.spec.proxy, *argv))

    def active(self) -> str | None:
        code, out, _err = self._proxy_exec("cat", f"{NGINX_DIR}/upstream.conf")
        return parse_upstream(out) if code == 0 else None

    def _roll(self, deadline: float) -> None:
        service = self.spec.service
        (wanted_hash, wanted_image), replicas, active = _together(
            self._wanted, self.replicas, self.active)  # three independent queries
        plan = plan_rollout(replicas, wanted_hash, wanted_image, active)
        for leftover in plan.remove_first:
            self.out.line(f"==> removing {leftover.name} (not in the proxy's rotation)")
            self._remove(leftover)
        if plan.keep is not None:
            self.out.line(f"==> {plan.keep.name} already runs this version and serves")
            if active != plan.keep.name:  # e.g. the proxy restarted: point it back
                self._switch(plan.keep.name, ())
            self.agent.probed.add(plan.keep.name)
            return
        if len(plan.retire) == 1 and active != plan.retire[0].name:
            # The proxy forwards to the service name (it was just (re)started), which
            # would soon resolve to the new container too: pin it to the serving one.
            self._switch(plan.retire[0].name, ())
        before = {r.id for r in plan.retire}
        self._compose_step(f"up -d --scale {service}={plan.scale} (next to the running one)",
                           deadline, "up", "-d", "--no-deps", "--no-recreate", "--scale",
                           f"{service}={plan.scale}", service)
        started = time.monotonic()
        new = [r for r in self.replicas() if r.id not in before and r.running]
        if len(new) != 1:
            raise StepFailed(f"expected one new {service} container, found {len(new)}")
        fresh = new[0]
        try:
            self._wait_healthy(fresh, started, deadline)
        except (Exception, Interrupted):
            self._show_log(fresh)
            self.out.line(f"==> removing {fresh.name}: it never received a request")
            self._remove(fresh)
            raise
        self.agent.probed.add(fresh.name)
        self._switch(fresh.name, plan.retire)
        for old in plan.retire:  # while the agent verifies; it waits for them before exiting
            self.out.line(f"==> stopping {old.name} (out of rotation, drained)")
            self.agent.retiring.add(old.name)
            worker = threading.Thread(target=self._remove, args=(old,), daemon=True)
            worker.start()
            self.agent.background.append(worker)

    def _wait_healthy(self, replica: Replica, started: float, deadline: float) -> None:
        argv = probe_argv(self.docker, replica.id, replica.test)
        if argv is None:
            self.out.line(f"!!! {replica.name} has no health check: switching to it blind")
            return
        self.out.line(f"==> waiting for {replica.name} to pass its health check (every "
                      f"{HEALTH_POLL:g}s; start period {replica.start_period:g}s, "
                      f"{replica.retries} failures after it are final)")
        results: list[tuple[float, bool]] = []
        while True:
            tick = time.monotonic()
            code, _out, _err = self.runner.capture(argv, timeout=min(replica.probe_timeout, 30))
            results.append((tick - started, code == 0))
            verdict = probe_verdict(results, replica.start_period, replica.retries)
            if verdict == "healthy":
                self.out.line(f"==> {replica.name} healthy after "
                              f"{time.monotonic() - started:.1f}s")
                return
            state = self._state(replica)
            if state not in ("running", ""):
                raise StepFailed(f"{replica.name} is {state}, never became healthy")
            if verdict == "unhealthy":
                raise StepFailed(f"{replica.name} not healthy: its health check failed "
                                 f"{replica.retries} times after the start period")
            if time.monotonic() + HEALTH_POLL > deadline:
                raise StepFailed(f"{replica.name} not healthy before the deploy timeout")
            time.sleep(max(0.0, tick + HEALTH_POLL - time.monotonic()))

    def _state(self, replica: Replica) -> str:
        code, out, _err = self.runner.capture(
            [self.docker, "inspect", "--format", "{{.State.Status}}", replica.id])
        return out.strip() if code == 0 else ""

    def _switch(self, target: str, retiring: Sequence[Replica]) -> None:
        """Point the proxy at ``target``; wait until its old workers finished their requests."""
        upstream = f"{target}:{self.spec.port}"
        code, out, err = self._proxy_exec("sh", "-c", _NGINX_SWITCH, "sh", upstream)
        if code != 0:
            raise StepFailed(f"switching {self.spec.proxy} to {upstream} failed (exit {code}): "
                             f"{_last_line(err or out)}")
        if retiring:
            self.out.line(f"==> {self.spec.proxy} now sends new requests to {upstream}; "
                          "draining the old workers")
        old = set(out.rsplit("old workers:", 1)[-1].split())
        limit = time.monotonic() + DRAIN_TIMEOUT
        while old and time.monotonic() < limit:
            code, now, _err = self._proxy_exec("sh", "-c", _NGINX_WORKERS)
            if code == 0 and not old & set(now.split()):
                return
            time.sleep(0.2)  # polling interval of a bounded wait
        if old:
            self.out.line(f"!!! {self.spec.proxy}'s old workers still run after "
                          f"{DRAIN_TIMEOUT:g}s; going on")

    def _remove(self, replica: Replica) -> None:
        """Graceful stop (the container's own stop signal and grace period), then remove."""
        self.runner.capture([self.docker, "stop", replica.id])
        code, _out, err = self.runner.capture([self.docker, "rm", "-f", replica.id])
        if code != 0:
            self.out.line(f"!!! could not remove {replica.name}: {_last_line(err)}")

    def _show_log(self, replica: Replica) -> None:
        lines = self.agent.config.log_lines
        self.out.line(f"!!! {replica.name} never became healthy; its last {lines} log lines:")
        _code, out, err = self.runner.capture([self.docker, "logs", "--tail", str(lines),
                                               replica.id])
        for line in (out + err).splitlines():
            self.out.line("  | " + line)

    def still_bad(self, bad: Sequence[ServiceState]) -> list[ServiceState]:
        """Of the not-ok containers, those that are not merely ``starting`` for Docker while
        their own health check (run now, or just passed) says healthy."""
        left = []
        for state in bad:
            if state.name in self.agent.retiring:  # out of rotation, being stopped
                continue
            if state.state == "running" and state.health == "starting" and (
                    state.name in self.agent.probed or self._passes(state.name)):
                continue
            left.append(state)
        return left

    def _passes(self, name: str) -> bool:
        code, out, _err = self.runner.capture([self.docker, "inspect", name])
        found = parse_replicas(out) if code == 0 else []
        argv = probe_argv(self.docker, name, found[0].test) if found else None
        return argv is not None and self.runner.capture(argv, timeout=30)[0] == 0


# --- the agent --------------------------------------------------------------------
@dataclass
class Snapshot:
    """The images a compose project refers to: reference -> image id, and the digest."""

    images: dict[str, str]
    digest: str | None
    build_url: str | None = None


class Agent:
    """One request against one project directory."""

    UP_STEP = "docker compose up"  # what ``up`` runs, as failures name it

    def __init__(self, project: Path, config: Config, caller: str, docker: str, out: Output,
                 environ: Mapping[str, str]) -> None:
        self.project, self.config, self.caller = project, config, caller
        self.docker, self.out = docker, out
        self.child_env = child_environment(environ, config.tag_variable)
        self.state_dir = project / STATE_DIR
        self.journal = self.state_dir / JOURNAL_NAME
        self.env_path = project / config.env_file
        self.runner = Runner(out, self.child_env, project)
        self.lock = DeployLock(self.state_dir / LOCK_NAME)
        self.probed: set[str] = set()  # containers whose health check the agent saw pass
        self.retiring: set[str] = set()  # old containers out of rotation, being stopped
        self.background: list[threading.Thread] = []  # their stops, joined before exit
        self._proxy: tuple[ProxySpec | None] | None = None  # memo: compose.yaml's proxy
        self.zero_downtime_off: str | None = None  # why a project with a proxy cannot use it
        self.allow_restore = False  # --allow-restore on this key's authorized_keys line

    # -- helpers --
    def compose(self, *args: str) -> list[str]:
        return compose_argv(self.docker, self.project, self.config.env_file, args)

    def read_env(self) -> str:
        try:
            return self.env_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {self.env_path}: {exc}") from None

    def snapshot(self, tag: str | None) -> Snapshot:
        """Image ids of every service's reference and the deployment's digest; best effort."""
        code, out, _err = self.runner.capture(self.compose("config", "--format", "json"))
        if code != 0:
            return Snapshot({}, None)
        try:
            refs = service_images(out)
        except ValueError:
            return Snapshot({}, None)
        images: dict[str, str] = {}
        digests: dict[str, str | None] = {}
        urls: dict[str, str] = {}
        for ref in sorted(set(refs.values())):
            code, out, _err = self.runner.capture([self.docker, "image", "inspect", ref])
            try:
                info = json.loads(out)[0] if code == 0 else None
            except (ValueError, IndexError):
                info = None
            if isinstance(info, dict) and isinstance(info.get("Id"), str):
                images[ref] = info["Id"]
                digests[ref] = pick_digest(info.get("RepoDigests") or [], split_ref(ref)[0])
                labels = (info.get("Config") or {}).get("Labels") or {}
                if isinstance(labels, dict) and isinstance(labels.get(BUILD_URL_LABEL), str):
                    urls[ref] = labels[BUILD_URL_LABEL]
        chosen = digest_ref(refs, tag)
        return Snapshot(images, digests.get(chosen) if chosen else None,
                        urls.get(chosen) if chosen else None)

    def services(self) -> list[ServiceState]:
        code, out, err = self.runner.capture(self.compose("ps", "--all", "--format", "json"))
        if code != 0:
            raise StepFailed(f"docker compose ps failed: {_last_line(err)}")
        try:
            return parse_ps(out)
        except ValueError as exc:
            raise StepFailed(f"cannot read docker compose ps output: {exc}") from None

    def verify(self) -> list[ServiceState]:
        """Every container ok, or StepFailed naming the ones that are not."""
        states = [s for s in self.services() if s.name not in self.retiring]
        if not states:
            raise StepFailed("no containers after docker compose up")
        bad = [s for s in states if not s.ok]
        spec = self.proxy() if bad else None
        if spec is not None:  # Docker may still say "starting" where the agent probed
            bad = Rollout(self, spec, "{}").still_bad(bad)
        if bad:
            raise StepFailed("not healthy: " + ", ".join(
                f"{s.service} ({s.state} {s.health or 'no healthcheck'})" for s in bad))
        return states

    def diagnose(self) -> None:
        """Print the last log lines of every container that is not ok."""
        try:
            bad = [s for s in self.services() if not s.ok]
        except StepFailed as exc:
            self.out.line(f"!!! {exc}")
            return
        for service in sorted({s.service for s in bad}):
            states = ", ".join(f"{s.state} {s.health or '-'}" for s in bad if s.service == service)
            self.out.line(f"!!! {service} is {states}; its last {self.config.log_lines} "
                          "log lines:")
            code, out, err = self.runner.capture(self.compose(
                "logs", "--no-color", "--tail", str(self.config.log_lines), service))
            for line in (out + err).splitlines():
                self.out.line("  | " + line)
            if code != 0:
                self.out.line(f"!!! docker compose logs exited {code}")

    def rollout(self, announce: bool = True) -> Rollout | None:
        """The zero-downtime deploy if compose.yaml has a labelled proxy, else None.

        The compose config is read fresh (the wanted image follows the env file); whether
        there is a proxy is remembered: the env file never adds or removes one."""
        code, out, _err = self.runner.capture(self.compose("config", "--format", "json"))
        try:
            spec = proxy_spec(out) if code == 0 else None
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        problem = upstream_port_problem(out, spec) if spec is not None else None
        if problem is not None:  # deploy as before, and say why
            if self.zero_downtime_off is None and announce:
                self.out.line(f"!!! zero-downtime deploy is off: {problem}")
            self.zero_downtime_off, spec = problem, None
        if code == 0:
            self._proxy = (spec,)
        return Rollout(self, spec, out) if spec is not None else None

    def proxy(self) -> ProxySpec | None:
        """compose.yaml's proxy, remembered from the last rollout() of this request."""
        if self._proxy is None:
            self.rollout()
        return self._proxy[0] if self._proxy is not None else None

    def finish_background(self) -> None:
        """Wait for the old containers' graceful stops started by a rollout."""
        for worker in self.background:
            worker.join()
        self.background.clear()

    def up(self, timeout: int) -> StepResult:
        rollout = self.rollout()
        if rollout is not None:
            return rollout.up(timeout)
        wait = max(1, timeout)
        backing = self.backing_first(wait)
        if isinstance(backing, StepResult):
            return backing
        self.out.line(f"==> docker compose up -d --wait (timeout {wait}s)")
        return self.runner.stream(self.compose("up", "-d", "--wait", "--wait-timeout", str(wait),
                                               *backing), timeout=wait + UP_GRACE)

    def backing_first(self, wait: int) -> StepResult | list[str]:
        """Without a proxy: create the backing services once (never recreate them), then
        the caller's ``up`` names every other service (``--no-deps``); [] when none."""
        code, out, _err = self.runner.capture(self.compose("config", "--format", "json"))
        roles = service_roles(out) if code == 0 else {}
        if not roles.get("backing"):
            return []
        self.out.line(f"==> docker compose up -d --no-recreate {' '.join(roles['backing'])}")
        result = self.runner.stream(self.compose(*backing_up_args(roles["backing"], wait)),
                                    timeout=wait + UP_GRACE)
        if result.returncode != 0 or result.timed_out:
            return result
        return ["--no-deps", *roles.get("", []), *roles.get("worker", [])]

    # -- what really runs (issue 11: status drift, pull only what is missing, no older build) --
    def inspect_image(self, ref: str) -> Entry | None:
        """``docker image inspect`` of one reference or id; None if it is not on this host."""
        code, out, _err = self.runner.capture([self.docker, "image", "inspect", ref])
        try:
            info = json.loads(out)[0] if code == 0 else None
        except (ValueError, IndexError):
            info = None
        return info if isinstance(info, dict) else None

    def configured_images(self) -> dict[str, str]:
        """service -> image reference, as the project's files say now; {} if unreadable."""
        code, out, _err = self.runner.capture(self.compose("config", "--format", "json"))
        try:
            return service_images(out) if code == 0 else {}
        except ValueError:
            return {}

    def running_images(self, states: Sequence[ServiceState]) -> dict[str, RunningImage]:
        """container name -> what it runs, for every running container; best effort."""
        names = [s.name for s in states if s.state == "running" and s.name]
        if not names:
            return {}
        code, out, _err = self.runner.capture([self.docker, "container", "inspect", *names])
        try:
            items = json.loads(out) if code == 0 else []
        except ValueError:
            items = []
        service = {s.name: s.service for s in states}
        found: dict[str, RunningImage] = {}
        for item in items if isinstance(items, list) else []:
            config = item.get("Config") if isinstance(item, dict) else None
            name = str(item.get("Name") or "").lstrip("/") if isinstance(item, dict) else ""
            if name not in service or not isinstance(config, dict):
                continue
            ref, image_id = str(config.get("Image") or ""), str(item.get("Image") or "")
            info = self.inspect_image(image_id) if image_id else None
            digest = pick_digest((info or {}).get("RepoDigests") or [], split_ref(ref)[0])
            found[name] = RunningImage(service[name], ref, image_id, digest)
        return found

    def missing_services(self) -> list[str] | None:
        """Services whose image is not on this host; None if the config cannot be read."""
        images = self.configured_images()
        if not images:
            return None
        present = {ref for ref in set(images.values()) if self.inspect_image(ref) is not None}
        return [service for service, ref in images.items() if ref not in present]

    def pull(self, action: str) -> StepResult:
        """``docker compose pull``; a rollback pulls only what is missing on this host, so
        it works with the registry down (a rollback's images are usually still here)."""
        services: list[str] = []
        if action == "rollback":
            missing = self.missing_services()
            if missing == []:
                self.out.line("==> every image is on this host: nothing to pull")
                return StepResult(0)
            services = missing or []
        self.out.line(" ".join(["==> docker compose pull", *services]))
        return self.runner.stream(self.compose("pull", *services),
                                  timeout=self.config.deploy_timeout)

    def check_not_older(self, target: str, states: Sequence[ServiceState]) -> None:
        """StepFailed if ``target`` was built before the healthy version that runs now.

        A deploy never replaces a newer build with an older one (two CI pipelines
        racing, a re-run of an old pipeline); ``rollback`` is the way back on purpose.
        Compares org.opencontainers.image.created (else the image's Created); images
        without either, or a running version that is not healthy, are not compared.
        """
        images = self.configured_images()
        ref = digest_ref(images, target)
        service = next((name for name, r in images.items() if r == ref), None)
        new_info = self.inspect_image(ref) if ref else None
        running = [r for name, r in self.running_images([s for s in states if s.ok]).items()
                   if r.service == service]
        old_info = self.inspect_image(running[0].image_id) if running else None
        if new_info is None or old_info is None or new_info.get("Id") == old_info.get("Id"):
            return
        new_time, old_time = build_time(new_info), build_time(old_info)
        if new_time is None or old_time is None or new_time[0] >= old_time[0]:
            return
        old_tag = split_ref(running[0].ref)[1] or running[0].ref
        raise StepFailed(f"{target} was built {new_time[1]}, before {old_tag}, which runs now "
                         f"(built {old_time[1]}): a deploy never replaces a newer build with "
                         f"an older one; `rollback {target}` goes back on purpose")

    # -- requests --
    def run(self, request: Request) -> int:
        if request.action in ("backup", "restore"):
            return BackupRequests(self).run(request)
        if request.action == "status":
            return self.status()
        if request.action == "history":
            return self.history(request.count or DEFAULT_HISTORY)
        return self.change(request.action, request.tag)

    def status(self) -> int:
        tag = env_value(self.read_env(), self.config.tag_variable)
        try:
            states = self.services()
        except StepFailed as exc:
            self.out.error(f"error: {exc}")
            return EXIT_FAILED
        snapshot = self.snapshot(tag)
        self.out.line(f"tag: {tag or '(none)'}")
        self.out.line(f"digest: {snapshot.digest or 'unknown'}")
        running = self.running_images(states)
        for state in states:
            item = running.get(state.name)
            tag_run = split_ref(item.ref)[1] or item.ref if item else None
            shown = f" {tag_run} {item.digest or item.image_id}" if item else ""
            self.out.line(state.line() + shown)
        problems = drift(list(running.values()), self.configured_images(), snapshot.images)
        self.out.line("drift: " + ("; ".join(problems) if problems else "none"))
        self.out.line(self.zero_downtime_line())
        return EXIT_OK

    def zero_downtime_line(self) -> str:
        """``zero-downtime: yes|no (why)``, the last line of ``status``."""
        try:
            rollout = self.rollout(announce=False)
        except StepFailed as exc:
            return f"zero-downtime: no ({exc})"
        if rollout is None and self.zero_downtime_off is not None:
            return f"zero-downtime: no ({self.zero_downtime_off})"
        if rollout is None:
            return ("zero-downtime: no (no proxy service in compose.yaml: a deploy stops the "
                    "old container before the new one serves; see `shipyard init`)")
        spec = rollout.spec
        return f"zero-downtime: yes ({spec.kind} service {spec.proxy} in front of {spec.service})"

    def history(self, count: int) -> int:
        try:
            text = self.journal.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return EXIT_OK
        for line in [x for x in text.splitlines() if x.strip()][-count:]:
            self.out.line(line)
        return EXIT_OK

    def change(self, action: str, tag: str | None) -> int:
        """deploy or rollback, under the lock."""
        lock = self.lock
        leftover = lock.acquire(self.config.lock_timeout, self.out)
        try:
            if leftover is not None:  # its step may run on without the lock (docker's
                stop_orphaned_group(leftover, self.out)  # plugins drop inherited fds)
                self._record_interrupted(leftover)
            env_text = self.read_env()
            tag_before = env_value(env_text, self.config.tag_variable)
            target = self._target(action, tag, tag_before)
            restore_to = tag_before
            if leftover is not None:  # the env file may name a version that never ran
                good = leftover.get("tag_before")
                restore_to = good if isinstance(good, str) and _TAG_RE.fullmatch(good) else None
            assert lock.fd is not None
            self.runner = Runner(self.out, self.child_env, self.project, keep_fds=(lock.fd,))
            self.runner.on_spawn = lock.child
            started = now_rfc3339()
            lock.write({"pid": os.getpid(), "started": started, "action": action,
                        "caller": self.caller, "tag_before": restore_to,
                        "tag_requested": target})
            return self._apply(action, target, env_text, tag_before, restore_to, started)
        finally:
            self.finish_background()
            lock.release()

    def _target(self, action: str, tag: str | None, current: str | None) -> str:
        if action == "deploy":
            if tag is not None:
                return tag
            if current is None:
                raise ConfigError(f"{self.env_path} sets no {self.config.tag_variable}; "
                                  "deploy an explicit tag first (`deploy TAG`)")
            return current
        entries = read_journal(self.journal)
        if tag is not None:
            known = deployed_tags(entries)
            if tag not in known:
                raise UnknownTarget(
                    f"rollback target {tag!r} never ran successfully here (known: "
                    f"{', '.join(known[-10:]) or 'none'}); use `deploy {tag}` to deploy it anyway")
            return tag
        found = rollback_target(entries, current)
        if found is None:
            raise UnknownTarget(f"no earlier successful deploy to roll back to from "
                                f"{current or '(no tag)'} (see `history`)")
        return found

    def _record_interrupted(self, record: Entry) -> None:
        pid = record.get("pid")
        alive = isinstance(pid, int) and not isinstance(pid, bool) and pid_alive(pid)
        state = "still exists but no longer holds the lock" if alive else "is gone"
        during = f" during {record['step']}" if record.get("step") else ""
        detail = (f"agent pid {pid} {state}: it was stopped (killed?){during} before "
                  f"finishing; noticed at {now_rfc3339()}")
        what = record.get("action", "deploy")
        self.out.line(f"!!! the previous {what} did not finish ({detail})")
        tag_now = self.running_tag()
        self._append_or_stop({
            "time": record.get("started") or now_rfc3339(),
            "action": record.get("action") if record.get("action") in (
                "deploy", "rollback", "backup", "restore") else "deploy",
            "caller": record.get("caller") or "unknown",
            "tag_before": record.get("tag_before"), "tag_requested": record.get("tag_requested"),
            "tag_after": tag_now, "digest_before": None, "digest_after": None,
            "outcome": "interrupted", "duration_s": None, "steps": {}, "detail": detail,
        })

    def running_tag(self) -> str | None:
        """The tag the deployment's service really runs (not what the env file says)."""
        images = self.configured_images()
        chosen = digest_ref(images, env_value(self.read_env(), self.config.tag_variable))
        service = next((name for name, ref in images.items() if ref == chosen), None)
        try:
            states = self.services()
        except StepFailed:
            return None
        for item in self.running_images(states).values():
            if item.service == service:
                return split_ref(item.ref)[1]
        return None

    # -- the journal: intent before switching, outcome after (fault: issue 11, #1) --
    def _append_or_stop(self, entry: Entry) -> None:
        """Append, or raise JournalUnwritable: called only before anything switches."""
        try:
            append_journal(self.journal, entry)
        except OSError as exc:
            raise JournalUnwritable(f"cannot write the journal {self.journal} "
                                    f"({exc.strerror or exc}); nothing was changed") from None

    def _journal_intent(self, entry: Entry) -> None:
        """``outcome: started`` before anything switches: no journal, no switch."""
        self._append_or_stop(dict(entry, outcome="started", duration_s=None, steps={},
                                  detail=""))

    def _journal_outcome(self, entry: Entry) -> None:
        """The outcome after; if it cannot be written, say what runs, and keep the lock
        record so that the next run journals this one as interrupted."""
        try:
            append_journal(self.journal, entry)
        except OSError as exc:
            self.lock.step("journal")
            self.lock.keep_record = True
            self.out.error(f"!!! cannot write the outcome ({entry['outcome']}) to the journal "
                           f"{self.journal} ({exc.strerror or exc}); "
                           f"{entry['tag_after'] or 'no tag'} runs; the next deploy records "
                           "this one as interrupted")

    def _apply(self, action: str, target: str, env_text: str, tag_before: str | None,
               restore_to: str | None, started: str) -> int:
        t0 = time.monotonic()
        steps: dict[str, float] = {}
        var = self.config.tag_variable
        self.out.line(f"==> {action} {target} in {self.project} (now {tag_before or 'no tag'}; "
                      f"caller {self.caller})")
        before = self.snapshot(tag_before)
        entry: Entry = {
            "time": started, "action": action, "caller": self.caller,
            "tag_before": tag_before, "tag_requested": target, "tag_after": tag_before,
            "digest_before": before.digest, "digest_after": before.digest,
        }

        def finish(outcome: str, detail: str, tag_after: str | None, digest: str | None,
                   build_url: str | None = None) -> None:
            entry.update(tag_after=tag_after, digest_after=digest, outcome=outcome,
                         duration_s=round(time.monotonic() - t0, 1), steps=steps,
                         detail=detail, build_url=build_url)
            self._journal_outcome(entry)

        self._journal_intent(entry)

        if self.config.backup is not None and self.config.backup.before_deploy:
            failed = BackupRequests(self).before_change(action, tag_before, steps)
            if failed:
                finish("failed", f"{failed}; nothing was changed", tag_before, before.digest)
                self.out.error(f"!!! {failed}; {action} of {target} aborted, nothing was changed")
                return EXIT_FAILED

        if self.config.pre_deploy:
            hook_env = dict(self.child_env, SHIPYARD_PROJECT=str(self.project),
                            SHIPYARD_ACTION=action, SHIPYARD_TAG_BEFORE=tag_before or "",
                            SHIPYARD_TAG_AFTER=target)
            self.out.line(f"==> pre-deploy hook: {' '.join(self.config.pre_deploy)}")
            self.lock.step("pre_deploy")
            t = time.monotonic()
            try:
                hook = self.runner.stream(self.config.pre_deploy, self.config.deploy_timeout,
                                          env=hook_env)
            except Interrupted as exc:
                finish("failed", f"pre-deploy hook {exc}; nothing was changed", tag_before,
                       before.digest)
                self.out.error(f"!!! {exc} during the pre-deploy hook; nothing was changed")
                return EXIT_FAILED
            steps["pre_deploy"] = round(time.monotonic() - t, 1)
            if hook.returncode != 0 or hook.timed_out:
                why = (f"timed out after {self.config.deploy_timeout}s" if hook.timed_out
                       else f"exited {hook.returncode}")
                finish("failed", f"pre-deploy hook {why}; nothing was changed", tag_before,
                       before.digest)
                self.out.error(f"!!! pre-deploy hook {why}; {action} of {target} aborted, "
                               "nothing was changed")
                return EXIT_FAILED

        stage = "env"
        self.lock.step(stage)
        deadline = time.monotonic() + self.config.deploy_timeout
        try:
            if target != tag_before:
                write_atomic(self.env_path, rewrite_env(env_text, var, target))
                self.out.line(f"==> {var}: {tag_before or '(none)'} -> {target} "
                              f"({self.config.env_file})")
            stage = "pull"
            self.lock.step(stage)
            t = time.monotonic()
            pulled = self.pull(action)
            steps["pull"] = round(time.monotonic() - t, 1)
            if pulled.returncode != 0 or pulled.timed_out:
                raise StepFailed(_step_failure("docker compose pull", pulled))
            if action == "deploy":
                self.check_not_older(target, self.services())
            stage = "up"
            self.lock.step(stage)
            t = time.monotonic()
            upped = self.up(int(deadline - time.monotonic()))
            steps["up"] = round(time.monotonic() - t, 1)
            if upped.returncode != 0 or upped.timed_out:
                raise StepFailed(_step_failure(self.UP_STEP, upped))
            stage = "verify"
            self.lock.step(stage)
            t = time.monotonic()
            states = self.verify()
            steps["verify"] = round(time.monotonic() - t, 1)
            self.out.line("==> healthy: " + ", ".join(verified_line(s) for s in states))
        except (Exception, Interrupted) as exc:
            reason = str(exc) or type(exc).__name__
            self.out.line(f"!!! {action} of {target} failed: {reason}")
            if stage in ("up", "verify"):
                self.diagnose()
            t = time.monotonic()
            self.lock.step("restore")
            restored, note = self._restore(env_text, tag_before, restore_to, before)
            steps["restore"] = round(time.monotonic() - t, 1)
            after = self.snapshot(restore_to)
            if restored:
                finish("failed-rolled-back", reason, restore_to, after.digest, after.build_url)
                self.out.error(f"!!! {action} of {target} failed ({reason}); {restore_to} "
                               "restored and healthy")
            else:
                finish("failed", f"{reason}; {note}", restore_to, after.digest)
                self.out.error(f"!!! {action} of {target} failed ({reason}); {note}")
                return EXIT_NOT_RESTORED
            return EXIT_FAILED
        after = self.snapshot(target)
        finish("ok", "", target, after.digest, after.build_url)
        self.out.line(f"==> {action} of {target} done in {entry['duration_s']}s "
                      f"(digest {after.digest or 'unknown'})")
        return EXIT_OK

    def _restore(self, env_text: str, tag_before: str | None, restore_to: str | None,
                 before: Snapshot) -> tuple[bool, str]:
        """Put the previous env file and images back and bring them up; never raises."""
        try:
            if restore_to is None:
                write_atomic(self.env_path, env_text)
                return False, ("there is no previous version to restore (first deploy); "
                               f"{self.config.env_file} restored, containers left for inspection")
            self.out.line(f"==> restoring {restore_to}")
            text = env_text if restore_to == tag_before else rewrite_env(
                env_text, self.config.tag_variable, restore_to)
            write_atomic(self.env_path, text)
            now = self.snapshot(restore_to).images
            for ref, image_id in sorted(before.images.items()):
                if now.get(ref) != image_id:  # a re-pulled mutable tag: point it back
                    self.out.line(f"==> {ref} back to {image_id[:19]}")
                    self.runner.capture([self.docker, "tag", image_id, ref])
            upped = self.up(self.config.deploy_timeout)
            if upped.returncode != 0 or upped.timed_out:
                self.diagnose()
                return False, f"restoring {restore_to} failed too: {self.UP_STEP} " + (
                    "timed out" if upped.timed_out else f"exited {upped.returncode}")
            states = self.verify()
            self.out.line(f"==> {restore_to} is back: " + ", ".join(s.line() for s in states))
            return True, ""
        except (Exception, Interrupted) as exc:  # report, never mask the original failure
            return False, f"restoring {restore_to} failed too: {exc}"


# --- backups: the pre-deploy dump, `backup` and `restore [BACKUP]` ----------------------
# Seed 004: disaster recovery works "so long as we capture the state of all external data
# before changing the running image (i.e. dump databases ...)". So a configured backup runs
# inside every deploy/rollback before anything switches (a failed dump stops the deploy,
# like a failed pre_deploy hook), and on request. The dump runs in the database's own
# container (`docker compose exec -T SERVICE sh -c SCRIPT`, a fixed script: nothing of the
# caller's reaches it) with the credentials the official images already have in their
# environment, so no password is stored here. `restore` is destructive and so reachable
# only by keys whose authorized_keys line carries --allow-restore (an operator's key, not
# CI's); it takes a safety dump first, stops the app's services, loads the file, starts
# them and waits until they are healthy.
BACKUP_ENGINES = ("postgres", "mysql")
BACKUP_DEFAULT_DIR = STATE_DIR + "/backups"
BACKUP_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_BACKUP_NAME_RE = re.compile(BACKUP_NAME_PATTERN)
BACKUP_SUFFIX = {"postgres": ".pgdump", "mysql": ".sql"}
BACKUP_KEYS = ("engine", "service", "keep", "dir", "before_deploy")

# The database's name and user come from the variables the official images read (and
# their *_FILE forms for compose secrets); local connections need no password there.
_PG_IDENTITY = (
    'u=${POSTGRES_USER:-}; if [ -z "$u" ] && [ -n "${POSTGRES_USER_FILE:-}" ]; then '
    'u=$(cat "$POSTGRES_USER_FILE"); fi; u=${u:-postgres}; '
    'd=${POSTGRES_DB:-}; if [ -z "$d" ] && [ -n "${POSTGRES_DB_FILE:-}" ]; then '
    'd=$(cat "$POSTGRES_DB_FILE"); fi; d=${d:-$u}; ')
_MYSQL_IDENTITY = (
    'p=${MYSQL_ROOT_PASSWORD:-${MARIADB_ROOT_PASSWORD:-}}; '
    'f=${MYSQL_ROOT_PASSWORD_FILE:-${MARIADB_ROOT_PASSWORD_FILE:-}}; '
    'if [ -z "$p" ] && [ -n "$f" ]; then p=$(cat "$f"); fi; export MYSQL_PWD="$p"; '
    'd=${MYSQL_DATABASE:-${MARIADB_DATABASE:-}}; if [ -z "$d" ]; then '
    'echo "no MYSQL_DATABASE or MARIADB_DATABASE in the container" >&2; exit 2; fi; ')
DUMP_SCRIPTS = {
    # Custom format: compressed, and pg_restore can --clean what it is about to recreate.
    "postgres": _PG_IDENTITY + 'exec pg_dump -U "$u" -d "$d" --format=custom',
    "mysql": _MYSQL_IDENTITY + 't=mysqldump; command -v mariadb-dump >/dev/null 2>&1 && '
             't=mariadb-dump; exec "$t" -u root --single-transaction --routines --triggers '
             '--events "$d"',
}
LOAD_SCRIPTS = {
    # One transaction: a restore that fails half-way leaves the database as it was.
    "postgres": _PG_IDENTITY + 'exec pg_restore -U "$u" -d "$d" --clean --if-exists '
                '--no-owner --single-transaction --exit-on-error',
    "mysql": _MYSQL_IDENTITY + 'c=mysql; command -v mariadb >/dev/null 2>&1 && c=mariadb; '
             'exec "$c" -u root "$d"',
}


@dataclass(frozen=True)
class BackupConfig:
    """``backup`` in shipyard-agent.json: which database to dump, where, how many to keep."""

    engine: str  # postgres | mysql (mariadb is mysql)
    service: str = "db"
    keep: int = 7
    dir: str = BACKUP_DEFAULT_DIR  # relative to the project, or absolute
    before_deploy: bool = True


def parse_backup_request(verb: str, args: Sequence[str], rest: str) -> Request:
    """``backup`` (no argument) and ``restore [BACKUP]`` (a file name, never a path)."""
    if verb == "backup":
        if args:
            raise Refused(f"backup takes no arguments, got {_shown(rest)}; allowed: {HELP}")
        return Request("backup")
    if not args:
        return Request("restore")
    if len(args) == 1 and _BACKUP_NAME_RE.fullmatch(args[0]):
        return Request("restore", tag=args[0])
    raise Refused(f"restore takes at most one backup file name (as `history` lists them: "
                  f"letters, digits, '.', '_', '-', no '/'), got {_shown(rest)}")


def parse_backup_config(value: object, where: str) -> BackupConfig | None:
    """The ``backup`` object of shipyard-agent.json; ConfigError names the key. Pure."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: backup must be an object like {{"engine": "postgres", '
                          f'"service": "db"}}, not {json.dumps(value)}')
    unknown = sorted(str(k) for k in value if k not in BACKUP_KEYS)
    if unknown:
        raise ConfigError(f'{where}: unknown key "backup.{unknown[0]}"; known keys: '
                          + ", ".join(f"backup.{k}" for k in BACKUP_KEYS))
    engine = value.get("engine")
    engine = "mysql" if engine == "mariadb" else engine
    if engine not in BACKUP_ENGINES:
        raise ConfigError(f"{where}: backup.engine must be one of postgres, mysql, mariadb, "
                          f"not {json.dumps(value.get('engine'))}")
    service = value.get("service", "db")
    if not isinstance(service, str) or not _UPSTREAM_RE.fullmatch(service + ":0"):
        raise ConfigError(f"{where}: backup.service must name a compose service, "
                          f"not {json.dumps(service)}")
    folder = value.get("dir", BACKUP_DEFAULT_DIR)
    if (not isinstance(folder, str) or not folder or "\0" in folder
            or (not Path(folder).is_absolute() and ".." in Path(folder).parts)):
        raise ConfigError(f"{where}: backup.dir must be a directory inside the project or an "
                          f"absolute path, not {json.dumps(folder)}")
    before = value.get("before_deploy", True)
    if not isinstance(before, bool):
        raise ConfigError(f"{where}: backup.before_deploy must be true or false, "
                          f"not {json.dumps(before)}")
    keep = _int_setting(value, "keep", 1, 1000, 7, f"{where}: backup")
    return BackupConfig(engine, service, keep, folder, before)


def backup_name(service: str, engine: str, when: datetime, tag: str | None) -> str:
    """``SERVICE-YYYYMMDDTHHMMSSmmmZ-TAG.EXT``: sorts by time, says what ran. Pure."""
    stamp = when.strftime("%Y%m%dT%H%M%S") + f"{when.microsecond // 1000:03d}Z"
    head, suffix = f"{service}-{stamp}-", BACKUP_SUFFIX[engine]
    return head + (tag or "none")[:max(128 - len(head) - len(suffix), 1)] + suffix


def backup_names(names: Iterable[str], service: str, engine: str) -> list[str]:
    """The finished backups among a directory's names, oldest first. Pure."""
    pattern = re.compile(re.escape(service) + r"-[0-9]{8}T[0-9]{9}Z-.*"
                         + re.escape(BACKUP_SUFFIX[engine]))
    return sorted(n for n in names if pattern.fullmatch(n) and _BACKUP_NAME_RE.fullmatch(n))


def prune_plan(names: Sequence[str], keep: int, protect: str | None = None) -> list[str]:
    """The oldest backups beyond ``keep`` (never ``protect``, a file about to be read). Pure."""
    doomed = list(names[:max(len(names) - keep, 0)])
    return [n for n in doomed if n != protect]


class BackupRequests:
    """backup, restore and the dump before a deploy, for one Agent (and its lock)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.out = agent.out

    @property
    def config(self) -> BackupConfig:
        config = self.agent.config.backup
        if config is None:
            raise ConfigError(f"no backup is configured for {self.agent.project}: add "
                              f'"backup": {{"engine": "postgres", "service": "db"}} to '
                              f"{CONFIG_NAME}")
        return config

    @property
    def folder(self) -> Path:
        folder = Path(self.config.dir)
        return folder if folder.is_absolute() else self.agent.project / folder

    def existing(self) -> list[str]:
        try:
            return backup_names([p.name for p in self.folder.iterdir()], self.config.service,
                                self.config.engine)
        except FileNotFoundError:
            return []

    # -- requests --
    def run(self, request: Request) -> int:
        if request.action == "restore" and not self.agent.allow_restore:
            raise Refused("restore is not enabled for this key: it replaces the database, so "
                          "only a key whose authorized_keys line has --allow-restore may ask")
        config = self.config
        agent, lock = self.agent, self.agent.lock
        leftover = lock.acquire(agent.config.lock_timeout, self.out)
        try:
            if leftover is not None:
                stop_orphaned_group(leftover, self.out)
                agent._record_interrupted(leftover)
            assert lock.fd is not None
            agent.runner = Runner(self.out, agent.child_env, agent.project, keep_fds=(lock.fd,))
            agent.runner.on_spawn = lock.child
            # The tag that runs stays the one to restore if this run is killed (see change()).
            tag = env_value(agent.read_env(), agent.config.tag_variable)
            lock.write({"pid": os.getpid(), "started": now_rfc3339(), "action": request.action,
                        "caller": agent.caller, "tag_before": tag, "tag_requested": tag})
            if request.action == "backup":
                return self._backup_request(config)
            return self._restore_request(config, request.tag)
        finally:
            lock.release()

    def _backup_request(self, config: BackupConfig) -> int:
        tag = self.agent.running_tag()
        try:
            taken = self.take("request", tag)
        except StepFailed as exc:
            self.out.error(f"!!! {exc}")
            return EXIT_FAILED
        if taken is None:
            self.out.error(f"!!! no {config.service} container here: nothing to back up "
                           "(deploy first)")
            return EXIT_FAILED
        return EXIT_OK

    def before_change(self, action: str, tag_before: str | None,
                      steps: dict[str, float]) -> str | None:
        """The dump inside a deploy/rollback; None, or why the change must not go on."""
        t = time.monotonic()
        self.agent.lock.step("backup")
        try:
            self.take(action, tag_before)
        except StepFailed as exc:
            return str(exc)
        except Interrupted as exc:
            return f"backup {exc}"
        finally:
            steps["backup"] = round(time.monotonic() - t, 1)
        return None

    # -- the dump --
    def _env(self) -> dict[str, str]:
        """docker compose's environment: before a first deploy the env file names no tag
        yet, and compose refuses to read a file whose image needs one; any tag does to find
        and exec into the database's container."""
        agent = self.agent
        variable = agent.config.tag_variable
        if env_value(agent.read_env(), variable):
            return agent.runner.env
        return dict(agent.runner.env, **{variable: "none"})

    def _container_state(self) -> ServiceState | None:
        argv = self.agent.compose("ps", "--all", "--format", "json", self.config.service)
        code, out, err = self._run(argv, stdin=None, stdout=subprocess.PIPE)
        if code != 0:
            raise StepFailed(f"docker compose ps failed: {_last_line(err)}")
        try:
            states = [s for s in parse_ps(out) if s.service == self.config.service]
        except ValueError as exc:
            raise StepFailed(f"cannot read docker compose ps output: {exc}") from None
        running = [s for s in states if s.state == "running"]
        return (running or states)[0] if states else None

    def take(self, trigger: str, tag: str | None, protect: str | None = None) -> Entry | None:
        """Dump into the backup folder, journal it, prune; None when there is no database
        container yet (a first deploy). StepFailed (journaled) when the dump fails."""
        config = self.config
        entry: Entry = {"time": now_rfc3339(), "action": "backup", "caller": self.agent.caller,
                        "trigger": trigger, "tag": tag, "service": config.service,
                        "engine": config.engine, "file": None, "bytes": None}
        t0 = time.monotonic()
        try:
            state = self._container_state()
        except StepFailed as exc:
            self._journal(dict(entry, outcome="failed", duration_s=0.0, detail=str(exc)))
            raise
        if state is None:
            self.out.line(f"==> backup: no {config.service} container yet (first deploy?): "
                          "nothing to back up")
            self._journal(dict(entry, outcome="skipped", duration_s=0.0,
                               detail=f"no {config.service} container"))
            return None
        name = backup_name(config.service, config.engine, datetime.now(timezone.utc), tag)  # noqa: UP017 - 3.9
        self.out.line(f"==> backup of {config.service} ({config.engine}) to {name}")
        try:
            if state.state != "running":
                raise StepFailed(f"{config.service} is {state.state}, not running")
            size = self._dump(name)
        except (StepFailed, OSError) as exc:
            detail = f"backup of {config.service} failed: {exc}"
            self._journal(dict(entry, outcome="failed", duration_s=round(
                time.monotonic() - t0, 1), detail=detail))
            raise StepFailed(detail) from None
        done = dict(entry, file=name, bytes=size, duration_s=round(time.monotonic() - t0, 1),
                    outcome="ok", detail="")
        self._journal(done)
        self.out.line(f"==> backup {name}: {size} bytes in {done['duration_s']}s")
        for old in prune_plan(self.existing(), config.keep, protect):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / old).unlink()
            self.out.line(f"==> backup {old} removed (keep {config.keep})")
        return done

    def _dump(self, name: str) -> int:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.folder / f".{name}.partial"
        argv = self.agent.compose("exec", "-T", self.config.service, "sh", "-c",
                                  DUMP_SCRIPTS[self.config.engine])
        try:
            fd = os.open(str(partial), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                         0o600)
            with os.fdopen(fd, "wb") as sink:
                code, _out, err = self._run(argv, stdin=None, stdout=sink)
                sink.flush()
                os.fsync(sink.fileno())
            size = partial.stat().st_size
            if code != 0:
                raise StepFailed(f"the dump exited {code}: {_last_line(err) or 'no message'}")
            if size == 0:
                raise StepFailed("the dump is empty")
            partial.replace(self.folder / name)
            return size
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def _run(self, argv: Sequence[str], stdin: Any, stdout: Any) -> tuple[int, str, str]:
        """Run with files as stdin/stdout (the Runner's rules otherwise); (code, stdout if
        piped, stderr)."""
        runner = self.agent.runner
        try:
            proc = subprocess.Popen(
                list(argv), stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=stdout, stderr=subprocess.PIPE, cwd=str(runner.cwd), env=self._env(),
                start_new_session=True, pass_fds=runner.keep_fds)
        except OSError as exc:
            raise ConfigError(f"cannot run {argv[0]!r}: {exc.strerror or exc} "
                              f"(set {DOCKER_ENV})") from None
        if runner.on_spawn is not None:
            runner.on_spawn(proc.pid)
        try:
            out, err = proc.communicate(timeout=self.agent.config.deploy_timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            return -1, "", f"timed out after {self.agent.config.deploy_timeout}s"
        finally:
            if proc.poll() is None:
                _stop_group(proc)
        return (proc.returncode, (out or b"").decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))

    def _journal(self, entry: Entry) -> None:
        try:
            append_journal(self.agent.journal, entry)
        except OSError as exc:
            self.out.error(f"!!! cannot write the backup's journal line: {exc.strerror or exc}")

    # -- restore --
    def _restore_request(self, config: BackupConfig, wanted: str | None) -> int:
        agent = self.agent
        names = self.existing()
        if wanted is None and not names:
            raise UnknownTarget(f"no backups in {self.folder}")
        name = wanted or names[-1]
        if name not in names:
            raise UnknownTarget(f"no backup {name!r} of {config.service} in {self.folder} "
                                f"(newest: {names[-1] if names else 'none'})")
        path = self.folder / name
        t0 = time.monotonic()
        entry: Entry = {"time": now_rfc3339(), "action": "restore", "caller": agent.caller,
                        "tag": agent.running_tag(), "service": config.service, "file": name,
                        "bytes": path.stat().st_size, "safety_backup": None}
        agent._append_or_stop(dict(entry, outcome="started", duration_s=None, detail=""))

        def finish(outcome: str, detail: str) -> None:
            self._journal(dict(entry, outcome=outcome, detail=detail,
                               duration_s=round(time.monotonic() - t0, 1)))

        self.out.line(f"==> restore {name} into {config.service} of {agent.project}")
        try:
            agent.lock.step("backup")
            safety = self.take("restore", entry["tag"], protect=name)
            if safety is None:
                raise StepFailed(f"no {config.service} container: deploy first, then restore")
            entry["safety_backup"] = safety["file"]
        except (StepFailed, Interrupted) as exc:
            finish("failed", f"{exc}; nothing was changed")
            self.out.error(f"!!! restore aborted before anything changed: {exc}")
            return EXIT_FAILED
        stopped = self._app_services()
        try:
            if stopped:
                agent.lock.step("stop")
                self.out.line(f"==> stopping {', '.join(stopped)} while the data is replaced")
                self._compose_ok("stop", *stopped)
            agent.lock.step("restore")
            self.out.line(f"==> loading {name} ({entry['bytes']} bytes)")
            with path.open("rb") as source:
                code, _out, err = self._run(agent.compose("exec", "-T", config.service, "sh", "-c",
                                                    LOAD_SCRIPTS[config.engine]),
                                      stdin=source, stdout=subprocess.DEVNULL)
            for line in err.splitlines()[-20:]:
                self.out.line("  " + line)
            if code != 0:
                raise StepFailed(f"loading {name} exited {code}")
        except (StepFailed, Interrupted) as exc:
            undo = safety["file"]
            self._start(stopped)
            finish("failed", f"{exc}; the state before is in {undo}")
            self.out.error(f"!!! restore of {name} failed ({exc}); the database as it was "
                           f"before is saved as {undo} (`restore {undo}`)")
            return EXIT_FAILED
        problem = self._start(stopped)
        if problem:
            finish("failed", f"{name} loaded, but {problem}")
            self.out.error(f"!!! {name} loaded, but {problem}")
            return EXIT_FAILED
        finish("ok", "")
        self.out.line(f"==> restored {name} in {round(time.monotonic() - t0, 1)}s "
                      f"(the state before is saved as {safety['file']})")
        return EXIT_OK

    def _app_services(self) -> list[str]:
        """Running services that use the database: all but it and the proxy (which keeps
        its port and answers 502 meanwhile)."""
        try:
            spec = self.agent.proxy()
        except StepFailed:
            spec = None
        keep = {self.config.service, spec.proxy if spec else ""}
        return sorted({s.service for s in self.agent.services()
                       if s.state == "running" and s.service not in keep})

    def _compose_ok(self, *args: str) -> None:
        result = self.agent.runner.stream(self.agent.compose(*args),
                                          self.agent.config.deploy_timeout)
        if result.returncode != 0 or result.timed_out:
            raise StepFailed(_step_failure("docker compose " + args[0], result))

    def _start(self, services: Sequence[str]) -> str | None:
        """Start what was stopped and wait until every container is ok; None or why not."""
        if not services:
            return None
        agent = self.agent
        agent.lock.step("start")
        self.out.line(f"==> starting {', '.join(services)}")
        deadline = time.monotonic() + agent.config.deploy_timeout
        try:
            self._compose_ok("start", *services)
            while True:
                try:
                    states = agent.verify()
                    self.out.line("==> healthy: " + ", ".join(verified_line(s) for s in states))
                    return None
                except StepFailed:
                    if time.monotonic() >= deadline:
                        raise
                time.sleep(HEALTH_POLL)  # polling a condition, bounded by the deadline
        except (StepFailed, Interrupted) as exc:
            agent.diagnose()
            return str(exc)
# --- Docker Swarm: the same compose project, deployed as a stack ------------------
# With ``"engine": "swarm"`` in shipyard-agent.json the agent runs on a manager node and
# deploys the project as a stack. The stack file is derived from ``docker compose config``
# (compose.yaml + compose.override.yaml + the env file, interpolated and escaped), so the
# single-host files stay the only source and a host can move from compose to Swarm
# without rewriting them. Swarm does the rolling update itself: start-first, gated by the
# health check, rolled back by Swarm when a new task fails (failure_action: rollback).
# The agent waits for convergence and keeps the lock, the env file and the journal
# exactly as for compose, so ``rollback`` and ``history`` mean the same on both engines.
# Services are reached by DNS round-robin (endpoint_mode: dnsrr) through the project's
# proxy, which publishes its port in host mode: neither the ingress routing mesh nor
# virtual IPs are needed (both need IPVS in the kernel, which not every host has).
ENGINES = ("compose", "swarm")
STACK_FILE = "stack.json"  # in STATE_DIR; JSON is YAML, which `docker stack deploy` reads
STACK_VERSION = "3.9"
STACK_LABEL = "com.docker.stack.namespace"
SWARM_POLL = 1.0  # seconds between two looks at the stack while it converges
SWARM_SETTLE = 5.0  # a changed service whose update has not started by then needs none
SWARM_UPDATE = {"parallelism": 1, "delay": "0s", "failure_action": "rollback",
                "monitor": "10s", "max_failure_ratio": 0}
SWARM_ROLLBACK = {"parallelism": 1, "delay": "0s", "failure_action": "pause", "monitor": "10s"}
# compose keys Swarm ignores or the stack file format rejects (``restart`` is mapped)
_SWARM_DROPPED = ("container_name", "depends_on", "pull_policy", "restart", "profiles",
                  "scale", "build", "links", "external_links")
_RESTART_CONDITION = {"no": "none", "always": "any", "unless-stopped": "any",
                      "on-failure": "on-failure"}
_UPDATING = ("updating", "rollback_started")
_SWARM_FAILED = ("paused", "rollback_paused", "rollback_completed")
_STACK_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
SECRETS_DIR = "secrets"  # in STATE_DIR, beside the stack file: the values of Swarm secrets
# shipyard.secretpatterns.is_secret_name, restated: the agent imports nothing of Shipyard
# (tests/unit/test_agent_swarm.py keeps the two equal).
_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY",
                           "CREDENTIAL", "CREDENTIALS", "PRIVATEKEY", "PAT"})
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"),
                           ("SECRET", "KEY"), ("AUTH", "KEY"), ("SIGNING", "KEY"),
                           ("ENCRYPTION", "KEY"), ("AUTH", "TOKEN")})
_NOT_A_VALUE = frozenset({"FILE", "PATH", "DIR", "FILENAME", "LENGTH", "TTL", "TIMEOUT",
                          "HEADER", "NAME", "ENV", "VAR", "TYPE", "ID", "EXPIRY", "URL", "HOST",
                          "USER", "USERNAME", "SOCK", "ENDPOINT", "ENABLED", "REQUIRED",
                          "MODE", "PREFIX"})


def is_secret_variable(name: str) -> bool:
    """Whether a variable's name says it holds a secret (DJANGO_SECRET_KEY, DB_PASSWORD),
    not where one is (SECRET_KEY_FILE). Pure."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in _NOT_A_VALUE:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any((words[i], words[i + 1]) in _SECRET_PAIRS  # no pairwise(): python 3.9
               for i in range(len(words) - 1))


def move_secrets(stack: str, services: Mapping[str, dict[str, Any]]
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """Secret settings out of the services' environment into Swarm secrets. Pure.

    A service's environment is readable by anyone who may ``docker service inspect``; a
    secret is encrypted in the swarm and only mounted, at /run/secrets/VARIABLE, into the
    tasks of the services that use it (the entrypoint ``shipyard init`` writes exports
    those files as variables). Secrets are immutable, so each is named after a hash of
    its value: a changed value is a new secret and rolls the service like a new image.
    Edits ``services`` in place; returns (top-level secrets, file name -> value)."""
    import hashlib  # see _LAZY_IMPORTS

    declared: dict[str, Any] = {}
    files: dict[str, str] = {}
    for service in services.values():
        env = service.get("environment")
        if not isinstance(env, dict):
            continue
        moved = []
        for variable, value in sorted(env.items()):
            if (value in (None, "") or not is_secret_variable(variable)
                    or not _VARIABLE_RE.fullmatch(variable)):
                continue
            plain = str(value).replace("$$", "$")  # compose config escapes `$`
            key = f"{variable}_{hashlib.sha256(plain.encode()).hexdigest()[:12]}"
            name = f"{stack}_{key}"
            if len(name) > 64:  # Swarm's limit for object names
                name = "shipyard_" + hashlib.sha256(name.encode()).hexdigest()[:40]
            declared[key] = {"name": name, "file": f"{SECRETS_DIR}/{key}"}
            files[key] = plain
            moved.append({"source": key, "target": variable})
            del env[variable]
        if moved:
            service["secrets"] = [*(service.get("secrets") or []), *moved]
    return declared, files


def _swarm_ports(ports: Sequence[Any]) -> list[dict[str, Any]]:
    """Published ports in host mode: the routing mesh (ingress) needs IPVS. Swarm binds
    every address of the node; a ``host_ip`` (127.0.0.1:...) cannot be kept."""
    out = []
    for port in ports:
        if not isinstance(port, dict) or "target" not in port:
            continue
        entry: dict[str, Any] = {"target": int(port["target"]),
                                 "protocol": str(port.get("protocol") or "tcp"), "mode": "host"}
        published = str(port.get("published") or "")
        if published.isdigit():
            entry["published"] = int(published)
        out.append(entry)
    return out


def swarm_service(service: Mapping[str, Any]) -> dict[str, Any]:
    """One service of ``docker compose config --format json`` as a stack service. Pure.

    What the project's own ``deploy:`` says wins; the defaults make the update safe:
    start-first (stop-first for a service that publishes a host port: two tasks cannot
    bind it on one node), Swarm rolls back a failing update, DNS round-robin."""
    out = {k: v for k, v in service.items() if k not in _SWARM_DROPPED and v is not None}
    deploy: dict[str, Any] = dict(out.get("deploy") or {})
    ports = _swarm_ports(out.pop("ports", None) or [])
    tmpfs = out.pop("tmpfs", None) or []  # Swarm ignores the short form: tmpfs mounts
    mounts = [{"type": "tmpfs", "target": str(path).split(":", 1)[0]}
              for path in ([tmpfs] if isinstance(tmpfs, str) else tmpfs)]
    if mounts:
        out["volumes"] = [*(out.get("volumes") or []), *mounts]
    if ports:
        out["ports"] = ports
    order = "stop-first" if any("published" in p for p in ports) else "start-first"
    deploy["update_config"] = {"order": order, **SWARM_UPDATE,
                               **(deploy.get("update_config") or {})}
    deploy["rollback_config"] = {"order": order, **SWARM_ROLLBACK,
                                 **(deploy.get("rollback_config") or {})}
    deploy.setdefault("endpoint_mode", "dnsrr")
    if service.get("scale") and "replicas" not in deploy:
        deploy["replicas"] = service["scale"]
    condition = _RESTART_CONDITION.get(str(service.get("restart") or "always"), "any")
    deploy.setdefault("restart_policy", {"condition": condition, "delay": "2s"})
    out["deploy"] = deploy
    networks = out.get("networks")
    if isinstance(networks, dict) and list(networks) == ["default"] and not networks["default"]:
        del out["networks"]
    return out


def stack_file(config_json: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(stack name, stack file, secret file name -> value) from ``docker compose config
    --format json``. Pure.

    ValueError for a config that has no services or no valid project name."""
    data = json.loads(config_json)
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not services:
        raise ValueError("docker compose config shows no services")
    name = str(data.get("name") or "")
    if not _STACK_NAME_RE.fullmatch(name):
        raise ValueError(f"project name {name!r} cannot name a stack")
    stack: dict[str, Any] = {"version": STACK_VERSION, "services": {
        str(k): swarm_service(v) for k, v in sorted(services.items()) if isinstance(v, dict)}}
    networks = {}
    for net_name, net in (data.get("networks") or {}).items():
        net = dict(net or {})
        if not net.get("external"):  # the stack names its own: STACK_default, ...
            net.pop("name", None)
            if net.get("driver") in (None, "bridge"):
                net["driver"] = "overlay"
        networks[str(net_name)] = net
    if networks:
        stack["networks"] = networks
    for key in ("volumes", "secrets", "configs"):
        if data.get(key):
            stack[key] = data[key]
    declared, files = move_secrets(name, stack["services"])
    if declared:
        stack["secrets"] = {**(stack.get("secrets") or {}), **declared}
    return name, stack, files


@dataclass(frozen=True)
class SwarmService:
    """One service of the stack, from ``docker service inspect``."""

    name: str  # without the stack's prefix
    image: str  # what its spec runs: repository:tag@sha256:...
    replicas: int | None  # None: a global service
    updated_at: str
    update_state: str  # "", updating, completed, paused, rollback_started, ...
    update_started: str
    update_message: str


@dataclass(frozen=True)
class SwarmTask:
    """One task of the stack, from ``docker inspect`` of its id."""

    service: str
    slot: int
    node: str  # node id
    state: str  # new, pending, ..., starting, running, complete, failed, shutdown, rejected
    desired: str
    image: str
    error: str
    created: str
    container: str = ""  # its container's id, on its node

    @property
    def label(self) -> str:
        return f"{self.service}.{self.slot}" if self.slot else f"{self.service}@{self.node[:12]}"


def parse_swarm_services(inspect_json: str, stack: str) -> dict[str, SwarmService]:
    """service id -> SwarmService for the stack's services in ``docker service inspect``."""
    found = {}
    for item in json.loads(inspect_json or "[]"):
        spec = item.get("Spec") or {} if isinstance(item, dict) else {}
        name = str(spec.get("Name") or "")
        if (spec.get("Labels") or {}).get(STACK_LABEL) != stack:
            continue
        mode = spec.get("Mode") or {}
        replicated = mode.get("Replicated")
        update = item.get("UpdateStatus") or {}
        found[str(item.get("ID"))] = SwarmService(
            name=name[len(stack) + 1:] if name.startswith(stack + "_") else name,
            image=str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {})
                      .get("Image") or ""),
            replicas=int(replicated.get("Replicas") or 0) if isinstance(replicated, dict)
            else None,
            updated_at=str(item.get("UpdatedAt") or ""),
            update_state=str(update.get("State") or ""),
            update_started=str(update.get("StartedAt") or ""),
            update_message=str(update.get("Message") or ""))
    return found


def parse_swarm_tasks(inspect_json: str, services: Mapping[str, SwarmService]) -> list[SwarmTask]:
    """The tasks of the given services in ``docker inspect`` output, by service and slot."""
    tasks = []
    for item in json.loads(inspect_json or "[]"):
        if not isinstance(item, dict) or item.get("ServiceID") not in services:
            continue
        status = item.get("Status") or {}
        tasks.append(SwarmTask(
            service=services[item["ServiceID"]].name, slot=int(item.get("Slot") or 0),
            node=str(item.get("NodeID") or ""), state=str(status.get("State") or ""),
            desired=str(item.get("DesiredState") or ""),
            image=str(((item.get("Spec") or {}).get("ContainerSpec") or {}).get("Image") or ""),
            error=str(status.get("Err") or ""), created=str(item.get("CreatedAt") or ""),
            container=str((status.get("ContainerStatus") or {}).get("ContainerID") or "")))
    return sorted(tasks, key=lambda t: (t.service, t.slot, t.node, t.created))


def swarm_image(ref: str) -> tuple[str | None, str | None]:
    """(tag, digest) of a service image ``repo:tag@sha256:...`` (either may be None). Pure."""
    name, _, digest = ref.partition("@")
    tag = split_ref(name)[1] if name else None
    return tag, digest or None


def stack_progress(services: Sequence[SwarmService], tasks: Sequence[SwarmTask],
                   before: Mapping[str, SwarmService], waited: float) -> tuple[str, list[str]]:
    """(``converged`` | ``failed`` | ``waiting``, one line per service) after a deploy. Pure.

    A service has converged when an update it started (if any) completed and exactly its
    wanted number of tasks run its current image, none of an older one. An update that
    Swarm paused or rolled back is ``failed``; one rolling back is still ``waiting`` (it
    is left to finish). A changed service whose update has not started within
    SWARM_SETTLE seconds needed none (its tasks were not affected)."""
    verdicts, lines = [], []
    for svc in sorted(services, key=lambda s: s.name):
        old = before.get(svc.name)
        new_update = bool(svc.update_state) and (
            old is None or (svc.update_started, svc.update_state)
            != (old.update_started, old.update_state))
        mine = [t for t in tasks if t.service == svc.name and t.desired == "running"]
        current = [t for t in mine if t.image == svc.image and t.state == "running"]
        want = svc.replicas if svc.replicas is not None else max(1, len({t.node for t in mine}))
        shown = f"{len(current)}/{want} tasks running {swarm_image(svc.image)[0] or svc.image}"
        if new_update and svc.update_state in _SWARM_FAILED:
            verdict = "failed"
            shown = (f"Swarm rolled the update back ({svc.update_message})"
                     if svc.update_state == "rollback_completed" else
                     f"Swarm {svc.update_state.replace('_', ' ')} the update "
                     f"({svc.update_message})")
        elif new_update and svc.update_state in _UPDATING:
            verdict = "waiting"
            shown += f" ({svc.update_state.replace('_', ' ')})"
        elif (old is not None and svc.updated_at != old.updated_at and not new_update
              and waited < SWARM_SETTLE):
            verdict = "waiting"
        elif len(current) >= want and len(current) == len(mine):
            verdict = "converged"
        else:
            verdict = "waiting"
        verdicts.append(verdict)
        lines.append(f"{svc.name}: {shown}")
    if "failed" in verdicts:
        return "failed", lines
    if verdicts and all(v == "converged" for v in verdicts):
        return "converged", lines
    return "waiting", lines


class SwarmAgent(Agent):
    """The Agent, with ``up``, ``verify``, ``status`` and their helpers on a Swarm stack.

    What stays the Agent's: the grammar, lock, hook, env file, ``docker compose pull`` on
    the manager (a missing tag fails before anything changes; the digest in the journal),
    the journal, rollback targets and the restore (the previous tag, deployed again)."""

    UP_STEP = "docker stack deploy"
    _stack: str | None = None
    _deployed_at = ""  # when the last ``docker stack deploy`` started (RFC 3339, UTC)

    def stack(self) -> str:
        """The stack's name: the compose project name (the directory's)."""
        if self._stack is None:
            self.derive(write=False)
        assert self._stack is not None
        return self._stack

    def derive(self, write: bool = True) -> Path:
        """Write ``.shipyard/stack.json`` from the project's compose files; StepFailed if
        they cannot be read."""
        code, out, err = self.runner.capture(self.compose("config", "--format", "json"))
        if code != 0:
            raise StepFailed(f"docker compose config failed: {_last_line(err)}")
        try:
            self._stack, data, secrets = stack_file(out)
        except ValueError as exc:
            raise StepFailed(f"cannot derive the stack file: {exc}") from None
        path = self.state_dir / STACK_FILE
        if write:
            self.state_dir.mkdir(mode=0o750, exist_ok=True)
            folder = self.state_dir / SECRETS_DIR
            folder.mkdir(mode=0o700, exist_ok=True)
            for old in folder.iterdir():  # only the values in use stay on disk
                if old.name not in secrets:
                    old.unlink()
            for key, value in secrets.items():
                write_atomic(folder / key, value)
                (folder / key).chmod(0o600)
            write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return path

    def swarm_services(self) -> dict[str, SwarmService]:
        stack = self.stack()
        code, out, err = self.runner.capture([self.docker, "service", "ls", "--quiet",
                                              "--filter", f"label={STACK_LABEL}={stack}"])
        if code != 0:
            raise StepFailed(f"docker service ls failed: {_last_line(err)} (is this node a "
                             "Swarm manager?)")
        ids = out.split()
        if not ids:
            return {}
        code, out, err = self.runner.capture([self.docker, "service", "inspect", *ids])
        if code != 0:
            raise StepFailed(f"docker service inspect failed: {_last_line(err)}")
        return parse_swarm_services(out, stack)

    def swarm_tasks(self, services: Mapping[str, SwarmService]) -> list[SwarmTask]:
        if not services:
            return []
        code, out, _err = self.runner.capture([self.docker, "service", "ps", "--quiet",
                                              "--no-trunc", *services])
        ids = out.split() if code == 0 else []
        if code != 0 or not ids:
            return []
        # A task pruned from the history between the two calls fails the whole command
        # but the others are still printed: use them.
        _code, out, _err = self.runner.capture([self.docker, "inspect", "--type", "task", *ids])
        try:
            return parse_swarm_tasks(out, services)
        except ValueError:
            return []

    def up(self, timeout: int) -> StepResult:
        """``docker stack deploy``, then wait until the stack converged or Swarm rolled back."""
        deadline = time.monotonic() + max(1, timeout)
        try:
            path = self.derive()
            before = {s.name: s for s in self.swarm_services().values()}
        except StepFailed as exc:
            return StepResult(1, tail=[str(exc)])
        stack = self.stack()
        self._deployed_at = now_rfc3339()
        self.out.line(f"==> docker stack deploy --with-registry-auth {stack} (from "
                      f"docker compose config, {STACK_FILE})")
        deployed = self.runner.stream(
            [self.docker, "stack", "deploy", "--with-registry-auth", "--compose-file",
             str(path), stack], timeout=max(1.0, deadline - time.monotonic()))
        if deployed.returncode != 0 or deployed.timed_out:
            return deployed
        self.out.line(f"==> waiting for Swarm to converge (timeout {timeout}s)")
        started, shown = time.monotonic(), [""]
        while True:
            try:
                services = self.swarm_services()
                verdict, lines = stack_progress(list(services.values()),
                                                self.swarm_tasks(services), before,
                                                time.monotonic() - started)
            except StepFailed as exc:
                verdict, lines = "waiting", [str(exc)]
            for line in lines:  # progress: what changed since the last look
                if line not in shown:
                    self.out.line("  " + line)
            shown = lines
            if verdict == "converged":
                self.out.line(f"==> converged after {time.monotonic() - started:.1f}s")
                return StepResult(0)
            if verdict == "failed":
                return StepResult(1, tail=["; ".join(x for x in lines if ": Swarm " in x)])
            if time.monotonic() >= deadline:
                return StepResult(-1, timed_out=True, tail=lines)
            time.sleep(SWARM_POLL)

    def services(self) -> list[ServiceState]:
        """One ServiceState per task that should run (Swarm gates ``running`` on health)."""
        tasks = self.swarm_tasks(self.swarm_services())
        return [ServiceState(t.service, t.label, t.state, "") for t in tasks
                if t.desired == "running"]

    def verify(self) -> list[ServiceState]:
        """Every service converged (its tasks run its current image), else StepFailed."""
        services = self.swarm_services()
        if not services:
            raise StepFailed(f"no services in stack {self.stack()} after docker stack deploy")
        tasks = self.swarm_tasks(services)
        now = {s.name: s for s in services.values()}  # judge the tasks, not the update
        verdict, lines = stack_progress(list(services.values()), tasks, now, SWARM_SETTLE)
        if verdict != "converged":
            raise StepFailed("not converged: " + "; ".join(lines))
        return [ServiceState(t.service, t.label, t.state, "") for t in tasks
                if t.desired == "running"]

    def diagnose(self) -> None:
        """The tasks started by this deploy that are not running (with their health check's
        last output where the container is on this node) and their services' last logs."""
        try:
            services = self.swarm_services()
            tasks = self.swarm_tasks(services)
        except StepFailed as exc:
            self.out.line(f"!!! {exc}")
            return
        bad = [t for t in tasks if self._deployed_at and t.created >= self._deployed_at
               and t.state != "running"]
        for task in bad:
            self.out.line(f"!!! {task.label} ({swarm_image(task.image)[0] or task.image}): "
                          f"{task.state}{': ' + task.error if task.error else ''}")
            if task.container:
                code, out, _err = self.runner.capture([
                    self.docker, "container", "inspect", "--format",
                    "{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}",
                    task.container])
                last = _last_line(out) if code == 0 and out.strip() else ""
                if last:
                    self.out.line(f"!!! {task.label}: its health check said: {last}")
        for service in sorted({t.service for t in bad}):
            self.out.line(f"!!! {service}: its last {self.config.log_lines} log lines:")
            _code, out, err = self.runner.capture(
                [self.docker, "service", "logs", "--no-task-ids", "--tail",
                 str(self.config.log_lines), f"{self.stack()}_{service}"])
            for line in (out + err).splitlines()[-self.config.log_lines:]:
                self.out.line("  | " + line)

    def check_not_older(self, target: str, states: Sequence[ServiceState]) -> None:
        """Not on Swarm: the running tasks' images may live on other nodes only."""

    def running_tag(self) -> str | None:
        images = self.configured_images()
        chosen = digest_ref(images, env_value(self.read_env(), self.config.tag_variable))
        service = next((name for name, ref in images.items() if ref == chosen), None)
        try:
            found = [s for s in self.swarm_services().values() if s.name == service]
        except StepFailed:
            return None
        return swarm_image(found[0].image)[0] if found else None

    def node_names(self) -> dict[str, str]:
        code, out, _err = self.runner.capture([self.docker, "node", "ls", "--format",
                                               "{{.ID}} {{.Hostname}}"])
        pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
        return {node: host for node, host in pairs} if code == 0 else {}

    def status(self) -> int:
        """Like compose's status, one line per task: ``web.1 on NODE: STATE TAG DIGEST``."""
        tag = env_value(self.read_env(), self.config.tag_variable)
        try:
            services = self.swarm_services()
            tasks = self.swarm_tasks(services)
        except StepFailed as exc:
            self.out.error(f"error: {exc}")
            return EXIT_FAILED
        snapshot = self.snapshot(tag)
        nodes = self.node_names()
        self.out.line(f"tag: {tag or '(none)'}")
        self.out.line(f"digest: {snapshot.digest or 'unknown'}")
        wanted = {s.name: s for s in services.values()}
        problems = []
        for task in tasks:
            if task.desired != "running" and task.state != "running":
                continue
            task_tag, digest = swarm_image(task.image)
            node = nodes.get(task.node, task.node[:12])
            self.out.line(f"{task.label} on {node}: {task.state} {task_tag or '-'} "
                          f"{digest or task.image}")
            svc = wanted.get(task.service)
            if svc is not None and task.image != svc.image and task.state == "running":
                problems.append(f"{task.label} on {node} runs {task_tag or task.image}, "
                                f"{task.service} wants {swarm_image(svc.image)[0]}")
        configured = self.configured_images()
        for svc in sorted(wanted.values(), key=lambda s: s.name):
            want = configured.get(svc.name)
            if want is not None and svc.image.partition("@")[0] != want:
                problems.append(f"{svc.name} runs {svc.image.partition('@')[0]}, the env file "
                                f"says {want}")
        self.out.line("drift: " + ("; ".join(problems) if problems else "none"))
        self.out.line(f"engine: swarm (stack {self.stack()}; updates start-first, rolled "
                      "back by Swarm on failure)")
        return EXIT_OK


# --- entry point ------------------------------------------------------------------
class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"bad agent command line in authorized_keys: {message}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _ArgumentParser(prog="agent.py", allow_abbrev=False, add_help=False)
    parser.add_argument("--project", required=True)
    parser.add_argument("--key-id")
    parser.add_argument("--allow-restore", action="store_true")  # operator keys only (README)
    args = parser.parse_args(list(argv))
    if args.key_id is not None and not _KEY_ID_RE.fullmatch(args.key_id):
        raise ConfigError(f"bad --key-id {args.key_id!r} in authorized_keys: want SHA256:... "
                          "as printed by `ssh-keygen -lf KEY.pub`")
    return args


def project_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_absolute():
        raise ConfigError(f"--project {value!r} must be an absolute path")
    if not path.is_dir():
        raise ConfigError(f"--project {value!r} is not a directory")
    return path


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
         out: Output | None = None) -> int:
    """Parse, check, run one request; return the exit code (see the module docstring)."""
    env = os.environ if environ is None else environ
    out = out or Output()
    request: Request | None = None
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        request = parse_command(env.get("SSH_ORIGINAL_COMMAND"))
        project = project_dir(args.project)
        config = load_config(project)
        if request.tag is not None:
            check_allowed(request.tag, config.allow_tags)
        engine = SwarmAgent if config.engine == "swarm" else Agent
        agent = engine(project, config, caller_id(env, args.key_id),
                      env.get(DOCKER_ENV) or "docker", out, env)
        agent.allow_restore = args.allow_restore
        if request.action in ("deploy", "rollback", "backup", "restore"):
            install_signal_handlers()
        return agent.run(request)
    except Refused as exc:
        out.error(f"refused: {exc}")
        return exc.exit_code
    except AgentError as exc:
        out.error(f"error: {exc}")
        return exc.exit_code
    except Interrupted as exc:
        out.error(f"error: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # a bug: never let it read as "failed, previous version restored"
        out.error(f"error: the agent failed unexpectedly: {type(exc).__name__}: {exc}")
        changing = request is not None and request.action in ("deploy", "rollback", "restore")
        return EXIT_NOT_RESTORED if changing else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
