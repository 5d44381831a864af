"""Project configuration: `[tool.shipyard]` in pyproject.toml, or a top-level shipyard.toml.

Why strict: a misspelt key silently falling back to a default is how a
deploy ends up on the wrong port or pushed to the wrong repository. So every
key is checked, unknown keys are errors that name the file and the full key
path and suggest the closest valid key, and wrong types say what was
expected and what was found. Errors are ConfigError, never a traceback.

Why the schema is the dataclass: the set of valid keys, their types and
their defaults are read from `Config`'s fields (strictconfig.parse_table, the generic
machinery, in its own module), so adding a setting is adding a field — a nested frozen
dataclass becomes a TOML table (section), and a field's metadata may hold a `parse` or
`check` function for rules a type cannot express. Fields marked `metadata={"key": False}`
are facts about the load, not settings. This module is the sections and their rules.

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
* builder "docker": BuildKit through the local engine is what developers have;
  "buildah" is for CI runners that must not be privileged (and gives one digest
  per commit).
* moving_tags ["main", "master"]: the usual default branches get a moving
  tag; other branches opt in. A list gives each branch a tag named after it;
  a table maps branch → tag (``{ develop = "edge" }``); [] turns them off.
* port 8000 (gunicorn/uvicorn's default); health_path unset: `init` finds the app's
  health route (else probes / and counts any answer below 500), and `test` reads the
  path from the image's ENV (HEALTHCHECK_PATH).
* command: none — `init` picks the server command (shipyard.detect.startcommand).
* build_packages, runtime_packages: none. Debian packages `shipyard init` adds to
  the builder (headers) and the runtime stage (libraries) on top of what it
  detects — the escape hatch when detection misses one.
* environments: none. `[tool.shipyard.environments.staging]` names a deploy
  target (`target`, `known_hosts`, `key`, `allow_tags`), or a fleet (`targets`, `batch`,
  `wait`); CI variables may supply the same values instead (shipyard.deploy.target).
* test: `[tool.shipyard.test]` for `shipyard test IMAGE` (TestConfig): port and
  health_path default to the top-level ones; volume /data; health within 120 s;
  10 s SIGTERM grace; no smoke or acceptance command unless given.
* check: `[tool.shipyard.check]` for `shipyard check` (CheckConfig): ignore no rule,
  fail on errors only (`severity = "warning"` fails on warnings too).
* frontend: `[tool.shipyard.frontend]` (FrontendConfig): a JavaScript build stage
  whenever a package.json `build` script and a lock are found; the image by package
  manager and Node version; `enabled = false` for projects whose build is not for the image.
* tls: `[tool.shipyard.tls]` (shipyard.edgetls.TlsConfig): off; when enabled, the proxy
  terminates TLS with certificate files mounted read-only from the host; HSTS off.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config_sections import DEPLOY_REQUESTS as DEPLOY_REQUESTS
from shipyard.config_sections import CheckConfig as CheckConfig
from shipyard.config_sections import Environment as Environment
from shipyard.config_sections import FrontendConfig as FrontendConfig
from shipyard.config_sections import TestConfig as TestConfig
from shipyard.config_sections import (
    _check_health_path,
    _check_not_empty,
    _check_port,
    _parse_command,
)
from shipyard.edgetls import TlsConfig as TlsConfig
from shipyard.errors import ConfigError
from shipyard.image.labels import LABEL_BUILD_ARGS
from shipyard.image.tags import TAG_PATTERN, sanitize_tag_part, split_registry
from shipyard.strictconfig import SHIPYARD_TOML as SHIPYARD_TOML
from shipyard.strictconfig import Invalid as _Invalid
from shipyard.strictconfig import parse_table as parse_table
from shipyard.strictconfig import read_toml as _read_toml
from shipyard.strictconfig import show as _show
from shipyard.strictconfig import string_list as _string_list
from shipyard.strictconfig import string_table as _string_table
from shipyard.uvworkspace import find_workspace

PYPROJECT = "pyproject.toml"

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


BUILDERS = ("docker", "buildah")


def _check_builder(value: str) -> str | None:
    return None if value in BUILDERS else \
        f"must be one of {', '.join(BUILDERS)}, got {_show(value)}"


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
    builder: str = field(default="docker", metadata={"check": _check_builder})
    """`docker` (BuildKit through the engine) or `buildah` (daemonless, unprivileged; its
    `--timestamp` makes two builds of one commit the same digest)."""
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
    command: tuple[str, ...] = field(default=(), metadata={"parse": _parse_command})
    """The server command the entrypoint execs after the migrations (one word per item;
    `${PORT}` and other `${NAME}` expand from the container's environment). Empty: init's
    own (gunicorn/uvicorn, a Procfile web: line, the console script's options)."""
    environments: Mapping[str, Environment] = field(
        default_factory=lambda: types.MappingProxyType({}))
    """Deploy targets by name (`shipyard deploy NAME`)."""
    test: TestConfig = field(default_factory=TestConfig)
    check: CheckConfig = field(default_factory=CheckConfig)
    """`shipyard test IMAGE` settings."""
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    """The JavaScript build stage `init` writes (FrontendConfig)."""
    tls: TlsConfig = field(default_factory=TlsConfig)
    """TLS at the edge: the proxy in compose.yaml terminates it (shipyard.edgetls)."""

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




def _default_image(pyproject: Mapping[str, Any], project_dir: Path) -> str:
    """The project name as a repository name: PEP 503-normalised, then made Docker-valid."""
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name.strip():
        name = project_dir.resolve().name
    normal = re.sub(r"[-_.]+", "-", name).lower()
    normal = re.sub(r"[^a-z0-9-]+", "-", normal)
    return re.sub(r"-{2,}", "-", normal).strip("-") or "app"
