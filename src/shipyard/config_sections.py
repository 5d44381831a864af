"""The sections of the project configuration: `[tool.shipyard.environments.NAME]`,
`[tool.shipyard.test]`, `[tool.shipyard.check]` and `[tool.shipyard.frontend]`, with the
rules of their keys.

Why a module of their own: shipyard.config holds the top-level keys and the loading; each
section is a frozen dataclass read by the same strict machinery (strictconfig), so it
can live apart and keep both modules readable in one sitting. shipyard.config
re-exports every name here.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.agent import agent as agent_contract
from shipyard.sshtarget import parse_target, target_problem
from shipyard.strictconfig import Invalid as _Invalid
from shipyard.strictconfig import show as _show
from shipyard.strictconfig import string_list as _string_list


def _check_not_empty(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _check_port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else f"must be between 1 and 65535, got {value}"


def _check_health_path(value: str) -> str | None:
    return None if value.startswith("/") else f"must start with '/', got {_show(value)}"


DEPLOY_REQUESTS = agent_contract.COMMANDS  # the agent is the one source of its verbs
"""What a deploy key can ask the host agent for (the ssh remote command's first word)."""


def _check_pattern(value: str) -> str | None:
    if not value:
        return "must be a non-empty regular expression"
    try:
        re.compile(value)
    except re.error as exc:
        return f"is not a valid regular expression ({exc}), got {_show(value)}"
    return None


_RULE_ID = re.compile(r"[A-Z]{2,3}[0-9]{3}")
_SEVERITIES = ("error", "warning", "info")


def _parse_rule_ids(value: Any) -> tuple[str, ...]:
    ids = _string_list(value)
    for index, rule in enumerate(ids):
        if not _RULE_ID.fullmatch(rule):
            raise _Invalid(f"must be a rule id like \"DF003\", got {_show(rule)}", f"[{index}]")
    return ids


def _check_severity(value: str) -> str | None:
    if value not in _SEVERITIES:
        return f"must be one of {', '.join(_SEVERITIES)}, got {_show(value)}"
    return None


@dataclass(frozen=True)
class CheckConfig:
    """`[tool.shipyard.check]` for `shipyard check`: rules to ignore project-wide (they still
    show as suppressed) and the severity at which it fails (error: only errors fail)."""

    ignore: tuple[str, ...] = field(default=(), metadata={"parse": _parse_rule_ids})
    severity: str = field(default="error", metadata={"check": _check_severity})


@dataclass(frozen=True)
class FrontendConfig:
    """`[tool.shipyard.frontend]`: the JavaScript build stage init writes when the build
    context has a package.json with a `build` script and a lock (shipyard.detect.frontend)."""

    enabled: bool = True
    """false: no JavaScript stage, even when one is found."""
    image: str | None = field(default=None, metadata={"check": _check_not_empty})
    """The stage's base image (default: oven/bun:1-slim for bun, else node:<major>-trixie-slim
    with the major from .nvmrc, .node-version or engines.node, else the current LTS)."""
    dir: str | None = field(default=None, metadata={"check": _check_not_empty})
    """The directory (relative to the build context) whose package.json has the build script."""


# -- the schema -----------------------------------------------------------------------------------


def _check_engine(value: str) -> str | None:
    engines = agent_contract.ENGINES
    return None if value in engines else (
        f"must be one of {', '.join(map(_show, engines))}, got {_show(value)}")


def _check_target(value: str) -> str | None:
    return target_problem(value)


@dataclass(frozen=True)
class FleetHost:
    """One item of `environments.NAME.targets`: a login, and optionally its own private key
    path and known_hosts (else the environment's, see shipyard.deploy.target)."""

    target: str
    key: str | None = None
    known_hosts: str | None = None


_FLEET_HOST_KEYS = ("target", "key", "known_hosts")
_PERCENT = re.compile(r"([0-9]{1,3})%")


def _parse_targets(value: Any) -> tuple[FleetHost, ...]:
    if not isinstance(value, list) or not value:
        raise _Invalid('must be a non-empty list of logins ("ssh://deploy@web1") or tables '
                       f"({{ target = ..., key = ... }}), got {_show(value)}")
    hosts: list[FleetHost] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        at = f"[{index}]"
        table = {"target": item} if isinstance(item, str) else item
        if not isinstance(table, dict):
            raise _Invalid(f"must be a login or a table, got {_show(item)}", at)
        for key, text in table.items():
            if key not in _FLEET_HOST_KEYS:
                raise _Invalid(f"has an unknown key {key!r} (valid: "
                               f"{', '.join(_FLEET_HOST_KEYS)})", at)
            if not isinstance(text, str) or not text.strip():
                raise _Invalid(f"must be a non-empty string, got {_show(text)}", f"{at}.{key}")
        if "target" not in table:
            raise _Invalid("needs a target (ssh://user@host[:port])", at)
        problem = target_problem(table["target"])
        if problem:
            raise _Invalid(problem, at if isinstance(item, str) else f"{at}.target")
        login = str(parse_target(table["target"]))
        if login in seen:
            raise _Invalid(f"names {login} again (already item {seen[login]})", at)
        seen[login] = index
        hosts.append(FleetHost(**table))
    return tuple(hosts)


def _parse_batch(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match and 1 <= int(match[1]) <= 100:
            return f"{int(match[1])}%"
    raise _Invalid(f'must be a host count (1, 2, ...) or a share like "25%", got {_show(value)}')


def _check_wait(value: float) -> str | None:
    return None if 0 <= value <= 3600 else f"must be between 0 and 3600 seconds, got {value:g}"


@dataclass(frozen=True)
class Environment:
    """`[tool.shipyard.environments.NAME]`: where `shipyard deploy NAME` connects.

    Each value may instead come from the CI variables SSH_DEPLOY_TARGET,
    SSH_KNOWN_HOSTS and SSH_AUTH (see shipyard.deploy.target for precedence),
    so all are optional here; the key itself never belongs in the repository.
    """

    target: str | None = field(default=None, metadata={"check": _check_target})
    """ssh://user@host[:port] or user@host: the restricted deploy login."""
    known_hosts: str | None = field(default=None, metadata={"check": _check_not_empty})
    """A known_hosts file (relative to the project) or the known_hosts lines themselves."""
    key: str | None = field(default=None, metadata={"check": _check_not_empty})
    """Path of the private key (relative to the project, ~ expanded); never the key text."""
    allow_tags: str | None = field(default=None, metadata={"check": _check_pattern})
    """Regex (re.search) every deployed tag must match, e.g. "^main-" for production:
    checked by the client and, via shipyard-agent.json from `host setup`, by the agent."""
    targets: tuple[FleetHost, ...] = field(default=(), metadata={"parse": _parse_targets})
    """A fleet instead of one `target`: each item a login, or a table with its own `key`
    and `known_hosts` (shipyard.deploy.fleet deploys them in batches, all or nothing)."""
    batch: int | str = field(default=1, metadata={"parse": _parse_batch})
    """Hosts deployed at once in a fleet: a count, or a share of the fleet such as "25%"."""
    wait: float = field(default=0.0, metadata={"check": _check_wait})
    """Seconds to watch a healthy batch before the next one starts (a fleet only)."""
    engine: str = field(default="compose", metadata={"check": _check_engine})
    """"compose" (one host) or "swarm" (the host is a Swarm manager; the agent deploys the
    compose project as a stack): written into shipyard-agent.json by `host setup`."""


def _check_positive(value: float) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {value:g}"


def _check_grace(value: int) -> str | None:
    return None if 1 <= value <= 3600 else f"must be between 1 and 3600 seconds, got {value}"


def _parse_argv(value: Any) -> tuple[str, ...]:
    argv = _string_list(value)
    if argv and not argv[0].strip():
        raise _Invalid("must start with a program name, got an empty string", "[0]")
    return argv


def _parse_command(value: Any) -> tuple[str, ...]:
    argv = _parse_argv(value)
    if not argv:
        raise _Invalid("must name a program, e.g. [\"my-server\", \"--port\", \"${PORT}\"]")
    if len(argv) == 1 and len(argv[0].split()) > 1:
        raise _Invalid(f"must be one word per item (it is not run by a shell), got"
                       f" {_show(argv[0])}; write {_show(argv[0].split())}", "[0]")
    return argv


def _parse_abs_paths(value: Any) -> tuple[str, ...]:
    paths = _string_list(value)
    for index, item in enumerate(paths):
        if not item.startswith("/"):
            raise _Invalid(f"must be an absolute path in the container, got {_show(item)}",
                           f"[{index}]")
    return paths


def _parse_names(value: Any) -> tuple[str, ...]:
    names = _string_list(value)
    for index, item in enumerate(names):
        if not item.strip():
            raise _Invalid("must not be empty", f"[{index}]")
    return names


DEFAULT_REQUIRED_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.created",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.version",
)
"""What ties an image to its source (seed 004: labels, commit). `source` is left out by
default because a checkout without a remote cannot fill it; add it to require it."""


@dataclass(frozen=True)
class TestConfig:
    """`[tool.shipyard.test]`: how `shipyard test IMAGE` checks an image (shipyard.imagetest).

    Times are seconds. port/health_path None means the top-level port/health_path.
    """

    __test__ = False  # not a pytest test class, despite the name

    health_timeout: float = field(default=120.0, metadata={"check": _check_positive})
    """How long the hardened container may take to report `healthy`."""
    stop_grace: int = field(default=10, metadata={"check": _check_grace})
    """`docker stop -t`: seconds between SIGTERM and SIGKILL."""
    port: int | None = field(default=None, metadata={"check": _check_port})
    health_path: str | None = field(default=None, metadata={"check": _check_health_path})
    smoke: tuple[str, ...] = field(default=(), metadata={"parse": _parse_argv})
    """argv run inside the image (entrypoint replaced), e.g. ["python", "-c", "import app"]."""
    acceptance: str | None = field(default=None, metadata={"check": _check_not_empty})
    """Command run on the host against the running container (BASE_URL set), e.g. pytest."""
    acceptance_timeout: float = field(default=600.0, metadata={"check": _check_positive})
    postgres_image: str = field(default="postgres:15-bookworm",
                                metadata={"check": _check_not_empty})
    """Local image for the throwaway PostgreSQL a test run starts (shipyard.imagetest.services)."""
    compiler_allow: tuple[str, ...] = field(default=(), metadata={"parse": _parse_names})
    """Build tools allowed in the final image, by tool (gcc, make) or file name (gcc-12)."""
    volumes: tuple[str, ...] = field(default=("/data",), metadata={"parse": _parse_abs_paths})
    """Writable volumes mounted into the test container (besides tmpfs /tmp and /run)."""
    env: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    """Non-secret environment for the test containers (it ends up in docker's argv)."""
    required_labels: tuple[str, ...] = field(
        default=DEFAULT_REQUIRED_LABELS, metadata={"parse": _parse_names})
    structure_tests: tuple[str, ...] = field(default=(), metadata={"parse": _parse_names})
    """container-structure-test YAML files (schemaVersion 2.0.0), relative to the project."""
    ignore_base_layers: bool = False
    """Skip the base image's layers when scanning for secrets (see shipyard.imagetest.content)."""
    ignore_paths: tuple[str, ...] = field(default=(), metadata={"parse": _parse_names})
    """Glob patterns (fnmatch, no leading /) of files the secret scan should not report."""
