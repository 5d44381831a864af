"""Backing services on the host: their passwords (generated there, once, never sent) and
the agent's backup setting for the database among them.

Why: compose.yaml takes a database password from `.env` (`${POSTGRES_PASSWORD:?set ...}`,
shipyard.generate.compose_services), and the developer's `.env` is git-ignored and never
leaves their machine. So `shipyard host setup` makes one on the host, from the host's
/dev/urandom, into the host's `.env` (mode 0600, owned by the deploy user) — only when the
variable is not set yet: the database volume was initialised with the first one.
"""

from __future__ import annotations

import re
from typing import Any

from shipyard.backing import PASSWORD_HINT

# image name (before the tag) of a backing service -> the agent's backup engine
BACKUP_ENGINES = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mariadb"}
ROLE_LABEL = "org.shipyard.role"

_REQUIRED = re.compile(r"\$\{([A-Z_][A-Z0-9_]*):\?set \1 " + re.escape(PASSWORD_HINT) + r"\}")

# $1 = variable, $2 = .env path. 24 random bytes as hex: safe inside a URL.
_ADD_IF_MISSING = ('grep -q "^$1=" "$2" 2>/dev/null'
                   ' || printf "%s=%s\\n" "$1" "$(od -An -tx1 -N24 /dev/urandom | tr -d " \\n")"'
                   ' >> "$2"')


def password_variables(compose: str) -> list[str]:
    """The backing-service passwords compose.yaml requires from .env, in order."""
    return list(dict.fromkeys(_REQUIRED.findall(compose)))


def password_argvs(compose: str, env_path: str) -> list[tuple[str, tuple[str, ...]]]:
    """(description, argv) per password: append a random one unless .env has it."""
    return [(f".env: a random {name} unless one is set (made on the host, never sent)",
             ("sh", "-c", _ADD_IF_MISSING, "sh", name, env_path))
            for name in password_variables(compose)]


def backup_settings(compose: str) -> dict[str, str] | None:
    """The agent's `backup` setting for the first database service `init` wrote into
    compose.yaml (label org.shipyard.role=backing), so every deploy dumps it first
    (seed 004: capture the state of all external data before changing the image)."""
    from ruamel.yaml import YAML  # lazy: only host setup reads compose files
    from ruamel.yaml.error import YAMLError

    try:
        data: Any = YAML(typ="safe").load(compose)
    except YAMLError:
        return None
    services = data.get("services") if isinstance(data, dict) else None
    for name, service in (services or {}).items():
        if not isinstance(service, dict):
            continue
        labels = service.get("labels") or {}
        role = labels.get(ROLE_LABEL) if isinstance(labels, dict) else None
        image = str(service.get("image", "")).rsplit("/", 1)[-1].split(":", 1)[0]
        if role == "backing" and image in BACKUP_ENGINES:
            return {"engine": BACKUP_ENGINES[image], "service": str(name)}
    return None
