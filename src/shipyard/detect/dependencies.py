"""Which file declares the dependencies, most precise first, and what it contains."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.detect.requirements import GitHost, parse_requirements
from shipyard.errors import UsageError

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
    git_hosts: list[GitHost] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    requirements_file: str | None = None

    @property
    def locked(self) -> bool:
        return self.kind in ("uv", "poetry", "requirements-hashed", "requirements-pinned")


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
    project = pyproject.get("project", {})
    declared = [str(d) for d in project.get("dependencies", [])]
    if (root / "uv.lock").is_file() and project:
        return _from_pyproject_list("uv", ["pyproject.toml", "uv.lock"], declared, extras,
                                    pyproject)
    if (root / "poetry.lock").is_file():
        poetry_deps = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
        deps = _from_pyproject_list("poetry", ["pyproject.toml", "poetry.lock"], declared, extras,
                                    pyproject)
        deps.names |= {canonicalize_name(n) for n in poetry_deps if n != "python"}
        return deps
    req_file = _requirements_file(root)
    req = parse_requirements(root, req_file) if req_file else None
    if req is not None and req.has_lines and (req.hashed or req.all_pinned):
        kind: DependencyKind = "requirements-hashed" if req.hashed else "requirements-pinned"
        return Dependencies(kind, req.files, req.names, req.local_paths, req.git_hosts, extras,
                            req_file)
    if declared:
        return _from_pyproject_list("pyproject", ["pyproject.toml"], declared, extras, pyproject)
    if (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        files = [f for f in ("setup.py", "setup.cfg") if (root / f).is_file()]
        return Dependencies("setuptools", files, _setuptools_names(root), extras=extras)
    if req is not None and req_file is not None:
        return Dependencies("requirements", req.files, req.names, req.local_paths, req.git_hosts,
                            extras, req_file)
    return Dependencies("none")


def _requirements_file(root: Path) -> str | None:
    for name in ("requirements.lock", "requirements.txt", "requirements/production.txt",
                 "requirements/prod.txt", "requirements/base.txt"):
        if (root / name).is_file():
            return name
    return None


def _from_pyproject_list(
    kind: DependencyKind, files: list[str], declared: list[str], extras: list[str],
    pyproject: dict[str, Any],
) -> Dependencies:
    deps = Dependencies(kind, files, extras=extras)
    optional = pyproject.get("project", {}).get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise UsageError(
            f"pyproject.toml: extra {unknown[0]!r} is not in [project.optional-dependencies]",
            hint=f"choose one of: {', '.join(sorted(optional)) or '(none defined)'}",
        )
    for line in declared + [d for e in extras for d in optional.get(e, [])]:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise UsageError(f"pyproject.toml: cannot parse dependency {line!r}",
                             hint="fix [project.dependencies]") from exc
        deps.names.add(canonicalize_name(req.name))
        if req.url and req.url.startswith("git+"):
            from shipyard.detect.requirements import _git_host

            host = _git_host(req.url)
            if host and host not in deps.git_hosts:
                deps.git_hosts.append(host)
    return deps


def _setuptools_names(root: Path) -> set[str]:
    """Best-effort names from install_requires (the build resolves the real list)."""
    text = ""
    for name in ("setup.py", "setup.cfg"):
        if (root / name).is_file():
            text += (root / name).read_text(encoding="utf-8", errors="replace")
    return {canonicalize_name(m) for m in re.findall(r"['\"\s]([A-Za-z][\w.-]*)\s*[<>=~!]", text)}
