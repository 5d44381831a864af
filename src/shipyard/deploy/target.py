"""Where a deploy goes and with which key: targets, and environments resolved to files.

Why two steps: `resolve_environment` is pure — config and environment
variables in, an `EnvironmentSpec` out (what to connect to, and where each
value came from) — so every precedence rule is a table row in the tests.
`materialize` then puts the secrets on disk only for as long as ssh needs
them: 0600 files in a 0700 temp dir, removed afterwards.

Precedence, value by value, for `shipyard deploy NAME`:

* target: `[tool.shipyard.environments.NAME].target` and/or SSH_DEPLOY_TARGET.
  If both are set they must name the same login; a mismatch is an error,
  because silently preferring one could send production to a staging host.
* known_hosts: SSH_KNOWN_HOSTS (text, or a path: a GitLab "File" variable)
  wins over the config's `known_hosts` (a path relative to the project, or
  the lines themselves). Required: the host key is always checked.
* key: SSH_AUTH (the key text, or a path: a GitLab "File" variable) wins
  over the config's `key` (a path). Required. The key text is copied into a
  0600 temp file either way, so ssh never rejects a file variable's mode.

Empty variables count as unset, because CI systems often export them empty.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.config import PYPROJECT, SHIPYARD_TOML, Config, Environment
from shipyard.errors import UsageError
from shipyard.sshtarget import DEFAULT_PORT as DEFAULT_PORT
from shipyard.sshtarget import Target as Target
from shipyard.sshtarget import parse_target as parse_target
from shipyard.sshtarget import target_problem as target_problem
from shipyard.tools.ssh import write_private

VAR_TARGET = "SSH_DEPLOY_TARGET"
VAR_KNOWN_HOSTS = "SSH_KNOWN_HOSTS"
VAR_KEY = "SSH_AUTH"

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_KNOWN_HOSTS_LINE = re.compile(r"(@\S+\s+)?\S+\s+(ssh-|ecdsa-|sk-)\S+\s+AAAA")


# -- environments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileValue:
    """A value to read from a file on this machine."""

    path: Path
    origin: str


@dataclass(frozen=True)
class TextValue:
    """A value given inline; repr() never shows it (it may be a private key)."""

    text: str = field(repr=False)
    origin: str


Value = FileValue | TextValue


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything needed to reach one environment, with where each value came from."""

    name: str
    target: Target
    target_origin: str
    key: Value
    known_hosts: Value
    allow_tags: str | None = None
    """The environment's tag pattern (re.search), checked before connecting."""


def resolve_environment(name: str, config: Config, environ: Mapping[str, str]) -> EnvironmentSpec:
    """Apply the precedence rules (module docstring); UsageError names what is missing."""
    if not _ENV_NAME.fullmatch(name):
        raise UsageError(f"environment name {name!r} is not valid",
                         hint="use letters, digits, '.', '_' and '-', e.g. staging")
    env = _get(environ)
    configured = config.environments.get(name)
    if configured is None and env(VAR_TARGET) is None:
        raise _unknown_environment(name, config)
    section = configured or Environment()
    where = _section_path(config, name)
    if section.targets:
        raise UsageError(f"{name} is a fleet of {len(section.targets)} hosts ({where}.targets)",
                         hint="name one host where a single one is meant (e.g. --target)")
    target, target_origin = _resolve_target(section, where, env(VAR_TARGET))
    key = _resolve_key(section, where, env(VAR_KEY), config.project_dir)
    known_hosts = _resolve_known_hosts(section, where, env(VAR_KNOWN_HOSTS), config.project_dir)
    return EnvironmentSpec(name, target, target_origin, key, known_hosts, section.allow_tags)


@dataclass(frozen=True)
class FleetSpec:
    """An environment of several hosts: each one reached like a single environment."""

    name: str
    hosts: tuple[EnvironmentSpec, ...]
    batch: int | str = 1
    """Hosts per batch: a count, or a share of the fleet ("25%")."""
    wait: float = 0.0
    """Seconds between a healthy batch and the next."""
    allow_tags: str | None = None


def resolve_fleet(name: str, config: Config, environ: Mapping[str, str]) -> FleetSpec | None:
    """The fleet behind NAME, or None when NAME is one host (then `resolve_environment`).

    A fleet is `targets = [...]` in the config, or several whitespace-separated logins in
    SSH_DEPLOY_TARGET; if both are given they must name the same logins. Each host's own
    `key`/`known_hosts` wins; else SSH_AUTH/SSH_KNOWN_HOSTS; else the environment's.
    """
    env = _get(environ)
    section = config.environments.get(name) or Environment()
    where = _section_path(config, name)
    variable = (env(VAR_TARGET) or "").split()
    if not section.targets and len(variable) < 2:
        return None
    if section.target:
        fleet = f"{where}.targets" if section.targets else f"{VAR_TARGET} ({len(variable)} hosts)"
        raise UsageError(f"{where}.target names one host but {fleet} a fleet",
                         hint="one host: target; a fleet: targets (list every host there)")
    from_env = [parse_target(text, origin=VAR_TARGET) for text in variable]
    if section.targets:
        configured = [parse_target(h.target, origin=f"{where}.targets") for h in section.targets]
        if from_env and sorted(map(str, from_env)) != sorted(map(str, configured)):
            raise UsageError(
                f"{VAR_TARGET} names {' '.join(map(str, from_env))} but {where}.targets "
                f"names {' '.join(map(str, configured))}",
                hint="they must name the same logins: fix or unset one of them")
        items = [(t, h.key, h.known_hosts, f"{where}.targets[{i}]")
                 for i, (t, h) in enumerate(zip(configured, section.targets, strict=True))]
    else:
        items = [(t, None, None, VAR_TARGET) for t in from_env]
    hosts = []
    for target, key, known, origin in items:
        host_key = FileValue(_project_path(key, config.project_dir), f"{origin}.key") if key \
            else _resolve_key(section, where, env(VAR_KEY), config.project_dir)
        host_known = known_hosts_value(known, f"{origin}.known_hosts", config.project_dir) \
            if known else _resolve_known_hosts(section, where, env(VAR_KNOWN_HOSTS),
                                               config.project_dir)
        hosts.append(EnvironmentSpec(name, target, origin, host_key, host_known,
                                     section.allow_tags))
    return FleetSpec(name, tuple(hosts), section.batch, section.wait, section.allow_tags)


def _resolve_target(
    section: Environment, where: str, variable: str | None
) -> tuple[Target, str]:
    from_config = parse_target(section.target, origin=f"{where}.target") if section.target else None
    from_env = parse_target(variable, origin=VAR_TARGET) if variable else None
    if from_config and from_env and from_config != from_env:
        raise UsageError(
            f"{where}.target is {from_config} but {VAR_TARGET} is {from_env}",
            hint="they must name the same login: fix or remove one of them",
        )
    if from_env:
        return from_env, VAR_TARGET
    assert from_config is not None  # resolve_environment checked that one of them is set
    return from_config, f"{where}.target"


def _resolve_key(section: Environment, where: str, variable: str | None, root: Path) -> Value:
    if variable is not None:
        if _looks_like_private_key(variable):
            return TextValue(_normalize_key(variable), VAR_KEY)
        if _looks_like_public_key(variable):
            raise UsageError(f"{VAR_KEY} holds a public key",
                             hint="it must hold the PRIVATE key (-----BEGIN OPENSSH ...)")
        if "\n" not in variable and Path(variable).is_file():
            return FileValue(Path(variable), f"{VAR_KEY} (file {variable})")
        raise UsageError(
            f"{VAR_KEY} holds neither a private key nor the path of an existing file",
            hint="set it to the key text (-----BEGIN ...) or make it a GitLab File variable",
        )
    if section.key:
        return FileValue(_project_path(section.key, root), f"{where}.key")
    raise UsageError(
        f"no deploy key for this environment: set {VAR_KEY} or {where}.key",
        hint="`shipyard host setup` generates the key pair and prints the value",
    )


def _resolve_known_hosts(
    section: Environment, where: str, variable: str | None, root: Path
) -> Value:
    if variable is not None:
        if not any(c.isspace() for c in variable.strip()) and Path(variable.strip()).is_file():
            return FileValue(Path(variable.strip()), f"{VAR_KNOWN_HOSTS} (file {variable.strip()})")
        return TextValue(_check_known_hosts(variable, VAR_KNOWN_HOSTS), VAR_KNOWN_HOSTS)
    if section.known_hosts:
        return known_hosts_value(section.known_hosts, f"{where}.known_hosts", root)
    raise UsageError(
        f"no known_hosts for this environment: set {VAR_KNOWN_HOSTS} or {where}.known_hosts",
        hint="the host key is always checked; `shipyard host setup` prints the value",
    )


def known_hosts_value(value: str, origin: str, root: Path) -> Value:
    """A config `known_hosts`: the lines themselves (they contain spaces) or a file path."""
    if any(c.isspace() for c in value.strip()):
        return TextValue(_check_known_hosts(value, origin), origin)
    return FileValue(_project_path(value, root), origin)


# -- materializing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """An environment ready for ssh: the files exist until the `materialize` block exits."""

    spec: EnvironmentSpec
    key_file: Path
    known_hosts_file: Path


@contextmanager
def materialize(spec: EnvironmentSpec) -> Iterator[Credentials]:
    """Write the key (always) and inline known_hosts as 0600 temp files; delete them after."""
    with tempfile.TemporaryDirectory(prefix="shipyard-deploy-") as scratch:
        directory = Path(scratch)
        directory.chmod(0o700)
        key_text = _read(spec.key, "private key")
        if not _looks_like_private_key(key_text):
            raise UsageError(f"{spec.key.origin}: not an OpenSSH private key",
                             hint="it must start with -----BEGIN ... PRIVATE KEY-----")
        key_file = directory / "id_deploy"
        write_private(key_file, _normalize_key(key_text))
        if isinstance(spec.known_hosts, FileValue):
            _check_known_hosts(_read(spec.known_hosts, "known_hosts file"),
                               spec.known_hosts.origin)
            known_hosts_file = spec.known_hosts.path
        else:
            known_hosts_file = directory / "known_hosts"
            write_private(known_hosts_file, spec.known_hosts.text)
        yield Credentials(spec, key_file, known_hosts_file)


def _read(value: Value, what: str) -> str:
    if isinstance(value, TextValue):
        return value.text
    try:
        return value.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"{value.origin}: cannot read the {what} {value.path} ({reason})",
                         hint="check the path") from None


# -- helpers ------------------------------------------------------------------------------------


def _get(environ: Mapping[str, str]) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        value = environ.get(name, "")
        return value if value.strip() else None

    return get


def _looks_like_private_key(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("-----BEGIN ") and "PRIVATE KEY-----" in stripped.split("\n")[0]


def _looks_like_public_key(text: str) -> bool:
    return bool(re.match(r"\s*(ssh-(ed25519|rsa|dss)|ecdsa-sha2-|sk-)\S* AAAA", text))


def _normalize_key(text: str) -> str:
    """CRLF → LF and exactly one final newline: OpenSSH rejects a key without it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"


def _check_known_hosts(text: str, origin: str) -> str:
    lines = [line.strip() for line in text.replace("\r\n", "\n").splitlines()]
    entries = [line for line in lines if line and not line.startswith("#")]
    if not entries or not all(_KNOWN_HOSTS_LINE.match(line) for line in entries):
        raise UsageError(f"{origin} does not hold known_hosts lines (host keytype key)",
                         hint="use the output of `ssh-keyscan -p PORT HOST`, verified")
    return "\n".join(entries) + "\n"


def _project_path(value: str, root: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _section_path(config: Config, name: str) -> str:
    """`pyproject.toml tool.shipyard.environments.NAME` (or shipyard.toml's top-level form)."""
    source = config.source.name if config.source is not None else PYPROJECT
    prefix = "" if source == SHIPYARD_TOML else "tool.shipyard."
    return f"{source} {prefix}environments.{name}"


def _unknown_environment(name: str, config: Config) -> UsageError:
    names = sorted(config.environments)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return UsageError(f"unknown environment {name!r} — did you mean {close[0]!r}?")
    known = f"configured: {', '.join(names)}; " if names else ""
    return UsageError(
        f"unknown environment {name!r}",
        hint=f"{known}add [tool.shipyard.environments.{name}] to pyproject.toml "
             f"or set {VAR_TARGET}, {VAR_KNOWN_HOSTS} and {VAR_KEY}",
    )
