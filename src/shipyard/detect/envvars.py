"""Environment variables an application's settings read, found statically with `ast`.

Why: an app whose settings say `SECRET_KEY = env("DJANGO_SECRET_KEY")` does not start
without that variable, and nothing but reading the settings tells the user so before
the container crashes. What counts as a read:

* `os.environ["X"]` (raises when unset), `os.getenv("X")`, `os.environ.get("X")`
  (None when unset unless a default is given);
* django-environ: `env("X")`, `env.str/bool/int/list/db/...("X")`, no `default=`
  (raises) — `env.db()` without a name reads DATABASE_URL; scheme defaults given to
  `environ.Env(X=(bool, False))` count as defaults;
* python-decouple: `config("X")` without a default (raises);
* pydantic-settings: fields of a `BaseSettings` subclass without a default (raises),
  named by `env_prefix` + the field name upper-cased, or by a string `alias`.

A read inside `if os.getenv("X"):` (or `if "X" in os.environ:`) of that same X is
guarded and not counted. A read compared with string literals (`os.getenv("DB") ==
"postgres"`, `env("DB").lower() in ("pg", "postgres")`) records them: such a variable
is a switch, and backing-service detection sets it to the server's name. A default that
points at SQLite (`"sqlite:///db.sqlite3"`, `BASE_DIR / "db.sqlite3"`) yields the value
that moves the file onto the data volume.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from shipyard.detect.pysource import dotted_name
from shipyard.detect.scan import python_files

_ENV_METHODS = {  # django-environ reader → (kind, variable read when no name is given)
    "str": ("str", None), "bool": ("bool", None), "int": ("int", None),
    "float": ("float", None), "list": ("list", None), "tuple": ("list", None),
    "dict": ("json", None), "json": ("json", None), "url": ("url", None), "path": ("path", None),
    "bytes": ("str", None), "decimal": ("float", None),
    "db": ("db", "DATABASE_URL"), "db_url": ("db", "DATABASE_URL"),
    "cache": ("cache", "CACHE_URL"), "cache_url": ("cache", "CACHE_URL"),
    "email": ("email_url", "EMAIL_URL"), "email_url": ("email_url", "EMAIL_URL"),
    "search_url": ("search_url", "SEARCH_URL"),
}
_CASTS = {"bool": "bool", "int": "int", "float": "float", "list": "list", "tuple": "list",
          "dict": "json", "Csv": "list"}
_ANNOTATION_KINDS = {"bool": "bool", "int": "int", "float": "float", "list": "json",
                     "dict": "json", "set": "json", "EmailStr": "email", "Path": "path"}
# Functions that run at start: app factories and settings getters; other functions' reads
# happen only when they are called, so they cannot keep the app from starting.
FACTORIES = frozenset({"create_app", "make_app", "build_app", "get_app", "get_settings",
                       "get_config", "init_app", "setup_app"})
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*$")
CONFIG_STEMS = frozenset({"config", "settings", "conf", "configuration", "environment"})
_SQLITE_SUFFIXES = (".sqlite3", ".sqlite", ".db")


@dataclass(frozen=True)
class EnvRead:
    """One environment variable the settings read."""

    name: str
    file: str  # relative to the project, posix
    line: int
    call: str  # how it is read, e.g. 'env.db("DATABASE_URL")'
    kind: str  # see shipyard.appenv.KINDS
    raises: bool  # the app fails to start when it is unset
    has_default: bool = False
    sqlite: str | None = None  # the value that puts a SQLite default on the data volume
    unless: tuple[str, ...] = ()  # read in the `else:` of `if <these are set>:`
    compared: tuple[str, ...] = ()  # string literals the value is compared with

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def scan_file(path: Path, root: Path, *, data_dir: str = "/data",
              env_objects: frozenset[str] = frozenset()) -> list[EnvRead]:
    """Every read in one file, in source order; unparsable files give none."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
        return []
    rel = path.relative_to(root).as_posix()
    return list(_Reader(rel, tree, data_dir, env_objects).reads())


def app_env_reads(root: Path, app_files: Iterable[str], *, data_dir: str = "/data"
                  ) -> list[EnvRead]:
    """Reads in a Flask/FastAPI/other app: its config modules (config.py, settings.py,
    core/config.py, ...), any module defining a pydantic `BaseSettings`, and the modules
    that create the app objects (app_files, relative paths)."""
    wanted = set(app_files)
    reads: list[EnvRead] = []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        if path.stem not in CONFIG_STEMS and rel not in wanted:
            try:
                if "BaseSettings" not in path.read_text(encoding="utf-8"):
                    continue
            except (UnicodeDecodeError, OSError):
                continue
        reads += scan_file(path, root, data_dir=data_dir)
    return strongest(reads)


def strongest(reads: list[EnvRead]) -> list[EnvRead]:
    """One read per name, in first-seen order: the one that raises, else one without a
    default, else the first; a SQLite default and the literals compared with, seen in
    any read of the name, are kept."""
    groups: dict[str, list[EnvRead]] = {}
    for read in reads:
        groups.setdefault(read.name, []).append(read)
    result = []
    for group in groups.values():
        best = max(group, key=_rank)  # max keeps the first of equals
        sqlite = next((r.sqlite for r in group if r.sqlite), None)
        compared = tuple(dict.fromkeys(value for r in group for value in r.compared))
        result.append(replace(best, sqlite=sqlite, compared=compared))
    return result


def _rank(read: EnvRead) -> int:
    return 2 if read.raises else 1 if not read.has_default else 0


def env_objects_of(tree: ast.Module) -> frozenset[str]:
    """Names bound to `environ.Env(...)` at module level (django-environ's reader)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _dotted(
                node.value.func) in ("environ.Env", "Env", "environ.FileAwareEnv"):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(names)


@dataclass(frozen=True)
class _Scope:
    """Where a read sits: inside `if X:` (guarded by X), in its `else:` (needed unless X),
    in a function that runs later (lazy), or in a `try:` whose handler catches the miss."""

    guarded: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    lazy: bool = False
    caught: bool = False


class _Reader:
    def __init__(self, rel: str, tree: ast.Module, data_dir: str,
                 env_objects: frozenset[str]) -> None:
        self.rel, self.tree, self.data_dir = rel, tree, data_dir
        self.env_objects = env_objects | env_objects_of(tree)
        self.scheme_defaults = _scheme_defaults(tree)
        self.decouple = any(isinstance(n, ast.ImportFrom) and n.module == "decouple"
                            for n in ast.walk(tree))
        self.wrappers = _getenv_wrappers(tree)
        self.compared = _comparisons(tree)
        # `os.environ.get("X") or "fallback"`: what comes after `or` is a default too.
        self.or_defaults: dict[int, ast.expr] = {
            id(inner): node.values[-1] for node in ast.walk(tree)
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or)
            for value in node.values[:-1] for inner in ast.walk(value)}

    def reads(self) -> Iterator[EnvRead]:
        yield from self._visit(self.tree, _Scope(), None)

    def _visit(self, node: ast.AST, scope: _Scope,
               statement: ast.AST | None) -> Iterator[EnvRead]:
        if isinstance(node, ast.ClassDef) and _is_settings_class(node, self.tree):
            yield from self._settings_fields(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and getattr(
                node, "name", "") not in FACTORIES:
            scope = replace(scope, lazy=True)  # runs when called, not at start
        if isinstance(node, ast.Try) and any(_catches_missing(h) for h in node.handlers):
            caught = replace(scope, caught=True)  # `except KeyError: X = "fallback"`
            for tried in node.body:
                yield from self._visit(tried, caught, statement)
            rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
            for after in rest:
                yield from self._visit(after, scope, statement)
            return
        if isinstance(node, ast.If | ast.IfExp | ast.While):
            names = frozenset(_strings(node.test))
            if "__main__" in names:
                return  # `if __name__ == "__main__":` never runs under a server
            yield from self._visit(node.test, scope, statement)
            body = replace(scope, guarded=scope.guarded | names)
            orelse = replace(scope, unless=scope.unless | {n for n in names if _ENV_NAME.match(n)})
            for child in (node.body if isinstance(node.body, list) else [node.body]):
                yield from self._visit(child, body, statement)
            for child in (node.orelse if isinstance(node.orelse, list) else [node.orelse]):
                yield from self._visit(child, orelse, statement)
            return
        if isinstance(node, ast.stmt):
            statement = node
        read = self._read(node, statement)
        if read is not None and read.name not in scope.guarded:
            if scope.lazy:
                read = replace(read, raises=False)
            if scope.caught:
                read = replace(read, raises=False, has_default=True)
            yield replace(read, unless=tuple(sorted(scope.unless - {read.name})))
        for inner in ast.iter_child_nodes(node):
            yield from self._visit(inner, scope, statement)

    def _read(self, node: ast.AST, statement: ast.AST | None) -> EnvRead | None:
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _dotted(
                node.value) in ("os.environ", "environ"):
            name = _string(node.slice)
            return self._make(node, name, f'os.environ["{name}"]', "str", True, None, statement)
        if not isinstance(node, ast.Call):
            return None
        func = _dotted(node.func)
        default = _keyword(node, "default")
        if func in ("os.getenv", "getenv", "os.environ.get", "environ.get") or (
                func in self.wrappers):
            name = _string(node.args[0]) if node.args else None
            default = default or (node.args[1] if len(node.args) > 1 else None)
            if isinstance(default, ast.Constant) and default.value is None:
                default = None  # getenv("X", None) is getenv("X")
            return self._make(node, name, f'{func}("{name}")', "str", False, default, statement)
        if func in self.env_objects or (func == "config" and self.decouple):
            name = _string(node.args[0]) if node.args else _string(_keyword(node, "var"))
            cast = _keyword(node, "cast") or (node.args[1] if len(node.args) > 1
                                              and func != "config" else None)
            positional_default = 2 if func != "config" else 1
            default = default or (node.args[positional_default]
                                  if len(node.args) > positional_default else None)
            if name in self.scheme_defaults:
                default = default or self.scheme_defaults[name]
            kind = _CASTS.get(_dotted(cast) if cast is not None else "", "str")
            return self._make(node, name, f'{func}("{name}")', kind, default is None, default,
                              statement)
        head, _, method = func.rpartition(".")
        if head in self.env_objects and method in _ENV_METHODS:
            kind, implied = _ENV_METHODS[method]
            name = (_string(node.args[0]) if node.args else _string(_keyword(node, "var"))
                    or implied)
            default = default or (node.args[1] if len(node.args) > 1 else None)
            if name in self.scheme_defaults:
                default = default or self.scheme_defaults[name]
            return self._make(node, name, f'{func}("{name}")', kind, default is None, default,
                              statement)
        return None

    def _make(self, node: ast.AST, name: str | None, call: str, kind: str, raises: bool,
              default: ast.expr | None, statement: ast.AST | None) -> EnvRead | None:
        if not name:
            return None
        if default is None and id(node) in self.or_defaults:
            default, raises = self.or_defaults[id(node)], False
        if kind == "str" and _is_database_url_name(name):
            kind = "db"
        sqlite = self._sqlite_value(name, kind, default) if default is not None else None
        if sqlite is None and not raises and statement is not None and _is_database_name(name):
            # `os.environ.get("DATABASE_URL") or "sqlite:///app.db"`
            sqlite = self._sqlite_value(name, kind, statement)
        return EnvRead(name, self.rel, getattr(node, "lineno", 0), call, kind, raises,
                       has_default=default is not None, sqlite=sqlite,
                       compared=self.compared.get(id(node), ()))

    def _sqlite_value(self, name: str, kind: str, expr: ast.AST) -> str | None:
        texts = list(_strings(expr))
        url = any(t.startswith("sqlite:") for t in texts)
        files = [t for t in texts if t.endswith(_SQLITE_SUFFIXES)]
        if not url and not files:
            return None
        base = PurePosixPath(files[-1] if files else texts[-1] if url else "db.sqlite3").name
        if not base.endswith(_SQLITE_SUFFIXES):
            base = "db.sqlite3"
        if url or kind == "db" or name.endswith(("_URL", "_URI", "_DSN")):
            return f"sqlite:///{self.data_dir}/{base}"
        return f"{self.data_dir}/{base}"

    def _settings_fields(self, cls: ast.ClassDef) -> Iterator[EnvRead]:
        prefix = _env_prefix(cls)
        for item in cls.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            field = item.target.id
            if field == "model_config" or "ClassVar" in ast.unparse(item.annotation):
                continue
            value, name = item.value, (prefix + field).upper()
            if isinstance(value, ast.Call) and _dotted(value.func) in ("Field", "pydantic.Field"):
                name = _string(_keyword(value, "validation_alias") or _keyword(
                    value, "alias")) or name
                value = (_keyword(value, "default") or _keyword(value, "default_factory")
                         or (value.args[0] if value.args and not _is_ellipsis(value.args[0])
                             else None))
            kind = _annotation_kind(item.annotation)
            read = EnvRead(name, self.rel, item.lineno, f"{cls.name}.{field}", kind,
                           raises=value is None, has_default=value is not None,
                           sqlite=self._sqlite_value(name, kind, value) if value else None)
            yield read


def _getenv_wrappers(tree: ast.Module) -> frozenset[str]:
    """Module-level functions that read the variable their first argument names
    (`def envsecret(s, default=None): ... return os.getenv(s, default)`): a call such as
    `envsecret("DB_PASSWORD", "")` is a read of DB_PASSWORD, with its default."""
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.args.args:
            continue
        first = node.args.args[0].arg
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and _dotted(call.func) in (
                    "os.getenv", "getenv", "os.environ.get", "environ.get") and call.args and (
                    isinstance(call.args[0], ast.Name) and call.args[0].id == first):
                found.add(node.name)
    return frozenset(found)


_NORMALISING = frozenset({"lower", "upper", "casefold", "strip"})


def _comparisons(tree: ast.Module) -> dict[int, tuple[str, ...]]:
    """Expressions compared (==, !=, in, not in) with string literals, by node id, with
    those literals; `.lower()` and the like are looked through, either side may be the
    literal, and `in` takes a tuple, list or set of them."""
    found: dict[int, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not all(
                isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        for operand in operands:
            literals = tuple(value for other in operands if other is not operand
                             for value in _literals(other))
            inner = operand
            while (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                   and inner.func.attr in _NORMALISING and not inner.args):
                inner = inner.func.value
            if literals and not _literals(operand):
                found[id(inner)] = literals
    return found


def _literals(node: ast.AST) -> list[str]:
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [value for item in items if (value := _string(item)) is not None]


def _catches_missing(handler: ast.ExceptHandler) -> bool:
    """except (bare), Exception, KeyError, or django's ImproperlyConfigured."""
    names = ([handler.type] if not isinstance(handler.type, ast.Tuple)
             else handler.type.elts) if handler.type is not None else []
    caught = {_dotted(n).rpartition(".")[2] for n in names}
    return handler.type is None or bool(caught & {"Exception", "BaseException", "KeyError",
                                                   "LookupError", "ImproperlyConfigured"})


def _scheme_defaults(tree: ast.Module) -> dict[str, ast.expr]:
    """`environ.Env(DEBUG=(bool, False))`: the variables that get a default this way."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in ("environ.Env", "Env"):
            for kw in node.keywords:
                if kw.arg and isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                    found[kw.arg] = kw.value.elts[1]
    return found


def _is_settings_class(cls: ast.ClassDef, tree: ast.Module, depth: int = 0) -> bool:
    """A subclass of pydantic-settings' BaseSettings (directly or via a class in the file)."""
    for base in cls.bases:
        name = _dotted(base)
        if name.rpartition(".")[2] == "BaseSettings":
            return True
        local = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name),
                     None)
        if local is not None and depth < 5 and _is_settings_class(local, tree, depth + 1):
            return True
    return False


def _env_prefix(cls: ast.ClassDef) -> str:
    for item in cls.body:
        targets = (item.targets if isinstance(item, ast.Assign)
                   else [item.target] if isinstance(item, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            value = item.value if isinstance(item, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Call):
                prefix = _string(_keyword(value, "env_prefix"))
                if prefix is not None:
                    return prefix
            if isinstance(value, ast.Dict):
                for key, val in zip(value.keys, value.values, strict=True):
                    if key is not None and _string(key) == "env_prefix":
                        return _string(val) or ""
        if isinstance(item, ast.ClassDef) and item.name == "Config":
            for inner in item.body:
                if isinstance(inner, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "env_prefix" for t in inner.targets):
                    return _string(inner.value) or ""
    return ""


def _annotation_kind(annotation: ast.expr) -> str:
    text = ast.unparse(annotation)
    for word, kind in _ANNOTATION_KINDS.items():
        if text == word or text.startswith(word + "[") or text.startswith(word + " |"):
            return kind
    if "PostgresDsn" in text:
        return "postgres"
    if "Dsn" in text or "Url" in text:
        return "url"
    return "str"


def _is_database_url_name(name: str) -> bool:
    return _is_database_name(name) and name.endswith(("_URL", "_URI", "_DSN"))


def _is_database_name(name: str) -> bool:
    words = set(name.upper().split("_"))
    return bool(words & {"DATABASE", "DB", "SQLITE", "SQLALCHEMY"})


def _dotted(node: ast.AST | None) -> str:
    return dotted_name(node) or ""


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _strings(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis
