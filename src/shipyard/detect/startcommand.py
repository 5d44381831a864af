"""The server command for projects init cannot serve with gunicorn/uvicorn itself.

Why: a console-script server (`pypi-server`) or an app without an app object has no
WSGI/ASGI target for init's own server line, so the container's command comes from,
in this order:

1. `[tool.shipyard] command` — the user's word, for every kind of project;
2. a Procfile `web:` line — when init has no server of its own to run (a console script
   or nothing found). For WSGI/ASGI apps init's gunicorn/uvicorn line wins: it is set up
   for the hardened container (worker temp dir on /dev/shm, forwarded IPs), which a
   Procfile written for Heroku is not, and such lines often point at files the image
   leaves out (a uwsgi.ini) or chain development steps;
3. for a console script, its own command line read statically (shipyard.detect.scriptcli):
   `SCRIPT [SUBCOMMAND] --port "$PORT" [--host 0.0.0.0]`.

Python servers started as PID 1 that install no SIGTERM handler never see `docker stop`
(the kernel ignores a signal with the default action for PID 1) and are killed after the
grace period; such commands run through a small launcher (shipyard.generate.start_steps)
that turns SIGTERM into KeyboardInterrupt. Servers that handle SIGTERM themselves are
exec'd directly.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.detect.pysource import SourceIndex
from shipyard.detect.scriptcli import find_script_cli

# Servers with their own SIGTERM handling: exec'd as they are, never through the launcher.
HANDLE_SIGTERM = frozenset({"gunicorn", "uvicorn", "hypercorn", "daphne", "granian", "uwsgi",
                            "waitress-serve", "celery", "nginx", "caddy"})
_SHELL_SYNTAX = re.compile(r"[;&|<>()`\n]|\$\(|^\s*[A-Za-z_][A-Za-z0-9_]*=")
PORT_WORD = "${PORT}"


@dataclass(frozen=True)
class StartCommand:
    """How the entrypoint starts the server, and why (for init's report)."""

    argv: tuple[str, ...] = ()
    """Words exec'd as they are, except `$NAME`/`${NAME}`, which expand from the environment."""
    shell: str | None = None
    """A Procfile line that needs a shell (`;`, `&&`, pipes...): run by `sh -c`."""
    origin: str = ""

    @property
    def launcher(self) -> bool:
        """Through the SIGTERM launcher: a Python program that may not handle SIGTERM."""
        return bool(self.argv) and self.argv[0].rpartition("/")[2] not in HANDLE_SIGTERM


@dataclass
class StartChoice:
    start: StartCommand | None = None
    warnings: list[str] = field(default_factory=list)


def choose_start(root: Path, *, interface: str, script: str, entry_module: str,
                 configured: tuple[str, ...] | None = None,
                 config_source: str = "[tool.shipyard]") -> StartChoice:
    """The start command (None: init's own gunicorn/uvicorn line, or none at all)."""
    if configured:
        return StartChoice(StartCommand(tuple(configured),
                                        origin=f"{config_source} command"))
    if interface not in ("script", "none"):
        return StartChoice()
    web = procfile_web(root)
    if web is not None:
        return StartChoice(web)
    if interface != "script":
        return StartChoice()
    return _script_start(root, script, entry_module)


def procfile_web(root: Path) -> StartCommand | None:
    path = root / "Procfile"
    if not path.is_file():
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace")
                                  .splitlines(), 1):
        kind, sep, command = line.partition(":")
        command = command.strip()
        if not sep or kind.strip() != "web" or not command:
            continue
        origin = f"Procfile line {number} (web:)"
        if _SHELL_SYNTAX.search(command):
            return StartCommand(shell=command, origin=origin)
        try:
            return StartCommand(tuple(shlex.split(command)), origin=origin)
        except ValueError:  # unbalanced quotes: let the shell report it at start
            return StartCommand(shell=command, origin=origin)
    return None


def _script_start(root: Path, script: str, entry_module: str) -> StartChoice:
    cli = find_script_cli(SourceIndex(root), entry_module)
    if cli is None:
        return StartChoice(StartCommand((script,), origin=f"console script {script}"),
                           warnings=[
            f"console script `{script}`: no --port/-p option found in its command line"
            " (argparse, click, typer), so the port cannot be mapped onto PORT; the"
            " container runs it bare. Set the command in [tool.shipyard], e.g."
            f' command = ["{script}", "--port", "{PORT_WORD}"]'])
    argv = [script, *([cli.subcommand] if cli.subcommand else []), cli.port_flag, PORT_WORD]
    if cli.host_flag:
        argv += [cli.host_flag, "0.0.0.0"]  # noqa: S104 - the container's interface
    return StartChoice(StartCommand(tuple(argv), origin=(
        f"console script {script}, its {cli.port_flag} option at {cli.where};"
        " [tool.shipyard] command overrides it")))
