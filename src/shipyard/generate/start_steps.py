"""The entrypoint's server line for a StartCommand, and the SIGTERM launcher it may use.

Why a launcher: `docker stop` sends SIGTERM to PID 1, and the kernel drops signals whose
action is the default for PID 1 — Python's default for SIGTERM. A console-script server
that never installs a handler (pypiserver, wsgiref/http.server apps) therefore ignores it
and is killed after the grace period (exit 137). The launcher, copied into the image
next to the health check, maps SIGTERM onto KeyboardInterrupt (what Ctrl-C does, which
such servers already stop on) and then calls the script's entry point in-process, found
via importlib.metadata. Anything that is not a console script is exec'd unchanged.
Alternatives rejected: STOPSIGNAL SIGINT changes the signal for every tool (gunicorn
treats SIGINT as a quick, not graceful, shutdown; orchestrators may send SIGTERM anyway),
and an init process (tini, --init) would need a package or a flag on every `docker run`.
"""

from __future__ import annotations

import re
import shlex

from shipyard.detect.startcommand import StartCommand

LAUNCHER_FILE = "docker/launch.py"
LAUNCHER_PATH = "/usr/local/lib/shipyard/launch.py"
_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-=+?][^}\"`$\\]*)?\}"
                       r"|\$[A-Za-z_][A-Za-z0-9_]*")

LAUNCHER = '''\
"""Start the server with SIGTERM mapped onto KeyboardInterrupt (written by `shipyard init`).

As PID 1 a Python program that installs no SIGTERM handler never sees `docker stop`:
this runs PROGRAM ARGS... in-process with one installed, so the server stops as on
Ctrl-C. PROGRAM is a console script of the installed packages, `python -m MODULE` or
`python FILE`; anything else is exec'd as it is.
"""

import os
import runpy
import signal
import sys
from importlib.metadata import entry_points

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True
    signal.default_int_handler(signum, frame)


def main(argv):
    program, args = argv[0], argv[1:]
    found = list(entry_points(group="console_scripts", name=os.path.basename(program)))
    python = os.path.basename(program).startswith("python") and bool(args)
    module = args[1] if python and args[0] == "-m" and len(args) > 1 else None
    path = args[0] if python and not args[0].startswith("-") else None
    if not found and module is None and path is None:
        os.execvp(program, argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        if module is not None:
            sys.argv = [module, *args[2:]]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        elif path is not None:
            sys.argv = list(args)
            sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
            runpy.run_path(path, run_name="__main__")
        else:
            sys.argv = [program, *args]
            return found[0].load()()
        return 0
    except KeyboardInterrupt:
        if stopping:
            print("launch: stopped on SIGTERM", file=sys.stderr)
            return 0
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def start_lines(start: StartCommand, port: int) -> str:
    """The entrypoint's last line: exec the command (through the launcher if it needs it)."""
    if start.shell is not None:
        return (f"# {start.origin}, run by a shell\n"
                f"exec sh -c {shlex.quote(start.shell)}")
    words = [shell_word(w.replace("${PORT}", "${PORT:-%d}" % port)) for w in start.argv]
    if start.launcher:
        words = ["python", LAUNCHER_PATH, *words]
        comment = f"# {start.origin}; the launcher makes it stop on SIGTERM"
    else:
        comment = f"# {start.origin}"
    return f"{comment}\nexec {' '.join(words)}"


def shell_word(word: str) -> str:
    """word as one shell word in which only `$NAME`/`${NAME...}` expand."""
    parts, last = [], 0
    for match in _VARIABLE.finditer(word):
        if match.start() > last:
            parts.append(shlex.quote(word[last:match.start()]))
        parts.append(f'"{match.group()}"')
        last = match.end()
    if last < len(word) or not parts:
        parts.append(shlex.quote(word[last:]))
    return "".join(parts)
