"""Backing services for `shipyard test`: the servers the app needs, thrown away afterwards.

An image `shipyard init` made for an app with backing services carries their list
(shipyard.backing.LABEL: PostgreSQL, MySQL, Redis and the variables that reach them);
`throwaway_backing` starts each of those on one internal network, waits for the same
healthcheck compose.yaml gives it, and fills the variables — so the app's migrations run
against the real server (`plan_backing` is the pure decision). Images without that label
(built before it) get the older rule, below.

Why: the SQLite DATABASE_URL the test gives by default (shipyard.appenv) is not enough
for an app whose migrations speak PostgreSQL only (`SELECT last_value FROM
django_site_id_seq` in a cookiecutter-django project). So when the image's label asks
for a database URL, the image carries a PostgreSQL driver, and a PostgreSQL image is
available locally, the test starts one on a fresh *internal* network (no way out, no
published port), waits until it is ready, and points the variable at it. Each app
container gets its own database, so the hardened container and the writable probe do
not race each other's migrations. Otherwise today's SQLite value stays.

The decision is pure (`decide`); `throwaway_postgres` is the engine part. Both engine
parts always remove their containers and network, on failure too.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from shipyard.backing import DATABASE, Backing
from shipyard.backing import USER as BACKING_USER
from shipyard.errors import ShipyardError
from shipyard.tools.docker import Docker

DATABASE_KINDS = frozenset({"db", "postgres"})
POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2-binary", "asyncpg"})
ALIAS = "postgres"
USER = "shipyard"
APP_DB = "shipyard"
PROBE_DB = "shipyard_probe"
READY_SECONDS = 60.0

_DIST_INFO = re.compile(r"(?:^|/)(?:site|dist)-packages/([^/]+?)-[^/-]+\.dist-info/METADATA$")


def normalize(name: str) -> str:
    """PEP 503 name: `psycopg2_binary` and `Psycopg2-Binary` are `psycopg2-binary`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(paths: Iterable[str]) -> frozenset[str]:
    """Normalized names of the Python distributions installed in the image, from the
    `*.dist-info/METADATA` paths every installer writes."""
    found = set()
    for path in paths:
        match = _DIST_INFO.search(path)
        if match:
            found.add(normalize(match.group(1)))
    return frozenset(found)


@dataclass(frozen=True)
class Decision:
    """Which variables get a throwaway PostgreSQL URL (empty: keep SQLite), and why
    (reason: a report note; empty when no database URL was asked for)."""

    variables: tuple[str, ...]
    reason: str

    @property
    def postgres(self) -> bool:
        return bool(self.variables)


def decide(missing: Sequence[tuple[str, str]], installed: Iterable[str],
           image: str, image_available: bool) -> Decision:
    """missing: (name, kind) the label asks for and the config does not give."""
    names = tuple(name for name, kind in missing if kind in DATABASE_KINDS)
    if not names:
        return Decision((), "")
    drivers = sorted(POSTGRES_DRIVERS & {normalize(n) for n in installed})
    if not drivers:
        return Decision((), f"SQLite for {', '.join(names)}: no PostgreSQL driver "
                            f"({', '.join(sorted(POSTGRES_DRIVERS))}) in the image")
    if not image_available:
        return Decision((), f"SQLite for {', '.join(names)}: the image has {drivers[0]} but "
                            f"{image} is not available locally (set [tool.shipyard.test] "
                            "postgres_image)")
    return Decision(names, f"a throwaway PostgreSQL ({image}) for {', '.join(names)}, "
                           f"because the image has {drivers[0]}")


@dataclass(frozen=True)
class Postgres:
    """A running throwaway server: the network to attach to, URLs per database."""

    network: str
    password: str

    def url(self, database: str) -> str:
        return f"postgres://{USER}:{self.password}@{ALIAS}:5432/{database}"


@contextmanager
def throwaway_postgres(docker: Docker, image: str, *,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> Iterator[Postgres]:
    """Start `image` on a new internal network, wait for pg_isready, create the probe's
    database; remove the container and the network afterwards, whatever happened."""
    tag = secrets.token_hex(5)
    network = f"shipyard-test-{tag}"
    container = f"shipyard-test-{tag}-postgres"
    password = secrets.token_hex(16)
    docker.run(["network", "create", "--internal", "--label", "org.shipyard.test=1", network],
               timeout=60)
    try:
        docker.run(["run", "-d", "--name", container, "--label", "org.shipyard.test=1",
                    "--network", network, "--network-alias", ALIAS,
                    "-e", f"POSTGRES_PASSWORD={password}", "-e", f"POSTGRES_USER={USER}",
                    "-e", f"POSTGRES_DB={APP_DB}", image], timeout=120)
        _wait_ready(docker, container, clock, sleep)
        docker.run(["exec", container, "psql", "-v", "ON_ERROR_STOP=1", "-U", USER,
                    "-d", APP_DB, "-qc", f'CREATE DATABASE "{PROBE_DB}"'], timeout=60)
        yield Postgres(network, password)
    finally:
        docker.remove_containers([container])
        docker.run(["network", "rm", network], check=False)


def _wait_ready(docker: Docker, container: str, clock: Callable[[], float],
                sleep: Callable[[float], None]) -> None:
    """Until pg_isready answers over TCP (the socket answers during initdb's temporary
    server, TCP only once the real one listens)."""
    deadline = clock() + READY_SECONDS
    while True:
        ready = docker.run(["exec", container, "pg_isready", "-h", "127.0.0.1", "-U", USER,
                            "-d", APP_DB], check=False, timeout=30)
        if ready.ok:
            return
        if clock() > deadline:
            raise ShipyardError(f"the throwaway PostgreSQL ({container}) was not ready after "
                                f"{READY_SECONDS:.0f} s: {docker.logs(container, tail=5)}")
        sleep(0.5)


def database_env(decision: Decision, server: Postgres) -> tuple[dict[str, str], dict[str, str]]:
    """(env for the hardened container, env overrides for the writable probe)."""
    return ({name: server.url(APP_DB) for name in decision.variables},
            {name: server.url(PROBE_DB) for name in decision.variables})


# -- every backing service the image's label names (shipyard.backing) ----------------------------


@dataclass(frozen=True)
class Started:
    """Throwaway servers on one internal network: the env for the hardened container, the
    overrides for the writable probe (its own database), and the report note."""

    network: str
    app_env: dict[str, str]
    probe_env: dict[str, str]
    note: str


def plan_backing(labelled: Sequence[Backing], installed: Iterable[str],
                 image_for: Callable[[str], str], available: Callable[[str], bool]
                 ) -> tuple[tuple[Backing, ...], list[str]]:
    """The labelled services that can start here, and a note for each that cannot."""
    usable, notes = [], []
    for item in labelled:
        image = image_for(item.kind)
        if available(image):
            usable.append(item)
        else:
            names = ", ".join(w.name for w in item.wires) or item.kind
            if item.kind == "redis":
                notes.append(f"no throwaway Redis for {names}: {image} is not available"
                             " locally (pull it)")
            else:  # the test's own default value for a database URL stays
                hint = ", or set [tool.shipyard.test] postgres_image" \
                    if item.kind == "postgres" else ""
                notes.append(f"SQLite for {names}: the image needs {item.spec.title}, but"
                             f" {image} is not available locally (pull it{hint})")
    drivers = sorted(POSTGRES_DRIVERS & {normalize(n) for n in installed})
    if drivers and any(b.kind == "postgres" for b in usable):
        notes = [*notes, f"the image has {drivers[0]}"]
    return tuple(usable), notes


@contextmanager
def throwaway_backing(docker: Docker, labelled: Sequence[Backing],
                      image_for: Callable[[str], str], *,
                      clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> Iterator[Started]:
    """Start each service on a new internal network (alias: its kind), wait for its own
    healthcheck, give the probe its own database; remove everything afterwards."""
    tag = secrets.token_hex(5)
    network = f"shipyard-test-{tag}"
    containers: list[str] = []
    docker.run(["network", "create", "--internal", "--label", "org.shipyard.test=1", network],
               timeout=60)
    try:
        app_env: dict[str, str] = {}
        probe_env: dict[str, str] = {}
        shown = []
        for item in labelled:
            spec, image = item.spec, image_for(item.kind)
            password = secrets.token_hex(16) if spec.password_variable else ""
            container = f"shipyard-test-{tag}-{spec.name}"
            argv = ["run", "-d", "--name", container, "--label", "org.shipyard.test=1",
                    "--network", network, "--network-alias", spec.name]
            for name, form in spec.server_env:
                value = {"user": BACKING_USER, "name": DATABASE, "password": password}.get(
                    form, form)
                argv += ["-e", f"{name}={value}"]
            containers.append(container)
            docker.run([*argv, image], timeout=120)
            _wait_healthy(docker, container, spec.title, spec.healthcheck[0], clock, sleep)
            probe_db = DATABASE
            if item.kind == "postgres":
                probe_db = f"{DATABASE}_probe"
                docker.run(["exec", container, "psql", "-v", "ON_ERROR_STOP=1", "-U",
                            BACKING_USER, "-d", DATABASE, "-qc",
                            f'CREATE DATABASE "{probe_db}"'], timeout=60)
            for wire in item.wires:
                app_env.setdefault(wire.name, spec.value(wire.form, spec.name, password))
                probe_env.setdefault(wire.name,
                                     spec.value(wire.form, spec.name, password, probe_db))
            shown.append(f"{spec.title} ({image}) for "
                         f"{', '.join(w.name for w in item.wires) or 'its variables'}")
        note = f"throwaway {'; '.join(shown)} (network {network}, removed afterwards)"
        yield Started(network, app_env, probe_env, note)
    finally:
        docker.remove_containers(containers)
        docker.run(["network", "rm", network], check=False)


def _wait_healthy(docker: Docker, container: str, title: str, check: str,
                  clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    """Until the service's own healthcheck (the one compose.yaml gives it) passes."""
    deadline = clock() + READY_SECONDS
    while True:
        if docker.run(["exec", container, "sh", "-c", check], check=False, timeout=30).ok:
            return
        if clock() > deadline:
            raise ShipyardError(f"the throwaway {title} ({container}) was not ready after "
                                f"{READY_SECONDS:.0f} s: {docker.logs(container, tail=5)}")
        sleep(0.3)
