"""How the `flask` command is told which app to load, by the Flask version the image gets.

Why: `flask --app X` exists since Flask 2.2; older releases (CTFd locks 2.1.3) stop with
"No such option: --app", so migrations at start (`flask db upgrade`) kill the
container before the server runs. `FLASK_APP=X flask ...` works on every version, but
the option is the documented form today, so the env var is used only when the
dependencies pin a Flask older than 2.2.

Static only: lock files and requirement pins are read as text.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from packaging.version import InvalidVersion, Version

from shipyard.detect.dependencies import Dependencies
from shipyard.detect.pinindex import pinned

_APP_OPTION = re.compile(r"\bflask --app (?P<app>'[^']*'|\S+) ")
FIRST_WITH_OPTION = Version("2.2")


def locked_flask(root: Path, deps: Dependencies) -> Version | None:
    """The Flask version uv.lock/poetry.lock or a `flask==X` requirement pins, if any."""
    for rel in deps.files:
        path = root / rel
        if path.name in ("uv.lock", "poetry.lock") and path.is_file():
            try:
                lock = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                return None
            for package in lock.get("package", []):
                if str(package.get("name", "")).lower() == "flask":
                    return _version(str(package.get("version", "")))
    for name, version in pinned(root, deps.files):
        if name == "flask":
            return _version(version)
    return None


def with_flask_app_env(command: str, flask: Version | None) -> str:
    """command with `flask --app X ...` as `FLASK_APP=X flask ...` when that Flask is older
    than the option."""
    if flask is None or flask >= FIRST_WITH_OPTION:
        return command
    return _APP_OPTION.sub(lambda m: f"FLASK_APP={shlex.quote(shlex.split(m['app'])[0])}"
                                     " flask ", command)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
