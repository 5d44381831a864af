"""Which migrations run at container start, as tables over from-scratch project shapes.

The shapes: a Flask-Migrate app with an app factory (a package with create_app, a
`migrations/` directory as `flask db init` makes it), a bare Alembic project (ini at
the root or in a subdirectory, `%(here)s` locations), a Procfile with a `release:`
line, and Django. Each is rendered too: the entrypoint runs what was detected behind
RUN_MIGRATIONS, and a package install copies what the commands read into /app.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.migrations import detect_migrations
from shipyard.generate.render import render

FACTORY = """\
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()


def create_app():
    app = Flask(__name__)
    db.init_app(app)
    migrate.init_app(app, db)
    return app
"""
FLASK_MIGRATIONS = {
    "migrations/alembic.ini": "[alembic]\n\n[loggers]\nkeys = root\n",
    "migrations/env.py": "from alembic import context\n",
    "migrations/script.py.mako": "",
    "migrations/versions/0001_first.py": "revision = '0001'\n",
}
FLASK_MIGRATE_APP = {
    "requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.1.0\nFlask-SQLAlchemy==3.1.1\n"
                        "gunicorn==23.0.0\n",
    "blog/__init__.py": FACTORY, **FLASK_MIGRATIONS,
}
ALEMBIC_INI = "[alembic]\nscript_location = {}\nprepend_sys_path = .\n"
FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"
ALEMBIC_APP = {
    "requirements.txt": "fastapi==0.115.0\nuvicorn==0.32.1\nalembic==1.14.0\nSQLAlchemy==2.0.36\n",
    "api/__init__.py": "", "api/main.py": FASTAPI,
    "alembic.ini": ALEMBIC_INI.format("alembic"), "alembic/env.py": "", "alembic/versions/a.py": "",
}
MANAGE = ('import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings")\n')
DJANGO = {"manage.py": MANAGE, "site_cfg/__init__.py": "", "site_cfg/settings.py": "",
          "requirements.txt": "Django==5.2\ngunicorn==23.0.0\n",
          "blog/__init__.py": "", "blog/migrations/__init__.py": "",
          "blog/migrations/0001_initial.py": ""}
HATCH = ('[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
         '[project]\nname = "svc"\nversion = "1"\n'
         'dependencies = ["fastapi", "uvicorn", "alembic"]\n')


CASES = [
    # id, files, [(tool, command)]
    ("flask-migrate-factory", FLASK_MIGRATE_APP,
     [("flask-migrate", "flask --app 'blog:create_app()' db upgrade")]),
    ("flask-migrate-flaskenv-wins",
     {**FLASK_MIGRATE_APP, ".flaskenv": "FLASK_APP=wsgi.py\nFLASK_DEBUG=1\n"},
     [("flask-migrate", "flask --app wsgi.py db upgrade")]),
    ("flask-migrate-custom-directory",
     {"requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.1.0\n",
      "app.py": "from flask import Flask\nfrom flask_migrate import Migrate\n"
                "app = Flask(__name__)\nMigrate(app, db, directory='db/migrations')\n",
      "db/migrations/env.py": ""},
     [("flask-migrate", "flask --app app:app db upgrade")]),
    ("flask-migrate-not-initialised",
     {"requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.1.0\n", "blog/__init__.py": FACTORY},
     []),
    ("alembic-at-root", ALEMBIC_APP, [("alembic", "alembic upgrade head")]),
    ("alembic-here-interpolation",
     {**ALEMBIC_APP, "alembic.ini": ALEMBIC_INI.format("%(here)s/alembic")},
     [("alembic", "alembic upgrade head")]),
    ("alembic-in-subdirectory",
     {"requirements.txt": "alembic==1.14.0\n", "main.py": FASTAPI,
      "db/alembic.ini": ALEMBIC_INI.format("migrations"), "db/migrations/env.py": ""},
     [("alembic", "(cd db && alembic upgrade head)")]),
    ("alembic-package-resource-location",
     {"requirements.txt": "alembic==1.14.0\n", "main.py": FASTAPI,
      "alembic.ini": ALEMBIC_INI.format("svc:alembic")},
     [("alembic", "alembic upgrade head")]),
    ("alembic-in-pyproject",
     {"requirements.txt": "alembic==1.16.0\n", "main.py": FASTAPI, "migrations/env.py": "",
      "pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'},
     [("alembic", "alembic upgrade head")]),
    ("alembic-in-pyproject-with-a-logging-ini",
     {"requirements.txt": "alembic==1.16.0\n", "main.py": FASTAPI, "migrations/env.py": "",
      "alembic.ini": "[loggers]\nkeys = root\n",
      "pyproject.toml": '[tool.alembic]\nscript_location = "migrations"\n'},
     [("alembic", "alembic upgrade head")]),
    ("alembic-without-env-py",
     {"requirements.txt": "alembic==1.14.0\n", "main.py": FASTAPI,
      "alembic.ini": ALEMBIC_INI.format("alembic")},
     []),
    ("procfile-release",
     {"requirements.txt": "fastapi==0.115.0\n", "main.py": FASTAPI,
      "Procfile": "web: uvicorn main:app\nrelease: python -m app.release --seed 'x y'\n"},
     [("procfile", "sh -c 'python -m app.release --seed '\"'\"'x y'\"'\"''")]),
    ("procfile-release-covers-flask-migrate",
     {**FLASK_MIGRATE_APP, "Procfile": "release: flask --app blog db upgrade\nweb: gunicorn x\n"},
     [("procfile", "sh -c 'flask --app blog db upgrade'")]),
    ("procfile-without-release-is-ignored",
     {**FLASK_MIGRATE_APP, "Procfile": "web: flask db upgrade; gunicorn x\n"},
     [("flask-migrate", "flask --app 'blog:create_app()' db upgrade")]),
    ("django-and-unrelated-release",
     {**DJANGO, "Procfile": "release: python manage.py check --deploy\n"},
     [("django", "python manage.py migrate --noinput"),
      ("procfile", "sh -c 'python manage.py check --deploy'")]),
    ("django-release-migrate-runs-once",
     {**DJANGO, "Procfile": "release: python manage.py migrate && python manage.py seed\n"},
     [("procfile", "sh -c 'python manage.py migrate && python manage.py seed'")]),
    ("nothing", {"requirements.txt": "fastapi==0.115.0\n", "main.py": FASTAPI}, []),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detected_migrations(tmp_path: Path, files: dict[str, str],
                             expected: list[tuple[str, str]]) -> None:
    project = detect(make(tmp_path, files))
    assert [(m.tool, m.command) for m in project.migrations] == expected


def test_release_line_runs_as_written(tmp_path: Path) -> None:
    """The quoted Procfile command is the same command once the shell unquotes it."""
    project = detect(make(tmp_path, next(c[1] for c in CASES if c[0] == "procfile-release")))
    (migration,) = project.migrations
    out = subprocess.run(["sh", "-c", migration.command.replace("sh -c", "printf %s", 1)],
                         capture_output=True, text=True, check=True).stdout
    assert out == "python -m app.release --seed 'x y'"


@pytest.mark.parametrize(("files", "warning"), [
    ({"requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.1.0\n", "blog/__init__.py": FACTORY},
     "migrations/env.py does not exist"),
    ({"requirements.txt": "fastapi==0.115.0\n", "main.py": FASTAPI,
      "alembic.ini": ALEMBIC_INI.format("alembic"), "alembic/env.py": ""},
     "alembic is not among the dependencies"),
    ({"requirements.txt": "alembic==1\n", "main.py": FASTAPI,
      "alembic.ini": ALEMBIC_INI.format("alembic")}, "has no env.py"),
    ({"requirements.txt": "alembic==1\n", "alembic.ini": "[alembic]\nsqlalchemy.url = x\n"},
     "no [alembic] script_location"),
    ({"requirements.txt": "Flask-Migrate==4.1.0\n", **FLASK_MIGRATIONS},
     "set FLASK_APP"),
], ids=["flask-migrate-uninitialised", "alembic-missing", "no-env-py", "no-script-location",
        "no-flask-app"])
def test_what_cannot_run_is_said(tmp_path: Path, files: dict[str, str], warning: str) -> None:
    project = detect(make(tmp_path, files))
    assert any(warning in w for w in project.warnings), project.warnings


def test_flask_migrate_does_not_also_run_its_alembic_ini(tmp_path: Path) -> None:
    found = detect_migrations(make(tmp_path, FLASK_MIGRATE_APP),
                              dependency_names={"flask-migrate", "alembic"},
                              flask_app="blog:create_app()")
    assert [m.tool for m in found.commands] == ["flask-migrate"]
    assert found.commands[0].needs == ("migrations",)


def _entrypoint(tmp_path: Path, files: dict[str, str]) -> str:
    files_out = render(detect(make(tmp_path, files)))
    return next(f.content for f in files_out if f.path == "docker/entrypoint.sh")


def _dockerfile(tmp_path: Path, files: dict[str, str]) -> str:
    return next(f.content for f in render(detect(make(tmp_path, files))) if f.path == "Dockerfile")


@pytest.mark.parametrize(("files", "command"), [
    (FLASK_MIGRATE_APP, "flask --app 'blog:create_app()' db upgrade"),
    (ALEMBIC_APP, "alembic upgrade head"),
    ({"main.py": FASTAPI, "requirements.txt": "fastapi==0.115.0\n",
      "Procfile": "release: ./bin/release\n"}, "sh -c ./bin/release"),
    (DJANGO, "python manage.py migrate --noinput"),
], ids=["flask-migrate", "alembic", "procfile", "django"])
def test_entrypoint_runs_migrations_behind_the_switch_before_the_server(
        tmp_path: Path, files: dict[str, str], command: str) -> None:
    text = _entrypoint(tmp_path, files)
    switch = text.index('if [ "${RUN_MIGRATIONS:-1}" = "1" ]; then')
    assert switch < text.index(f"    {command}\n") < text.index("\nfi\n", switch) \
        < text.index("\nexec ")
    assert "applying database migrations" in text


def test_entrypoint_without_migrations_has_no_switch(tmp_path: Path) -> None:
    text = _entrypoint(tmp_path, {"main.py": FASTAPI, "requirements.txt": "fastapi==0.115.0\n"})
    assert "RUN_MIGRATIONS" not in text and "migrations" not in text


def test_entrypoint_is_valid_shell_and_skips_migrations_when_switched_off(tmp_path: Path) -> None:
    """Run the generated script with stand-ins for the tools: the migration runs by
    default, RUN_MIGRATIONS=0 skips it, and the server is exec'd either way."""
    project_dir = make(tmp_path / "p", FLASK_MIGRATE_APP)
    script = tmp_path / "entrypoint.sh"
    script.write_text(_entrypoint(tmp_path / "p2", FLASK_MIGRATE_APP))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("flask", "gunicorn"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*"\n')
        (bin_dir / tool).chmod(0o755)
    for switch, ran in (("1", True), ("0", False)):
        out = subprocess.run(["sh", str(script)], cwd=project_dir, capture_output=True, text=True,
                             env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RUN_MIGRATIONS": switch},
                             check=True).stdout
        assert ("flask --app blog:create_app() db upgrade" in out) is ran
        assert out.strip().splitlines()[-1].startswith("gunicorn ")


def test_package_install_copies_what_migrations_read_into_app(tmp_path: Path) -> None:
    """A package install leaves /app empty: alembic.ini and its scripts must still be there."""
    files = {"pyproject.toml": HATCH, "uv.lock": "version = 1\n",
             "src/svc/__init__.py": "", "src/svc/main.py": FASTAPI,
             "alembic.ini": ALEMBIC_INI.format("src/svc/alembic"),
             "src/svc/alembic/env.py": ""}
    text = _dockerfile(tmp_path, files)
    runtime = text[text.index("FROM base AS runtime"):]
    assert "COPY --from=builder /src/alembic.ini /app/alembic.ini\n" in runtime
    assert "COPY --from=builder /src/src/svc/alembic /app/src/svc/alembic\n" in runtime
    assert runtime.index("/app/alembic.ini") < runtime.index("USER ")  # there before it runs


def test_source_install_needs_no_extra_copies(tmp_path: Path) -> None:
    text = _dockerfile(tmp_path, ALEMBIC_APP)
    assert "COPY --from=builder /src /app\n" in text
    assert "/app/alembic.ini" not in text


def test_dry_run_lists_the_migrations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.cli import main

    root = make(tmp_path / "blog", {**FLASK_MIGRATE_APP, "Procfile": "release: ./seed [x]\n"})
    assert main(["init", "--dry-run", str(root)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("migrations at start (RUN_MIGRATIONS=0 skips them): flask --app"
            " 'blog:create_app()' db upgrade (flask-migrate: flask-migrate and migrations/env.py);"
            " sh -c './seed [x]' (procfile: Procfile line 1 (release:))") in out
    assert not (root / "docker").exists()


def test_dry_run_says_when_there_are_none(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.cli import main

    root = make(tmp_path / "api", {"main.py": FASTAPI, "requirements.txt": "fastapi==0.115.0\n"})
    assert main(["init", "--dry-run", str(root)]) == 0
    assert "migrations at start (RUN_MIGRATIONS=0 skips them): none found" in " ".join(
        capsys.readouterr().out.split())


@pytest.mark.parametrize(("files", "needs"), [
    ({"alembic.ini": ALEMBIC_INI.format("svc:alembic")}, ("alembic.ini",)),
    ({"migrations/env.py": "",
      "pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'},
     ("pyproject.toml", "migrations")),
    ({"migrations/env.py": "", "alembic.ini": "[loggers]\nkeys = root\n",
      "pyproject.toml": '[tool.alembic]\nscript_location = "migrations"\n'},
     ("alembic.ini", "pyproject.toml", "migrations")),
], ids=["package-resource", "pyproject", "pyproject-and-ini"])
def test_what_alembic_reads_at_start(tmp_path: Path, files: dict[str, str],
                                     needs: tuple[str, ...]) -> None:
    found = detect_migrations(make(tmp_path, files), dependency_names={"alembic"})
    assert [m.needs for m in found.commands] == [needs]


@pytest.mark.parametrize(("flaskenv", "files", "needs"), [
    ("FLASK_APP=wsgi.py\n", {"wsgi.py": "from blog import create_app\napp = create_app()\n"},
     ("migrations", "wsgi.py")),
    ("FLASK_APP=serve:app\n", {"serve.py": ""}, ("migrations", "serve.py")),
    ("FLASK_APP=blog\n", {}, ("migrations",)),
], ids=["file", "module", "package"])
def test_the_flaskenv_app_file_is_read_at_start(tmp_path: Path, flaskenv: str,
                                                files: dict[str, str],
                                                needs: tuple[str, ...]) -> None:
    """In a package install /app has only what the commands need: FLASK_APP's own file too."""
    root = make(tmp_path, {**FLASK_MIGRATE_APP, ".flaskenv": flaskenv, **files})
    found = detect_migrations(root, dependency_names={"flask-migrate"}, flask_app="blog:app")
    assert [m.needs for m in found.commands] == [needs]
