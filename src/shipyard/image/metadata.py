"""Metadata checks: pure functions over `docker image inspect` JSON (and the final filesystem).

Why pure: every rule here is a fact about the image's config — user, healthcheck,
labels, entrypoint form, ENV values, exposed ports — so each is a table-tested
function from a dict to a CheckResult, and the engine is only asked once (inspect).
The filesystem (content.FileTree) answers "does the healthcheck's program exist",
"which uid is user `app`", without starting a container.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.image import secrets
from shipyard.image.layers import FileTree
from shipyard.image.results import CheckResult, failed, passed, skipped, verdict

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REVISION_LABEL = "org.opencontainers.image.revision"

_SHELL_BUILTINS = {"exit", "test", "[", "true", "false", "echo", "printf", "cd", "if", "!",
                   "set", ":", "kill", "read", "return", "wait", "[["}
_SHELL_PREFIXES = {"exec", "command", "nice", "nohup", "timeout"}
_INTERPRETER = re.compile(r"(python|pypy)[0-9.]*|sh|bash|dash|ash|node|ruby|perl|php")
_SHELL_FORM_SHELLS = {"/bin/sh", "sh", "/bin/bash", "bash", "/usr/bin/sh", "/bin/ash"}
_GENERATED_HEALTHCHECK = '["CMD", "python", "/usr/local/lib/shipyard/healthcheck.py"]'


@dataclass(frozen=True)
class Expected:
    """What the image should agree with: the project's configuration and checkout."""

    port: int = 8000
    required_labels: tuple[str, ...] = ()
    head: str | None = None
    """The checkout's HEAD sha, or None when not run inside a git checkout."""
    checkout: str = ""
    """Where HEAD came from (for the message)."""


def metadata_checks(inspect: Mapping[str, Any], tree: FileTree | None,
                    expected: Expected) -> list[CheckResult]:
    config: Mapping[str, Any] = inspect.get("Config") or {}
    return [
        check_user(config, tree),
        check_healthcheck(config),
        check_healthcheck_program(config, tree),
        check_labels(config, expected.required_labels),
        check_revision(config, expected.head, expected.checkout),
        check_exec_form(config),
        check_secrets(config),
        check_port(config, expected.port),
    ]


# -- user -----------------------------------------------------------------------------------------


def check_user(config: Mapping[str, Any], tree: FileTree | None = None) -> CheckResult:
    user = str(config.get("User") or "")
    name = user.partition(":")[0]
    fix = "add `USER 10001:10001` (a numeric non-root uid) after the steps that need root"
    if name in ("", "0", "root"):
        shown = "no USER (so root)" if not user else f"USER {user}"
        return failed("metadata.user", f"runs as root ({shown}): {fix}")
    if name.isdigit():
        return passed("metadata.user", f"runs as uid {name}")
    uid = _passwd_uid(tree, name) if tree is not None else None
    if tree is not None and uid is None:
        return failed("metadata.user", f"USER {user}: no user {name!r} in /etc/passwd, so the "
                      f"container cannot start: create it (useradd) or {fix}")
    if uid == 0:
        return failed("metadata.user", f"USER {user} has uid 0 in /etc/passwd, so it is root: "
                      + fix)
    return passed("metadata.user", f"runs as {name}" + (f" (uid {uid})" if uid else ""),
                  ["a numeric USER lets Kubernetes' runAsNonRoot verify it without /etc/passwd"])


def _passwd_uid(tree: FileTree, name: str) -> int | None:
    data = tree.read("/etc/passwd")
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None


# -- healthcheck ----------------------------------------------------------------------------------


def healthcheck_test(config: Mapping[str, Any]) -> list[str] | None:
    """The HEALTHCHECK's Test list, or None when there is none (or it is NONE)."""
    health = config.get("Healthcheck") or {}
    test = [str(t) for t in health.get("Test") or []]
    if not test or test[0] == "NONE":
        return None
    return test


def check_healthcheck(config: Mapping[str, Any]) -> CheckResult:
    health = config.get("Healthcheck") or {}
    test = health.get("Test") or []
    fix = (f"add `HEALTHCHECK CMD {_GENERATED_HEALTHCHECK}` (shipyard init writes the script), "
           "so Docker and compose --wait can tell a hung app from a healthy one")
    if test and test[0] == "NONE":
        return failed("metadata.healthcheck", f"HEALTHCHECK NONE turns the check off: {fix}")
    command = healthcheck_test(config)
    if command is None:
        return failed("metadata.healthcheck", f"no HEALTHCHECK: {fix}")
    return passed("metadata.healthcheck", f"HEALTHCHECK {_show_test(command)}",
                  [f"{key}: {health[key] / 1e9:g}s" for key in ("Interval", "Timeout",
                                                                 "StartPeriod")
                   if isinstance(health.get(key), int | float) and health.get(key)])


def healthcheck_programs(test: Sequence[str]) -> tuple[list[str], list[str]]:
    """(programs that must exist, scripts that must exist) for a healthcheck Test list.

    CMD runs argv[0] directly; CMD-SHELL runs `/bin/sh -c TEXT`, whose first command
    word is the program (unless it is a shell builtin like `exit` or `test`).
    """
    if not test:
        return [], []
    if test[0] == "CMD-SHELL":
        programs = ["/bin/sh"]
        words = _shell_words(test[1] if len(test) > 1 else "")
        if words and words[0] not in _SHELL_BUILTINS:
            programs.append(words[0])
            return programs, _script_args(words)
        return programs, []
    argv = list(test[1:]) if test[0] == "CMD" else list(test)
    return ([argv[0]] if argv else []), _script_args(argv)


def _shell_words(text: str) -> list[str]:
    try:
        words = shlex.split(text, comments=False)
    except ValueError:
        words = text.split()
    while words and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
                     or words[0] in _SHELL_PREFIXES):
        words = words[1:]
    cut = next((i for i, w in enumerate(words) if w in ("||", "&&", ";", "|")), len(words))
    return words[:cut]


def _script_args(argv: Sequence[str]) -> list[str]:
    """An interpreter's script argument (python /x/health.py): it must exist too."""
    if not argv or not _INTERPRETER.fullmatch(argv[0].rpartition("/")[2]):
        return []
    for arg in argv[1:]:
        if arg in ("-c", "-m", "-e"):
            return []
        if not arg.startswith("-"):
            return [arg] if arg.startswith("/") else []
    return []


def check_healthcheck_program(config: Mapping[str, Any], tree: FileTree | None) -> CheckResult:
    test = healthcheck_test(config)
    if test is None:
        return skipped("metadata.healthcheck_program", "no HEALTHCHECK (see metadata.healthcheck)")
    if tree is None:
        return skipped("metadata.healthcheck_program", "the image's files were not read")
    programs, scripts = healthcheck_programs(test)
    search = _env(config).get("PATH", DEFAULT_PATH)
    workdir = str(config.get("WorkingDir") or "/")
    missing = [p for p in programs if tree.which(p, search, workdir) is None]
    missing += [s for s in scripts if not tree.exists(s)]
    if missing:
        what = missing[0]
        return failed(
            "metadata.healthcheck_program",
            f"HEALTHCHECK runs `{what}`, which is not in the image (PATH {search}), so every "
            "check fails and the container never turns healthy: install it in the runtime "
            f"stage, or use a check that needs nothing extra, e.g. {_GENERATED_HEALTHCHECK}",
            [f"missing: {m}" for m in missing])
    found = [f"{p} → {tree.which(p, search, workdir)}" for p in programs]
    needed = [*programs, *scripts]
    return passed("metadata.healthcheck_program",
                  f"what the healthcheck runs is in the image: {', '.join(needed)}",
                  found + [f"script {s}" for s in scripts])


def _show_test(test: Sequence[str]) -> str:
    if test[0] == "CMD-SHELL":
        return f"CMD {test[1] if len(test) > 1 else ''}"
    return "CMD " + " ".join(shlex.quote(t) for t in test[1:])


# -- labels ---------------------------------------------------------------------------------------


def check_labels(config: Mapping[str, Any], required: Collection[str]) -> CheckResult:
    labels: Mapping[str, Any] = config.get("Labels") or {}
    missing = [name for name in required if name not in labels]
    empty = [name for name in required if name in labels and not str(labels[name]).strip()]
    if missing or empty:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"empty {', '.join(empty)}"] if empty else [])
        return failed(
            "metadata.labels",
            f"labels {'; '.join(parts)}: build with `shipyard build`, which fills them from git "
            "and CI (or pass --label / the BUILD_* build args), so the image can be traced back "
            "to its source", [f"{name}: {'(missing)' if name in missing else '(empty)'}"
                              for name in [*missing, *empty]])
    return passed("metadata.labels", f"{len(required)} required labels set",
                  [f"{name}={labels[name]}" for name in required])


def check_revision(config: Mapping[str, Any], head: str | None, checkout: str) -> CheckResult:
    if head is None:
        return skipped("metadata.revision",
                       "not run inside a git checkout, so the revision label was not compared")
    labels: Mapping[str, Any] = config.get("Labels") or {}
    revision = str(labels.get(REVISION_LABEL) or "").strip()
    where = f" of {checkout}" if checkout else ""
    if not revision:
        return failed("metadata.revision",
                      f"no {REVISION_LABEL} label to compare with HEAD {head[:12]}{where}: build "
                      "with `shipyard build` so the image names its commit")
    if revision == head or (len(revision) >= 7 and head.startswith(revision)):
        return passed("metadata.revision", f"revision {revision[:12]} is HEAD{where}")
    return failed("metadata.revision",
                  f"{REVISION_LABEL} is {revision[:12]} but HEAD{where} is {head[:12]}: the image "
                  "was built from another commit — rebuild it from this checkout, or test the "
                  "image built for HEAD")


# -- entrypoint / cmd -----------------------------------------------------------------------------


def is_shell_form(argv: Sequence[str] | None) -> bool:
    """How Docker stores a shell-form ENTRYPOINT/CMD: ["/bin/sh", "-c", "text"]."""
    return (argv is not None and len(argv) == 3 and argv[0] in _SHELL_FORM_SHELLS
            and argv[1] == "-c")


def check_exec_form(config: Mapping[str, Any]) -> CheckResult:
    entrypoint = config.get("Entrypoint") or []
    cmd = config.get("Cmd") or []
    why = ("the shell becomes PID 1 and does not pass SIGTERM on, so `docker stop` has to kill "
           "the app")
    if is_shell_form(entrypoint):
        return failed("metadata.exec_form",
                      f"ENTRYPOINT is in shell form (`{entrypoint[2]}`): {why}; write it as JSON, "
                      'ENTRYPOINT ["program", "arg"]')
    if is_shell_form(cmd):
        where = "so the entrypoint gets `/bin/sh -c ...` as its arguments" if entrypoint \
            else why
        return failed("metadata.exec_form",
                      f"CMD is in shell form (`{cmd[2]}`): {where}; write it as JSON, "
                      'CMD ["program", "arg"]')
    if not entrypoint and not cmd:
        return failed("metadata.exec_form", "no ENTRYPOINT and no CMD: the image runs nothing; "
                      'add ENTRYPOINT ["your-server"]')
    shown = " ".join(shlex.quote(str(a)) for a in [*entrypoint, *cmd])
    return passed("metadata.exec_form", f"exec form: {shown}")


# -- secrets in ENV and labels --------------------------------------------------------------------


def _env(config: Mapping[str, Any]) -> dict[str, str]:
    pairs = (str(item).partition("=") for item in config.get("Env") or [])
    return {name: value for name, _, value in pairs}


def secret_hits(config: Mapping[str, Any]) -> list[str]:
    """'ENV NAME: what' / 'label NAME: what' for each secret-looking value (never the value)."""
    out = []
    sources = [("ENV", _env(config)), ("label", dict(config.get("Labels") or {}))]
    for kind, items in sources:
        for name, raw in items.items():
            value = str(raw)
            whats = [h.what for h in secrets.text_secrets(value)]
            if secrets.is_secret_name(name) and secrets.is_literal_secret_value(value):
                whats.insert(0, "a secret-named variable with a literal value")
            if whats:
                out.append(f"{kind} {name}: {'; '.join(dict.fromkeys(whats))}")
    return out


def check_secrets(config: Mapping[str, Any]) -> CheckResult:
    hits = secret_hits(config)
    if hits:
        return failed("metadata.secrets",
                      f"{hits[0]} — anyone who can pull the image can read it: remove it from "
                      "the Dockerfile and pass it at run time (environment, env_file or a "
                      "secrets file), then rotate it", hits)
    env, labels = _env(config), config.get("Labels") or {}
    return passed("metadata.secrets",
                  f"no secret-looking value in {len(env)} ENV and {len(labels)} labels")


# -- port -----------------------------------------------------------------------------------------


def check_port(config: Mapping[str, Any], port: int) -> CheckResult:
    exposed = sorted((config.get("ExposedPorts") or {}).keys())
    want = f"{port}/tcp"
    if want in exposed:
        return passed("metadata.port", f"exposes {want}, the configured port")
    if not exposed:
        return failed("metadata.port", f"the image exposes no port but the configured port is "
                      f"{port}: add `EXPOSE {port}`")
    return verdict("metadata.port", False,
                   f"the image exposes {', '.join(exposed)} but the configured port is {port} "
                   "([tool.shipyard] port, or [tool.shipyard.test] port): make the EXPOSE and "
                   "the configuration agree")
