"""Settings read from an INI file whose empty values fall back to environment variables
of the same name, through a configparser interpolation (CTFd's `EnvInterpolation`:
`before_get` returns `os.getenv(option)` when the file leaves the value empty).

Why: such an app takes DATABASE_URL, SECRET_KEY, ... from the environment like any
other, but no `os.getenv("DATABASE_URL")` names them, so the env-var reader
(envvars.py) sees nothing: the SQLite default next to the code (CTFd's
`sqlite:///<package>/ctfd.db`) stays unnoticed and the build's import check dies on
the read-only /app. Recognised, each `parser["section"]["KEY"]` read is an env read
of KEY (when the INI file leaves KEY empty), and a SQLite default assigned to the
same setting moves onto the data volume, as for `os.getenv("DATABASE_URL") or ...`.

Static only: `ast` for the code, configparser for the INI text; nothing is imported.
"""

from __future__ import annotations

import ast
import configparser
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from shipyard.detect.envvars import EnvRead
from shipyard.detect.pysource import dotted_name

_ENV_GETS = {"os.getenv", "os.environ.get", "getenv", "environ.get"}
_READ_METHODS = {"get", "getboolean", "getint", "getfloat"}
_DATABASE = re.compile(r"(?:DATABASE|DB)_(?:URL|URI|DSN)$|^SQLALCHEMY_DATABASE_URI$")
_SQLITE_FILE = re.compile(r"/([\w.-]+\.(?:sqlite3?|db))$")
_KINDS = {"getboolean": "bool", "getint": "int", "getfloat": "float"}


@dataclass
class IniEnv:
    reads: list[EnvRead] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # "file:line" of SQLite defaults moved


def ini_env_reads(root: Path, texts: dict[Path, str], *, data_dir: str = "/data") -> IniEnv:
    found = IniEnv()
    for path, text in texts.items():
        if "Interpolation" not in text or "before_get" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        parsers = _env_parsers(tree)
        if parsers:
            _scan(root, path, tree, parsers, _empty_keys(path.parent), data_dir, found)
    return found


def _env_parsers(tree: ast.Module) -> set[str]:
    """Names bound to `ConfigParser(interpolation=<a class whose before_get reads the env
    var named by the option>())`."""
    classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
               and any(_env_fallback(item) for item in node.body)}
    parsers = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        for keyword in node.value.keywords:
            value = keyword.value
            if keyword.arg == "interpolation" and isinstance(value, ast.Call) \
                    and dotted_name(value.func) in classes:
                parsers |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return parsers


def _env_fallback(item: ast.stmt) -> bool:
    if not (isinstance(item, ast.FunctionDef) and item.name == "before_get"):
        return False
    params = {a.arg for a in item.args.args}
    return any(isinstance(call, ast.Call) and dotted_name(call.func) in _ENV_GETS and call.args
               and isinstance(call.args[0], ast.Name) and call.args[0].id in params
               for call in ast.walk(item))


def _empty_keys(folder: Path) -> set[str] | None:
    """Keys the INI files next to the module leave empty (None: no INI file to read)."""
    keys: set[str] | None = None
    for ini in sorted(folder.glob("*.ini")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        try:
            parser.read_string(ini.read_text(encoding="utf-8"))
        except (configparser.Error, UnicodeDecodeError, OSError):
            continue
        keys = (keys or set()) | {k for s in parser.sections()
                                  for k, v in parser.items(s, raw=True) if not v.strip()}
    return keys


def _scan(root: Path, path: Path, tree: ast.Module, parsers: set[str], empty: set[str] | None,
          data_dir: str, found: IniEnv) -> None:
    rel = path.relative_to(root).as_posix()
    targets: dict[str, EnvRead] = {}  # setting assigned from a read -> the read
    statements = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)),
                        key=lambda n: (n.lineno, n.col_offset))
    for node in statements:
        names = [t.id for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(t, ast.Name)]
        reads = _reads(node.value, parsers, rel, empty) if node.value else []
        if reads:
            found.reads += reads
            for name in names:  # DATABASE_URL = URL(host=p["server"]["DATABASE_HOST"], ...)
                same = [r for r in reads if r.name == name]
                if same or name not in targets:
                    targets[name] = same[0] if same else reads[0]
            continue
        sqlite = _sqlite_file(node.value) if node.value else None
        for name in names:
            earlier = targets.get(name)
            if sqlite and earlier and _DATABASE.search(earlier.name) and not earlier.sqlite:
                moved = EnvRead(earlier.name, earlier.file, earlier.line, earlier.call, "db",
                                raises=False, has_default=True,
                                sqlite=f"sqlite:///{data_dir}/{sqlite}")
                found.reads[found.reads.index(earlier)] = moved
                targets[name] = moved
                found.moved.append(f"{rel}:{node.lineno}")


def _reads(expr: ast.expr, parsers: set[str], rel: str,
           empty: set[str] | None) -> list[EnvRead]:
    found = []
    for node in ast.walk(expr):
        key, section, method = _ini_read(node, parsers)
        if key and (empty is None or key in empty):
            call = f"[{section}] {key} in the INI file, else the env var (configparser)"
            found.append(EnvRead(key, rel, getattr(node, "lineno", 0), call,
                                 "db" if _DATABASE.search(key) else _KINDS.get(method, "str"),
                                 raises=False, has_default=True))
    return found


def _ini_read(node: ast.AST, parsers: set[str]) -> tuple[str | None, str, str]:
    """(key, section, method) of `p["section"]["KEY"]` or `p["section"].get("KEY")`."""
    if isinstance(node, ast.Subscript) and _section(node.value, parsers):
        return _string(node.slice), _section(node.value, parsers) or "", "get"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in _READ_METHODS and node.args \
            and _section(node.func.value, parsers):
        return (_string(node.args[0]), _section(node.func.value, parsers) or "",
                node.func.attr)
    return None, "", ""


def _section(node: ast.AST, parsers: set[str]) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in parsers:
        return _string(node.slice)
    return None


def _sqlite_file(expr: ast.expr) -> str | None:
    """The file name of a `sqlite:///...` URL (a constant or an f-string)."""
    pieces = [n.value for n in ast.walk(expr)
              if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    if not any(p.startswith("sqlite:") for p in pieces):
        return None
    match = _SQLITE_FILE.search(pieces[-1]) if pieces else None
    return PurePosixPath(match[1]).name if match else "db.sqlite3"


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


