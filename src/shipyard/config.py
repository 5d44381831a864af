"""Project configuration: `[tool.shipyard]` in pyproject.toml, or a top-level shipyard.toml.

Why strict: a misspelt key silently falling back to a default is how a
deploy ends up on the wrong port or pushed to the wrong repository. So every
key is checked, unknown keys are errors that name the file and the full key
path and suggest the closest valid key, and wrong types say what was
expected and what was found. Errors are ConfigError, never a traceback.

Why the schema is the dataclass: the set of valid keys, their types and
their defaults are read from `Config`'s fields (parse_table), so adding a
setting is adding a field — a nested frozen dataclass becomes a TOML table
(section), and a field's metadata may hold a `parse` or `check` function for
rules a type cannot express. Fields marked `metadata={"key": False}` are
facts about the load, not settings.

Defaults, and why:

* image: the [project] name from pyproject.toml, else the directory name,
  normalised to a valid repository name (``Acme_Web`` → ``acme-web``).
* registry: none (the image name may carry its registry host itself; giving
  both is an error, because which one wins would be a guess).
* dockerfile "Dockerfile", context "." — relative to the project directory; a
  member of a uv workspace (no uv.lock of its own) builds from the workspace root.
* build_args: none. Names the build sets itself (BUILD_REVISION, ...) are
  refused so labels cannot be forged from config.
* platforms: none, meaning the engine's native platform.
* moving_tags ["main", "master"]: the usual default branches get a moving
  tag; other branches opt in. A list gives each branch a tag named after it;
  a table maps branch → tag (``{ develop = "edge" }``); [] turns them off.
* port 8000 (gunicorn/uvicorn's default); health_path unset: `init` finds the app's
  health route (else probes / and counts any answer below 500), and `test` reads the
  path from the image's ENV (HEALTHCHECK_PATH).
* build_packages, runtime_packages: none. Debian packages `shipyard init` adds to
  the builder (headers) and the runtime stage (libraries) on top of what it
  detects — the escape hatch when detection misses one.
* environments: none. `[tool.shipyard.environments.staging]` names a deploy
  target (`target`, `known_hosts`, `key`, `allow_tags`); CI variables may supply
  the same values instead (shipyard.deploy.target).
* test: `[tool.shipyard.test]` for `shipyard test IMAGE` (TestConfig): port and
  health_path default to the top-level ones; volume /data; health within 120 s;
  10 s SIGTERM grace; no smoke or acceptance command unless given.
* check: `[tool.shipyard.check]` for `shipyard check` (CheckConfig): ignore no rule,
  fail on errors only (`severity = "warning"` fails on warnings too).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from shipyard.agent import agent as agent_contract
from shipyard.errors import ConfigError
from shipyard.image.labels import LABEL_BUILD_ARGS
from shipyard.image.tags import TAG_PATTERN, sanitize_tag_part, split_registry
from shipyard.sshtarget import target_problem
from shipyard.uvworkspace import find_workspace

PYPROJECT = "pyproject.toml"
SHIPYARD_TOML = "shipyard.toml"

T = TypeVar("T")

# Field metadata: `check(value) -> problem | None` runs after the type check ("must be ...");
# `parse(raw) -> value` replaces the type check and raises _Invalid.


class _Invalid(Exception):
    """A value problem, phrased to follow the key path: 'must be ..., got ...'."""

    def __init__(self, problem: str, path_suffix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.path_suffix = path_suffix


# -- field rules ----------------------------------------------------------------------------------

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?")
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_image(value: str) -> str | None:
    if "@" in value or ":" in value.rpartition("/")[2]:
        return ("must be a repository without a tag or digest (tags are computed per build), "
                f"got {_show(value)}")
    host, path = split_registry(value)
    if (host is not None and not _HOST.fullmatch(host)) or not _REPOSITORY.fullmatch(path):
        return ("must be a repository name like registry.example.com/acme/app "
                f"(lower-case letters, digits, '.', '_', '-'), got {_show(value)}")
    if len(value) > 255:
        return "must be at most 255 characters"
    return None


def _check_registry(value: str) -> str | None:
    if not _HOST.fullmatch(value):
        return ("must be a registry host like registry.example.com[:port] (no scheme, no path), "
                f"got {_show(value)}")
    return None


def _check_not_empty(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _check_port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else f"must be between 1 and 65535, got {value}"


def _check_health_path(value: str) -> str | None:
    return None if value.startswith("/") else f"must start with '/', got {_show(value)}"


def _parse_build_args(value: Any) -> Mapping[str, str]:
    args = _string_table(value)
    reserved = set(LABEL_BUILD_ARGS.values())
    for name in args:
        if not _ARG_NAME.fullmatch(name):
            raise _Invalid("is not a valid build-arg name (letters, digits, '_')", f".{name}")
        if name in reserved:
            raise _Invalid("is set by shipyard itself for the image labels; rename it", f".{name}")
    return types.MappingProxyType(args)


def _parse_platforms(value: Any) -> tuple[str, ...]:
    platforms = _string_list(value)
    for index, platform in enumerate(platforms):
        if not _PLATFORM.fullmatch(platform):
            raise _Invalid(
                f"must look like os/arch[/variant] (e.g. linux/amd64), got {_show(platform)}",
                f"[{index}]",
            )
    return platforms


def _parse_moving_tags(value: Any) -> Mapping[str, str]:
    if isinstance(value, list):
        pairs = {branch: sanitize_tag_part(branch) for branch in _string_list(value)}
    elif isinstance(value, dict):
        pairs = _string_table(value)
    else:
        raise _Invalid(
            f"must be a list of branch names or a table of branch = tag, got {_show(value)}"
        )
    for index, (branch, tag) in enumerate(pairs.items()):
        if not TAG_PATTERN.fullmatch(tag):
            where = f".{branch}" if isinstance(value, dict) else f"[{index}]"
            raise _Invalid(f"does not make a valid image tag, got {_show(tag)}", where)
    return types.MappingProxyType(pairs)


_DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?:=[A-Za-z0-9.+~:-]+)?")


def _parse_debian_packages(value: Any) -> tuple[str, ...]:
    packages = _string_list(value)
    for index, package in enumerate(packages):
        if not _DEBIAN_PACKAGE.fullmatch(package):
            raise _Invalid(
                "must be a Debian package name like libpq-dev (lower-case letters, digits,"
                f" '+', '-', '.'; optionally =VERSION), got {_show(package)}", f"[{index}]")
    return packages


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


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of strings, got {_show(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _Invalid(f"must be a string, got {_show(item)}", f"[{index}]")
    return tuple(value)


def _string_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Invalid(f"must be a table of strings, got {_show(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise _Invalid(f"must be a string, got {_show(item)} (quote it)", f".{key}")
    return dict(value)


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


# -- the schema -----------------------------------------------------------------------------------


def _check_target(value: str) -> str | None:
    return target_problem(value)


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


def _check_positive(value: float) -> str | None:
    return None if value > 0 else f"must be greater than 0, got {value:g}"


def _check_grace(value: int) -> str | None:
    return None if 1 <= value <= 3600 else f"must be between 1 and 3600 seconds, got {value}"


def _parse_argv(value: Any) -> tuple[str, ...]:
    argv = _string_list(value)
    if argv and not argv[0].strip():
        raise _Invalid("must start with a program name, got an empty string", "[0]")
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


@dataclass(frozen=True)
class Config:
    """Validated settings for one project (see the module docstring for the defaults)."""

    project_dir: Path = field(metadata={"key": False})
    """The directory the config was loaded for; relative paths below are relative to it."""
    source: Path | None = field(default=None, metadata={"key": False})
    """The file the settings came from, or None when only defaults apply."""

    image: str = field(default="", metadata={"check": _check_image})
    registry: str | None = field(default=None, metadata={"check": _check_registry})
    dockerfile: str = field(default="Dockerfile", metadata={"check": _check_not_empty})
    context: str = field(default=".", metadata={"check": _check_not_empty})
    build_args: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), metadata={"parse": _parse_build_args}
    )
    platforms: tuple[str, ...] = field(default=(), metadata={"parse": _parse_platforms})
    moving_tags: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({"main": "main", "master": "master"}),
        metadata={"parse": _parse_moving_tags},
    )
    port: int = field(default=8000, metadata={"check": _check_port})
    health_path: str | None = field(default=None, metadata={"check": _check_health_path})
    """Unset: `init` uses the app's own health route, else probes / (shipyard.healthprobe)."""
    build_packages: tuple[str, ...] = field(default=(),
                                            metadata={"parse": _parse_debian_packages})
    """Extra Debian packages in the builder stage (headers a compiled dependency needs)."""
    runtime_packages: tuple[str, ...] = field(default=(),
                                              metadata={"parse": _parse_debian_packages})
    """Extra Debian packages in the runtime stage, besides the libraries found by ELF scan."""
    environments: Mapping[str, Environment] = field(
        default_factory=lambda: types.MappingProxyType({}))
    """Deploy targets by name (`shipyard deploy NAME`)."""
    test: TestConfig = field(default_factory=TestConfig)
    check: CheckConfig = field(default_factory=CheckConfig)
    """`shipyard test IMAGE` settings."""

    @property
    def repository(self) -> str:
        """Where images are pushed: registry + image, e.g. registry.example.com/acme/app."""
        return f"{self.registry}/{self.image}" if self.registry else self.image

    @property
    def dockerfile_path(self) -> Path:
        return self.project_dir / self.dockerfile

    @property
    def context_path(self) -> Path:
        """The build context; by default the project directory, or — for a member of a uv
        workspace — the workspace root, where the lock is (see uvworkspace)."""
        if self.context == ".":
            workspace = find_workspace(self.project_dir)
            if workspace is not None:
                return workspace.root
        return self.project_dir / self.context


def load_config(project_dir: Path) -> Config:
    """Read and validate the project's settings; ConfigError for anything wrong."""
    if not project_dir.is_dir():
        raise ConfigError(f"{project_dir}: project directory does not exist",
                          hint="pass the directory that holds pyproject.toml")
    pyproject_path = project_dir / PYPROJECT
    shipyard_path = project_dir / SHIPYARD_TOML
    pyproject = _read_toml(pyproject_path) if pyproject_path.is_file() else {}
    tool = pyproject.get("tool", {})
    in_pyproject = isinstance(tool, dict) and "shipyard" in tool
    if in_pyproject and shipyard_path.is_file():
        raise ConfigError(
            f"{shipyard_path}: both it and {pyproject_path} [tool.shipyard] define the "
            "shipyard configuration",
            hint="keep one of them",
        )
    image = _default_image(pyproject, project_dir)
    if in_pyproject:
        table, prefix, source = tool["shipyard"], "tool.shipyard", pyproject_path
    elif shipyard_path.is_file():
        table, prefix, source = _read_toml(shipyard_path), "", shipyard_path
    else:
        return Config(project_dir=project_dir, image=image)
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {prefix} must be a table, got {_show(table)}")
    config = parse_table(Config, table, file=source, prefix=prefix,
                         fixed={"project_dir": project_dir, "image": image, "source": source})
    _check_whole(config, source, prefix)
    return config


def parse_table(
    cls: type[T],
    table: Mapping[str, Any],
    *,
    file: Path,
    prefix: str,
    fixed: Mapping[str, Any] | None = None,
) -> T:
    """Build the dataclass `cls` from a TOML table, checking every key against its fields.

    `prefix` is the table's key path ("tool.shipyard", or "" at top level) so
    messages name the full path; `fixed` supplies non-key fields and computed
    defaults (a value from the table wins over a computed default).
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    keys = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("key", True)}
    values: dict[str, Any] = dict(fixed or {})
    for key, raw in table.items():
        path = f"{prefix}.{key}" if prefix else key
        spec = keys.get(key)
        if spec is None:
            raise _unknown_key(file, path, key, list(keys), top_level=not prefix)
        try:
            values[key] = _parse_value(raw, hints[key], spec, file=file, path=path)
        except _Invalid as exc:
            raise ConfigError(f"{file}: {path}{exc.path_suffix} {exc.problem}") from None
    missing = [
        name for name, f in keys.items()
        if name not in values
        and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        path = f"{prefix}.{missing[0]}" if prefix else missing[0]
        raise ConfigError(f"{file}: missing required key {path}")
    return cls(**values)


def _parse_value(
    raw: Any, hint: Any, spec: dataclasses.Field[Any], *, file: Path, path: str
) -> Any:
    parse = spec.metadata.get("parse")
    if parse is not None:
        return parse(raw)
    value = _check_type(raw, hint, file=file, path=path)
    check = spec.metadata.get("check")
    problem = check(value) if check is not None else None
    if problem:
        raise _Invalid(problem)
    return value


def _check_type(raw: Any, hint: Any, *, file: Path, path: str) -> Any:
    """Check a raw TOML value against a field's annotation; nested dataclasses recurse."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        hint = args[0]  # `X | None`: TOML has no null, so a present value must be an X
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(raw, dict):
            raise _Invalid(f"must be a table, got {_show(raw)}")
        return parse_table(hint, raw, file=file, prefix=path)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return _string_list(raw)
    value_type = typing.get_args(hint)[-1] if origin in (Mapping, dict) else None
    if dataclasses.is_dataclass(value_type) and isinstance(value_type, type):
        # A table of named sections (environments.staging, ...): each one strict.
        if not isinstance(raw, dict):
            raise _Invalid(f"must be a table of tables, got {_show(raw)}")
        sections = {}
        for name, item in raw.items():
            try:
                sections[name] = _check_type(item, value_type, file=file, path=f"{path}.{name}")
            except _Invalid as exc:
                raise _Invalid(exc.problem, f".{name}{exc.path_suffix}") from None
        return types.MappingProxyType(sections)
    if origin in (Mapping, dict):
        return types.MappingProxyType(_string_table(raw))
    expected = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}
    if hint not in expected:
        raise TypeError(f"config field type {hint!r} needs a `parse` function in its metadata")
    ok = isinstance(raw, hint) and not (hint is int and isinstance(raw, bool))
    if hint is float and isinstance(raw, int) and not isinstance(raw, bool):
        ok, raw = True, float(raw)
    if not ok:
        raise _Invalid(f"must be {expected[hint]}, got {_show(raw)}")
    return raw


def _check_whole(config: Config, source: Path, prefix: str) -> None:
    """Rules that involve more than one key."""
    host, _ = split_registry(config.image)
    if config.registry and host:
        dot = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"{source}: {dot}image {_show(config.image)} already names the registry {host!r} "
            f"and {dot}registry names {config.registry!r}",
            hint="keep the registry in one of them",
        )


# -- helpers --------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)$", text)
        if where:
            position = f"at line {where[1]}, column {where[2]}"
        elif text.endswith("(at end of document)"):
            position = "at the end of the file"
        else:
            raise ConfigError(f"{path}: invalid TOML: {text}", hint="fix the syntax") from None
        reason = text[: text.rindex("(")].strip()
        raise ConfigError(f"{path}: invalid TOML {position}: {reason}",
                          hint="fix the syntax there") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})",
                          hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def _default_image(pyproject: Mapping[str, Any], project_dir: Path) -> str:
    """The project name as a repository name: PEP 503-normalised, then made Docker-valid."""
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name.strip():
        name = project_dir.resolve().name
    normal = re.sub(r"[-_.]+", "-", name).lower()
    normal = re.sub(r"[^a-z0-9-]+", "-", normal)
    return re.sub(r"-{2,}", "-", normal).strip("-") or "app"


def _unknown_key(
    file: Path, path: str, key: str, valid: list[str], *, top_level: bool
) -> ConfigError:
    if top_level and key == "tool" and file.name == SHIPYARD_TOML:
        return ConfigError(
            f"{file}: unknown key {path} — shipyard.toml takes the settings at top level",
            hint="drop the [tool.shipyard] header",
        )
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return ConfigError(f"{file}: unknown key {path} — did you mean {close[0]!r}?")
    return ConfigError(f"{file}: unknown key {path}", hint=f"valid keys: {', '.join(valid)}")


def _show(value: Any) -> str:
    """A value as TOML would spell it, shortened: "eighty", 80, true, an array, a table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"
