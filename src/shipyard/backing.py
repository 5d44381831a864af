"""Backing services (PostgreSQL, MySQL, Redis) as init, test and the compose file share them.

Why a neutral module: `shipyard init` finds which servers an app needs and which of its
environment variables point at them (shipyard.detect.backing), writes them into
compose.yaml and into an image label; `shipyard test IMAGE` reads that label and starts
throwaway copies of the same servers (shipyard.imagetest.services). Neither stage may
import the other, so both meet here: the images, the ports, the healthchecks, and how a
variable's value is made from a host, a password and a database name.

A *wire* is one variable the settings read and the form of its value: a whole URL
(`DATABASE_URL`, `CELERY_BROKER_URL`), one part of it (`POSTGRES_HOST`, `DB_PASSWORD`),
or the switch that selects the server (`DB=postgres`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABEL = "org.shipyard.services"
"""Image label: `kind:NAME=form,NAME=form ...` words, one per backing service (names only)."""

ROLE_LABEL = "org.shipyard.role"
"""Compose service label the host agent reads: `backing` (created once, never recreated by
an app deploy) or `worker` (updated with the app, after it, drained on SIGTERM)."""

PASSWORD_HINT = "in .env (shipyard init and shipyard host setup write a random one)"  # noqa: S105
"""The end of compose's `${NAME:?set NAME ...}` error for a backing service's password; host
setup finds the variables to generate by it (shipyard.deploy.setup_passwords)."""

FORMS = frozenset({"url", "host", "port", "user", "password", "name"})
SWITCH = "is:"
"""A form `is:VALUE`: the variable holds VALUE itself, the switch that makes the settings
use this server at all (`DB=postgres` in `if os.getenv("DB") == "postgres":`)."""
_SWITCH_VALUE = re.compile(r"[A-Za-z0-9_.+-]+")
USER = "app"
DATABASE = "app"


@dataclass(frozen=True)
class Kind:
    """One kind of server: the official image (major version pinned) and how to run it."""

    name: str  # the compose service name and network alias, too
    image: str
    port: int
    scheme: str
    data_path: str
    healthcheck: tuple[str]  # shell text: compose's CMD-SHELL (with $ doubled), `docker exec sh -c`
    password_variable: str | None  # the .env variable with its password (None: no password)
    server_env: tuple[tuple[str, str], ...]  # the image's own variables: (name, form or value)
    title: str
    tmpfs: tuple[str, ...] = ("/tmp", "/run")  # noqa: S108 - writable paths on a read-only root

    def url(self, host: str, password: str, database: str = DATABASE) -> str:
        if self.password_variable is None:
            return f"{self.scheme}://{host}:{self.port}/0"
        return f"{self.scheme}://{USER}:{password}@{host}:{self.port}/{database}"

    def value(self, form: str, host: str, password: str, database: str = DATABASE) -> str:
        """What a variable of this form holds: the whole URL, one part, or a switch's value."""
        if form.startswith(SWITCH):
            return form.removeprefix(SWITCH)
        parts = {"url": self.url(host, password, database), "host": host,
                 "port": str(self.port), "user": USER if self.password_variable else "",
                 "password": password if self.password_variable else "",
                 "name": database if self.password_variable else "0"}
        return parts[form]


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("postgres", "postgres:15-bookworm", 5432, "postgres", "/var/lib/postgresql/data",
         ('pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',),
         "POSTGRES_PASSWORD",
         (("POSTGRES_USER", "user"), ("POSTGRES_PASSWORD", "password"), ("POSTGRES_DB", "name")),
         "PostgreSQL"),
    Kind("mysql", "mysql:8.4", 3306, "mysql", "/var/lib/mysql",
         ('mysqladmin ping -h 127.0.0.1 -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" --silent',),
         "MYSQL_PASSWORD",
         (("MYSQL_USER", "user"), ("MYSQL_PASSWORD", "password"), ("MYSQL_DATABASE", "name"),
          ("MYSQL_RANDOM_ROOT_PASSWORD", "yes")),
         "MySQL", ("/tmp", "/run", "/var/run/mysqld")),  # noqa: S108
    Kind("redis", "redis:7-bookworm", 6379, "redis", "/data",
         ("redis-cli -h 127.0.0.1 ping | grep -q PONG",), None, (), "Redis"),
)}


@dataclass(frozen=True)
class Wire:
    """One variable of the app's settings and what it holds (see FORMS)."""

    name: str
    form: str
    where: str = ""  # file:line of the read, for --dry-run


@dataclass(frozen=True)
class Backing:
    """A server the app needs, the variables that reach it, and why (for --dry-run)."""

    kind: str
    wires: tuple[Wire, ...]
    reason: str

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]


LIVENESS = ("python", "-c", "import os; os.kill(1, 0)")


@dataclass(frozen=True)
class Worker:
    """A process besides the web server, run from the app image with another command."""

    name: str  # compose service name: "worker", "scheduler"
    command: tuple[str, ...]
    reason: str
    stop_signal: str = "SIGTERM"
    stop_grace: int = 60  # seconds a job may take to finish (or requeue) after the signal
    healthcheck: tuple[str, ...] = LIVENESS
    """The worker has no HTTP port, so the image's HTTP check would call it unhealthy:
    Celery answers a ping through the broker; others: PID 1 (the worker) is alive."""
    env: tuple[tuple[str, str], ...] = ()  # extra variables: (name, form) of the first backing


@dataclass(frozen=True)
class Services:
    """What `shipyard init` adds next to the web service."""

    backing: tuple[Backing, ...] = ()
    workers: tuple[Worker, ...] = ()
    decisions: tuple[str, ...] = ()  # every decision and its reason, for --dry-run

    def __bool__(self) -> bool:
        return bool(self.backing or self.workers)


def encode(backing: tuple[Backing, ...]) -> str:
    """The label value: `postgres:DATABASE_URL=url redis:REDIS_URL=url,CACHE_HOST=host`."""
    return " ".join(f"{b.kind}:" + ",".join(f"{w.name}={w.form}" for w in b.wires)
                    for b in backing)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def decode(text: str) -> tuple[Backing, ...]:
    """Backings from the label; unknown kinds, forms and odd words are skipped."""
    found = []
    for word in text.split():
        kind, _, rest = word.partition(":")
        if kind not in KINDS:
            continue
        wires = []
        for item in rest.split(","):
            name, _, form = item.partition("=")
            if _NAME.fullmatch(name) and (form in FORMS or (form.startswith(SWITCH) and
                                                            _SWITCH_VALUE.fullmatch(
                                                                form.removeprefix(SWITCH)))):
                wires.append(Wire(name, form))
        found.append(Backing(kind, tuple(wires), "the image's label"))
    return tuple(found)
