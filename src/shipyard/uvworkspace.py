"""A uv workspace around a project: the lock sits at the workspace root, not next to the app.

Why neutral (used by detection and by the build's config): in a uv workspace
(`[tool.uv.workspace] members = ["backend"]` in the root pyproject.toml, one
`uv.lock` for all members — the shape of full-stack-fastapi-template) the app's
directory has no lock of its own, so it looked unpinned, and a build whose context
is the app directory cannot see the lock at all. The workspace root is found by
walking up from the project to the repository root; the build context is then the
workspace root (as the project's own compose file does: `context: .`,
`dockerfile: backend/Dockerfile`).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

LOCK = "uv.lock"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class UvWorkspace:
    root: Path
    """The workspace root: pyproject.toml with [tool.uv.workspace], and uv.lock."""
    member: str
    """The project's directory relative to the root, POSIX (e.g. `backend`)."""
    members: tuple[str, ...]
    """Every member directory with a pyproject.toml, relative to the root, sorted."""
    package: str
    """The member's [project] name: `uv sync --package NAME`."""
    local_deps: tuple[str, ...] = ()
    """Other members the member depends on (transitively, by uv.lock), relative to the
    root, sorted: `--no-install-workspace` leaves them out of the dependency layer, so
    the build copies and installs them with the member's own code."""


def find_workspace(project_dir: Path) -> UvWorkspace | None:
    """The uv workspace whose member project_dir is, or None (a project with its own uv.lock
    is its own workspace root; the walk stops at the repository root)."""
    project = project_dir.resolve()
    if (project / LOCK).is_file():
        return None
    for root in project.parents:
        table = _workspace_table(root)
        if table is not None and (root / LOCK).is_file():
            member = project.relative_to(root).as_posix()
            members = _members(root, table)
            if member not in members:
                return None
            package = _package_name(project)
            return UvWorkspace(root, member, tuple(members), package,
                               _local_deps(root, package, member))
        if (root / ".git").exists():
            return None
    return None


def _workspace_table(directory: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads((directory / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = data.get("tool", {}).get("uv", {}).get("workspace")
    return table if isinstance(table, dict) else None


def _members(root: Path, table: dict[str, Any]) -> list[str]:
    """Member directories as uv expands them: globs in `members`, minus `exclude`."""
    patterns = [str(p) for p in table.get("members", []) if isinstance(p, str)]
    excluded = [str(p) for p in table.get("exclude", []) if isinstance(p, str)]
    found: set[str] = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            rel = path.relative_to(root).as_posix()
            if (path / PYPROJECT).is_file() and not any(
                    fnmatch.fnmatchcase(rel, str(PurePosixPath(x))) for x in excluded):
                found.add(rel)
    return sorted(found)


def _package_name(project: Path) -> str:
    try:
        data = tomllib.loads((project / PYPROJECT).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return project.name
    return str(data.get("project", {}).get("name") or project.name)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _local_deps(root: Path, package: str, member: str) -> tuple[str, ...]:
    """The member directories `package` needs, read from the lock's dependency graph.

    Members with a build system are locked as `source = { editable = DIR }`; virtual
    ones (no build system) cannot be installed and are skipped, as uv itself does."""
    try:
        lock = tomllib.loads((root / LOCK).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ()
    entries = [p for p in lock.get("package", []) if isinstance(p, dict)]
    local: dict[str, str] = {}
    for entry in entries:
        source = entry.get("source")
        if isinstance(source, dict) and isinstance(source.get("editable"), str):
            local[_normal(str(entry.get("name", "")))] = source["editable"]
    graph = {_normal(str(e.get("name", ""))): [
        _normal(str(d.get("name", ""))) for d in e.get("dependencies", [])
        if isinstance(d, dict)] for e in entries}
    seen: set[str] = set()
    todo = [_normal(package)]
    while todo:
        for dep in graph.get(todo.pop(), []):
            if dep in local and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    dirs = {PurePosixPath(local[name]).as_posix() for name in seen}
    return tuple(sorted(d for d in dirs if d != member))
