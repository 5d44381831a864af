"""A top-level wsgi.py/asgi.py that builds the app wins over other modules that build one
too (CTFd's manage.py is a Flask CLI script calling create_app()), and a gevent or
eventlet monkey-patch in that module makes gunicorn run the matching worker class.

Before: init took `manage:app` (the first file in walk order) and ran sync workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.generate.install_steps import server_command

FACTORY = "from flask import Flask\n\n\ndef create_app():\n    return Flask(__name__)\n"
MANAGE = ("from flask.cli import FlaskGroup\n\nfrom board import create_app\n\n"
          "app = create_app()\ncli = FlaskGroup(create_app=lambda: app)\n")
WSGI = "from board import create_app\n\napp = create_app()\n"
GEVENT_WSGI = ("import os\n\nif not os.getenv('FLASK_RUN_FROM_CLI'):\n"
               "    from gevent import monkey\n\n    monkey.patch_all()\n\n" + WSGI)
EVENTLET_WSGI = "import eventlet\n\neventlet.monkey_patch()\n\n" + WSGI
FASTAPI = "from fastapi import FastAPI\n\n\ndef create_app():\n    return FastAPI()\n"

# (id, files, expected app_target, expected worker class)
CASES = [
    ("wsgi-beats-manage", {"manage.py": MANAGE, "wsgi.py": WSGI, "board/__init__.py": FACTORY,
                           "requirements.txt": "Flask==3.1.0\n"}, "wsgi:app", None),
    ("wsgi-application-name", {"manage.py": MANAGE, "board/__init__.py": FACTORY,
                               "wsgi.py": "from board import create_app\n"
                                          "application = create_app()\n",
                               "requirements.txt": "Flask==3.1.0\n"}, "wsgi:application", None),
    ("manage-alone", {"manage.py": MANAGE, "board/__init__.py": FACTORY,
                      "requirements.txt": "Flask==3.1.0\n"}, "manage:app", None),
    ("asgi-file", {"asgi.py": "from svc import create_app\napp = create_app()\n",
                   "svc/__init__.py": FASTAPI, "cli.py": "from fastapi import FastAPI\n"
                                                         "app = FastAPI()\n",
                   "requirements.txt": "fastapi==0.115.0\n"}, "asgi:app", None),
    ("wsgi-without-an-app", {"manage.py": MANAGE, "board/__init__.py": FACTORY,
                             "wsgi.py": "print('hello')\n",
                             "requirements.txt": "Flask==3.1.0\n"}, "manage:app", None),
    ("gevent-patch", {"manage.py": MANAGE, "wsgi.py": GEVENT_WSGI, "board/__init__.py": FACTORY,
                      "requirements.txt": "Flask==3.1.0\ngevent==25.5.1\n"}, "wsgi:app", "gevent"),
    ("gevent-not-installed", {"wsgi.py": GEVENT_WSGI, "board/__init__.py": FACTORY,
                              "requirements.txt": "Flask==3.1.0\n"}, "wsgi:app", None),
    ("eventlet-patch", {"wsgi.py": EVENTLET_WSGI, "board/__init__.py": FACTORY,
                        "requirements.txt": "Flask==3.1.0\neventlet==0.36.1\n"},
     "wsgi:app", "eventlet"),
]


@pytest.mark.parametrize(("files", "target", "worker"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_entry_module_and_worker_class(tmp_path: Path, files: dict[str, str], target: str,
                                       worker: str | None) -> None:
    project = detect(make(tmp_path / "proj", files))
    assert project.app_target == target
    assert (project.worker_class.name if project.worker_class else None) == worker
    command = server_command(project)
    assert (f"--worker-class {worker}" in command) if worker else ("--worker-class" not in
                                                                   command)


def test_the_entry_module_choice_is_a_note_not_a_warning(tmp_path: Path) -> None:
    project = detect(make(tmp_path / "proj", {"manage.py": MANAGE, "wsgi.py": WSGI,
                                              "board/__init__.py": FACTORY,
                                              "requirements.txt": "Flask==3.1.0\n"}))
    assert not [w for w in project.warnings if "several app objects" in w]
    assert any(n.startswith("wsgi.py builds the app: using wsgi:app") for n in project.notes)
