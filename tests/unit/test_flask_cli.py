"""`flask --app X` exists since Flask 2.2: for an older pinned Flask (CTFd locks 2.1.3)
the entrypoint's `flask db upgrade` names the app through FLASK_APP instead.

Before: the container stopped at start with "No such option: --app"."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect

APP = ("from flask import Flask\nfrom flask_migrate import Migrate\n\n"
       "app = Flask(__name__)\nmigrate = Migrate(app)\n")
UV_LOCK = ('version = 1\n\n[[package]]\nname = "notes"\nversion = "1"\n'
           'source = {{ virtual = "." }}\n'
           'dependencies = [{{ name = "flask" }}, {{ name = "flask-migrate" }}]\n\n'
           '[[package]]\nname = "flask"\nversion = "{flask}"\n'
           'source = {{ registry = "https://pypi.org/simple" }}\n\n'
           '[[package]]\nname = "flask-migrate"\nversion = "4.0.0"\n'
           'source = {{ registry = "https://pypi.org/simple" }}\n')
PYPROJECT = ('[project]\nname = "notes"\nversion = "1"\n'
             'dependencies = ["flask", "flask-migrate"]\n')

# (id, dependency files, expected migration command)
CASES = [
    ("requirements-old", {"requirements.txt": "Flask==2.1.3\nFlask-Migrate==3.1.0\n"},
     "FLASK_APP=notes:app flask db upgrade"),
    ("requirements-new", {"requirements.txt": "Flask==3.1.0\nFlask-Migrate==4.0.0\n"},
     "flask --app notes:app db upgrade"),
    ("requirements-unpinned", {"requirements.txt": "Flask\nFlask-Migrate\n"},
     "flask --app notes:app db upgrade"),
    ("uv-lock-old", {"pyproject.toml": PYPROJECT, "uv.lock": UV_LOCK.format(flask="2.1.3")},
     "FLASK_APP=notes:app flask db upgrade"),
    ("uv-lock-new", {"pyproject.toml": PYPROJECT, "uv.lock": UV_LOCK.format(flask="2.2.0")},
     "flask --app notes:app db upgrade"),
]


@pytest.mark.parametrize(("files", "command"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_migration_command_fits_the_flask_version(tmp_path: Path, files: dict[str, str],
                                                  command: str) -> None:
    root = make(tmp_path / "proj", {**files, "notes.py": APP,
                                    "migrations/env.py": "# alembic env\n"})
    project = detect(root)
    assert [m.command for m in project.migrations] == [command]
