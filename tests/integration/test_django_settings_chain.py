"""A cookiecutter-django-shaped project (settings package, manage.py on *local* settings,
wsgi.py on production, STATIC_ROOT only in base.py, required env vars) builds and runs.

Before: manage.py's local settings were used (a development-only app → the build failed),
STATIC_ROOT in base.py was not seen (collectstatic off), and the WSGI module was guessed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_init_build import _shipyard_build_and_test

from fixtures.containers import build, hardened_container, http_json, wait_healthy
from shipyard.appenv import LABEL
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "django-cookiecutter"


@pytest.fixture(scope="module")
def cookiecutter_image(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[tuple[str, Path]]:
    project = tmp_path_factory.mktemp("cookiecutter") / "shop"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    tag = f"shipyard-test/cookiecutter:{project.parent.name}"
    build(docker_engine, project, tag)
    yield tag, project
    docker_engine.remove_images([tag])


def test_production_settings_collectstatic_and_wsgi_module(
    docker_engine: Docker, cookiecutter_image: tuple[str, Path]
) -> None:
    tag, _ = cookiecutter_image
    config = docker_engine.inspect(tag)["Config"]
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in config["Env"]
    assert config["Labels"][LABEL] == "DJANGO_SECRET_KEY:str DJANGO_ADMIN_URL:str"
    static = docker_engine.run(["run", "--rm", tag, "cat", "staticfiles/css/site.css"])
    assert "color" in static.stdout  # collectstatic ran at build (STATIC_ROOT in base.py)
    env = {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ADMIN_URL": "admin/"}
    with hardened_container(docker_engine, tag, env=env) as container:
        wait_healthy(container)
        status, health = http_json(f"{container.url}/healthz")
        assert status == 200
        assert health == {"settings": "config.settings.production", "debug": False,
                          "database": "/data/db.sqlite3", "items": 0}
        top = docker_engine.run(["exec", container.id, "cat", "/proc/1/cmdline"]).stdout
        assert "config.wsgi:application" in top.replace("\0", " ")


def test_shipyard_test_supplies_throwaway_values(
    docker_engine: Docker, cookiecutter_image: tuple[str, Path]
) -> None:
    """No [tool.shipyard.test.env]: the required variables get throwaway values."""
    _shipyard_build_and_test(docker_engine, cookiecutter_image[1])
