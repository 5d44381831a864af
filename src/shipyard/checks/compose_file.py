"""A compose file as the compose rules read it: parsed YAML checked for the structure
compose itself refuses (top-level keys, value shapes), `${VAR}` interpolation, and the
ComposeContext every rule gets (with the services as they will run after overrides and
`extends:`).

Why apart from rules_compose.py: parsing and the context change with compose's file
format; the rules change with the checklist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipyard.checks.compose_project import EffectiveProject
from shipyard.checks.model import Severity
from shipyard.checks.yamlfile import item_line, key_line, load_yaml
from shipyard.errors import ParseError

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


PLACEHOLDER = "\x00"
_INTERP = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_]\w*)")


def _unknown_image(image: str) -> bool | None:
    return None


@dataclass(frozen=True)
class ComposeContext:
    """One compose file, and (for a base file) its services as compose will run them."""

    file: str
    data: Any
    is_override: bool = False
    dockerfile_healthcheck: bool = False
    project_image: str | None = None
    effective: EffectiveProject | None = None  # after overrides and extends
    image_healthcheck: Callable[[str], bool | None] = _unknown_image  # local image has one?

    def service(self, name: str, svc: Any) -> Any:
        """The service as it will run: this file's keys plus overrides and `extends:`."""
        if self.effective is None:
            return svc
        return self.effective.services.get(name, svc)

    def not_here(self, name: str) -> str:
        """A qualifier for absence findings about a service whose `extends:` was not read."""
        if self.effective is None or name not in self.effective.unresolved:
            return ""
        return (f" (not declared here; it extends {self.effective.unresolved[name]},"
                " which was not read)")


def parse_compose(text: str) -> Any:
    data = load_yaml(text)
    if data is None:
        raise ParseError("empty compose file", 1)
    if not isinstance(data, dict):
        raise ParseError("a compose file must be a mapping (services: ...)", 1)
    _check_top_level(data)
    services = data.get("services")
    if services is not None and not isinstance(services, dict):
        raise ParseError("`services` must be a mapping", key_line(data, "services"))
    for name, service in (services or {}).items():
        if service is not None and not isinstance(service, dict):
            raise ParseError(f"service {name!r} must be a mapping",
                                  key_line(services, name))
        _check_shapes(str(name), service or {})
    return data


# The Compose specification's top-level keys; `docker compose` refuses any other
# (except `x-` extensions) — notably the v1 format's services at the top level.
_TOP_LEVEL = frozenset({"version", "name", "services", "networks", "volumes", "secrets",
                        "configs", "include", "models"})


def _check_top_level(data: dict[Any, Any]) -> None:
    for key in data:
        if str(key) in _TOP_LEVEL or str(key).startswith("x-"):
            continue
        value = data[key]
        if isinstance(value, dict) and ({"image", "build"} & set(value)):
            raise ParseError(
                f"`{key}` at the top level is a service in the old v1 format, which"
                " `docker compose` rejects: move it under `services:`", key_line(data, key))
        raise ParseError(f"unknown top-level key `{key}` (docker compose rejects it)",
                              key_line(data, key))


# The keys the rules read, with the YAML shapes compose accepts for them: anything else is
# a file `docker compose` refuses, so it is a parse failure here rather than a guess.
_SHAPES: dict[str, tuple[type, ...]] = {
    "image": (str,), "container_name": (str,), "restart": (str, bool),
    "read_only": (bool, str), "tmpfs": (str, list), "volumes": (list,), "ports": (list,),
    "environment": (dict, list), "healthcheck": (dict,), "depends_on": (dict, list),
    "deploy": (dict,), "build": (str, dict), "command": (str, list), "entrypoint": (str, list),
}
_NAMES = {str: "a string", bool: "true or false", list: "a list", dict: "a mapping"}


def _check_shapes(name: str, service: Any) -> None:
    for key, shapes in _SHAPES.items():
        if key in service and service[key] is not None and not isinstance(service[key], shapes):
            raise ParseError(f"service {name}: `{key}` must be "
                                  + " or ".join(_NAMES[s] for s in shapes),
                                  key_line(service, key))
    for index, entry in enumerate(service.get("volumes") or []):
        if not isinstance(entry, str | dict):
            raise ParseError(f"service {name}: volumes[{index}] must be a string or a "
                                  "mapping", item_line(service["volumes"], index))


def interpolate(text: str) -> str:
    """Compose interpolation with unknown variables: defaults are used, anything else
    becomes a placeholder (so `${TAG:-latest}` reads as latest, `${TAG}` as a variable)."""

    def sub(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        op, word = match[2], match[3] or ""
        if op in (":-", "-"):
            return interpolate(word)
        return PLACEHOLDER

    return _INTERP.sub(sub, text)
