"""GET-able paths of a Django project, read from its URLconf without importing it.

Starts at ROOT_URLCONF and follows `include()` — of a module name, an imported module,
a local list, or a `(patterns, namespace)` tuple — joining the route prefixes on the
way. `path()` routes are taken as written; `re_path()`/`url()` only when the regex is a
plain anchored literal (`^health/?$` → `health`), since anything else is a pattern, not
a path one can probe. `urlpatterns` is read as the module builds it, statement by
statement (`=`, `+=`, `.append`, `.extend`, including `urlpatterns = [path("",
include(urlpatterns))]`); blocks under `if` (DEBUG-only routes, optional context paths)
are left out because the image does not run with them.
"""

from __future__ import annotations

import ast
import re

from shipyard.detect.pysource import SourceIndex, call_name, needs_login, top_level_value
from shipyard.detect.routes import Route, object_key

_ROUTE_CALLS = frozenset({"path", "re_path", "url"})
_ROOT_URLCONF = re.compile(r"""^ROOT_URLCONF\s*=\s*["']([\w.]+)["']""", re.M)
# Third-party URLconfs that *are* a health endpoint at the path they are included under.
HEALTH_URLCONFS = frozenset({"health_check.urls"})
_MAX_DEPTH = 12
_MAX_VISITS = 2000  # included URLconfs walked in all: bounds include cycles and fan-out


def find_django_routes(index: SourceIndex, settings_module: str | None = None
                       ) -> tuple[list[Route], dict[str, str]]:
    """Every literal path the project's URLconf serves, in declaration order; and the
    URL trees it mounts (`path("api/", api.urls)`: object key → prefix), whose routes
    shipyard.detect.routes reads (django-ninja)."""
    urlconf = root_urlconf(index, settings_module)
    if urlconf is None:
        return [], {}
    walker = _Walker(index)
    walker.module(urlconf, "", 0)
    return walker.routes, walker.mounted


def root_urlconf(index: SourceIndex, settings_module: str | None) -> str | None:
    """ROOT_URLCONF from the settings module (else from any settings file found)."""
    candidates = [settings_module] if settings_module else []
    candidates += [m for m in index.modules() if m not in candidates]
    for module in candidates:
        path = index.paths.get(module)
        if path is None:
            continue
        match = _ROOT_URLCONF.search(path.read_text(encoding="utf-8", errors="replace"))
        if match and index.is_module(match.group(1)):
            return match.group(1)
    return None


class _Walker:
    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.routes: list[Route] = []
        self.mounted: dict[str, str] = {}
        self.visits = 0

    def module(self, module: str, prefix: str, depth: int) -> None:
        tree = self.index.tree(module)
        self.visits += 1
        if tree is None or depth > _MAX_DEPTH or self.visits > _MAX_VISITS:
            return
        self.entries(module, self.patterns(tree.body, "urlpatterns"), prefix, depth)

    def patterns(self, body: list[ast.stmt], name: str) -> list[ast.expr]:
        """The entries of list `name` as the module's unconditional statements build it."""
        entries: list[ast.expr] = []
        for node in body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in node.targets):
                entries = self.list_value(node.value, name, entries)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and \
                    node.target.id == name:
                entries = entries + self.list_value(node.value, name, entries)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                    isinstance(node.value.func, ast.Attribute) and \
                    isinstance(node.value.func.value, ast.Name) and \
                    node.value.func.value.id == name and node.value.args:
                if node.value.func.attr == "append":
                    entries = [*entries, node.value.args[0]]
                elif node.value.func.attr == "extend":
                    entries = entries + self.list_value(node.value.args[0], name, entries)
        return entries

    def list_value(self, expr: ast.expr, name: str, current: list[ast.expr]) -> list[ast.expr]:
        if isinstance(expr, ast.List | ast.Tuple):
            out: list[ast.expr] = []
            for item in expr.elts:
                if isinstance(item, ast.Starred):
                    out += self.list_value(item.value, name, current)
                else:
                    out.append(self._bind(item, name, current))
            return out
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.list_value(expr.left, name, current) + \
                self.list_value(expr.right, name, current)
        if isinstance(expr, ast.Name) and expr.id == name:
            return list(current)
        return []

    def _bind(self, item: ast.expr, name: str, current: list[ast.expr]) -> ast.expr:
        """`include(urlpatterns)` inside a new `urlpatterns = [...]` means the OLD list:
        replace that reference by a literal list of the entries so far."""
        if isinstance(item, ast.Call) and call_name(item) in _ROUTE_CALLS and len(item.args) > 1:
            view = item.args[1]
            if isinstance(view, ast.Call) and call_name(view) == "include" and view.args:
                target = view.args[0]
                if isinstance(target, ast.Tuple) and target.elts:
                    target = target.elts[0]
                if isinstance(target, ast.Name) and target.id == name:
                    frozen = ast.List(elts=list(current), ctx=ast.Load())
                    new_view = ast.Call(func=view.func, args=[frozen], keywords=[])
                    return ast.copy_location(ast.Call(func=item.func, args=[
                        item.args[0], ast.copy_location(new_view, view), *item.args[2:]],
                        keywords=item.keywords), item)
        return item

    def entries(self, module: str, entries: list[ast.expr], prefix: str, depth: int) -> None:
        for entry in entries:
            if not (isinstance(entry, ast.Call) and call_name(entry) in _ROUTE_CALLS):
                continue
            regex = call_name(entry) != "path"
            raw = self.index.string(module, entry.args[0] if entry.args else None)
            view = entry.args[1] if len(entry.args) > 1 else next(
                (k.value for k in entry.keywords if k.arg == "view"), None)
            included = isinstance(view, ast.Call) and call_name(view) == "include"
            route = None if raw is None else (regex_to_path(raw, leaf=not included)
                                              if regex else raw)
            if route is None:
                continue
            if included:
                assert isinstance(view, ast.Call)
                self.include(module, view, prefix + route, entry, depth)
            elif isinstance(view, ast.Attribute) and view.attr == "urls":
                key = object_key(self.index, module, view.value)  # api.urls, admin.site.urls
                self.mounted.setdefault(key, "/" + prefix + route)
            elif view is not None and not self.behind_login(module, view):
                self.routes.append(Route("/" + prefix + route, self.index.where(module, entry)))

    def behind_login(self, module: str, view: ast.expr) -> bool:
        """login_required(views.status) inline, or a view function decorated with it."""
        if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute) and \
                view.func.attr == "as_view":  # HealthView.as_view(): the class decides
            view = view.func.value
        elif isinstance(view, ast.Call):
            wrapper = call_name(view).lower()
            return any(word in wrapper for word in ("login", "permission", "staff")) or (
                bool(view.args) and self.behind_login(module, view.args[0]))
        found = self.index.definition(module, view)
        return isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and \
            needs_login(found)

    def include(self, module: str, call: ast.Call, prefix: str, entry: ast.Call,
                depth: int) -> None:
        if not call.args:
            return
        target = call.args[0]
        if isinstance(target, ast.Tuple) and target.elts:  # include((patterns, "namespace"))
            target = target.elts[0]
        if isinstance(target, ast.List | ast.Tuple):
            self.entries(module, list(target.elts), prefix, depth + 1)
            return
        name = self.index.string(module, target)
        if name is None and isinstance(target, ast.Name | ast.Attribute):
            local = target.id if isinstance(target, ast.Name) else None
            tree = self.index.tree(module)
            if local and tree is not None and top_level_value(tree.body, local) is not None:
                self.entries(module, self.patterns(tree.body, local), prefix, depth + 1)
                return
            dotted = self.index.dotted(module, target)
            name = dotted if dotted and self.index.is_module(dotted) else None
        if name in HEALTH_URLCONFS:
            self.routes.append(Route("/" + prefix, self.index.where(module, entry), True))
        elif name is not None:
            self.module(name, prefix, depth + 1)


def regex_to_path(pattern: str, *, leaf: bool) -> str | None:
    """A plain anchored regex as the literal path it matches: `^api/v1/health/?$` →
    `api/v1/health`; None when it has groups, classes or repetition."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$"):
        body = body[:-1]
    elif leaf and not pattern.startswith("^"):
        return None  # unanchored: matches inside longer paths too, no single path to probe
    if body.endswith("/?"):
        body = body[:-2]
    literal = re.sub(r"\\([./-])", r"\1", body)
    if re.search(r"[()\[\]{}*+?|^$\\]", literal):
        return None
    return literal
