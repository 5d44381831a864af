"""A project's Python modules as parsed trees, with just enough name resolution to follow
routes across files: imports (absolute, relative, aliased), re-exports, and string
constants (`prefix = "/api"`, f-strings, `settings.API_V1_STR` read from the settings
class's default).

Why not import the code: detection is static (user code never runs at `init`), so this
resolves what can be read off the source and answers None for anything it cannot
know for sure — a caller then prefers "not found" over a guessed, wrong path.
"""

from __future__ import annotations

import ast
from pathlib import Path

from shipyard.detect.scan import module_name, python_files

MAX_DEPTH = 8  # re-export and constant chains longer than this are not followed
_LOGIN_WORDS = ("login", "auth", "permission", "staff", "superuser", "jwt_required")
_ENV_DEFAULT_CALLS = {"os.getenv", "os.environ.get", "getenv", "environ.get"}


class SourceIndex:
    """Every module under root by dotted name, parsed on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths: dict[str, Path] = {}
        for path in python_files(root):
            self.paths.setdefault(module_name(root, path), path)
        self._trees: dict[str, ast.Module | None] = {}
        self._imports: dict[str, dict[str, str]] = {}
        self._defined: dict[str, frozenset[str]] = {}

    def modules(self) -> list[str]:
        return sorted(self.paths)

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            self._trees[module] = _parse(self.paths[module]) if module in self.paths else None
        return self._trees[module]

    def where(self, module: str, node: ast.AST) -> str:
        """file:line of node, relative to the project root."""
        path = self.paths[module].relative_to(self.root).as_posix()
        return f"{path}:{getattr(node, 'lineno', 0)}"

    # -- names ------------------------------------------------------------------------------------

    def imports(self, module: str) -> dict[str, str]:
        """Local name → dotted target for every import in module (any scope)."""
        if module in self._imports:
            return self._imports[module]
        found: dict[str, str] = {}
        tree = self.tree(module)
        package = module if self.paths.get(module, Path()).name == "__init__.py" else \
            module.rpartition(".")[0]
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        found[head] = head
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(package, node.module, node.level)
                for alias in node.names:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = f"{base}.{alias.name}".lstrip(".")
        self._imports[module] = found
        return found

    def dotted(self, module: str, expr: ast.expr) -> str | None:
        """The fully qualified name an expression (Name or Attribute chain) refers to."""
        name = dotted_name(expr)
        if name is None:
            return None
        first, dot, rest = name.partition(".")
        return self.imports(module).get(first, f"{module}.{first}") + dot + rest

    def locate(self, dotted: str, depth: int = 0) -> tuple[str, list[str]] | None:
        """(defining module, attribute path) for a dotted name, following re-exports:
        `app.auth.bp` → ("app.auth", ["bp"]); a module itself → (module, [])."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = ".".join(parts[:cut])
            if module not in self.paths:
                continue
            rest = parts[cut:]
            if rest and depth < MAX_DEPTH and rest[0] not in self.defined(module):
                target = self.imports(module).get(rest[0])
                if target is not None and target != dotted:
                    return self.locate(".".join([target, *rest[1:]]), depth + 1)
            return module, rest
        return None

    def defined(self, module: str) -> frozenset[str]:
        """Names the module binds itself (assignments, defs, classes), not by an import."""
        if module not in self._defined:
            self._defined[module] = _bound_names(self.tree(module))
        return self._defined[module]

    def definition(self, module: str, expr: ast.expr) -> ast.AST | None:
        """The def or class an expression names (`views.health` → its FunctionDef)."""
        dotted = self.dotted(module, expr)
        located = self.locate(dotted) if dotted else None
        if located is None or len(located[1]) != 1:
            return None
        tree = self.tree(located[0])
        return next((node for node in (tree.body if tree else [])
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                     and node.name == located[1][0]), None)

    def is_module(self, dotted: str) -> bool:
        return dotted in self.paths

    # -- string constants -------------------------------------------------------------------------

    def string(self, module: str, expr: ast.expr | None, depth: int = 0) -> str | None:
        """The string value of expr when it is knowable from the source alone, else None."""
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.JoinedStr):
            pieces = [self.string(module, v.value if isinstance(v, ast.FormattedValue) and
                                  v.format_spec is None and v.conversion == -1 else v, depth + 1)
                      for v in expr.values]
            return None if any(p is None for p in pieces) else "".join(pieces)  # type: ignore[arg-type]
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self.string(module, expr.left, depth + 1)
            right = self.string(module, expr.right, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(expr, ast.Call):
            return self._env_default(module, expr, depth)
        if isinstance(expr, ast.Name | ast.Attribute):
            dotted = self.dotted(module, expr)
            located = self.locate(dotted) if dotted else None
            if located is not None:
                return self._constant(*located, depth + 1)
        return None

    def _env_default(self, module: str, call: ast.Call, depth: int) -> str | None:
        """os.getenv("X", "default") → the default: what the app uses unless configured."""
        name = _call_name(call)
        if name in _ENV_DEFAULT_CALLS and len(call.args) == 2:
            return self.string(module, call.args[1], depth + 1)
        return None

    def _constant(self, module: str, path: list[str], depth: int) -> str | None:
        """A module-level constant, or a class attribute's default read through an instance
        (`settings = Settings()` then `settings.API_V1_STR`)."""
        tree = self.tree(module)
        if tree is None or not path or len(path) > 2:
            return None
        value = top_level_value(tree.body, path[0])
        if len(path) == 1:
            return self.string(module, value, depth) if value is not None else None
        class_name = _call_name(value) if isinstance(value, ast.Call) else path[0]
        located = self.locate(f"{module}.{class_name}") if class_name else None
        if located is None or len(located[1]) != 1:
            return None
        owner, (cls_name,) = located
        owner_tree = self.tree(owner)
        for node in owner_tree.body if owner_tree else []:
            if isinstance(node, ast.ClassDef) and node.name == cls_name:
                attr = top_level_value(node.body, path[1])
                return self.string(owner, attr, depth) if attr is not None else None
        return None


def needs_login(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    """Decorated like a view behind a login (login_required, permission_required,
    auth_required, requires_auth...) or a class view with LoginRequiredMixin: such a
    route answers 302/401/403 to a probe."""
    for base in func.bases if isinstance(func, ast.ClassDef) else []:
        name = base.attr if isinstance(base, ast.Attribute) else \
            base.id if isinstance(base, ast.Name) else ""
        if any(word in name for word in ("LoginRequired", "PermissionRequired")):
            return True
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = (target.attr if isinstance(target, ast.Attribute) else
                target.id if isinstance(target, ast.Name) else "").lower()
        if any(word in name for word in _LOGIN_WORDS):
            return True
    return False


def dotted_name(expr: ast.AST | None) -> str | None:
    """`os.path.join` for an Attribute chain on a Name (`x` for a Name); None otherwise."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    return ".".join([expr.id, *reversed(parts)])


def top_level_value(body: list[ast.stmt], name: str) -> ast.expr | None:
    """The value of the last unconditional `name = ...` (or `name: T = ...`) in body."""
    value: ast.expr | None = None
    for node in body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and any(
                isinstance(t, ast.Name) and t.id == name
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            value = node.value
    return value


def call_name(call: ast.Call) -> str:
    """The callee's last name: `fastapi.APIRouter(...)` → "APIRouter"."""
    return _call_name(call).rpartition(".")[2]


def _call_name(call: ast.Call) -> str:
    parts: list[str] = []
    func: ast.expr = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _bound_names(tree: ast.Module | None) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return frozenset(names)


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    base = parts[:len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, *([module] if module else [])])


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
        return None
