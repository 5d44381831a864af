"""Which file declares the dependencies, most precise first, and what it contains."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.detect.extras import extra_requirements
from shipyard.detect.implied import implied_by, uv_lock_installs
from shipyard.detect.requirements import parse_requirements
from shipyard.detect.vcs import GitHost, add_source, git_source, is_git_url
from shipyard.errors import UsageError
from shipyard.uvworkspace import find_workspace

DependencyKind = Literal[
    "uv", "poetry", "requirements-hashed", "requirements-pinned", "pyproject", "setuptools",
    "requirements", "none",
]

# Why this order: the most precise declaration wins, because the image must be
# repeatable (seed 004, "Repeatable Builds"): a lock pins every transitive
# dependency, a loose list does not.
PRECISION: tuple[DependencyKind, ...] = (
    "uv", "poetry", "requirements-hashed", "requirements-pinned", "pyproject", "setuptools",
    "requirements", "none",
)


@dataclass
class Dependencies:
    """The chosen dependency declaration and what the build needs to know about it."""

    kind: DependencyKind
    files: list[str] = field(default_factory=list)  # copied into the dependency layer
    names: set[str] = field(default_factory=set)
    local_paths: list[str] = field(default_factory=list)
    git_hosts: list[GitHost] = field(default_factory=list)  # git over ssh: mount + host key
    extras: list[str] = field(default_factory=list)
    requirements_file: str | None = None
    git_urls: list[str] = field(default_factory=list)  # git without ssh (https, ...)

    @property
    def locked(self) -> bool:
        return self.kind in ("uv", "poetry", "requirements-hashed", "requirements-pinned")

    @property
    def needs_git(self) -> bool:
        """Whether installing runs the git client (any git dependency, over ssh or not)."""
        return bool(self.git_hosts or self.git_urls)


def load_pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"pyproject.toml: invalid TOML: {exc}",
                         hint="fix the file, then run shipyard init again") from exc


def detect_dependencies(root: Path, pyproject: dict[str, Any], extras: list[str]) -> Dependencies:
    """Choose the most precise declaration; raise UsageError for an extra it cannot install."""
    deps = _choose(root, pyproject)
    deps.extras = list(extras)
    source = deps.requirements_file or (deps.files[0] if deps.files else None)
    _add_requirements(deps, extra_requirements(deps.kind, root, pyproject, deps.extras, source))
    if deps.kind == "uv":  # the lock knows what every extra brings (fastapi[standard])
        deps.names |= uv_lock_installs(root / deps.files[1], str(pyproject["project"].get(
            "name", "")), deps.extras) or set()
    return deps


def _choose(root: Path, pyproject: dict[str, Any]) -> Dependencies:
    project = pyproject.get("project", {})
    declared = [str(d) for d in project.get("dependencies", [])]
    workspace = find_workspace(root) if project else None
    if ((root / "uv.lock").is_file() or workspace) and project:
        lock = os.path.relpath(workspace.root / "uv.lock", root) if workspace else "uv.lock"
        deps = _from_pyproject("uv", ["pyproject.toml", Path(lock).as_posix()], declared)
        _add_table_sources(deps, pyproject.get("tool", {}).get("uv", {}).get("sources", {}))
        return deps
    if (root / "poetry.lock").is_file():
        poetry_deps = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
        deps = _from_pyproject("poetry", ["pyproject.toml", "poetry.lock"], declared)
        deps.names |= {canonicalize_name(n) for n in poetry_deps if n != "python"}
        _add_table_sources(deps, poetry_deps)
        return deps
    req_file = _requirements_file(root)
    req = parse_requirements(root, req_file) if req_file else None
    if req is not None and req.has_lines and (req.hashed or req.all_pinned):
        kind: DependencyKind = "requirements-hashed" if req.hashed else "requirements-pinned"
        return Dependencies(kind, req.files, req.names, req.local_paths, req.git_hosts,
                            requirements_file=req_file, git_urls=req.git_urls)
    if declared:
        return _from_pyproject("pyproject", ["pyproject.toml"], declared)
    if (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        files = [f for f in ("setup.py", "setup.cfg") if (root / f).is_file()]
        return Dependencies("setuptools", files, _setuptools_names(root))
    if req is not None and req_file is not None:
        return Dependencies("requirements", req.files, req.names, req.local_paths, req.git_hosts,
                            requirements_file=req_file, git_urls=req.git_urls)
    return Dependencies("none")


def _requirements_file(root: Path) -> str | None:
    for name in ("requirements.lock", "requirements.txt", "requirements/production.txt",
                 "requirements/prod.txt", "requirements/base.txt"):
        if (root / name).is_file():
            return name
    return None


def _from_pyproject(kind: DependencyKind, files: list[str], declared: list[str]) -> Dependencies:
    deps = Dependencies(kind, files)
    _add_requirements(deps, declared)
    return deps


def _add_requirements(deps: Dependencies, lines: list[str]) -> None:
    """Names and git sources of PEP 508 strings from pyproject.toml."""
    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise UsageError(f"pyproject.toml: cannot parse dependency {line!r}",
                             hint="fix [project.dependencies]") from exc
        deps.names.add(canonicalize_name(req.name))
        deps.names |= implied_by(req.name, req.extras)
        if req.url and is_git_url(req.url):
            add_source(git_source(req.url), deps.git_hosts, deps.git_urls)


def _add_table_sources(deps: Dependencies, table: object) -> None:
    """Git sources written as tables: poetry's `x = {git = "…"}`, uv's [tool.uv.sources]."""
    if not isinstance(table, dict):
        return
    for spec in table.values():
        for entry in spec if isinstance(spec, list) else [spec]:
            if isinstance(entry, dict) and isinstance(entry.get("git"), str):
                add_source(git_source(entry["git"]), deps.git_hosts, deps.git_urls)


def _setuptools_names(root: Path) -> set[str]:
    """Best-effort names from install_requires (the build resolves the real list)."""
    text = ""
    for name in ("setup.py", "setup.cfg"):
        if (root / name).is_file():
            text += (root / name).read_text(encoding="utf-8", errors="replace")
    return {canonicalize_name(m) for m in re.findall(r"['\"\s]([A-Za-z][\w.-]*)\s*[<>=~!]", text)}
