"""Settings files that switch an image into development mode just by being in it.

The classic: `settings/__init__.py` says `try: from .dev import *` / `except
ImportError: from .prod import *`, and dev.py sets DEBUG = True. The developer's
checkout has dev.py, so an image built from it runs with DEBUG on — unless the build
context leaves dev.py out. The same shape appears as `if (BASE_DIR / "local_settings.py")
.exists(): from .local_settings import *`. Static only (ast, never an import): an
import is "picked when present" when it sits in a `try` whose handler catches
ImportError (or anything broader), or under an `if` that tests for the file; Flask's
`config.from_pyfile("config.py", silent=True)` is the same shape.

Such a file can be left out of the image safely — the import was written to cope with
its absence. A development settings module that is not imported that way (chosen by
DJANGO_SETTINGS_MODULE, say) is only named in a warning: leaving it out could break
whoever selects it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from shipyard.detect.scan import python_files

_INDENTED_IMPORT = re.compile(r"^[ \t]+(?:from\s+\S+\s+import|import)\s", re.M)
_CATCHES_MISSING = frozenset({"ImportError", "ModuleNotFoundError", "Exception",
                              "BaseException"})
_PRESENCE_TESTS = ("exists(", "isfile(", "is_file(", "find_spec(", "access(")
_DEV_STEMS = frozenset({"dev", "develop", "development", "local", "local_settings",
                        "settings_local", "settings_dev", "dev_settings", "debug"})
_SILENT_PYFILE = re.compile(
    r"""from_pyfile\(\s*["'](?P<name>[^"']+\.py)["'][^)]*silent\s*=\s*True""")
_DEBUG_NAMES = frozenset({"DEBUG", "FLASK_DEBUG", "TEMPLATE_DEBUG"})


@dataclass(frozen=True)
class DevModeFile:
    path: str  # relative, POSIX
    debug: bool  # sets DEBUG = True at module level
    picked_by: str  # "pkg/settings/__init__.py:4" when imported only if present, else ""

    @property
    def excludable(self) -> bool:
        """Picked when present and turns DEBUG on: leaving it out is safe and needed."""
        return self.debug and bool(self.picked_by)

    def describe(self) -> str:
        what = "sets DEBUG = True" if self.debug else "holds local overrides"
        if self.picked_by:
            return f"{self.path} {what} and is used whenever present ({self.picked_by})"
        return f"{self.path} {what}"


def find_dev_mode_files(root: Path) -> list[DevModeFile]:
    """Files imported only when present, plus dev-named modules that set DEBUG = True."""
    picked: dict[str, str] = {}
    for path in python_files(root):
        text = _read(path)
        if text is None or not (_INDENTED_IMPORT.search(text) or "from_pyfile" in text):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        rel = path.relative_to(root).as_posix()
        for node in _guarded_imports(tree):
            for target in _resolve(root, path, node):
                picked.setdefault(target.relative_to(root).as_posix(), f"{rel}:{node.lineno}")
        for target, line in _silent_pyfiles(root, path, text):
            picked.setdefault(target.relative_to(root).as_posix(), f"{rel}:{line}")
    found = [DevModeFile(rel, _sets_debug(root / rel), by) for rel, by in sorted(picked.items())]
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        if path.stem in _DEV_STEMS and rel not in picked and _sets_debug(path):
            found.append(DevModeFile(rel, True, ""))
    return found


def _silent_pyfiles(root: Path, path: Path, text: str) -> list[tuple[Path, int]]:
    """Flask's `config.from_pyfile("x.py", silent=True)`: read when present, from the
    app's directory or its instance folder (`instance/` beside the package)."""
    found = []
    for match in _SILENT_PYFILE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for base in (path.parent, path.parent.parent / "instance", root / "instance"):
            candidate = base / match["name"]
            if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
                found.append((candidate, line))
                break
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _guarded_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        if _tries_import(node) or _tests_presence(node):
            found += _imports_in(node.body)  # type: ignore[attr-defined]
    return found


def _tries_import(node: ast.AST) -> bool:
    return isinstance(node, ast.Try) and any(_catches_missing(h) for h in node.handlers)


def _tests_presence(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and any(name in ast.unparse(node.test)
                                            for name in _PRESENCE_TESTS)


def _catches_missing(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in _CATCHES_MISSING for n in names)


def _imports_in(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    return [s for s in body if isinstance(s, ast.Import | ast.ImportFrom)]


def _resolve(root: Path, importer: Path, node: ast.Import | ast.ImportFrom) -> list[Path]:
    """Project files an import names (modules outside the project resolve to nothing)."""
    if isinstance(node, ast.Import):
        return [p for alias in node.names if (p := _module_file(root, alias.name)) is not None]
    if node.level:
        base = importer.parent
        for _ in range(node.level - 1):
            base = base.parent
        prefix = base.relative_to(root).as_posix().replace("/", ".") if base != root else ""
        module = ".".join(part for part in (prefix, node.module or "") if part)
    else:
        module = node.module or ""
    candidates = [module] if node.module else [f"{module}.{a.name}".strip(".")
                                               for a in node.names]
    return [p for name in candidates if name and (p := _module_file(root, name)) is not None]


def _module_file(root: Path, module: str) -> Path | None:
    for base in (root, root / "src"):
        stem = base.joinpath(*module.split("."))
        for candidate in (stem.with_name(stem.name + ".py"), stem / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _sets_debug(path: Path) -> bool:
    """A module-level `DEBUG = True` (or FLASK_DEBUG/TEMPLATE_DEBUG)."""
    text = _read(path)
    if text is None or "DEBUG" not in text:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        value = getattr(node, "value", None)
        if (isinstance(value, ast.Constant) and value.value is True
                and any(isinstance(t, ast.Name) and t.id in _DEBUG_NAMES for t in targets)):
            return True
    return False
