"""Database initialisation by the app's own CLI command, once per data volume.

The shape (the Flask tutorial's): no migration tool, a `@click.command("init-db")`
registered with `app.cli.add_command`, whose schema drops and recreates the tables —
so the entrypoint runs it on the first start of a data volume only. Apps with real
migrations get those instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.firststart import detect_first_start
from shipyard.generate.render import render

FACTORY = """\
from flask import Flask


def create_app():
    app = Flask(__name__)
    from . import db
    db.init_app(app)
    return app
"""
CLICK_COMMAND = """\
import click


@click.command({name})
def {function}():
    click.echo("made the tables")


def init_app(app):
    app.cli.add_command({function})
"""
APP_CLI = """\
from flask import Flask

app = Flask(__name__)


@app.cli.command({name})
def {function}():
    pass
"""
REQUIREMENTS = {"requirements.txt": "Flask==3.1.0\ngunicorn==23.0.0\n"}


def click_app(name: str = '"init-db"', function: str = "init_db_command",
              registered: bool = True) -> dict[str, str]:
    db = CLICK_COMMAND.format(name=name, function=function)
    if not registered:
        db = db.replace(f"app.cli.add_command({function})", "pass")
    return {**REQUIREMENTS, "blog/__init__.py": FACTORY, "blog/db.py": db}


CASES = [
    # id, files, [command]
    ("click-command-added", click_app(), ["flask --app 'blog:create_app()' init-db"]),
    ("click-command-underscore", click_app('"init_db"'),
     ["flask --app 'blog:create_app()' init_db"]),
    ("click-command-name-keyword", click_app('name="create-db"'), []),  # not a literal first arg
    ("click-command-not-registered", click_app(registered=False), []),
    ("click-command-other-name", click_app('"seed-users"'), []),
    ("click-command-name-from-function", click_app("", "initdb"),
     ["flask --app 'blog:create_app()' initdb"]),
    ("click-command-suffix-is-ambiguous", click_app("", "init_db_command"), []),
    ("app-cli-command", {**REQUIREMENTS, "app.py": APP_CLI.format(name='"db-init"', function="f")},
     ["flask --app app:app db-init"]),
    ("app-cli-command-from-function",
     {**REQUIREMENTS, "app.py": APP_CLI.format(name="", function="create_tables")},
     ["flask --app app:app create-tables"]),
    ("blueprint-cli-command-sits-in-its-group",
     {**REQUIREMENTS, "app.py": APP_CLI.format(name='"init-db"', function="f"),
      "admin.py": 'from flask import Blueprint\nbp = Blueprint("admin", __name__)\n\n\n'
                  '@bp.cli.command("init-db")\ndef f():\n    pass\n'},
     ["flask --app app:app init-db"]),  # app.py's, not the blueprint's
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detected_init_commands(tmp_path: Path, files: dict[str, str],
                                expected: list[str]) -> None:
    project = detect(make(tmp_path, files))
    assert [f.command for f in project.first_start] == expected


def test_source_and_marker_name_the_command(tmp_path: Path) -> None:
    make(tmp_path, click_app())
    [found] = detect_first_start(tmp_path, flask_app="blog:create_app()", data_dir="/srv/data/")
    assert found.source == "blog/db.py:4 @click.command('init-db')"
    assert found.marker == "/srv/data/.shipyard/initialized-init-db"


FLASK_MIGRATE = {"requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.1.0\n",
                 "migrations/env.py": "", "migrations/versions/0001.py": ""}


@pytest.mark.parametrize("files", [
    FLASK_MIGRATE,
    {"alembic.ini": "[alembic]\nscript_location = alembic\n", "alembic/env.py": "",
     "requirements.txt": "Flask==3.1.0\nalembic==1.14.0\n"},
    {"Procfile": "release: flask --app blog init-db\n"},
], ids=["flask-migrate", "alembic", "procfile-release"])
def test_apps_with_migrations_get_those_instead(tmp_path: Path, files: dict[str, str]) -> None:
    project = detect(make(tmp_path, {**click_app(), **files}))
    assert project.migrations and project.first_start == []


def test_django_management_commands_are_not_flask_commands(tmp_path: Path) -> None:
    project = detect(make(tmp_path, {
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "s.settings")\n',
        "s/__init__.py": "", "s/settings.py": "", "requirements.txt": "Django==5.2\n",
        "s/cli.py": APP_CLI.format(name='"init-db"', function="f")}))
    assert project.first_start == []


def _entrypoint(root: Path, files: dict[str, str]) -> str:
    return next(f.content for f in render(detect(make(root, files)))
                if f.path == "docker/entrypoint.sh")


def test_entrypoint_runs_it_once_per_data_volume(tmp_path: Path) -> None:
    """The generated script with stand-ins for flask and gunicorn: the first start runs
    the command and leaves the marker, the second does not run it again, and
    RUN_MIGRATIONS=0 skips it; the server is exec'd every time."""
    data = tmp_path / "data"
    script = tmp_path / "entrypoint.sh"
    script.write_text(_entrypoint(tmp_path / "p", click_app()).replace("/data/", f"{data}/"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("flask", "gunicorn"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*"\n')
        (bin_dir / tool).chmod(0o755)

    def start(switch: str) -> list[str]:
        return subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RUN_MIGRATIONS": switch}
                              ).stdout.splitlines()

    skipped = start("0")
    assert len(skipped) == 1 and skipped[0].startswith("gunicorn ")
    assert not (data / ".shipyard").exists()
    first = start("1")
    assert first[0] == "flask --app blog:create_app() init-db"
    assert first[-1].startswith("gunicorn ")
    assert (data / ".shipyard" / "initialized-init-db").is_file()
    second = start("1")
    assert len(second) == 1 and second[0].startswith("gunicorn ")


def test_entrypoint_without_an_init_command_has_no_marker(tmp_path: Path) -> None:
    text = _entrypoint(tmp_path, click_app('"seed-users"'))
    assert ".shipyard/initialized" not in text and "RUN_MIGRATIONS" not in text


def test_dry_run_says_what_runs_on_first_start(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.cli import main

    root = make(tmp_path / "blog", click_app())
    assert main(["init", "--dry-run", str(root)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("migrations at start (RUN_MIGRATIONS=0 skips them): none found database"
            " initialised on first start (once per data volume, RUN_MIGRATIONS=0 skips it):"
            " flask --app 'blog:create_app()' init-db (blog/db.py:4"
            " @click.command('init-db'); marker /data/.shipyard/initialized-init-db)") in out
