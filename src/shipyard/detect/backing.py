"""Which servers (PostgreSQL, MySQL, Redis) and worker processes an app needs, found statically.

Why: an app whose settings read `DATABASE_URL` and which installs psycopg runs against
PostgreSQL in production; packaged with a SQLite file it can be neither run nor tested as
it will run. The evidence is the dependencies (a driver is installed only to be used), the
variables the settings read (shipyard.detect.envvars: `DATABASE_URL`, `POSTGRES_HOST`,
`CELERY_BROKER_URL`, ...) and a few source markers (`Celery(`, `beat_schedule`); the
result is data (shipyard.backing.Services) with a reason for every decision, which
`init --dry-run` prints and the templates render. Nothing of the app is imported.

A server is added only when some variable can carry its address to the app: a driver
with settings that hard-code `localhost` gets a note instead (nothing to wire).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from shipyard.backing import KINDS, SWITCH, Backing, Services, Wire, Worker
from shipyard.detect.envvars import EnvRead, scan_file
from shipyard.detect.scan import module_name

DRIVERS: dict[str, frozenset[str]] = {
    "postgres": frozenset({"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary",
                           "asyncpg", "pg8000", "psycopg-c"}),
    "mysql": frozenset({"mysqlclient", "pymysql", "mysql-connector-python", "aiomysql",
                        "asyncmy"}),
    "redis": frozenset({"redis", "django-redis", "hiredis", "rq", "django-rq", "flask-rq2",
                        "aioredis", "redis-py-cluster", "huey", "celery-redis"}),
}
_SQL_URL = re.compile(r"(?:^|_)(?:DATABASE|DB|SQLALCHEMY_DATABASE|POSTGRES|PG|MYSQL)_"
                      r"(?:URL|URI|DSN)$|^(?:DATABASE_URL|DB_URL|DB_URI|DATABASE_URI|DSN)$")
_SQL_PART = re.compile(r"^(?:(?:[A-Z0-9]+_)?(?:POSTGRES|POSTGRESQL|PG|DB|DATABASE|MYSQL))_?"
                       r"(HOST|SERVER|PORT|USER|USERNAME|PASSWORD|PASS|NAME|DB|DATABASE)$")
_REDIS_URL = re.compile(r"(?:^|_)(?:REDIS|CACHE|BROKER|RESULT_BACKEND|CELERY_RESULT|RQ_REDIS|"
                        r"HUEY_REDIS|DRAMATIQ_BROKER|VALKEY)_?(?:URL|URI|DSN|LOCATION)?$")
_REDIS_PART = re.compile(r"^(?:[A-Z0-9]+_)?REDIS_?(HOST|PORT|PASSWORD|DB)$")
_PART_FORMS = {"HOST": "host", "SERVER": "host", "PORT": "port", "USER": "user", "USERNAME": "user",
               "PASSWORD": "password", "PASS": "password", "NAME": "name", "DB": "name",
               "DATABASE": "name"}
_ENGINE = {"postgres": re.compile(r"postgresql|postgres://|psycopg|asyncpg"),
           "mysql": re.compile(r"django\.db\.backends\.mysql|mysql(?:\+\w+)?://")}
# `if os.getenv("DB") == "postgres":` around the settings that read DB_HOST, DB_NAME, ...:
# those settings apply only with the switch set (healthchecks: SQLite unless DB=postgres).
_SWITCH_VALUES = {"postgres": frozenset({"postgres", "postgresql", "pg", "pgsql", "psql"}),
                  "mysql": frozenset({"mysql", "mariadb"})}
_CELERY_APP = re.compile(r"^\s*(\w+)\s*=\s*Celery\(", re.M)
_BEAT = re.compile(r"beat_schedule|CELERY_BEAT_SCHEDULE|CELERYBEAT_SCHEDULE|@periodic_task"
                   r"|add_periodic_task|crontab\(")
BEAT_SCHEDULE = "/tmp/celerybeat-schedule"  # noqa: S108 - the container's private tmpfs
_DRAMATIQ_BROKER = re.compile(r"dramatiq\.set_broker\(|RedisBroker\(")
_HUEY_APP = re.compile(r"^\s*(\w+)\s*=\s*(?:Redis|Priority\w*|Sqlite|Memory)?Huey\(", re.M)


def detect_services(root: Path, *, dependency_names: Iterable[str], env_reads: list[EnvRead],
                    texts: Mapping[Path, str], manage_py: str | None,
                    flask: bool = False) -> Services:
    """The backing servers and workers of the project at root (see the module docstring)."""
    names = {re.sub(r"[-_.]+", "-", n).lower() for n in dependency_names}
    sources = "\n".join(texts.values())
    env_reads = [*env_reads, *_connection_reads(root, texts, {r.name for r in env_reads})]
    decisions: list[str] = []
    backing: list[Backing] = []
    sql = _sql_kind(names, sources, decisions)
    if sql is not None:
        wires = _wires(env_reads, sql)
        if wires:
            wires = _switches(env_reads, sql) + wires
        drivers = ", ".join(sorted(DRIVERS[sql] & names))
        if wires:
            backing.append(Backing(sql, wires, f"the dependencies have {drivers}"))
            decisions.append(f"{KINDS[sql].title} service `{sql}` ({KINDS[sql].image}): the"
                             f" dependencies have {drivers}; {_wired(wires)}")
        else:
            decisions.append(f"no {KINDS[sql].title} service although the dependencies have"
                             f" {drivers}: the settings read no database variable to point at"
                             " it (read DATABASE_URL, or declare [tool.shipyard.services])")
    redis_why = _redis_reason(names, sources)
    if redis_why:
        wires = _wires(env_reads, "redis")
        if wires:
            backing.append(Backing("redis", wires, redis_why))
            decisions.append(f"Redis service `redis` ({KINDS['redis'].image}): {redis_why};"
                             f" {_wired(wires)}")
        else:
            decisions.append(f"no Redis service although {redis_why}: the settings read no"
                             " Redis/cache/broker variable to point at it (read REDIS_URL)")
    workers = _workers(root, names, texts, manage_py, flask, has_redis=any(
        b.kind == "redis" for b in backing))
    decisions += [f"service `{w.name}`: `{' '.join(w.command)}` from the app image ({w.reason})"
                  for w in workers]
    return Services(tuple(backing), tuple(workers), tuple(decisions))


_CONNECTION_WORDS = re.compile(r"(?:REDIS|BROKER|RESULT_BACKEND|DATABASE|POSTGRES|MYSQL|DB_)\w*")


def _connection_reads(root: Path, texts: Mapping[Path, str], known: set[str]) -> list[EnvRead]:
    """Reads of connection variables outside the settings the app loads at start: a
    Celery/RQ module that reads `CELERY_BROKER_URL` itself (`celery.conf.broker_url =
    os.environ.get(...)`) is where the worker (and the web app that imports it) find
    their broker. Tests are left out; these reads only wire services, they make no
    variable required."""
    found: list[EnvRead] = []
    for path in sorted(texts):
        rel = path.relative_to(root)
        if any(part in ("tests", "test") for part in rel.parts) or rel.name.startswith("test"):
            continue
        text = texts[path]
        if ("environ" in text or "getenv" in text) and _CONNECTION_WORDS.search(text):
            found += [r for r in scan_file(path, root) if r.name not in known]
    return found


def _sql_kind(names: set[str], sources: str, decisions: list[str]) -> str | None:
    kinds = [kind for kind in ("postgres", "mysql") if DRIVERS[kind] & names]
    if len(kinds) > 1:  # both drivers installed: the settings say which one they use
        used = [k for k in kinds if _ENGINE[k].search(sources)]
        if len(used) == 1:
            return used[0]
        decisions.append("PostgreSQL and MySQL drivers both installed, the settings name"
                         " neither: PostgreSQL")
    return kinds[0] if kinds else None


def _redis_reason(names: set[str], sources: str) -> str:
    found = sorted(DRIVERS["redis"] & names)
    if found:
        return f"the dependencies have {', '.join(found)}"
    if ("celery" in names or "dramatiq" in names) and "redis://" in sources:
        return "the Celery/Dramatiq broker defaults to a redis:// URL"
    return ""


def _wires(reads: list[EnvRead], kind: str) -> tuple[Wire, ...]:
    """The variables of `reads` that carry a `kind` server's address or credentials."""
    wires: dict[str, Wire] = {}
    for read in reads:
        name = read.name.upper()
        form = None
        if kind == "redis":
            part = _REDIS_PART.match(name)
            if part:
                form = _PART_FORMS[part.group(1)]
            elif read.kind == "cache" or (_REDIS_URL.search(name) and _url_like(name)):
                form = "url"
        else:
            part = _SQL_PART.match(name)
            if read.kind in ("db", "postgres") or _SQL_URL.search(name):
                form = "url"
            elif part and not _REDIS_PART.match(name):
                form = _PART_FORMS[part.group(1)]
        if form is not None and read.name not in wires:
            wires[read.name] = Wire(read.name, form, read.where)
    return tuple(wires.values())


def _switches(env_reads: list[EnvRead], kind: str) -> tuple[Wire, ...]:
    """The variables compared with this kind's name (`os.getenv("DB") == "postgres"`), set
    to that name: without them the database variables the settings read never apply."""
    found: dict[str, Wire] = {}
    for read in env_reads:
        value = next((v for v in read.compared if v.lower() in _SWITCH_VALUES[kind]), None)
        if value is not None and read.name not in found:
            found[read.name] = Wire(read.name, f"{SWITCH}{value}", read.where)
    return tuple(found.values())


def _url_like(name: str) -> bool:
    return name.endswith(("_URL", "_URI", "_DSN", "_LOCATION")) or name in (
        "REDIS", "BROKER", "CELERY_BROKER", "CELERY_RESULT_BACKEND", "RESULT_BACKEND")


def _wired(wires: tuple[Wire, ...]) -> str:
    return "wired through " + ", ".join(
        f"{w.name} ({w.form}, {w.where})" if w.where else f"{w.name} ({w.form})" for w in wires)


def _workers(root: Path, names: set[str], texts: Mapping[Path, str], manage_py: str | None,
             flask: bool, *, has_redis: bool) -> list[Worker]:
    """Celery (worker, beat), RQ, Dramatiq, Huey: the first framework found wins."""
    celery = _first(root, texts, _CELERY_APP) if "celery" in names else None
    if celery is not None:
        module, where = celery
        found = [Worker("worker", ("celery", "-A", module, "worker", "--loglevel=INFO"),
                        f"{where}: a Celery app; warm shutdown on SIGTERM finishes running"
                        " tasks", healthcheck=("sh", "-c", f"celery -A {module} inspect ping"
                                               " --timeout 5 -d celery@$HOSTNAME"))]
        if "django-celery-beat" in names:
            found.append(Worker("scheduler", ("celery", "-A", module, "beat", "--loglevel=INFO",
                                              "--scheduler",
                                              "django_celery_beat.schedulers:DatabaseScheduler"),
                                "django-celery-beat: schedules in the database", stop_grace=10))
        elif any(_BEAT.search(text) for text in texts.values()):
            found.append(Worker("scheduler", ("celery", "-A", module, "beat", "--loglevel=INFO",
                                              "--schedule", BEAT_SCHEDULE),
                                "periodic tasks are configured (beat_schedule/crontab); the"
                                " schedule file lives on the tmpfs", stop_grace=10))
        return found
    if "django-rq" in names and manage_py and has_redis:
        return [Worker("worker", ("python", manage_py, "rqworker", "default"),
                       "django-rq: `rqworker` reads RQ_QUEUES from the settings")]
    if "flask-rq2" in names and flask and has_redis:
        return [Worker("worker", ("flask", "rq", "worker"), "Flask-RQ2")]
    if "rq" in names and has_redis:
        queues = _rq_queues(root, texts)
        named = f"queues {', '.join(queues)} (from `Queue(...)`)" if queues else "queue default"
        return [Worker("worker", ("rq", "worker", *queues), f"rq is installed, {named}; the"
                       " worker finds Redis through RQ_REDIS_URL and finishes its job on"
                       " SIGTERM (warm shutdown)", env=(("RQ_REDIS_URL", "url"),))]
    if "dramatiq" in names:
        if "django-dramatiq" in names and manage_py:
            return [Worker("worker", ("python", manage_py, "rundramatiq", "--processes", "1"),
                           "django-dramatiq")]
        broker = _first(root, texts, _DRAMATIQ_BROKER)
        if broker is not None:
            return [Worker("worker", ("dramatiq", broker[0], "--processes", "1"),
                           f"{broker[1]}: the Dramatiq broker is set up here")]
    if "huey" in names:
        if manage_py and any("huey.contrib.djhuey" in t for t in texts.values()):
            return [Worker("worker", ("python", manage_py, "run_huey"),
                           "huey.contrib.djhuey in the settings; Huey stops gracefully on"
                           " SIGINT", stop_signal="SIGINT")]
        huey = _first(root, texts, _HUEY_APP)
        if huey is not None:
            return [Worker("worker", ("huey_consumer", huey[0]), f"{huey[1]}: a Huey app;"
                           " Huey stops gracefully on SIGINT", stop_signal="SIGINT")]
    return []


_RQ_QUEUE = re.compile(r"\bQueue\(\s*(?:name\s*=\s*)?['\"]([\w.:-]+)['\"]")


def _rq_queues(root: Path, texts: Mapping[Path, str]) -> tuple[str, ...]:
    """Queue names the app's code creates (`rq.Queue("emails", ...)`), outside its tests."""
    found: dict[str, None] = {}
    for path in sorted(texts):
        if any(part in ("tests", "test") for part in path.relative_to(root).parts):
            continue
        for name in _RQ_QUEUE.findall(texts[path]):
            found.setdefault(name)
    return tuple(found)


def _first(root: Path, texts: Mapping[Path, str], pattern: re.Pattern[str]
           ) -> tuple[str, str] | None:
    """(import target, file:line) of the first match, in a stable file order; the target
    is `module` or, for an assignment pattern, `module.attribute` (Huey) / `module` (Celery
    finds `app`/`celery` itself, and any other name through `module:name`)."""
    for path in sorted(texts, key=lambda p: (len(p.relative_to(root).parts), str(p))):
        rel = path.relative_to(root)
        if any(part in ("tests", "test", "docs", "examples") for part in rel.parts):
            continue
        match = pattern.search(texts[path])
        if match is None:
            continue
        module = module_name(root, path)
        line = texts[path].count("\n", 0, match.start()) + 1
        where = f"{rel.as_posix()}:{line}"
        if match.groups():
            attribute = match.group(1)
            if pattern is _HUEY_APP:
                return f"{module}.{attribute}", where
            if attribute not in ("app", "celery"):
                return f"{module}:{attribute}", where
        return module, where
    return None


_DEFAULT_WIRES = {"postgres": Wire("DATABASE_URL", "url"), "mysql": Wire("DATABASE_URL", "url"),
                  "redis": Wire("REDIS_URL", "url")}


def configured(found: Services, env_reads: list[EnvRead], *, declared: Iterable[str] = (),
               off: Iterable[str] = ()) -> Services:
    """Apply [tool.shipyard] services (kinds to add although not detected) and services_off
    (service names to leave out: a database the deployment provides, a worker run elsewhere)."""
    backing = list(found.backing)
    decisions = list(found.decisions)
    for kind in declared:
        if any(b.kind == kind for b in backing):
            continue
        wires = _wires(env_reads, kind) or (_DEFAULT_WIRES[kind],)
        backing.append(Backing(kind, wires, "declared in [tool.shipyard] services"))
        decisions.append(f"{KINDS[kind].title} service `{kind}` ({KINDS[kind].image}): declared"
                         f" in [tool.shipyard] services; {_wired(wires)}")
    dropped = set(off)
    for name in sorted(dropped):
        decisions.append(f"service `{name}` left out: [tool.shipyard] services_off")
    return Services(tuple(b for b in backing if b.kind not in dropped),
                    tuple(w for w in found.workers if w.name not in dropped), tuple(decisions))
