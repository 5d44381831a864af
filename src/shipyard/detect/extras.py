"""Check requested extras against what the chosen declaration defines.

Why it matters: an extra that is accepted but never installed gives an image
that fails at run time (the postgres driver is missing), so every extra is
either known to the declaration, or refused with the list of valid ones. Only
when setup.py computes its extras_require does the build decide (pip reports
an unknown extra as a warning there, which is the best we can do too).
"""

from __future__ import annotations

import ast
import configparser
from pathlib import Path
from typing import Any

from shipyard.errors import UsageError

_REQUIREMENTS_KINDS = ("requirements-hashed", "requirements-pinned", "requirements")


def extra_requirements(kind: str, root: Path, pyproject: dict[str, Any], extras: list[str],
                       source: str | None) -> list[str]:
    """The PEP 508 strings the extras add (for names and git sources); UsageError for an
    extra the declaration of this kind (source is its main file) does not define."""
    if not extras:
        return []
    if kind in _REQUIREMENTS_KINDS or kind == "none":
        origin = f"{source}: dependencies come from this requirements file" if source \
            else "no dependency declaration found"
        raise UsageError(
            f"{origin}, so extra {extras[0]!r} cannot be installed: extras apply to"
            " pyproject/poetry/uv/setuptools projects",
            hint="drop the extra, or list its packages in the requirements file")
    project = pyproject.get("project", {})
    optional: dict[str, list[str]] = {str(k): [str(r) for r in v] for k, v in project.get(
        "optional-dependencies", {}).items()}
    if kind == "setuptools":
        known = setuptools_extras(root, pyproject)
        if known is not None:
            _check(extras, known, source or "setup.py", "extras_require")
        return []
    table = "[project.optional-dependencies]"
    if kind == "poetry":
        poetry = pyproject.get("tool", {}).get("poetry", {}).get("extras", {})
        for name, packages in poetry.items():
            optional.setdefault(str(name), []).extend(str(p) for p in packages)
        table += " or [tool.poetry.extras]"
    _check(extras, set(optional), "pyproject.toml", table)
    return [line for extra in extras for line in optional[extra]]


def _check(extras: list[str], known: set[str], where: str, table: str) -> None:
    unknown = [e for e in extras if e not in known]
    if unknown:
        raise UsageError(f"{where}: extra {unknown[0]!r} is not in {table}",
                         hint=f"choose one of: {', '.join(sorted(known)) or '(none defined)'}")


def setuptools_extras(root: Path, pyproject: dict[str, Any]) -> set[str] | None:
    """Extra names a setuptools project defines, or None when only running setup.py could
    tell (a computed extras_require, **kwargs, no setup() call found)."""
    known: set[str] = set()
    project = pyproject.get("project", {})
    known |= set(project.get("optional-dependencies", {}))
    dynamic = pyproject.get("tool", {}).get("setuptools", {}).get("dynamic", {})
    known |= set(dynamic.get("optional-dependencies", {}))
    cfg = root / "setup.cfg"
    if cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(cfg.read_text(encoding="utf-8", errors="replace"))
        except configparser.Error:
            return None
        if parser.has_section("options.extras_require"):
            known |= set(parser.options("options.extras_require"))
    setup_py = root / "setup.py"
    if setup_py.is_file():
        from_py = _setup_py_extras(setup_py.read_text(encoding="utf-8", errors="replace"))
        if from_py is None:
            return None
        known |= from_py
    return known


def _setup_py_extras(source: str) -> set[str] | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and (getattr(node.func, "id", None) == "setup"
                  or getattr(node.func, "attr", None) == "setup")]
    if not calls:
        return None
    known: set[str] = set()
    for call in calls:
        for keyword in call.keywords:
            if keyword.arg is None:
                return None  # setup(**kwargs): could hold extras_require
            if keyword.arg != "extras_require":
                continue
            value = keyword.value
            if isinstance(value, ast.Name):
                value = constants.get(value.id, value)
            keys = _literal_keys(value)
            if keys is None:
                return None
            known |= keys
    return known


def _literal_keys(node: ast.expr) -> set[str] | None:
    if not isinstance(node, ast.Dict):
        return None
    keys = set()
    for key in node.keys:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None  # a computed key, or {**other}
        keys.add(key.value)
    return keys
