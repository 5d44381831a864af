"""Writes a read-only root will refuse, seen before the build: Flask's instance folder
and SQLite files inside the application directory.

Why: the image runs with a read-only root filesystem and only the data volume is
writable. Flask puts its instance folder (config, and by habit the SQLite database)
next to the code — `<venv>/var/<import name>-instance` for an installed package,
`<directory holding the package or module>/instance` otherwise — and the Flask
tutorial's app creates it at start with `os.makedirs(app.instance_path)`, so it dies
on the first start. That path is predictable from the sources, so the image makes
it a link to the data volume and such apps run with zero edits; what cannot be
fixed that way (a SQLite file next to the code) is a warning naming the setting.

Static only: regexes and `ast`, no user code is imported.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.detect.appdata import app_data_dirs, is_app_data_path
from shipyard.detect.scan import module_name, python_texts

VENV = "/opt/venv"
APP_DIR = "/app"
_FLASK_CALL = re.compile(
    r"\bFlask\(\s*(?P<name>__name__|['\"][\w.]+['\"])(?P<rest>[^)]*)\)")
# The instance folder used for files: makedirs at start, paths joined into it.
_INSTANCE_USE = re.compile(r"\.instance_path\b(?!\s*=)")
# A SQLite URL relative to the instance folder (Flask-SQLAlchemy >= 3 resolves it there).
_RELATIVE_SQLITE_URL = re.compile(r"['\"]sqlite:///(?!/|:memory:)[\w.-]+['\"]")
_APP_DIR_REF = re.compile(
    r"__file__|\bBASE_DIR\b|\bbase_dir\b|\bbasedir\b|\bBASEDIR\b|os\.getcwd\(|Path\.cwd\(")
_SQLITE_CONNECT_RELATIVE = re.compile(r"sqlite3\.connect\(\s*['\"](?![/:])[^'\"]+['\"]")
# Directories and log files made relative to the working directory (/app, read-only).
_RELATIVE_WRITE = re.compile(
    r"(?:os\.(?:mkdir|makedirs)|(?:Rotating|TimedRotating|Watched)?FileHandler)\(\s*"
    r"['\"](?P<path>[^/'\"][^'\"]*)['\"]|Path\(\s*['\"](?P<dir>[^/'\"][^'\"]*)['\"]\)\.mkdir\(")
_LOG_NAME = re.compile(r"(?:^|[/._-])logs?(?:$|[/._-])", re.I)
_ENV_READ = re.compile(
    r"(?:environ\.get|getenv|environ\[|\benv(?:\.str)?\(|\benv\.db\()\s*\(?\s*['\"](\w+)['\"]")


@dataclass
class InstanceWrites:
    links: list[str] = field(default_factory=list)  # image paths linked to the data volume
    local_only: list[str] = field(default_factory=list)  # kept out of the build context
    build_scratch: list[str] = field(default_factory=list)  # made empty for build steps only
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _FlaskApp:
    import_name: str
    path: Path  # the file constructing it


def detect_instance_writes(root: Path, *, install_mode: str, data_dir: str,
                           dependency_names: set[str],
                           stdout_switch: bool = False) -> InstanceWrites:
    """stdout_switch: the image sets the app's own switch to log to stdout (logswitch),
    so its log files are no concern."""
    texts = python_texts(root)
    found = InstanceWrites()
    apps = [app for path, text in texts.items() for app in _flask_apps(root, path, text)]
    uses = _instance_uses(root, texts, "flask-sqlalchemy" in dependency_names)
    if apps and uses:
        for app in apps:
            _link_instance(root, app, install_mode, data_dir, uses[0], found)
    handled = app_data_dirs(root, texts) if install_mode == "source" else []
    for directory in handled:  # linkding's <project>/data: the image links it to the volume
        found.links.append(f"{APP_DIR}/{directory.relative}")
        found.local_only.append(directory.relative)
        found.build_scratch.append(directory.relative)
        found.notes.append(f"{directory.where}: SQLite files go to {directory.relative}/ in the"
                           f" application directory: the image links /app/{directory.relative}"
                           f" to the data volume {data_dir}")
    found.warnings += _sqlite_in_app(root, texts, data_dir, skip_fixed=bool(handled))
    found.warnings += _relative_writes(root, texts, data_dir, stdout_switch)
    return found


def instance_path(root: Path, app_file: Path, import_name: str, install_mode: str) -> str:
    """Where Flask puts the instance folder of the app named import_name, in the image."""
    if install_mode == "package":
        return f"{VENV}/var/{import_name}-instance"
    return f"{APP_DIR}/{_local_instance(root, app_file)}"


def _local_instance(root: Path, app_file: Path) -> str:
    """The instance folder of a checkout (next to the package, or in src/ for a src layout)."""
    return "src/instance" if app_file.relative_to(root).parts[0] == "src" else "instance"


def _link_instance(root: Path, app: _FlaskApp, install_mode: str, data_dir: str,
                   use: str, found: InstanceWrites) -> None:
    path = instance_path(root, app.path, app.import_name, install_mode)
    if path in found.links:
        return
    # A checkout's instance folder is local state (Flask: "not under version control"):
    # a development database, local config. It stays out of the image either way.
    local = _local_instance(root, app.path)
    found.links.append(path)
    found.local_only.append(local)
    yours = (f"; your {local}/ stays out of the image (.dockerignore): put what production"
             f" needs from it on the volume" if (root / local).exists() else "")
    found.warnings.append(
        f"{use} uses Flask's instance folder, which is {path} in the image, on the read-only"
        f" root: the image links it to the data volume {data_dir} (its files, e.g. a SQLite"
        f" database, persist there; pass instance_path= to Flask() to choose another"
        f" place){yours}")


def _flask_apps(root: Path, path: Path, text: str) -> list[_FlaskApp]:
    apps = []
    for match in _FLASK_CALL.finditer(text):
        if "instance_path" in match["rest"]:
            continue  # chosen explicitly: nothing to predict
        name = match["name"]
        import_name = module_name(root, path) if name == "__name__" else name.strip("'\"")
        apps.append(_FlaskApp(import_name, path))
    return apps


def _instance_uses(root: Path, texts: dict[Path, str], flask_sqlalchemy: bool) -> list[str]:
    """file:line of each use of the instance folder for files, makedirs first."""
    uses: list[tuple[int, str]] = []
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(root).as_posix()}:{number}"
            if _INSTANCE_USE.search(line):
                rank = 0 if re.search(r"makedirs|mkdir", line) else 1
                uses.append((rank, f"{where} ({line.strip()[:60]})"))
            elif flask_sqlalchemy and _RELATIVE_SQLITE_URL.search(line):
                uses.append((2, f"{where} (a relative SQLite URL, which Flask-SQLAlchemy puts"
                                " in the instance folder)"))
    return [use for _, use in sorted(uses, key=lambda u: u[0])]


def _sqlite_in_app(root: Path, texts: dict[Path, str], data_dir: str,
                   skip_fixed: bool = False) -> list[str]:
    """A SQLite file placed next to the code (BASE_DIR / 'db.sqlite3', basedir + 'app.db');
    skip_fixed: files in a data directory the image links to the volume (appdata) pass."""
    warnings = []
    for path, text in texts.items():
        if "sqlite" not in text.lower():
            continue
        for number, segment in _statements(text):
            lowered = segment.lower()
            if "sqlite" not in lowered or "instance_path" in segment:
                continue
            in_app = ((_APP_DIR_REF.search(segment) and (
                "sqlite:///" in lowered or "backends.sqlite3" in lowered
                or re.search(r"\.(?:sqlite3?|db)['\"]", segment)))
                or _SQLITE_CONNECT_RELATIVE.search(segment))
            if not in_app or (skip_fixed and is_app_data_path(segment)):
                continue
            env = _ENV_READ.search(segment)
            fix = (f"set {env[1]} to a path on the data volume (e.g. sqlite:///{data_dir}/app.db"
                   " for a URL)" if env else
                   f"read the path from an env var and point it into the data volume {data_dir}")
            warnings.append(
                f"{path.relative_to(root).as_posix()}:{number}: the SQLite database is inside"
                " the application directory, which is read-only in the container (writes fail,"
                f" and data would not survive an update): {fix}")
    return warnings


def _relative_writes(root: Path, texts: dict[Path, str], data_dir: str,
                     stdout_switch: bool) -> list[str]:
    """os.mkdir('logs'), RotatingFileHandler('logs/app.log'): the working directory is
    the application directory, read-only in the container (microblog's shape)."""
    stdout_switches = sorted({name for text in texts.values() for name in _ENV_READ.findall(text)
                              if "STDOUT" in name.upper()})
    warnings, seen = [], set()
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            match = _RELATIVE_WRITE.search(line)
            written = match and (match["path"] or match["dir"])
            if not written or written.split("/")[0] in seen or written.startswith("."):
                continue
            seen.add(written.split("/")[0])
            if _LOG_NAME.search(written) and stdout_switch:
                continue  # the image turns the log files off (init --dry-run says how)
            if _LOG_NAME.search(written):
                switch = (f": set {' or '.join(stdout_switches)} in the container's environment"
                          " (the app reads it)" if stdout_switches else "")
                fix = f"log to stdout/stderr instead{switch}"
            else:
                fix = (f"read the path from an env var and point it into the data volume"
                       f" {data_dir} (or /tmp for scratch files)")
            warnings.append(
                f"{path.relative_to(root).as_posix()}:{number}: writes {written} relative to the"
                " working directory, which is the read-only application directory in the"
                f" container: {fix}")
    return warnings


def _statements(text: str) -> list[tuple[int, str]]:
    """(line, source) of each simple statement; a whole DATABASES = {...} is one."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Expr | ast.Return):
            segment = ast.get_source_segment(text, node)
            if segment:
                found.append((node.lineno, segment))
    return found
