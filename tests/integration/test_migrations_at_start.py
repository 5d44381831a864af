"""A Flask + Flask-Migrate app with SQLite on the data volume, `init`ed and built for real:
its container runs `flask db upgrade` at start and serves the migrated table; and when
the same app is told to write into the read-only root, `shipyard test` names the path
and the fix.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_get, http_json, wait_healthy
from shipyard.imagetest.runtime import Runner, RunSettings
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECT = Path(__file__).resolve().parents[1] / "projects" / "migrate-flask-migrate"


@pytest.fixture(scope="module")
def board_image(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    project = tmp_path_factory.mktemp("board") / "board"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    entrypoint = (project / "docker" / "entrypoint.sh").read_text()
    assert "flask --app 'board:create_app()' db upgrade" in entrypoint
    tag = f"shipyard-test/board:{project.parent.name}"
    build(docker_engine, project, tag)
    yield tag
    docker_engine.remove_images([tag])


def test_flask_migrate_runs_at_start_and_the_page_reads_the_table(
        docker_engine: Docker, board_image: str) -> None:
    with hardened_container(docker_engine, board_image) as container:
        wait_healthy(container)
        status, body = http_json(f"{container.url}/")
        assert status == 200
        assert body == {"notices": ["migrated at start"]}, container.logs()
        assert "applying database migrations (flask-migrate" in container.logs()


def test_run_migrations_0_skips_them(docker_engine: Docker, board_image: str) -> None:
    with hardened_container(docker_engine, board_image,
                            env={"RUN_MIGRATIONS": "0"}) as container:
        wait_healthy(container)
        status, _ = http_json(f"{container.url}/healthz")
        assert status == 200
        assert "applying database migrations" not in container.logs()
        status, _ = http_get(f"{container.url}/")
        assert status == 500  # no table: nothing migrated it


def test_shipyard_test_names_the_read_only_path_and_the_fix(
        docker_engine: Docker, board_image: str) -> None:
    """The app makes BOARD_UPLOADS at start; pointed into /app it dies on the read-only
    root (and the writable probe, the image's user, is refused too)."""
    settings = RunSettings(image=board_image, env={"BOARD_UPLOADS": "/app/uploads"},
                           health_timeout=60)
    results = {r.id: r for r in Runner(docker_engine, settings).run()}
    healthy, writes = results["runtime.healthy"], results["runtime.writes"]
    assert healthy.status == "fail" and writes.status == "fail"
    assert "it tried to write /app/uploads (Read-only file system)" in healthy.reason
    assert "point it at the volume (/data)" in healthy.reason
    assert "or mount a volume at /app/uploads" in healthy.reason
    assert "the app tried to write /app/uploads" in writes.reason
    assert "Permission denied" in writes.reason


def test_alembic_in_a_package_install_runs_from_app(docker_engine: Docker,
                                                    tmp_path: Path) -> None:
    """A package install leaves /app without sources; alembic.ini and the scripts it
    names are copied there, so `alembic upgrade head` runs from /app at start."""
    project = tmp_path / "ledger"
    shutil.copytree(PROJECT.parent / "migrate-alembic-package", project,
                    ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    tag = f"shipyard-test/ledger:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        listing = docker_engine.run(["run", "--rm", tag, "ls", "-A", "/app"]).stdout.split()
        assert sorted(listing) == ["alembic.ini", "src"]  # the scripts, not the package
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_json(f"{container.url}/")
            assert status == 200 and body == {"entries": ["opening balance"]}, container.logs()
            assert "applying database migrations (alembic" in container.logs()
    finally:
        docker_engine.remove_images([tag])


JOURNAL = '''\
import os
import sqlite3

from flask import Flask


def create_app():
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DATABASE=os.path.join(app.instance_path, "journal.sqlite"))
    app.config.from_pyfile("config.py", silent=True)
    os.makedirs(app.instance_path, exist_ok=True)

    @app.get("/healthz")
    def health():
        db = sqlite3.connect(app.config["DATABASE"])
        db.execute("CREATE TABLE IF NOT EXISTS visit (at TEXT)")
        db.execute("INSERT INTO visit VALUES (datetime('now'))")
        db.commit()
        return {"status": "ok", "where": app.instance_path}

    return app
'''
HATCH = '''\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "journal"
version = "1.0.0"
dependencies = ["flask>=3.1", "gunicorn>=23"]
'''


@pytest.mark.parametrize(("files", "instance"), [
    ({"pyproject.toml": HATCH}, "/opt/venv/var/journal-instance"),
    ({"requirements.txt": "Flask==3.1.3\ngunicorn==23.0.0\n"}, "/app/instance"),
], ids=["installed-package", "from-source"])
def test_flask_instance_folder_lands_on_the_data_volume(
        docker_engine: Docker, tmp_path: Path, files: dict[str, str], instance: str) -> None:
    """The Flask tutorial's shape (os.makedirs(app.instance_path), SQLite inside it) runs
    on the read-only root with zero edits: the instance folder is a link to /data."""
    project = tmp_path / "journal"
    for name, text in {**files, "journal/__init__.py": JOURNAL}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    assert init(project).project.data_links == [instance]
    tag = f"shipyard-test/journal:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_json(f"{container.url}/healthz")
            assert status == 200 and body == {"status": "ok", "where": instance}
            listing = docker_engine.run(["exec", container.id, "ls", "/data"]).stdout.split()
            assert "journal.sqlite" in listing
    finally:
        docker_engine.remove_images([tag])
