"""A Django project whose settings fix its SQLite files in <project>/data and open one on
load (linkding's shape) builds — collectstatic gets a scratch directory — and runs on a
read-only root, its data on the volume.

Before: collectstatic failed at build ("unable to open database file"), and at run time
the database could not be written inside the read-only application directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_json, wait_healthy
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "appdata-django"


def test_fixed_data_directory_builds_and_lives_on_the_volume(docker_engine: Docker,
                                                             tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "data").mkdir()
    (project / "data" / "db.sqlite3").write_text("a developer's local database")
    init(project)
    tag = f"shipyard-test/appdata:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        link = docker_engine.run(["run", "--rm", tag, "readlink", "/app/data"]).stdout.strip()
        assert link == "/data"  # the checkout's data/ never reached the image
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            assert http_json(f"{container.url}/health")[0] == 200
            listing = docker_engine.run(["exec", container.id, "ls", "/data"]).stdout.split()
            assert "tasks.sqlite3" in listing
    finally:
        docker_engine.remove_images([tag])
