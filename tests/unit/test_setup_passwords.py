"""`shipyard host setup` makes the backing services' passwords on the host (once)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from shipyard.deploy.setup_passwords import password_argvs, password_variables
from shipyard.detect import detect
from shipyard.generate.render import render

PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def compose_of(name: str, tmp_path: Path) -> str:
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root)
    return next(f.content for f in render(detect(root)) if f.path == "compose.yaml")


def test_the_generated_compose_file_names_its_passwords(tmp_path: Path) -> None:
    assert password_variables(compose_of("backing-django-celery", tmp_path)) == [
        "POSTGRES_PASSWORD"]
    assert password_variables(compose_of("backing-flask-rq", tmp_path)) == []  # Redis: none


def test_a_password_is_added_once_and_never_replaced(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("IMAGE_REPOSITORY=r.example/app\n")
    ((_, argv),) = password_argvs(compose_of("backing-django-celery", tmp_path), str(env))
    subprocess.run(argv, check=True)
    first = env.read_text()
    assert re.fullmatch(r"IMAGE_REPOSITORY=r.example/app\nPOSTGRES_PASSWORD=[0-9a-f]{48}\n",
                        first)
    subprocess.run(argv, check=True)
    assert env.read_text() == first  # the volume was initialised with the first one
