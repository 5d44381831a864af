"""What `shipyard init` writes must pass `shipyard check` with zero findings: if a rule
flags a generated file, either the rule or the template is wrong.

The files are rendered with the same functions `shipyard init` uses (detect + render)
into temporary copies of the examples, then the whole directory is checked — Dockerfile,
entrypoint script, .dockerignore, compose.yaml and the override example — together with
the deploy key line `shipyard deploy setup` writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.checks import check
from shipyard.detect import detect
from shipyard.generate.render import render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROJECTS = Path(__file__).resolve().parents[1] / "projects"
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KNOWN_HOSTS = f"git.example.com ssh-ed25519 {KEY}\n"
PUBLIC_KEY = f"ssh-ed25519 {KEY} ci"


def generate(example: str, dest: Path) -> Path:
    project = dest / example
    source = EXAMPLES / example if (EXAMPLES / example).is_dir() else PROJECTS / example
    shutil.copytree(source, project, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist"))
    for item in render(detect(project), known_hosts=KNOWN_HOSTS):
        target = project / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.strategy == "lines" and target.exists():
            target.write_text(target.read_text() + item.content)
        else:
            target.write_text(item.content)
    return project


@pytest.mark.parametrize("example", ["django-app", "flask-app", "fastapi-app",
                                     "django-cookiecutter"])
def test_generated_files_have_zero_findings(tmp_path: Path, example: str) -> None:
    project = generate(example, tmp_path)
    report = check(project)
    assert not report.parse_failures, [str(f) for f in report.parse_failures]
    assert [(f.rule_id, f.file, f.line, f.message) for f in report.findings] == []
    assert {"Dockerfile", "compose.yaml", ".dockerignore", "docker/entrypoint.sh"} <= set(
        report.files)
    assert report.exit_code() == 0


def test_generated_deploy_key_line_passes(tmp_path: Path) -> None:
    from shipyard.deploy.setup import authorized_keys_line

    line = authorized_keys_line("/usr/bin/python3", "/home/deploy/.shipyard/agent.py",
                                "/home/deploy/app", "SHA256:" + "a" * 43, PUBLIC_KEY)
    keys = tmp_path / "authorized_keys"
    keys.write_text(line + "\n")
    report = check(tmp_path, authorized_keys=keys)
    assert [(f.rule_id, f.message) for f in report.findings] == []
    assert "authorized_keys" in report.files


APP = "from flask import Flask\napp = Flask(__name__)\n"
SYNTHETIC: dict[str, dict[str, str]] = {
    "pyproject": {"app.py": APP, "pyproject.toml": (
        '[project]\nname = "ppapp"\nversion = "1.0"\ndependencies = ["flask==3.0.0"]\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')},
    "poetry": {"app.py": APP, "poetry.lock": "", "pyproject.toml": (
        '[tool.poetry]\nname = "poapp"\nversion = "1.0"\ndescription = ""\nauthors = []\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "3.0.0"\n')},
    "setuptools": {"app.py": APP, "setup.py": (
        'from setuptools import setup\nsetup(name="stapp", version="1.0", py_modules=["app"],'
        ' install_requires=["flask==3.0.0"])\n')},
}


@pytest.mark.parametrize("kind", [
    "pyproject", "poetry", "setuptools",
])
def test_other_dependency_kinds_have_zero_findings(tmp_path: Path, kind: str) -> None:
    for name, text in SYNTHETIC[kind].items():
        (tmp_path / name).write_text(text)
    for item in render(detect(tmp_path), known_hosts=KNOWN_HOSTS):
        target = tmp_path / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content)
    report = check(tmp_path)
    assert [(f.rule_id, f.line, f.message) for f in report.findings] == []


PROJECTS = Path(__file__).resolve().parents[1] / "projects"


@pytest.mark.parametrize(("fixture", "extra", "generated"), [
    ("migrate-flask-migrate", {"Procfile": "release: flask --app board db upgrade && echo ok\n"},
     ("docker/entrypoint.sh", "    sh -c 'flask --app board db upgrade && echo ok'\n")),
    ("migrate-alembic-package", {},
     ("Dockerfile", "COPY --from=builder /src/alembic.ini /app/alembic.ini\n")),
    ("migrate-flask-migrate", {"board/__init__.py": "import os\nfrom flask import Flask\n"
                               "def create_app():\n    app = Flask(__name__)\n"
                               "    os.makedirs(app.instance_path, exist_ok=True)\n"
                               "    return app\n"},
     ("Dockerfile", " && mkdir -p /app && ln -s /data /app/instance\n")),
], ids=["procfile-release", "alembic-package-copies", "instance-folder-link"])
def test_migrations_and_data_links_have_zero_findings(
        tmp_path: Path, fixture: str, extra: dict[str, str], generated: tuple[str, str]) -> None:
    project = tmp_path / fixture
    shutil.copytree(PROJECTS / fixture, project)
    for name, text in extra.items():
        (project / name).write_text(text)
    for item in render(detect(project), known_hosts=KNOWN_HOSTS):
        target = project / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content)
    name, line = generated
    assert line in (project / name).read_text()  # what is checked is really there
    report = check(project)
    assert [(f.rule_id, f.file, f.line, f.message) for f in report.findings] == []
