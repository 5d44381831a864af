"""What a dependency's extras bring along: `fastapi[standard]` installs uvicorn.

Why: init adds a server (gunicorn, uvicorn) when the project lacks one and warns
about it; judged from top-level names only, `fastapi[standard]` got a false
"uvicorn is not among the dependencies" and a second, differently pinned uvicorn.
A uv.lock answers exactly — it lists every package's dependencies and the
dependencies of each of its extras, so the installed set is a walk from the
project — and for other declarations a small table of the well-known extras
that bring a server is enough (only the server question depends on it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

# (distribution, extra) → what that extra installs that init cares about.
WELL_KNOWN_EXTRAS: dict[tuple[str, str], frozenset[str]] = {
    ("fastapi", "standard"): frozenset({"uvicorn", "fastapi-cli"}),
    ("fastapi", "standard-no-fastapi-cloud-cli"): frozenset({"uvicorn", "fastapi-cli"}),
    ("fastapi", "all"): frozenset({"uvicorn"}),
    ("fastapi-cli", "standard"): frozenset({"uvicorn"}),
    ("litestar", "standard"): frozenset({"uvicorn"}),
    ("uvicorn-worker", ""): frozenset({"uvicorn", "gunicorn"}),
}


def implied_by(name: str, extras: Iterable[str]) -> set[str]:
    """Names a requirement `name[extras]` installs besides itself, from the table."""
    name = canonicalize_name(name)
    found: set[str] = set(WELL_KNOWN_EXTRAS.get((name, ""), ()))
    for extra in extras:
        found |= WELL_KNOWN_EXTRAS.get((name, canonicalize_name(extra)), frozenset())
    return found


def uv_lock_installs(lock: Path, project: str, extras: Iterable[str] = ()) -> set[str] | None:
    """Every package `uv sync --no-dev` installs for `project` (with its `extras`), from
    the lock; None when the lock cannot be read or does not list the project."""
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    packages: dict[str, dict[str, Any]] = {}
    for package in data.get("package", []):
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            packages.setdefault(canonicalize_name(package["name"]), package)
    root = canonicalize_name(project)
    if root not in packages:
        return None
    seen: set[tuple[str, str]] = set()
    pending = [(root, "")] + [(root, canonicalize_name(e)) for e in extras]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in seen or name not in packages:
            continue
        seen.add((name, extra))
        package = packages[name]
        entries = package.get("dependencies", []) if not extra else \
            (package.get("optional-dependencies") or {}).get(extra, [])
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            dependency = canonicalize_name(entry["name"])
            pending.append((dependency, ""))
            pending += [(dependency, canonicalize_name(e)) for e in entry.get("extra", [])]
    return {name for name, _ in seen} - {root}
