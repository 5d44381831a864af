"""What compose.yaml needs for the backing services and workers (pure: data for the template).

Why here and not in the template: every value the app reads is made the same way init's
label and `shipyard test` make it (shipyard.backing), with the password left to compose's
`${NAME:?...}` interpolation from `.env`, so no credential is ever written into
compose.yaml or the image. The template only lays the result out.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from shipyard.backing import DATABASE, KINDS, PASSWORD_HINT, USER, Backing, Services, Worker

NETWORK = "backing"
"""The internal compose network of the backing services: no route out, no published port."""


@dataclass(frozen=True)
class ServerBlock:
    """One backing service as the template writes it."""

    name: str
    image: str
    title: str
    volume: str
    data_path: str
    environment: tuple[tuple[str, str], ...]
    healthcheck: str  # CMD-SHELL text, `$` doubled for compose
    tmpfs: tuple[str, ...]


@dataclass(frozen=True)
class WorkerBlock:
    name: str
    command: tuple[str, ...]
    reason: str
    stop_signal: str
    stop_grace: int
    environment: tuple[tuple[str, str], ...]
    healthcheck: tuple[str, ...]


@dataclass(frozen=True)
class ComposeServices:
    servers: tuple[ServerBlock, ...]
    app_environment: tuple[tuple[str, str], ...]  # what web (and the workers) read
    workers: tuple[WorkerBlock, ...]

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.servers)


def password_reference(variable: str) -> str:
    """Compose interpolation of a password from .env; a missing one stops `up` with a hint."""
    return "${" + variable + ":?set " + variable + " " + PASSWORD_HINT + "}"


def compose_services(services: Services) -> ComposeServices:
    servers = tuple(_server(b) for b in services.backing)
    app_env: dict[str, str] = {}
    for backing in services.backing:
        spec = backing.spec
        password = password_reference(spec.password_variable) if spec.password_variable else ""
        for wire in backing.wires:
            app_env.setdefault(wire.name, spec.value(wire.form, spec.name, password))
    workers = tuple(_worker(w, services.backing, app_env) for w in services.workers)
    return ComposeServices(servers, tuple(app_env.items()), workers)


def _server(backing: Backing) -> ServerBlock:
    spec = backing.spec
    env = []
    for name, form in spec.server_env:
        value = {"user": USER, "name": DATABASE,
                 "password": password_reference(spec.password_variable or "")}.get(form, form)
        env.append((name, value))
    return ServerBlock(spec.name, spec.image, spec.title, f"{spec.name}-data", spec.data_path,
                       tuple(env), spec.healthcheck[0].replace("$", "$$"), spec.tmpfs)


def _worker(worker: Worker, backing: tuple[Backing, ...],
            app_env: dict[str, str]) -> WorkerBlock:
    extra: dict[str, str] = {}
    redis = next((b for b in backing if b.kind == "redis"), None)
    for name, form in worker.env:
        if name not in app_env and redis is not None:
            extra[name] = KINDS["redis"].value(form, "redis", "")
    return WorkerBlock(worker.name, tuple(word.replace("$", "$$") for word in worker.command),
                       worker.reason, worker.stop_signal, worker.stop_grace,
                       tuple({**app_env, **extra}.items()),
                       ("CMD", *(word.replace("$", "$$") for word in worker.healthcheck)))


_ASSIGNED = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", re.M)


def env_file_lines(services: Services, current: str) -> str:
    """The `.env` lines init adds: a random password for each backing service that has
    one and that .env does not set yet (an existing value is never replaced: the data
    volume was initialised with it). Hex, so it is safe inside a URL."""
    present = set(_ASSIGNED.findall(current))
    lines = []
    for backing in services.backing:
        variable = backing.spec.password_variable
        if variable and variable not in present:
            present.add(variable)
            lines.append(f"{variable}={secrets.token_hex(24)}\n")
    return "".join(lines)
