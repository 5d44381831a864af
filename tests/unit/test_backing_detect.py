"""Detection of backing services and workers (shipyard.detect.backing), as tables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shipyard.backing import Services, decode, encode
from shipyard.detect import detect
from shipyard.detect.backing import configured, detect_services
from shipyard.detect.envvars import EnvRead, scan_file

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def read(name: str, kind: str = "str") -> EnvRead:
    return EnvRead(name, "settings.py", 1, f'os.environ["{name}"]', kind, raises=True)


def services(deps: set[str], reads: list[EnvRead], texts: dict[str, str] | None = None,
             tmp_path: Path = Path("/nonexistent"), manage_py: str | None = None) -> Services:
    files = {tmp_path / name: text for name, text in (texts or {}).items()}
    return detect_services(tmp_path, dependency_names=deps, env_reads=reads, texts=files,
                           manage_py=manage_py)


@pytest.mark.parametrize(("deps", "reads", "expected"), [
    ({"psycopg2-binary"}, [read("DATABASE_URL", "db")], [("postgres", "DATABASE_URL=url")]),
    ({"asyncpg"}, [read("SQLALCHEMY_DATABASE_URI")], [("postgres", "SQLALCHEMY_DATABASE_URI=url")]),
    ({"pymysql"}, [read("DB_HOST"), read("DB_PASSWORD")],
     [("mysql", "DB_HOST=host,DB_PASSWORD=password")]),
    ({"psycopg"}, [read("POSTGRES_SERVER"), read("POSTGRES_DB")],
     [("postgres", "POSTGRES_SERVER=host,POSTGRES_DB=name")]),
    ({"redis"}, [read("REDIS_URL")], [("redis", "REDIS_URL=url")]),
    ({"django-redis"}, [read("CACHE_URL", "cache")], [("redis", "CACHE_URL=url")]),
    ({"redis"}, [read("REDIS_HOST"), read("REDIS_PORT")],
     [("redis", "REDIS_HOST=host,REDIS_PORT=port")]),
    ({"psycopg", "redis"}, [read("DATABASE_URL", "db"), read("CELERY_BROKER_URL")],
     [("postgres", "DATABASE_URL=url"), ("redis", "CELERY_BROKER_URL=url")]),
    # a driver but no variable to carry the address: nothing to wire, no service
    ({"psycopg2"}, [read("SECRET_KEY")], []),
    # a variable but no driver: SQLite stays
    (set(), [read("DATABASE_URL", "db")], []),
])
def test_servers_and_wires(deps: set[str], reads: list[EnvRead],
                           expected: list[tuple[str, str]]) -> None:
    found = services(deps, reads)
    assert [(b.kind, ",".join(f"{w.name}={w.form}" for w in b.wires))
            for b in found.backing] == expected
    assert all(d for d in found.decisions)  # every decision has its sentence


def test_a_driver_without_a_variable_is_explained() -> None:
    found = services({"psycopg2"}, [read("SECRET_KEY")])
    assert any("no PostgreSQL service" in d and "psycopg2" in d for d in found.decisions)


def test_both_sql_drivers_follow_the_settings(tmp_path: Path) -> None:
    found = services({"psycopg2", "pymysql"}, [read("DATABASE_URL", "db")],
                     {"settings.py": 'ENGINE = "django.db.backends.mysql"\n'}, tmp_path)
    assert [b.kind for b in found.backing] == ["mysql"]


@pytest.mark.parametrize(("deps", "texts", "manage", "expected"), [
    ({"celery", "redis"}, {"proj/celery.py": "from celery import Celery\napp = Celery('p')\n"},
     None, [("worker", "celery -A proj.celery worker --loglevel=INFO")]),
    ({"celery", "redis"}, {"tasks.py": "from celery import Celery\nqueue = Celery('p')\n"
                                      "queue.conf.beat_schedule = {}\n"},
     None, [("worker", "celery -A tasks:queue worker --loglevel=INFO"),
            ("scheduler", "celery -A tasks:queue beat --loglevel=INFO --schedule "
                          "/tmp/celerybeat-schedule")]),
    ({"celery", "redis", "django-celery-beat"}, {"cfg/celery_app.py": "app = Celery('x')\n"},
     "manage.py", [("worker", "celery -A cfg.celery_app worker --loglevel=INFO"),
                   ("scheduler", "celery -A cfg.celery_app beat --loglevel=INFO --scheduler "
                                 "django_celery_beat.schedulers:DatabaseScheduler")]),
    ({"rq", "redis"}, {"app.py": "q = rq.Queue('emails', connection=r)\n"}, None,
     [("worker", "rq worker emails")]),
    ({"rq", "redis"}, {"app.py": "x = 1\n"}, None, [("worker", "rq worker")]),
    ({"django-rq", "redis"}, {}, "manage.py", [("worker", "python manage.py rqworker default")]),
    ({"dramatiq", "redis"}, {"broker.py": "dramatiq.set_broker(RedisBroker(url=u))\n"}, None,
     [("worker", "dramatiq broker --processes 1")]),
    ({"huey", "redis"}, {"jobs.py": "huey = RedisHuey('app')\n"}, None,
     [("worker", "huey_consumer jobs.huey")]),
    ({"redis"}, {"app.py": "x = 1\n"}, None, []),
])
def test_workers(tmp_path: Path, deps: set[str], texts: dict[str, str], manage: str | None,
                 expected: list[tuple[str, str]]) -> None:
    for name, text in texts.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = services(deps, [read("REDIS_URL")], texts, tmp_path, manage)
    assert [(w.name, " ".join(w.command)) for w in found.workers] == expected


def test_huey_stops_on_sigint(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text("huey = RedisHuey('app')\n")
    found = services({"huey", "redis"}, [read("REDIS_URL")],
                     {"jobs.py": "huey = RedisHuey('app')\n"}, tmp_path)
    assert found.workers[0].stop_signal == "SIGINT"


def test_configured_adds_and_removes() -> None:
    found = services({"psycopg2", "celery", "redis"},
                     [read("DATABASE_URL", "db"), read("REDIS_URL")])
    assert [b.kind for b in found.backing] == ["postgres", "redis"]
    off = configured(found, [], off=["redis"])
    assert [b.kind for b in off.backing] == ["postgres"]
    assert any("`redis` left out" in d for d in off.decisions)
    added = configured(services(set(), []), [], declared=["redis"])
    assert [(b.kind, b.wires[0].name) for b in added.backing] == [("redis", "REDIS_URL")]


def test_label_round_trip() -> None:
    found = services({"psycopg", "redis"}, [read("DATABASE_URL", "db"), read("REDIS_HOST")])
    text = encode(found.backing)
    assert text == "postgres:DATABASE_URL=url redis:REDIS_HOST=host"
    assert [(b.kind, b.wires) for b in decode(text)] == [(b.kind, b.wires[:0] + tuple(
        type(w)(w.name, w.form) for w in b.wires)) for b in found.backing]
    assert decode("mongodb:X=url postgres:BAD-NAME=url,Y=odd") [0].wires == ()


def test_django_celery_fixture() -> None:
    """Settings that read the database in parts, a Celery app in the settings package,
    and a beat schedule: a PostgreSQL, a Redis, a worker and a scheduler."""
    project = detect(PROJECTS / "backing-django-celery")
    found = project.services
    assert [b.kind for b in found.backing] == ["postgres", "redis"]
    assert {w.name: w.form for w in found.backing[0].wires} == {
        "POSTGRES_HOST": "host", "POSTGRES_PORT": "port", "POSTGRES_DB": "name",
        "POSTGRES_USER": "user", "POSTGRES_PASSWORD": "password"}
    assert {w.name for w in found.backing[1].wires} == {"REDIS_URL", "CELERY_BROKER_URL"}
    assert [w.name for w in found.workers] == ["worker", "scheduler"]
    assert found.workers[0].command[:3] == ("celery", "-A", "shop.celery")


def test_flask_rq_fixture() -> None:
    project = detect(PROJECTS / "backing-flask-rq")
    assert [b.kind for b in project.services.backing] == ["redis"]
    assert [" ".join(w.command) for w in project.services.workers] == ["rq worker jobs"]


def test_broker_read_in_the_celery_module_is_wired() -> None:
    """fastapi-celery's shape: the app's config is not where the broker is read; the
    Celery module reads CELERY_BROKER_URL itself. Before, no variable was found and no
    Redis was added although redis is installed."""
    project = detect(PROJECTS / "backing-fastapi-celery")
    (redis,) = project.services.backing
    assert redis.kind == "redis"
    assert [(w.name, w.where) for w in redis.wires] == [
        ("CELERY_BROKER_URL", "worker.py:6"), ("CELERY_RESULT_BACKEND", "worker.py:7")]
    assert [w.command for w in project.services.workers] == [
        ("celery", "-A", "worker", "worker", "--loglevel=INFO")]
    assert not {"CELERY_BROKER_URL"} & {name for name, _ in project.needed_env}


@pytest.mark.parametrize(("source", "deps", "expected"), [
    ('if os.getenv("DB") == "postgres":\n', {"psycopg"}, ["DB=is:postgres"]),
    ("if os.environ.get('DB_ENGINE', 'sqlite') == 'postgresql':\n", {"psycopg2"},
     ["DB_ENGINE=is:postgresql"]),
    ('if os.environ["DATABASE"] == "mysql":\n', {"pymysql"}, ["DATABASE=is:mysql"]),
    # forms a text pattern missed: reversed, normalised, a choice of names, a wrapper
    ('if "postgres" == os.getenv("DB"):\n', {"psycopg"}, ["DB=is:postgres"]),
    ('if os.getenv("DB", "").lower() in ("pg", "postgresql"):\n', {"psycopg"}, ["DB=is:pg"]),
    ('def envx(name, default=None):\n    return os.getenv(name, default)\n'
     'if envx("DB") != "postgres":\n    pass\nelse:\n', {"psycopg"}, ["DB=is:postgres"]),
    # a comparison with another server's name is not this server's switch
    ('if os.getenv("DB") == "mysql":\n', {"psycopg"}, []),
    ('if os.getenv("MODE") == "production":\n', {"psycopg"}, []),
    # two literals compared with each other name no variable
    ('if "postgres" == "postgres":\n', {"psycopg"}, []),
])
def test_the_switch_that_selects_the_database(tmp_path: Path, source: str, deps: set[str],
                                              expected: list[str]) -> None:
    settings = tmp_path / "settings.py"
    settings.write_text("import os\n" + source + "    pass\n")
    reads = [r for r in scan_file(settings, tmp_path) if r.name not in ("DB_HOST", "DB_PASSWORD")]
    found = services(deps, [*reads, read("DB_HOST"), read("DB_PASSWORD")],
                     {"settings.py": settings.read_text()}, tmp_path)
    wires = [f"{w.name}={w.form}" for w in found.backing[0].wires]
    assert wires == [*expected, "DB_HOST=host", "DB_PASSWORD=password"]
    if expected:
        switch_line = next(n for n, line in enumerate(settings.read_text().splitlines(), 1)
                           if line.startswith("if "))
        assert found.backing[0].wires[0].where == f"settings.py:{switch_line}"
        assert any(f"{expected[0].split('=')[0]} (is:" in d for d in found.decisions)


def test_a_switch_survives_the_label_and_gives_its_value() -> None:
    switch = replace(read("DB"), raises=False, compared=("postgres",))
    found = services({"psycopg"}, [switch, read("DB_HOST")])
    text = encode(found.backing)
    assert text == "postgres:DB=is:postgres,DB_HOST=host"
    decoded = decode(text)[0]
    assert [(w.name, decoded.spec.value(w.form, "postgres", "pw")) for w in decoded.wires] == [
        ("DB", "postgres"), ("DB_HOST", "postgres")]
    assert decode("postgres:DB=is:bad$value,X=is:")[0].wires == ()
