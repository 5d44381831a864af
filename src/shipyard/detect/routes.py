"""GET routes of FastAPI, Starlette and Flask apps, with the prefixes they are served under.

Read statically (shipyard.detect.pysource): routes are declared on an object — an app
(`FastAPI()`, `Starlette()`, `Flask()`), a router (`APIRouter(prefix=...)`) or a
blueprint (`Blueprint(..., url_prefix=...)`) — and objects hang under each other
(`include_router(r, prefix=...)`, `register_blueprint(bp, url_prefix=...)`,
`mount("/sub", app)`, Starlette's `Mount(...)`), often across modules. A route's full
path is the chain of prefixes from an app down to it. Flask-RESTful/-RESTX `Api`,
`Namespace` and `add_resource`, and django-ninja's `NinjaAPI` (mounted by a Django
URLconf, see `mounted`) are read the same way.

Why only chains that reach an app: a router nobody includes is not served, and a prefix
that cannot be read off the source makes the path a guess. Both are left out; the
caller then falls back to a probe that works without knowing the path.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.detect.pysource import SourceIndex, call_name, needs_login, top_level_value

APP_CLASSES = frozenset({"FastAPI", "Starlette", "Flask", "Quart"})
# Router classes and the keyword that gives their own prefix (None: they have none).
ROUTER_CLASSES: dict[str, str | None] = {
    "APIRouter": "prefix", "Router": None, "Blueprint": "url_prefix",
    "Api": "prefix", "Namespace": "path", "NinjaAPI": None}
_DECORATORS = {"get": False, "route": True, "api_route": True}  # name → takes methods=
_ADD_ROUTE = frozenset({"add_route", "add_api_route", "add_url_rule"})
# Calls that hang a child object under the one they are called on: method → (child
# argument position, prefix argument position or keyword, does a given prefix replace
# the child's own).
_ATTACH: dict[str, tuple[int, int | str, bool]] = {
    "include_router": (0, "prefix", False), "register_blueprint": (0, "url_prefix", True),
    "add_namespace": (0, "path", True), "add_router": (1, 0, False)}
_MAX_NESTING = 10
# Names in FastAPI dependencies that mean "behind authentication": such routes answer a
# probe with 401/403, so they are no health check (and neither is what hangs below them).
_AUTH_WORDS = ("user", "auth", "token", "login", "api_key", "apikey", "permission",
               "credential", "oauth", "jwt", "admin", "verify")


@dataclass(frozen=True)
class Route:
    """A GET route's full path and where it is declared (file:line)."""

    path: str
    where: str
    health_package: bool = False
    """Served by a health-check package (django-health-check): health-like by origin."""


@dataclass
class _Object:
    kind: str  # "app", "router" or "blueprint"
    own_prefix: str | None  # None: present but not readable from the source


@dataclass(frozen=True)
class _Edge:
    child: str
    parent: str
    prefix: str | None
    replaces: bool  # register_blueprint(url_prefix=...) replaces the blueprint's own prefix


@dataclass
class _Graph:
    objects: dict[str, _Object] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    declared: list[tuple[str, str | None, str]] = field(default_factory=list)  # owner, path, where
    mounted: dict[str, str] = field(default_factory=dict)
    apps_served: bool = True
    served: str | None = None  # the one app the server runs, when known


def find_routes(index: SourceIndex, mounted: Mapping[str, str] | None = None,
                served: str | None = None) -> list[Route]:
    """Every GET route whose full path is known, in declaration order.

    served: the app object the server runs ("pkg.main.app"); when it is one of the apps
    found, routes of the others (a second service, a script's app) are left out.

    mounted: when given, only objects served under a prefix by something outside this
    graph — a Django URLconf's `path("api/", api.urls)`, by object_key → prefix — and
    what hangs under them; app objects then are not served on their own."""
    graph = _Graph()
    graph.mounted = dict(mounted or {})
    graph.apps_served = mounted is None
    for module in index.modules():
        _read_module(index, module, graph)
    if served is not None and graph.objects.get(served, _Object("", None)).kind == "app":
        graph.served = served
    routes: list[Route] = []
    for owner, path, where in graph.declared:
        if owner not in graph.objects or path is None:
            continue
        for prefix in _prefixes(graph, owner, frozenset()):
            routes.append(Route(_absolute(_join(prefix, path)), where))
    return routes


def _read_module(index: SourceIndex, module: str, graph: _Graph) -> None:
    tree = index.tree(module)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if names:
                _constructed(index, module, f"{module}.{names[0]}", node.value, graph)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if (isinstance(node, ast.ClassDef) and not _has_get(node)) or needs_login(node) \
                    or _auth_parameters(node):
                continue  # RESTX Resources answer GET only with get(); logins answer 302/401
            for decorator in node.decorator_list:
                _decorator(index, module, decorator, graph)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            _method_call(index, module, node, graph)


def _constructed(index: SourceIndex, module: str, key: str, call: ast.Call,
                 graph: _Graph) -> None:
    name = call_name(call)
    if name in APP_CLASSES:  # FastAPI(dependencies=[Depends(user)]): nothing is public
        graph.objects[key] = _Object("app", None if _auth_dependencies(call) else "")
    elif name in ROUTER_CLASSES:
        keyword = ROUTER_CLASSES[name]
        prefix_expr = _keyword(call, keyword) if keyword else None
        prefix = "" if prefix_expr is None else index.string(module, prefix_expr)
        if _auth_dependencies(call):
            prefix = None  # APIRouter(dependencies=[Depends(current_user)]): nothing public
        elif name == "Namespace" and prefix_expr is None:  # RESTX: path defaults to /name
            label = index.string(module, _argument(call, 0, "name"))
            prefix = None if label is None else "/" + label
        graph.objects[key] = _Object("blueprint" if name == "Blueprint" else "router", prefix)
        parent = _argument(call, 0, "app") if name == "Api" else None
        if isinstance(parent, ast.Name | ast.Attribute):  # Api(app) / Api(blueprint)
            graph.edges.append(_Edge(key, object_key(index, module, parent), "", False))
    else:
        return
    routes = _keyword(call, "routes")
    if routes is not None:
        _route_list(index, module, routes, key, "", graph, 0)


def _decorator(index: SourceIndex, module: str, decorator: ast.expr, graph: _Graph) -> None:
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return
    method = decorator.func.attr
    if method not in _DECORATORS or (_DECORATORS[method] and not _serves_get(decorator)):
        return
    owner = object_key(index, module, decorator.func.value)
    path = None if _auth_dependencies(decorator) else index.string(
        module, _argument(decorator, 0, "path", "rule"))
    graph.declared.append((owner, path, index.where(module, decorator)))


def _method_call(index: SourceIndex, module: str, call: ast.Call, graph: _Graph) -> None:
    assert isinstance(call.func, ast.Attribute)
    method, target = call.func.attr, call.func.value
    owner = object_key(index, module, target)
    if method in _ADD_ROUTE and _serves_get(call):
        path = index.string(module, _argument(call, 0, "path", "rule"))
        graph.declared.append((owner, path, index.where(module, call)))
    elif method == "add_resource" and _resource_has_get(index, module, call):
        for url in call.args[1:]:  # Flask-RESTful: add_resource(Resource, "/a", "/b")
            graph.declared.append((owner, index.string(module, url), index.where(module, call)))
    elif method == "init_app" and call.args:  # Api().init_app(app)
        graph.edges.append(_Edge(owner, object_key(index, module, call.args[0]), "", False))
    elif method in _ATTACH:
        child_at, prefix_at, replaces = _ATTACH[method]
        child = _argument(call, child_at)
        prefix_expr = _argument(call, prefix_at) if isinstance(prefix_at, int) else \
            _keyword(call, prefix_at)
        prefix = "" if prefix_expr is None else index.string(module, prefix_expr)
        if _auth_dependencies(call):
            prefix = None
        if child is not None:
            graph.edges.append(_Edge(object_key(index, module, child), owner, prefix,
                                     replaces and prefix_expr is not None))
    elif method == "mount":
        child = _argument(call, 1, "app")
        if isinstance(child, ast.Name | ast.Attribute):
            graph.edges.append(_Edge(object_key(index, module, child), owner,
                                     index.string(module, _argument(call, 0, "path")), False))


def _route_list(index: SourceIndex, module: str, expr: ast.expr, owner: str,
                prefix: str | None, graph: _Graph, depth: int) -> None:
    """Starlette's `routes=[Route(...), Mount(...)]`, through list variables and `+`."""
    if depth > _MAX_NESTING:
        return
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        for side in (expr.left, expr.right):
            _route_list(index, module, side, owner, prefix, graph, depth + 1)
    elif isinstance(expr, ast.Name):
        tree = index.tree(module)
        value = top_level_value(tree.body, expr.id) if tree else None
        if value is not None:
            _route_list(index, module, value, owner, prefix, graph, depth + 1)
    elif isinstance(expr, ast.List | ast.Tuple):
        for item in expr.elts:
            if not isinstance(item, ast.Call):
                continue
            path = index.string(module, _argument(item, 0, "path"))
            full = None if prefix is None or path is None else _join(prefix, path)
            if call_name(item) == "Route" and _serves_get(item):
                graph.declared.append((owner, full, index.where(module, item)))
            elif call_name(item) == "Mount":
                routes = _keyword(item, "routes")
                child = _argument(item, 1, "app")
                if routes is not None:
                    _route_list(index, module, routes, owner, full, graph, depth + 1)
                elif isinstance(child, ast.Name | ast.Attribute):
                    graph.edges.append(_Edge(object_key(index, module, child), owner, full,
                                             False))


def _prefixes(graph: _Graph, key: str, seen: frozenset[str]) -> list[str]:
    """Every full prefix the object's routes are served under (its own prefix included)."""
    obj = graph.objects.get(key)
    if obj is None or key in seen or len(seen) > _MAX_NESTING:
        return []
    parents = [e for e in graph.edges if e.child == key]
    found: list[str] = [graph.mounted[key]] if key in graph.mounted else []
    if not parents:
        served = graph.apps_served and graph.served in (None, key) and obj.own_prefix == ""
        return found or ([""] if obj.kind == "app" and served else [])
    for edge in parents:
        if edge.prefix is None:
            continue
        own = "" if edge.replaces else obj.own_prefix
        if own is None:
            continue
        for above in _prefixes(graph, edge.parent, seen | {key}):
            found.append(_join(_join(above, edge.prefix), own))
    return found


def object_key(index: SourceIndex, module: str, expr: ast.expr) -> str:
    """The object an expression names, keyed by the module that defines it."""
    dotted = index.dotted(module, expr)
    if dotted is None:
        return ""
    located = index.locate(dotted)
    if located is not None and len(located[1]) == 1:
        return f"{located[0]}.{located[1][0]}"
    return dotted


def _serves_get(call: ast.Call) -> bool:
    """No `methods=` (GET is the default), or a literal list that includes GET."""
    methods = _keyword(call, "methods")
    if methods is None:
        return True
    if not isinstance(methods, ast.List | ast.Tuple | ast.Set):
        return False
    return any(isinstance(m, ast.Constant) and str(m.value).upper() == "GET"
               for m in methods.elts)


def _auth_dependencies(call: ast.Call) -> bool:
    """`dependencies=[Depends(get_current_user)]` on a route, router or include_router."""
    dependencies = _keyword(call, "dependencies")
    return dependencies is not None and _mentions_auth(dependencies)


def _auth_parameters(func: ast.AST) -> bool:
    """A parameter such as `user: CurrentUser` or `= Depends(verify_token)`."""
    if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    arguments = func.args
    annotations = [a.annotation for a in [*arguments.args, *arguments.kwonlyargs]
                   if a.annotation is not None]
    defaults = [d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None]
    return any(_mentions_auth(a) for a in annotations) or any(
        isinstance(d, ast.Call) and call_name(d) in ("Depends", "Security") and
        _mentions_auth(d) for d in defaults)


def _mentions_auth(expr: ast.AST) -> bool:
    names = [n.id for n in ast.walk(expr) if isinstance(n, ast.Name)] + \
        [n.attr for n in ast.walk(expr) if isinstance(n, ast.Attribute)]
    return any(word in name.lower() for name in names for word in _AUTH_WORDS)


def _has_get(cls: ast.ClassDef) -> bool:
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "get"
               for n in cls.body)


def _resource_has_get(index: SourceIndex, module: str, call: ast.Call) -> bool:
    """add_resource's class defines get() — or is defined where it cannot be read."""
    dotted = index.dotted(module, call.args[0]) if call.args else None
    located = index.locate(dotted) if dotted else None
    tree = index.tree(located[0]) if located and len(located[1]) == 1 else None
    for node in tree.body if tree else []:
        if isinstance(node, ast.ClassDef) and located and node.name == located[1][0]:
            return _has_get(node)
    return True


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _argument(call: ast.Call, position: int, *names: str) -> ast.expr | None:
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in names), None)


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    if not prefix:
        return path
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path
