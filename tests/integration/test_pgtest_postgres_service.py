"""`shipyard test` starts a throwaway PostgreSQL for an app whose migrations need one.

The fixture (tests/projects/pgtest-django-postgres) reads DATABASE_URL with env.db(),
installs psycopg2-binary, and has a migration that only PostgreSQL can run (a SEQUENCE,
like cookiecutter-django's `SELECT last_value FROM django_site_id_seq`). Before, the test
gave it a SQLite URL: the migration failed at start and `runtime.healthy` failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from shipyard.config import Config, load_config
from shipyard.imagebuild.run import build as build_image
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "pgtest-django-postgres"
POSTGRES_IMAGE = "postgres:15-bookworm"


# The same app with the settings shape of healthchecks, written here: SQLite unless a switch
# variable says postgres, the password read through a helper of the settings module. It
# replaces the fixture's `DATABASES = ...` line.
SWITCH_DATABASES = '''\
import os


def envsecret(name, default=None):
    """The variable, or the contents of the file that NAME_FILE names (Docker secrets)."""
    path = os.getenv(name + "_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.getenv(name, default)


DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.getenv("DB_NAME", BASE_DIR / "shop.sqlite")}}
if os.getenv("DB") == "postgres":
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                             "HOST": os.getenv("DB_HOST", ""),
                             "PORT": os.getenv("DB_PORT", ""),
                             "NAME": os.getenv("DB_NAME", "shop"),
                             "USER": os.getenv("DB_USER", "postgres"),
                             "PASSWORD": envsecret("DB_PASSWORD", "")}}
'''
URL_DATABASES = 'DATABASES = {"default": env.db("DATABASE_URL")}\n'


def _built(docker: Docker, project: Path) -> Iterator[tuple[str, Config]]:
    """`shipyard init` + committed + `shipyard build` as CI would."""
    if not docker.has_image(POSTGRES_IMAGE):
        message = f"{POSTGRES_IMAGE} is not available: run `python -m testbed up`"
        if os.environ.get("CI"):
            pytest.fail(message)  # the test bed provides it: in CI its absence is a failure
        pytest.skip(message)
    init(project)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, env=env,
                       capture_output=True)
    ca = ca_secrets()
    report = build_image(project, env={**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main"},
                         docker=docker, ca_bundle=ca[0].src if ca else None,
                         report_path=project.parent / "report.json")
    yield report.image_id, load_config(project)
    docker.remove_images(list(report.refs))


@pytest.fixture(scope="module")
def postgres_app(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[str, Config]]:
    """The fixture as it is: DATABASE_URL through django-environ."""
    project = tmp_path_factory.mktemp("pgtest") / "tickets"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    yield from _built(docker_engine, project)


@pytest.fixture(scope="module")
def switch_app(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, Config]]:
    """The fixture with SWITCH_DATABASES."""
    project = tmp_path_factory.mktemp("pgswitch") / "tickets"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    settings = project / "config" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    assert URL_DATABASES in text
    settings.write_text(text.replace(URL_DATABASES, SWITCH_DATABASES), encoding="utf-8")
    yield from _built(docker_engine, project)


def _networks(docker: Docker) -> set[str]:
    listed = docker.run(["network", "ls", "--format", "{{.Name}}"]).stdout
    return {name for name in listed.split() if name.startswith("shipyard-test-")}


def test_migrations_run_against_a_throwaway_postgres(
    docker_engine: Docker, postgres_app: tuple[str, Config]
) -> None:
    image, config = postgres_app
    report = run_image_tests(image, config, config.project_dir, docker=docker_engine)
    assert report.passed, [f"{r.id}: {r.reason}" for r in report.failures]
    note = next(n for n in report.notes if "throwaway PostgreSQL" in n)
    assert POSTGRES_IMAGE in note and "DATABASE_URL" in note and "psycopg2-binary" in note
    network = re.search(r"network (shipyard-test-\w+)", note)
    assert network is not None
    assert network.group(1) not in _networks(docker_engine)  # removed afterwards
    leftover = docker_engine.run(["ps", "-a", "--filter", f"name={network.group(1)}",
                                  "--format", "{{.Names}}"]).stdout
    assert leftover.strip() == ""


def test_without_a_postgres_image_sqlite_stays_and_the_migration_fails(
    docker_engine: Docker, postgres_app: tuple[str, Config]
) -> None:
    """The old behaviour, kept when no PostgreSQL image is configured locally: it shows
    why the service is needed (the PostgreSQL-only migration cannot run on SQLite)."""
    image, config = postgres_app
    missing = replace(config, test=replace(config.test,
                                           postgres_image="shipyard-test/no-postgres:0"))
    report = run_image_tests(image, missing, config.project_dir, docker=docker_engine)
    assert any("SQLite for DATABASE_URL" in n and "not available" in n for n in report.notes)
    assert "runtime.healthy" in {r.id for r in report.failures}


def test_the_switch_that_selects_postgres_is_set_with_its_variables(
    docker_engine: Docker, switch_app: tuple[str, Config]
) -> None:
    """healthchecks' shape: DB_HOST, DB_NAME, ... apply only with DB=postgres, and the
    password comes through envsecret(). Before, `shipyard test` set the DB_* variables but
    not DB: the app stayed on SQLite, at a file named after the database."""
    image, config = switch_app
    label = docker_engine.run(["image", "inspect", "--format",
                               '{{index .Config.Labels "org.shipyard.services"}}', image])
    kind, _, wires = label.stdout.strip().partition(":")
    assert kind == "postgres" and sorted(wires.split(",")) == [
        "DB=is:postgres", "DB_HOST=host", "DB_NAME=name", "DB_PASSWORD=password",
        "DB_PORT=port", "DB_USER=user"]
    report = run_image_tests(image, config, config.project_dir, docker=docker_engine)
    assert report.passed, [f"{r.id}: {r.reason}" for r in report.failures]
    compose = (config.project_dir / "compose.yaml").read_text(encoding="utf-8")
    assert 'DB: "postgres"' in compose
