"""Which database migrations the container runs at start, decided as data.

Why at start and not at build: migrations need the production database, which only
the running container can reach; every tool here is idempotent ("upgrade to head"),
so running them on every start and every update is safe. The entrypoint runs them
behind one switch (`RUN_MIGRATIONS=0` turns them off, e.g. for extra replicas).

Recognised, statically (no user code is imported):
- Django: `manage.py` and at least one app migration;
- Flask-Migrate: the flask-migrate dependency and its `migrations/` directory (or the
  `directory=` given to `Migrate(...)`) holding Alembic's env.py;
- Alembic: an `alembic.ini` whose script_location holds an env.py, run from the
  directory holding the ini (relative paths in it are relative to there);
- a Procfile `release:` line (Heroku's release phase), run as written.

A release line is the project's own statement of what a release runs, so a tool it
already covers is not run a second time.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shipyard.detect.scan import SKIP_DIRS, python_texts

Tool = Literal["django", "flask-migrate", "alembic", "procfile"]

# How a release line shows that it already runs a tool's migrations.
_COVERS: dict[Tool, re.Pattern[str]] = {
    "django": re.compile(r"\bmigrate\b"),
    "flask-migrate": re.compile(r"\bdb\s+upgrade\b"),
    "alembic": re.compile(r"\balembic\b.*\bupgrade\b"),
}
_MIGRATE_DIRECTORY = re.compile(
    r"\bMigrate\([^)]*\bdirectory\s*=\s*['\"](?P<dir>[^'\"]+)['\"]", re.S)
_FLASK_MIGRATE_IMPORT = re.compile(r"^\s*(?:from|import)\s+flask_migrate\b", re.M)
_ALEMBIC_INI_DEPTH = 3  # alembic.ini sits at the root or in a backend/ or db/ directory


@dataclass(frozen=True)
class Migration:
    """One command the entrypoint runs from the application directory before the server."""

    tool: Tool
    command: str  # a shell line, run from /app
    source: str  # what it was detected from, for `init --dry-run`
    needs: tuple[str, ...] = ()  # paths (relative to the project) the command reads at run time


@dataclass
class Migrations:
    commands: list[Migration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def detect_migrations(
    root: Path,
    *,
    dependency_names: set[str],
    flask_app: str | None = None,
    django_manage: str | None = None,
) -> Migrations:
    """The migration commands for root, in the order they run.

    flask_app is the detected Flask target ("pkg:create_app()"), django_manage the
    manage.py path when the project is Django with migrations.
    """
    found = Migrations()
    if django_manage:
        found.commands.append(Migration(
            "django", f"python {shlex.quote(django_manage)} migrate --noinput",
            f"{django_manage} and the apps' migrations/", (django_manage,)))
    flask_dir = _flask_migrate(root, dependency_names, flask_app, found)
    _alembic(root, dependency_names, flask_dir, found)
    _procfile_release(root, found)
    return found


def _flask_migrate(root: Path, names: set[str], flask_app: str | None,
                   found: Migrations) -> str | None:
    sources = python_texts(root)
    if "flask-migrate" not in names and not any(
            _FLASK_MIGRATE_IMPORT.search(text) for text in sources.values()):
        return None
    directory = next((m["dir"] for text in sources.values()
                      if (m := _MIGRATE_DIRECTORY.search(text))), "migrations")
    directory = directory.strip("/") or "migrations"
    if not (root / directory / "env.py").is_file():
        found.warnings.append(
            f"Flask-Migrate is used but {directory}/env.py does not exist: no migrations run at"
            " start (run `flask db init` and commit the migrations directory)")
        return None
    needs = [directory]
    app = _flaskenv_app(root)
    if app:  # a file or root module it names must be in /app in a package install too
        named = app.split(":", 1)[0]
        named = named if named.endswith(".py") else named.replace(".", "/") + ".py"
        needs += [named] if (root / named).is_file() else []
    app = app or flask_app
    if app:
        command = f"flask --app {shlex.quote(app)} db upgrade"
    else:
        command = "flask db upgrade"
        found.warnings.append(
            "Flask-Migrate: no Flask app object found to run `flask db upgrade` with: set"
            " FLASK_APP in the container's environment")
    found.commands.append(Migration("flask-migrate", command,
                                    f"flask-migrate and {directory}/env.py", tuple(needs)))
    return directory


def _flaskenv_app(root: Path) -> str | None:
    """FLASK_APP from .flaskenv: the project's own answer to 'which app does `flask` load'."""
    path = root / ".flaskenv"
    if not path.is_file():
        return None
    match = re.search(r"^\s*(?:export\s+)?FLASK_APP\s*=\s*['\"]?([^'\"\s#]+)",
                      path.read_text(encoding="utf-8", errors="replace"), re.M)
    return match.group(1) if match else None


def _alembic(root: Path, names: set[str], flask_dir: str | None, found: Migrations) -> None:
    # Alembic >= 1.16 also reads [tool.alembic] from pyproject.toml in the working directory.
    from_pyproject = _pyproject_script_location(root)
    configs = [ini for ini in _alembic_inis(root)
               if not (flask_dir and ini.parent.relative_to(root).as_posix() == flask_dir)]
    if from_pyproject and not any(ini.parent == root for ini in configs):
        configs.append(root / "pyproject.toml")
    for config in configs:
        rel_ini = config.relative_to(root)
        needs = [rel_ini.as_posix()]
        script = _script_location(config) if config.suffix == ".ini" else from_pyproject
        if script is None and config.parent == root and from_pyproject:
            script = from_pyproject
            needs.append("pyproject.toml")
        if script is None:
            found.warnings.append(f"{rel_ini}: no [alembic] script_location: not run at start")
            continue
        if ":" not in script:  # "package:dir" lives inside an installed package
            location = (config.parent / script).resolve()
            if not (location / "env.py").is_file():
                found.warnings.append(f"{rel_ini}: script_location {script} has no env.py:"
                                      " `alembic upgrade head` is not run at start")
                continue
            if location.is_relative_to(root.resolve()):
                needs.append(location.relative_to(root.resolve()).as_posix())
        if "alembic" not in names and "flask-migrate" not in names:
            found.warnings.append(f"{rel_ini}: alembic is not among the dependencies, so"
                                  " `alembic upgrade head` will fail at start: add it")
        where = rel_ini.parent.as_posix()
        command = ("alembic upgrade head" if where == "." else
                   f"(cd {shlex.quote(where)} && alembic upgrade head)")
        found.commands.append(Migration("alembic", command,
                                        f"{rel_ini} (script_location {script})", tuple(needs)))


def _alembic_inis(root: Path) -> list[Path]:
    inis: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS - {"migrations"}
                             and not d.startswith(".") and depth < _ALEMBIC_INI_DEPTH)
        if "alembic.ini" in filenames:
            inis.append(Path(dirpath) / "alembic.ini")
    return inis


def _pyproject_script_location(root: Path) -> str | None:
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except tomllib.TOMLDecodeError:
        return None  # dependency detection reports a broken pyproject.toml
    value = data.get("tool", {}).get("alembic", {}).get("script_location")
    return _relative_location(value) if isinstance(value, str) and value.strip() else None


def _script_location(ini: Path) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(ini.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return None
    value = parser.get("alembic", "script_location", fallback="").strip()
    return _relative_location(value) if value else None


def _relative_location(value: str) -> str:
    """%(here)s is the config file's own directory: what is left is relative to it."""
    return value.strip().replace("%(here)s/", "").replace("%(here)s", ".") or "."


def _procfile_release(root: Path, found: Migrations) -> None:
    path = root / "Procfile"
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace")
                                  .splitlines(), 1):
        kind, sep, command = line.partition(":")
        if not sep or kind.strip() != "release" or not command.strip():
            continue
        command = command.strip()
        covered = [m for m in found.commands
                   if m.tool in _COVERS and _COVERS[m.tool].search(command)]
        found.commands = [m for m in found.commands if m not in covered]
        needs = ("Procfile", *(n for m in covered for n in m.needs))
        found.commands.append(Migration("procfile", f"sh -c {shlex.quote(command)}",
                                        f"Procfile line {number} (release:)", needs))
        if re.search(r"\bflask\b", command) and "--app" not in command \
                and "FLASK_APP" not in command:
            found.warnings.append(
                f"Procfile line {number}: `{command}` needs FLASK_APP: set it in the"
                " container's environment")
        return
