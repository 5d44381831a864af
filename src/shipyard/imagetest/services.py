"""Backing services for `shipyard test`: a throwaway PostgreSQL when the app needs one.

Why: the SQLite DATABASE_URL the test gives by default (shipyard.appenv) is not enough
for an app whose migrations speak PostgreSQL only (`SELECT last_value FROM
django_site_id_seq` in a cookiecutter-django project). So when the image's label asks
for a database URL, the image carries a PostgreSQL driver, and a PostgreSQL image is
available locally, the test starts one on a fresh *internal* network (no way out, no
published port), waits until it is ready, and points the variable at it. Each app
container gets its own database, so the hardened container and the writable probe do
not race each other's migrations. Otherwise today's SQLite value stays.

The decision is pure (`decide`); `throwaway_postgres` is the engine part, and always
removes its container and network, on failure too.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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
