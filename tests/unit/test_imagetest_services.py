"""The backing-services decision (shipyard.imagetest.services): PostgreSQL or SQLite, as a
table, and the argv the app containers get when a services network is attached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from test_imagetest_runtime import HEALTHY, FakeDocker, run_fake

from shipyard.errors import ShipyardError
from shipyard.imagetest.runtime import RunSettings, container_argv, smoke_argv
from shipyard.imagetest.services import (
    Postgres,
    database_env,
    decide,
    distributions,
    throwaway_postgres,
)
from shipyard.tools.docker import DockerError
from shipyard.tools.process import Result

IMAGE = "postgres:15-bookworm"
SITE = "app/.venv/lib/python3.12/site-packages"


@pytest.mark.parametrize(("missing", "installed", "available", "variables"), [
    ([("DATABASE_URL", "db")], {"psycopg2-binary"}, True, ("DATABASE_URL",)),
    ([("DATABASE_URL", "postgres")], {"psycopg"}, True, ("DATABASE_URL",)),
    ([("DATABASE_URL", "db")], {"asyncpg", "django"}, True, ("DATABASE_URL",)),
    ([("DATABASE_URL", "db")], {"Psycopg2"}, True, ("DATABASE_URL",)),
    ([("DATABASE_URL", "db"), ("SECRET_KEY", "str")], {"psycopg2"}, True, ("DATABASE_URL",)),
    ([("DATABASE_URL", "db")], {"django"}, True, ()),  # no driver: SQLite
    ([("DATABASE_URL", "db")], {"psycopg2-binary"}, False, ()),  # no image: SQLite
    ([("DATABASE_URL", "db")], set(), False, ()),
    ([("SECRET_KEY", "str"), ("CACHE_URL", "cache")], {"psycopg"}, True, ()),  # no db kind
    ([], {"psycopg"}, True, ()),
])
def test_decide(missing: list[tuple[str, str]], installed: set[str], available: bool,
                variables: tuple[str, ...]) -> None:
    decision = decide(missing, installed, IMAGE, available)
    assert decision.variables == variables
    assert decision.postgres == bool(variables)
    if variables:
        assert IMAGE in decision.reason
    elif any(kind in ("db", "postgres") for _, kind in missing):
        assert decision.reason.startswith("SQLite for DATABASE_URL")
    else:
        assert decision.reason == ""


def test_reason_names_what_is_missing() -> None:
    assert "no PostgreSQL driver" in decide([("DATABASE_URL", "db")], {"django"}, IMAGE,
                                            True).reason
    assert "postgres_image" in decide([("DATABASE_URL", "db")], {"psycopg"}, IMAGE,
                                      False).reason


def test_distributions_from_dist_info() -> None:
    paths = [f"{SITE}/psycopg2_binary-2.9.10.dist-info/METADATA",
             f"{SITE}/psycopg2_binary-2.9.10.dist-info/RECORD",
             f"{SITE}/Django-5.1.dist-info/METADATA",
             "usr/lib/python3/dist-packages/asyncpg-0.29.0.dist-info/METADATA",
             f"{SITE}/psycopg/__init__.py",  # a package directory is not a distribution
             "usr/share/doc/psycopg-3.2.dist-info/METADATA"]  # not in site-packages
    assert distributions(paths) == {"psycopg2-binary", "django", "asyncpg"}


def test_each_app_container_gets_its_own_database() -> None:
    decision = decide([("DATABASE_URL", "db")], {"psycopg"}, IMAGE, True)
    app, probe = database_env(decision, Postgres("shipyard-test-n", "pw"))
    assert app == {"DATABASE_URL": "postgres://shipyard:pw@postgres:5432/shipyard"}
    assert probe == {"DATABASE_URL": "postgres://shipyard:pw@postgres:5432/shipyard_probe"}


def test_with_a_services_network_the_containers_are_created_then_started() -> None:
    settings = RunSettings(image="app:1", env={"DATABASE_URL": "postgres://a"},
                           probe_env={"DATABASE_URL": "postgres://b"})
    plain = container_argv(settings, "n", read_only=True)
    assert plain[:2] == ["run", "-d"]
    networked = container_argv(replace(settings, network="net"), "n", read_only=True)
    assert networked[0] == "create" and networked[1:] == plain[2:]
    assert "DATABASE_URL=postgres://a" in plain
    assert "DATABASE_URL=postgres://b" in container_argv(settings, "n", read_only=False)
    assert "DATABASE_URL=postgres://a" not in container_argv(settings, "n", read_only=False)


class NetworkedFakeDocker(FakeDocker):
    """FakeDocker that also knows `create`, `network connect` and `start`."""

    def __init__(self, *, connect_error: str = "") -> None:
        super().__init__(HEALTHY)
        self.connect_error = connect_error

    def run(self, args: Sequence[str], *, check: bool = True, **kw: object) -> Result:
        argv = list(args)
        if argv[0] == "create":
            self.started.append(argv[argv.index("--name") + 1])
        if argv[:2] == ["network", "connect"] and self.connect_error:
            self.calls.append(argv)
            raise DockerError(Result(tuple(argv), 1, "", self.connect_error))
        return super().run(args, check=check, **kw)


def test_runner_connects_the_services_network_before_the_app_starts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    docker = NetworkedFakeDocker()
    got = run_fake(docker, monkeypatch, network="net")
    assert got["runtime.healthy"].status == "pass"
    verbs = [c[0] if c[0] != "network" else " ".join(c[:3]) for c in docker.calls
             if c[0] in ("create", "network", "start", "run")]
    assert verbs == ["create", "network connect net", "start"] * 2


def test_runner_removes_a_container_whose_network_cannot_be_connected(
        monkeypatch: pytest.MonkeyPatch) -> None:
    docker = NetworkedFakeDocker(connect_error="network net not found")
    got = run_fake(docker, monkeypatch, network="net")  # asserts nothing is left behind
    assert got["runtime.healthy"].status == "fail"
    assert "network net not found" in got["runtime.healthy"].reason


def test_smoke_joins_only_the_services_network() -> None:
    settings = RunSettings(image="app:1", smoke=("python", "-V"))
    assert smoke_argv(settings)[smoke_argv(settings).index("--network") + 1] == "none"
    networked = smoke_argv(replace(settings, network="net"))
    assert networked[networked.index("--network") + 1] == "net"


class PostgresFakeDocker:
    """Records the engine calls of throwaway_postgres; pg_isready answers when told."""

    def __init__(self, *, ready: bool) -> None:
        self.ready = ready
        self.calls: list[list[str]] = []
        self.removed: list[str] = []

    def run(self, args: Sequence[str], *, check: bool = True, **_: object) -> Result:
        self.calls.append(list(args))
        code = 1 if args[0] == "exec" and "pg_isready" in args and not self.ready else 0
        return Result(tuple(args), code, "", "")

    def logs(self, name: str, tail: int = 50) -> str:
        return "FATAL: could not start"

    def remove_containers(self, refs: Sequence[str]) -> None:
        self.removed += refs


def _throwaway(docker: PostgresFakeDocker) -> Postgres:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with throwaway_postgres(docker, IMAGE, clock=lambda: clock[0],  # type: ignore[arg-type]
                            sleep=sleep) as server:
        started = docker.calls[1]
        assert started[started.index("--network") + 1] == server.network
        assert f"POSTGRES_PASSWORD={server.password}" in started
        return server


def test_throwaway_postgres_is_removed_with_its_network() -> None:
    docker = PostgresFakeDocker(ready=True)
    server = _throwaway(docker)
    assert docker.calls[0][:3] == ["network", "create", "--internal"]
    assert docker.removed == [f"{server.network}-postgres"]
    assert docker.calls[-1] == ["network", "rm", server.network]


def test_a_postgres_that_never_gets_ready_is_removed_too() -> None:
    docker = PostgresFakeDocker(ready=False)
    with pytest.raises(ShipyardError, match="not ready after 60 s: FATAL"):
        _throwaway(docker)
    network = docker.calls[0][-1]
    assert docker.removed == [f"{network}-postgres"]
    assert docker.calls[-1] == ["network", "rm", network]
