"""Writable directories a config computes from `__file__`: cache, log, upload, media and
data folders that default to places inside the package (CTFd's
`os.path.join(os.path.dirname(__file__), os.pardir, ".data", "filesystem_cache")`,
`Path(__file__).resolve().parent / "uploads"`).

Why: the application directory is read-only in the container and owned by root, so an
app that makes such a folder at import or at start dies there (the build's import
check already fails). Their place is fixed by the source, so it can be resolved without
running anything and made writable the way the instance folder and linkding's
`BASE_DIR/data` are: the image turns each into a link — caches and temporary folders
to the tmpfs (scratch: never worth keeping, and a cache's clear() must not reach the
data), uploads, media and data to their own directory on the data volume. Log folders
are not made writable: containers log to stdout/stderr (seed 004, `shipyard test`'s
runtime.logs), so init warns instead — apps like CTFd then log to stdout only.

Static only: `ast`, no user code is imported. Expressions that cannot be followed for
sure (a call of the app's own, a config lookup) give nothing: a wrong guess would hide
a folder the app ships.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.detect.pysource import dotted_name
from shipyard.detect.scan import python_texts

# The name says "a folder the app writes": CACHE_DIR, LOG_FOLDER, UPLOAD_FOLDER, MEDIA_ROOT.
_WRITABLE_NAME = re.compile(
    r"^(?:\w+_)?(?:CACHE|LOGS?|UPLOADS?|DATA|MEDIA|TMP|TEMP|STORAGE|SESSIONS?|ATTACHMENTS?)"
    r"_?(?:DIR|DIRECTORY|FOLDER|PATH|ROOT)$", re.I)
# Scratch folders go to the tmpfs; log folders stay as they are; the rest to the volume.
_SCRATCH_NAME = re.compile(r"CACHE|TMP|TEMP", re.I)
_LOG_NAME = re.compile(r"(?:^|_)LOGS?_", re.I)
_SAFE_PATH = re.compile(r"(?!\.\.?(?:/|$))[\w.-]+(?:/[\w.-]+)*")
_PLACEHOLDERS = frozenset({".gitkeep", ".keep", ".gitignore", ".empty", "README", "README.md",
                           "README.txt"})
_PATH_CALLS = {"os.path.abspath", "os.path.realpath", "os.path.normpath", "Path",
               "pathlib.Path", "str", "os.fspath"}
_SEPARATORS = {"os.pardir": "..", "os.curdir": ".", "os.sep": ""}
TMP = "/tmp"  # noqa: S108 - the container's tmpfs, where scratch folders are linked
APP_DIR = "/app"


@dataclass(frozen=True)
class PackageDir:
    relative: str  # the folder, relative to the project root (".data/filesystem_cache")
    name: str  # the setting that computes it ("CACHE_DIR")
    where: str  # "CTFd/config.py:143"
    scratch: bool  # a cache or temporary folder: the tmpfs, not the data volume
    logs: bool  # a log folder: not made writable (log to stdout), a warning
    shipped: list[str]  # files of the checkout inside it (not placeholders): left alone

    def target(self, data_dir: str) -> str:
        """Where the image's link points: its own directory on the tmpfs or the volume."""
        leaf = self.relative.rstrip("/").rsplit("/", 1)[-1].lstrip(".") or "app"
        return f"{TMP}/{leaf}" if self.scratch else f"{data_dir}/{leaf}"


@dataclass
class PackageDirLinks:
    links: dict[str, str] = field(default_factory=dict)  # image path -> directory it links to
    local_only: list[str] = field(default_factory=list)  # kept out of the build context
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def link_package_dirs(root: Path, *, install_mode: str, data_dir: str,
                      handled: Collection[str] = ()) -> PackageDirLinks:
    """The links that make the folders writable in the image, and what init says about
    them; handled: folders another detector links already (appdata's `data`)."""
    found = PackageDirLinks()
    for directory in package_dirs(root):
        if directory.relative in handled:
            continue
        inside = f"{directory.where}: {directory.name} is {directory.relative}/ in the" \
                 " application directory, which is read-only in the container"
        if directory.logs:
            found.warnings.append(
                f"{inside}: log files there cannot be written; the image leaves it so, as"
                " containers log to stdout/stderr: log to stdout (an app that makes the"
                f" folder or opens its files without a fallback fails at start), or set"
                f" {directory.name} to a folder on the data volume {data_dir} if the files"
                " must be kept")
            continue
        if install_mode != "source":
            found.warnings.append(f"{inside} (inside the installed package): point"
                                  f" {directory.name} at the data volume {data_dir} or at /tmp")
            continue
        if directory.shipped:
            shown = ", ".join(directory.shipped[:3])
            found.warnings.append(
                f"{inside}; it holds files of your checkout ({shown}), so the image keeps it"
                f" as it is: if the app writes there, point {directory.name} at the data"
                f" volume {data_dir} (or /tmp for scratch files)")
            continue
        target = directory.target(data_dir)
        if target in found.links.values():  # two folders named alike: never share one
            target = f"{target.rsplit('/', 1)[0]}/{directory.relative.replace('/', '-')}"
        found.links[f"{APP_DIR}/{directory.relative}"] = target
        found.local_only.append(directory.relative)
        why = ("a cache or temporary folder: the tmpfs, emptied on every start" if
               directory.scratch else f"its own directory on the data volume {data_dir},"
               " kept across updates")
        found.notes.append(f"{inside}: the image links /app/{directory.relative} to {target}"
                           f" ({why})")
    return found


def package_dirs(root: Path, texts: dict[Path, str] | None = None) -> list[PackageDir]:
    """Writable-looking folders inside the project that settings compute from __file__."""
    found: dict[str, PackageDir] = {}
    for path, text in (python_texts(root) if texts is None else texts).items():
        if "__file__" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for name, line, value in _assignments(tree, path):
            if not _WRITABLE_NAME.match(name) or value is None or Path(value).suffix:
                continue  # a file (app.log, db.sqlite3) is not a folder to link
            try:
                relative = Path(value).relative_to(root.resolve()).as_posix()
            except ValueError:
                continue  # outside the project: not a directory of the image
            if not _SAFE_PATH.fullmatch(relative) or relative in found:
                continue  # "." or a name the Dockerfile's shell would need quoted
            if any((root / relative).glob("*.py")):
                continue  # a folder of code (`DATA_DIR = dirname(__file__)`): a base, not data
            found[relative] = PackageDir(
                relative, name, f"{path.relative_to(root).as_posix()}:{line}",
                bool(_SCRATCH_NAME.search(name)), bool(_LOG_NAME.search(name)),
                _shipped(root / relative))
    return sorted(found.values(), key=lambda d: d.relative)


def _assignments(tree: ast.Module, path: Path) -> list[tuple[str, int, str | None]]:
    """(name, line, absolute path or None) of each assignment, in source order; names seen
    before (BASE_DIR) resolve in the later ones. Class bodies and if-branches count: a
    config class assigns under `if not REDIS_URL:`."""
    known: dict[str, str | None] = {}
    out = []
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = _resolve(node.value, path, known) if node.value is not None else None
        for target in targets:
            if isinstance(target, ast.Name):
                known[target.id] = value
                out.append((target.id, node.lineno, value))
    return out


def _resolve(expr: ast.expr, path: Path, known: dict[str, str | None]) -> str | None:
    """The absolute path expr computes, when it is made of __file__, names resolved
    earlier, string constants and the os.path/pathlib operations that move along paths."""
    if isinstance(expr, ast.Name):
        return path.resolve().as_posix() if expr.id == "__file__" else known.get(expr.id)
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
        # `config_value or os.path.join(...)`: the default is the last operand that resolves
        for operand in reversed(expr.values):
            found = _resolve(operand, path, known)
            if found:
                return found
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        base, part = _resolve(expr.left, path, known), _segment(expr.right)
        return _join(base, [part]) if base and part is not None else None
    if isinstance(expr, ast.Attribute):
        if expr.attr == "parent":
            base = _resolve(expr.value, path, known)
            return posixpath.dirname(base) if base else None
        return None
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute) \
            and expr.value.attr == "parents" and isinstance(expr.slice, ast.Constant) \
            and isinstance(expr.slice.value, int):
        base = _resolve(expr.value.value, path, known)
        for _ in range(expr.slice.value + 1) if base else ():
            base = posixpath.dirname(base) if base else None
        return base
    if isinstance(expr, ast.Call):
        return _resolve_call(expr, path, known)
    return None


def _resolve_call(call: ast.Call, path: Path, known: dict[str, str | None]) -> str | None:
    func = dotted_name(call.func)
    if isinstance(call.func, ast.Attribute) and call.func.attr in ("resolve", "absolute") \
            and not call.args:  # Path(__file__).resolve()
        return _resolve(call.func.value, path, known)
    if isinstance(call.func, ast.Attribute) and call.func.attr == "joinpath":
        base = _resolve(call.func.value, path, known)
        parts = [_segment(arg) for arg in call.args]
        return _join(base, parts) if base and None not in parts else None
    if len(call.args) == 1 and func in _PATH_CALLS | {"os.path.dirname"}:
        base = _resolve(call.args[0], path, known)
        if base is None:
            return None
        return posixpath.dirname(base) if func == "os.path.dirname" else base
    if func == "os.path.join" and call.args:
        base = _resolve(call.args[0], path, known)
        parts = [_segment(arg) for arg in call.args[1:]]
        return _join(base, parts) if base and None not in parts else None
    return None


def _segment(expr: ast.expr) -> str | None:
    """A path piece: a string constant or os.pardir/os.curdir."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return _SEPARATORS.get(dotted_name(expr) or "")


def _join(base: str, parts: list[str | None]) -> str | None:
    pieces = [p for p in parts if p is not None]
    if any(p.startswith("/") for p in pieces):
        return None  # an absolute piece leaves the project
    return posixpath.normpath(posixpath.join(base, *pieces))




def _shipped(directory: Path) -> list[str]:
    """Files the checkout keeps in the folder (placeholders aside): content the app may
    read, which a link to an empty directory would hide."""
    if not directory.is_dir():
        return []
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and p.name not in _PLACEHOLDERS
                  and "__pycache__" not in p.parts)
