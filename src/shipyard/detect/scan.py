"""Walk a project's sources without descending into environments or build output."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset({
    ".git", ".hg", ".venv", "venv", "env", ".env", "node_modules", "__pycache__", ".tox",
    ".nox", "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    "tests", "test", "docs", "migrations", "static", "static.dist", "staticfiles", "var",
})

_APP_ASSIGN = re.compile(
    r"^(?P<var>[A-Za-z_]\w*)\s*(?::\s*\w+\s*)?=\s*(?:fastapi\.)?(?P<cls>FastAPI|Starlette|Flask)\("
    , re.M)
_FACTORY = re.compile(r"^def (?P<name>create_app|make_app)\(", re.M)
# `app = create_app()` at module level, in a file that imports a framework.
_APP_FROM_CALL = re.compile(r"^(?P<var>app|application|api)\s*=\s*[A-Za-z_][\w.]*\(", re.M)
_FRAMEWORK_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?P<fw>fastapi|starlette|flask)\b", re.M)
_KIND = {"fastapi": "FastAPI", "starlette": "Starlette", "flask": "Flask"}
# Files that name the object a server runs; the framework kinds each one may hold.
ENTRY_MODULES = ("wsgi", "asgi")
_ENTRY_KINDS = {"wsgi": ("Flask",), "asgi": ("FastAPI", "Starlette")}
# A string literal naming an environment variable such as DATA_DIR or DJANGO_DATA_DIR.
_DATA_DIR_VAR = re.compile(r"""["']((?:[A-Z][A-Z0-9_]*)?DATA_DIR)["']""")
# Inside a package, static/ and migrations/ hold files the installed app needs.
_PACKAGE_SKIP_DIRS = SKIP_DIRS - {"static", "migrations"}
# What a setuptools wheel includes by default: modules, stubs, their markers and
# build sources that are compiled rather than shipped.
_NOT_DATA_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".pyi", ".so", ".pyd", ".c", ".cc", ".cpp",
                                ".h", ".pyx", ".pxd", ".rs"})


@dataclass(frozen=True)
class AppObject:
    """A web application object found in the sources."""

    kind: str  # "FastAPI" | "Starlette" | "Flask"
    module: str  # dotted import path
    attribute: str  # variable name, or "create_app()" for a factory
    path: str  # relative file path


def python_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(
            ".egg-info"))
        for filename in sorted(filenames):
            if filename.endswith(".py") and not filename.startswith("test_"):
                yield Path(dirpath) / filename


def python_texts(root: Path) -> dict[Path, str]:
    """Every project Python file's text (what python_files walks), unreadable ones skipped:
    the detectors that scan sources with regexes read the tree once each through this."""
    texts: dict[Path, str] = {}
    for path in python_files(root):
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
    return texts


def module_name(root: Path, path: Path) -> str:
    """Dotted module for path, treating a top-level src/ as the import root."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def find_app_objects(root: Path) -> list[AppObject]:
    """Module-level FastAPI/Starlette/Flask objects (and Flask factories), in a stable order."""
    found: list[AppObject] = []
    for path in python_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(root).as_posix()
        module = module_name(root, path)
        direct = [AppObject(m["cls"], module, m["var"], rel) for m in _APP_ASSIGN.finditer(text)]
        found += direct
        framework = _FRAMEWORK_IMPORT.search(text)
        if direct or not framework:
            continue
        kind = _KIND[framework["fw"]]
        call = _APP_FROM_CALL.search(text)
        factory = _FACTORY.search(text)
        if call:
            found.append(AppObject(kind, module, call["var"], rel))
        elif factory:
            found.append(AppObject(kind, module, f"{factory['name']}()", rel))
    return _entry_modules_first(root, found)


def _entry_modules_first(root: Path, found: list[AppObject]) -> list[AppObject]:
    """A top-level wsgi.py/asgi.py that builds the app (`app = create_app()`) first.

    Why: that file is the project's own statement of what a server should run; other
    modules that build an app too are scripts (CTFd's manage.py is a Flask CLI that
    calls create_app() as well). Such a file often imports only the project's factory,
    not the framework, so it is recognised by name, with the framework of the app
    objects found elsewhere."""
    entries: list[AppObject] = []
    for name in ENTRY_MODULES:
        path = root / f"{name}.py"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        known = [a for a in found if a.module == name]
        call = _APP_FROM_CALL.search(text)
        kinds = [a.kind for a in found if a.kind in _ENTRY_KINDS[name]]
        if not known and call and kinds:
            known = [AppObject(kinds[0], name, call["var"], path.name)]
        entries += known
    return entries + [a for a in found if a not in entries]


def data_dir_variables(root: Path) -> list[str]:
    """Environment variables the app reads for its data directory (pointed at the volume)."""
    names: set[str] = set()
    for path in python_files(root):
        try:
            names.update(_DATA_DIR_VAR.findall(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError):
            continue
    return sorted(names)


def package_data_files(root: Path) -> list[str]:
    """Non-Python files at any depth inside a package (a directory below root with an
    __init__.py): what a setuptools wheel leaves out unless declared as package data.

    Why any depth: the classic trap is shop/templates/index.html, where templates/
    itself has no __init__.py.
    """
    found: list[str] = []
    packages: set[Path] = set()  # directories inside a package
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here != root and (here.parent in packages or "__init__.py" in filenames):
            packages.add(here)
        dirnames[:] = sorted(d for d in dirnames if d not in _PACKAGE_SKIP_DIRS
                             and not d.startswith(".") and not d.endswith(".egg-info"))
        if here not in packages:
            continue
        found += [(here / f).relative_to(root).as_posix() for f in sorted(filenames)
                  if Path(f).suffix not in _NOT_DATA_SUFFIXES and f != "py.typed"
                  and not f.startswith(".")]
    return found
