"""A health path named by a constant, for apps whose routes init cannot read.

Why: some apps register their health route at run time from a setting — pypiserver's
`app.route(config.health_endpoint, ...)` with `HEALTH_ENDPOINT = "/health"` in a
defaults class — so no decorator names the path. A module- or class-level constant
with a health name (HEALTH_ENDPOINT, HEALTH_PATH, HEALTHCHECK_URL, HEALTH_CHECK_ROUTE...)
whose value is a health-like path is that route. Only when no declared route is found
(shipyard.detect.health), and only exact names: UPSTREAM_HEALTH_URL is some other
service's.
"""

from __future__ import annotations

import ast
import re

from shipyard.detect.pysource import SourceIndex
from shipyard.detect.routes import Route

_NAME = re.compile(r"(?:health|health_?check)_(?:endpoint|path|url|route)", re.IGNORECASE)


def health_constants(index: SourceIndex) -> list[Route]:
    """Routes named by health constants, in module order then source order."""
    found = []
    for module in index.modules():
        tree = index.tree(module)
        bodies = [tree.body] if tree else []
        bodies += [n.body for n in tree.body if isinstance(n, ast.ClassDef)] if tree else []
        for body in bodies:
            for node in body:
                path = _health_value(node)
                if path is not None:
                    found.append(Route(path, index.where(module, node)))
    return found


def _health_value(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        names = [node.target.id]
    else:
        return None
    value = node.value
    if not any(_NAME.fullmatch(name) for name in names) or not (
            isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return None
    return value.value if value.value.startswith("/") else None
