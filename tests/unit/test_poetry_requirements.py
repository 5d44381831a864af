"""docker/poetry_requirements.py, the script the Dockerfile runs to turn poetry.lock into
pip requirements: run for real on lock files written here, read as a table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.detect.project import detect
from shipyard.generate.install_steps import POETRY_REQUIREMENTS
from shipyard.generate.render import render

H1, H2, H3 = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64

POETRY2_LOCK = f'''
[[package]]
name = "Flask"
version = "3.1.0"
optional = false
groups = ["main"]
files = [{{file = "flask-3.1.0-py3-none-any.whl", hash = "{H2}"}},
         {{file = "flask-3.1.0.tar.gz", hash = "{H1}"}}]

[[package]]
name = "colorama"
version = "0.4.6"
optional = false
groups = ["main", "dev"]
markers = {{main = "platform_system == \\"Windows\\"", dev = "sys_platform == \\"win32\\""}}
files = [{{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "{H3}"}}]

[[package]]
name = "pytest"
version = "8.3.4"
optional = false
groups = ["dev"]
files = [{{file = "pytest-8.3.4-py3-none-any.whl", hash = "{H1}"}}]

[[package]]
name = "psycopg"
version = "3.2.3"
optional = true
groups = ["main"]
markers = "python_version >= \\"3.8\\" and extra == \\"pg\\""
files = [{{file = "psycopg-3.2.3-py3-none-any.whl", hash = "{H1}"}}]

[package.dependencies]
typing-extensions = ">=4.6"

[[package]]
name = "typing_extensions"
version = "4.12.2"
optional = true
groups = ["main"]
markers = "extra == \\"pg\\""
files = [{{file = "typing_extensions-4.12.2-py3-none-any.whl", hash = "{H2}"}}]

[[package]]
name = "greetings"
version = "1.0.0"
optional = false
groups = ["main"]
files = []

[package.source]
type = "git"
url = "ssh://git@git.example.com/team/greetings.git"
reference = "v1.0.0"
resolved_reference = "0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "textstats"
version = "0.1.0"
optional = false
groups = ["main"]
files = []

[package.source]
type = "directory"
url = "packages/textstats"

[[package]]
name = "internal-tools"
version = "2.0.0"
optional = false
groups = ["main"]
files = [{{file = "internal_tools-2.0.0-py3-none-any.whl", hash = "{H3}"}}]

[package.source]
type = "legacy"
url = "https://pypi.example.com/simple"
reference = "internal"

[extras]
pg = ["psycopg"]

[metadata]
lock-version = "2.1"
python-versions = "^3.11"
content-hash = "0"
'''

POETRY1_LOCK = f'''
[[package]]
name = "flask"
version = "2.3.3"
category = "main"
optional = false

[[package]]
name = "black"
version = "24.1.0"
category = "dev"
optional = false

[metadata]
lock-version = "1.1"
content-hash = "0"

[metadata.files]
flask = [{{file = "Flask-2.3.3-py3-none-any.whl", hash = "{H1}"}}]
black = [{{file = "black-24.1.0.tar.gz", hash = "{H2}"}}]
'''

CASES = [
    # id, lock, extras, requirements.txt, requirements-unhashed.txt
    ("poetry2-main-only", POETRY2_LOCK, [], [
        "--extra-index-url https://pypi.example.com/simple",
        f'colorama==0.4.6 ; platform_system == "Windows" --hash={H3}',
        f"Flask==3.1.0 --hash={H1} --hash={H2}",
        f"internal-tools==2.0.0 --hash={H3}",
    ], [
        "--extra-index-url https://pypi.example.com/simple",
        "greetings @ git+ssh://git@git.example.com/team/greetings.git"
        "@0123456789abcdef0123456789abcdef01234567",
        "./packages/textstats",
    ]),
    ("poetry2-extra-pulls-its-dependencies", POETRY2_LOCK, ["pg"], [
        "--extra-index-url https://pypi.example.com/simple",
        f'colorama==0.4.6 ; platform_system == "Windows" --hash={H3}',
        f"Flask==3.1.0 --hash={H1} --hash={H2}",
        f"internal-tools==2.0.0 --hash={H3}",
        f'psycopg==3.2.3 ; python_version >= "3.8" --hash={H1}',
        f"typing_extensions==4.12.2 --hash={H2}",
    ], None),
    ("poetry1-category-and-metadata-files", POETRY1_LOCK, [], [
        f"flask==2.3.3 --hash={H1}",
    ], []),
]


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("poetry-project")
    (root / "pyproject.toml").write_text('[tool.poetry]\nname = "po"\n[tool.poetry.dependencies]'
                                         '\npython = "^3.11"\nflask = "^3"\n')
    (root / "poetry.lock").write_text("")
    text = next(f.content for f in render(detect(root)) if f.path == POETRY_REQUIREMENTS)
    path = root / "poetry_requirements.py"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("name", "lock", "extras", "hashed", "unhashed"), CASES,
                         ids=[c[0] for c in CASES])
def test_lock_becomes_requirements(script: Path, tmp_path: Path, name: str, lock: str,
                                   extras: list[str], hashed: list[str],
                                   unhashed: list[str] | None) -> None:
    (tmp_path / "poetry.lock").write_text(lock)
    subprocess.run([sys.executable, str(script), str(tmp_path / "poetry.lock"), str(tmp_path),
                    *extras], check=True)
    assert (tmp_path / "requirements.txt").read_text().splitlines() == hashed
    if unhashed is not None:
        assert (tmp_path / "requirements-unhashed.txt").read_text().splitlines() == unhashed
