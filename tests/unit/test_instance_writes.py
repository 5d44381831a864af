"""Writes the read-only root will refuse, seen by `init`: Flask's instance folder (linked
to the data volume when its path is predictable) and SQLite files next to the code.

From-scratch shapes: the Flask tutorial's (an app factory that makes its instance
folder at start and keeps the SQLite database there), installed as a package or run
from source; a config class with a SQLite URL built from the module's directory; a
Django settings file with the default SQLite database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.generate.render import render

FACTORY = """\
import os

from flask import Flask


def create_app():
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DATABASE=os.path.join(app.instance_path, "notes.sqlite"))
    os.makedirs(app.instance_path, exist_ok=True)
    return app
"""
FLIT = ('[build-system]\nrequires = ["flit_core<4"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "notes"\nversion = "1"\ndependencies = ["flask"]\n')
PACKAGED = {"pyproject.toml": FLIT, "notes/__init__.py": FACTORY}
FROM_SOURCE = {"requirements.txt": "Flask==3.1.0\ngunicorn==23.0.0\n",
               "notes/__init__.py": FACTORY}
PLAIN_FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"
SQLA = ("from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
        "app = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///blog.db'\n"
        "db = SQLAlchemy(app)\n")


LINKS = [
    # id, files, links
    ("installed-package", PACKAGED, ["/opt/venv/var/notes-instance"]),
    ("from-source", FROM_SOURCE, ["/app/instance"]),
    ("src-layout-source", {"requirements.txt": "Flask==3.1.0\n",
                           "src/notes/__init__.py": FACTORY}, ["/app/src/instance"]),
    ("literal-import-name", {"pyproject.toml": FLIT, "notes/__init__.py": FACTORY.replace(
        "Flask(__name__", "Flask('notes.web'")}, ["/opt/venv/var/notes.web-instance"]),
    ("flask-sqlalchemy-relative-url", {"requirements.txt": "Flask==3.1.0\nFlask-SQLAlchemy==3.1\n",
                                       "app.py": SQLA}, ["/app/instance"]),
    ("instance-path-chosen", {"requirements.txt": "Flask==3.1.0\n", "notes/__init__.py":
                              FACTORY.replace("Flask(__name__,", "Flask(__name__, instance_path="
                                              "os.environ['NOTES_DIR'],")}, []),
    ("instance-not-used", {"requirements.txt": "Flask==3.1.0\n", "app.py": PLAIN_FLASK}, []),
    ("instance-dir-in-checkout", {**FROM_SOURCE, "instance/config.py": "X = 1\n"},
     ["/app/instance"]),
]


@pytest.mark.parametrize(("files", "links"), [c[1:] for c in LINKS], ids=[c[0] for c in LINKS])
def test_instance_folder_links(tmp_path: Path, files: dict[str, str], links: list[str]) -> None:
    assert detect(make(tmp_path, files)).data_links == links


def test_init_says_where_the_instance_folder_goes(tmp_path: Path) -> None:
    warnings = detect(make(tmp_path, PACKAGED)).warnings
    said = next(w for w in warnings if "instance folder" in w)
    assert said.startswith("notes/__init__.py:9 (os.makedirs(app.instance_path")
    assert "/opt/venv/var/notes-instance in the image" in said
    assert "links it to the data volume /data" in said
    assert "stays out of the image" not in said  # there is no instance/ to keep out


@pytest.mark.parametrize(("files", "ignored"), [
    ({**FROM_SOURCE, "instance/notes.sqlite": ""}, "instance"),
    (PACKAGED, "instance"),
    ({"requirements.txt": "Flask==3.1.0\n", "src/notes/__init__.py": FACTORY}, "src/instance"),
], ids=["checkout-has-one", "package", "src-layout"])
def test_the_checkouts_instance_folder_stays_out_of_the_image(
        tmp_path: Path, files: dict[str, str], ignored: str) -> None:
    """It holds local state (a development database, local config): never image content."""
    project = detect(make(tmp_path, files))
    ignore = next(f.content for f in render(project) if f.path == ".dockerignore")
    assert ignored in ignore.splitlines()
    said = next(w for w in project.warnings if "instance folder" in w)
    assert ("stays out of the image (.dockerignore)" in said) is (tmp_path / ignored).exists()


def test_dockerfile_links_the_instance_folder_before_the_venv_arrives(tmp_path: Path) -> None:
    text = next(f.content for f in render(detect(make(tmp_path, PACKAGED)))
                if f.path == "Dockerfile")
    runtime = text[text.index("FROM base AS runtime"):]
    link = " && mkdir -p /opt/venv/var && ln -s /data /opt/venv/var/notes-instance\n"
    assert link in runtime
    assert runtime.index(link) < runtime.index("COPY --from=dependencies /opt/venv /opt/venv")


def test_no_link_without_a_predicted_write(tmp_path: Path) -> None:
    text = next(f.content for f in render(detect(make(tmp_path, {
        "requirements.txt": "Flask==3.1.0\n", "app.py": PLAIN_FLASK}))) if f.path == "Dockerfile")
    assert "ln -s" not in text


MICROBLOG_LIKE = """\
import os

basedir = os.path.abspath(os.path.dirname(__file__))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or \\
        "sqlite:///" + os.path.join(basedir, "app.db")
"""
DJANGO_DEFAULT = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
"""

SQLITE = [
    # id, file text, expected warning fragment or None
    ("url-from-basedir-with-env", MICROBLOG_LIKE,
     "config.py:8: the SQLite database is inside the application directory, which is read-only"
     " in the container (writes fail, and data would not survive an update): set DATABASE_URL"
     " to a path on the data volume (e.g. sqlite:////data/app.db for a URL)"),
    ("django-default", DJANGO_DEFAULT,
     "config.py:4: the SQLite database is inside the application directory"),
    ("connect-relative", "import sqlite3\nconn = sqlite3.connect('app.db')\n",
     "read the path from an env var and point it into the data volume /data"),
    ("on-the-volume", "URI = 'sqlite:////data/app.db'\nBASE = __file__\n", None),
    ("env-only", "import os\nURI = os.environ['DATABASE_URL']\n", None),
    ("in-memory", "import sqlite3\nconn = sqlite3.connect(':memory:')\n", None),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in SQLITE], ids=[c[0] for c in SQLITE])
def test_sqlite_inside_the_app_is_a_warning(tmp_path: Path, text: str,
                                            expected: str | None) -> None:
    warnings = detect(make(tmp_path, {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                                      "requirements.txt": "fastapi==0.115.0\n",
                                      "config.py": text})).warnings
    sqlite = [w for w in warnings if "SQLite" in w]
    if expected is None:
        assert sqlite == []
    else:
        assert len(sqlite) == 1 and expected in sqlite[0], sqlite


LOGS_IN_APP = """\
import logging
import os
from logging.handlers import RotatingFileHandler


def setup_logging(app):
    if app.config["LOG_TO_STDOUT"]:
        app.logger.addHandler(logging.StreamHandler())
    else:
        if not os.path.exists("logs"):
            os.mkdir("logs")
        app.logger.addHandler(RotatingFileHandler("logs/board.log", maxBytes=10240))
"""
RELATIVE = [
    # The image sets a switch it recognises (detect/logswitch.py): nothing left to warn about.
    ("log-dir-with-a-switch-the-image-sets",
     {"board/logs.py": LOGS_IN_APP,
      "config.py": "import os\nLOG_TO_STDOUT = os.environ.get('LOG_TO_STDOUT')\n"}, []),
    ("log-dir-with-an-unrecognised-switch",
     {"board/logs.py": LOGS_IN_APP.replace("LOG_TO_STDOUT", "STDOUT_LOGGING"),
      "config.py": "import os\nSTDOUT_LOGGING = os.environ.get('STDOUT_LOGGING')\n"},
     ["board/logs.py:11: writes logs relative to the working directory, which is the read-only"
      " application directory in the container: log to stdout/stderr instead: set STDOUT_LOGGING"
      " in the container's environment (the app reads it)"]),
    ("log-file-handler", {"app.py": "import logging\nh = logging.FileHandler('app.log')\n"},
     ["app.py:2: writes app.log relative to the working directory, which is the read-only"
      " application directory in the container: log to stdout/stderr instead"]),
    ("upload-dir", {"app.py": "from pathlib import Path\nPath('uploads').mkdir(exist_ok=True)\n"},
     ["app.py:2: writes uploads relative to the working directory, which is the read-only"
      " application directory in the container: read the path from an env var and point it"
      " into the data volume /data (or /tmp for scratch files)"]),
    ("absolute-paths-are-not-guessed", {"app.py": "import os\nos.makedirs('/data/x')\n"
                                                  "os.makedirs(os.environ['UPLOADS'])\n"}, []),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in RELATIVE],
                         ids=[c[0] for c in RELATIVE])
def test_relative_writes_are_a_warning(tmp_path: Path, files: dict[str, str],
                                       expected: list[str]) -> None:
    warnings = detect(make(tmp_path, {"requirements.txt": "Flask==3.1.0\n", **files})).warnings
    assert [w for w in warnings if "relative to the working directory" in w] == expected
