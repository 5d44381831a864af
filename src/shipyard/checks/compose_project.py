"""Compose files as `docker compose` sees them: which files exist, which belong together,
and what each service looks like after overrides, `include:` and `extends:`.

Why: a rule about something *missing* (no restart policy, no healthcheck, a writable
root) is only true of the effective service — an override can add `restart:` and a
service that `extends:` another inherits its healthcheck. Rules about what a line *does*
(a writable bind mount, a literal secret) stay per file, at that file's line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# compose.yaml, docker-compose.yml, compose.prod.yaml, docker-compose.postgres.yml,
# app.compose.yaml, each optionally with an .example/.dist/.sample suffix.
_COMPOSE_NAME = re.compile(
    r"^(?:(?:docker-)?compose(?:[.-][\w.-]+)?|[\w.-]+[.-]compose)\.ya?ml"
    r"(?:\.(?:example|dist|sample))?$", re.IGNORECASE)
_BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
MAX_EXTENDS_DEPTH = 10

Reader = Callable[[str], Any]  # project-relative path -> parsed compose data, or None


def is_compose_file(rel: str) -> bool:
    return bool(_COMPOSE_NAME.match(posixpath.basename(rel)))


def is_override(rel: str) -> bool:
    """A per-host or per-variant fragment layered on a base file (`-f base -f this`)."""
    name = posixpath.basename(rel).lower()
    parent = posixpath.basename(posixpath.dirname(rel)).lower()
    return "override" in name or parent == "overrides"


def overrides_of(rel: str, candidates: list[str]) -> list[str]:
    """The override files compose merges into `rel` by default (same directory)."""
    directory, name = posixpath.split(rel)
    if name not in _BASE_NAMES:
        return []
    stem = name.rsplit(".", 1)[0]
    wanted = {f"{stem}.override.yaml", f"{stem}.override.yml"}
    return [c for c in candidates
            if posixpath.dirname(c) == directory and posixpath.basename(c) in wanted]


def include_paths(rel: str, data: Any) -> list[str]:
    """Files an `include:` section pulls in, project-relative."""
    includes = data.get("include") if isinstance(data, Mapping) else None
    paths: list[str] = []
    for entry in includes or ():
        value = entry.get("path") if isinstance(entry, Mapping) else entry
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "://" not in item:
                paths.append(posixpath.normpath(posixpath.join(posixpath.dirname(rel), item)))
    return paths


@dataclass
class EffectiveProject:
    """Services of one base file after its overrides and `extends:`; `unresolved` names
    services whose `extends:` points at a file or service that could not be read."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)


def effective_project(rel: str, data: Any, read: Reader, overrides: list[str]) -> EffectiveProject:
    project = EffectiveProject()
    layers = [(rel, data)] + [(o, read(o)) for o in overrides]
    for layer_rel, layer in layers:
        services = layer.get("services") if isinstance(layer, Mapping) else None
        for name, svc in (services or {}).items():
            resolved = _resolve_extends(layer_rel, str(name), svc or {}, read, project, 0)
            merged = project.services.setdefault(str(name), {})
            merged.update(resolved)
    return project


def _resolve_extends(rel: str, name: str, svc: Mapping[str, Any], read: Reader,
                     project: EffectiveProject, depth: int) -> dict[str, Any]:
    extends = svc.get("extends")
    if extends is None or depth > MAX_EXTENDS_DEPTH:
        return dict(svc)
    if isinstance(extends, str):
        target_file, target_name = rel, extends
    elif isinstance(extends, Mapping):
        file = extends.get("file")
        target_file = (posixpath.normpath(posixpath.join(posixpath.dirname(rel), str(file)))
                       if file else rel)
        target_name = str(extends.get("service", ""))
    else:
        return dict(svc)
    target_data = read(target_file)
    services = target_data.get("services") if isinstance(target_data, Mapping) else None
    parent = (services or {}).get(target_name) if isinstance(services, Mapping) else None
    if not isinstance(parent, Mapping):
        project.unresolved[name] = f"{target_name} in {target_file}"
        return dict(svc)
    base = _resolve_extends(target_file, target_name, parent, read, project, depth + 1)
    base.update({k: v for k, v in svc.items() if k != "extends"})
    return base


def mark_fragments(docs: list[tuple[str, Any, bool]]) -> list[tuple[str, Any, bool]]:
    """A file that only adjusts services a base compose file defines (`tests/compose.ci.yaml`
    setting `image:` for the services of `compose.yaml`) is layered with `-f`, whatever its
    name: treat it as an override, so rules about missing keys do not judge half a service."""
    defined: set[str] = set()
    for rel, data, override in docs:
        if not override and posixpath.basename(rel) in _BASE_NAMES:
            defined |= {str(n) for n in _service_names(data)}
    out = []
    for rel, data, override in docs:
        names = {str(n) for n in _service_names(data)}
        fragment = (not override and posixpath.basename(rel) not in _BASE_NAMES
                    and bool(names) and names <= defined)
        out.append((rel, data, override or fragment or _only_adjusts(data)))
    return out


def _only_adjusts(data: Any) -> bool:
    """Services without `image:`, `build:` or `extends:` cannot run on their own (compose
    refuses them): such a file is layered on another with `-f`, whatever its name."""
    services = data.get("services") if isinstance(data, Mapping) else None
    if not isinstance(services, Mapping) or not services:
        return False
    return all(not (isinstance(svc, Mapping) and ({"image", "build", "extends"} & set(svc)))
               for svc in services.values())


def _service_names(data: Any) -> list[Any]:
    services = data.get("services") if isinstance(data, Mapping) else None
    return list(services) if isinstance(services, Mapping) else []
