"""Which Python the image gets, and why: every source, the repository-root lookup,
contradictions, ranges, and the official base image's name for the version."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.detect import detect
from shipyard.detect.project import DEFAULT_PYTHON
from shipyard.errors import UsageError
from shipyard.generate.render import base_image_name, render

FLASK_APP = "from flask import Flask\n\napp = Flask(__name__)\n"
PYPROJECT = '[project]\nname = "shop"\nversion = "1"\nrequires-python = "{}"\n'
POETRY = '[tool.poetry]\nname = "shop"\n[tool.poetry.dependencies]\npython = "{}"\n'
LOCK = 'version = 1\nrequires-python = "{}"\n'


def make(tmp_path: Path, files: dict[str, str], app: str) -> Path:
    """Write files under tmp_path/work; the app is tmp_path/work/<app> (with a Flask app)."""
    work = tmp_path / "work"
    for rel, text in {**files, f"{app}/app.py": FLASK_APP}.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return work / app


# (id, files under work/, app dir, --python, expected version, words in the source)
CHOICES: list[tuple[str, dict[str, str], str, str | None, str, str]] = [
    ("nothing-default", {}, "app", None, DEFAULT_PYTHON, "the default (no --python"),
    ("python-version-patch", {"app/.python-version": "3.12.4\n"}, "app", None, "3.12",
     ".python-version"),
    ("python-version-uv-request", {"app/.python-version": "cpython@3.13\n"}, "app", None,
     "3.13", ".python-version"),
    ("python-version-comment", {"app/.python-version": "# for uv\n\n3.13\n"}, "app", None,
     "3.13", ".python-version"),
    ("python-version-pyenv-multi", {"app/.python-version": "3.12.1\n3.11.9\n"}, "app", None,
     "3.12", ".python-version"),
    ("repo-root-python-version", {"repo/.git/HEAD": "", "repo/.python-version": "3.14\n"},
     "repo/backend", None, "3.14", ".python-version in ../ (repository root)"),
    ("repo-root-two-levels", {"repo/.git/HEAD": "", "repo/.python-version": "3.13\n"},
     "repo/services/api", None, "3.13", ".python-version in ../../ (repository root)"),
    ("worktree-git-file", {"repo/.git": "gitdir: /elsewhere\n", "repo/.python-version": "3.13"},
     "repo/backend", None, "3.13", ".python-version in ../ (repository root)"),
    ("nearest-wins", {"repo/.git/HEAD": "", "repo/.python-version": "3.12\n",
                      "repo/backend/.python-version": "3.13\n"},
     "repo/backend", None, "3.13", ".python-version"),
    ("not-above-repo-root", {".python-version": "3.14\n", "repo/.git/HEAD": ""},
     "repo/backend", None, DEFAULT_PYTHON, "the default"),
    ("not-above-app-outside-git", {".python-version": "3.14\n"}, "app", None, DEFAULT_PYTHON,
     "the default"),
    ("runtime-txt", {"app/runtime.txt": "python-3.12.1\n"}, "app", None, "3.12", "runtime.txt"),
    ("python-version-beats-runtime-txt", {"app/runtime.txt": "python-3.12.1\n",
                                          "app/.python-version": "3.13\n"},
     "app", None, "3.13", ".python-version"),
    ("requires-lowest-allowed", {"app/pyproject.toml": PYPROJECT.format(">=3.13")}, "app", None,
     "3.13", "lowest allowed by requires-python >=3.13 in pyproject.toml"),
    ("requires-allows-default", {"app/pyproject.toml": PYPROJECT.format(">=3.10")}, "app", None,
     DEFAULT_PYTHON, "the default; requires-python >=3.10 in pyproject.toml allows it"),
    ("requires-below-default", {"app/pyproject.toml": PYPROJECT.format(">=3.8,<3.11")}, "app",
     None, "3.9", "lowest allowed"),
    ("requires-compatible", {"app/pyproject.toml": PYPROJECT.format("~=3.12.0")}, "app", None,
     "3.12", "requires-python ~=3.12.0"),
    ("requires-excludes-a-minor", {"app/pyproject.toml": PYPROJECT.format(">=3.10,!=3.11.*")},
     "app", None, "3.10", "lowest allowed"),
    ("uv-lock-only", {"app/uv.lock": LOCK.format(">=3.14")}, "app", None, "3.14",
     "requires-python >=3.14 in uv.lock"),
    ("uv-workspace-lock-at-root", {"repo/.git/HEAD": "", "repo/uv.lock": LOCK.format(">=3.13")},
     "repo/backend", None, "3.13", "requires-python >=3.13 in uv.lock in ../ (repository root)"),
    ("pyproject-and-lock-intersect", {"app/pyproject.toml": PYPROJECT.format(">=3.12"),
                                      "app/uv.lock": LOCK.format(">=3.13")},
     "app", None, "3.13", "pyproject.toml and requires-python >=3.13 in uv.lock"),
    ("pyproject-and-lock-agree", {"app/pyproject.toml": PYPROJECT.format(">=3.13"),
                                  "app/uv.lock": LOCK.format(">=3.13")},
     "app", None, "3.13", "lowest allowed by requires-python >=3.13 in pyproject.toml and uv.lock"),
    ("poetry-caret", {"app/pyproject.toml": POETRY.format("^3.12")}, "app", None, "3.12",
     "requires-python ^3.12 in pyproject.toml (Poetry)"),
    ("poetry-tilde", {"app/pyproject.toml": POETRY.format("~3.13")}, "app", None, "3.13",
     "Poetry"),
    ("pin-within-range", {"app/pyproject.toml": PYPROJECT.format(">=3.12"),
                          "app/.python-version": "3.13\n"},
     "app", None, "3.13", ".python-version; within requires-python >=3.12 in pyproject.toml"),
    ("flag-beats-files", {"app/.python-version": "3.12\n"}, "app", "3.14", "3.14",
     "--python 3.14"),
    ("flag-patch", {}, "app", "3.13.2", "3.13", "--python 3.13.2"),
    ("flag-unknown-allowed", {"app/pyproject.toml": PYPROJECT.format(">=3.15")}, "app", "3.15",
     "3.15", "--python 3.15"),
]


@pytest.mark.parametrize(("files", "app", "flag", "version", "source"),
                         [c[1:] for c in CHOICES], ids=[c[0] for c in CHOICES])
def test_python_choice(tmp_path: Path, files: dict[str, str], app: str, flag: str | None,
                       version: str, source: str) -> None:
    project = detect(make(tmp_path, files, app), python=flag)
    assert (project.python_version, source in project.python_source) == (version, True), \
        project.python_source


# (id, files, app, words in warnings)
WARNINGS = [
    ("garbage-python-version", {"app/.python-version": "system\n"}, "app",
     ".python-version: no CPython version"),
    ("garbage-runtime-txt", {"app/runtime.txt": "3.12\n"}, "app", "is not like python-3.12.1"),
    ("bad-requires", {"app/pyproject.toml": PYPROJECT.format("python3")}, "app",
     "is not a version specifier"),
    ("pins-disagree", {"app/runtime.txt": "python-3.12.1\n", "app/.python-version": "3.13\n"},
     "app", "runtime.txt says 3.12 but .python-version says 3.13"),
    ("unknown-version", {"app/.python-version": "3.15\n"}, "app", "not a known CPython"),
]


@pytest.mark.parametrize(("files", "app", "words"), [c[1:] for c in WARNINGS],
                         ids=[c[0] for c in WARNINGS])
def test_doubtful_sources_are_warned_about(tmp_path: Path, files: dict[str, str], app: str,
                                           words: str) -> None:
    project = detect(make(tmp_path, files, app))
    assert any(words in w for w in project.warnings), project.warnings


def test_agreeing_sources_give_no_warning(tmp_path: Path) -> None:
    project = detect(make(tmp_path, {"app/runtime.txt": "python-3.13.1\n",
                                     "app/.python-version": "3.13.1\n",
                                     "app/pyproject.toml": PYPROJECT.format(">=3.12")}, "app"))
    assert not [w for w in project.warnings if "3.1" in w]


# (id, files, app, --python, words the one-line error must contain)
CONTRADICTIONS = [
    ("python-version-vs-pyproject", {"app/.python-version": "3.11\n",
                                     "app/pyproject.toml": PYPROJECT.format(">=3.13")},
     "app", None, [".python-version pins Python 3.11",
                   "requires-python >=3.13 in pyproject.toml excludes it",
                   "make them agree; requires-python allows 3.13, 3.14"]),
    ("root-pin-vs-app-pyproject", {"repo/.git/HEAD": "", "repo/.python-version": "3.12\n",
                                   "repo/api/pyproject.toml": PYPROJECT.format(">=3.13")},
     "repo/api", None, [".python-version in ../ (repository root) pins Python 3.12",
                        "pyproject.toml"]),
    ("upper-bound", {"app/.python-version": "3.14\n",
                     "app/pyproject.toml": PYPROJECT.format(">=3.10,<3.14")},
     "app", None, ["pins Python 3.14", "requires-python >=3.10,<3.14 in pyproject.toml"]),
    ("flag-vs-pyproject", {"app/pyproject.toml": PYPROJECT.format(">=3.13")}, "app", "3.11",
     ["--python 3.11 pins Python 3.11", "pyproject.toml", "pass a version requires-python"
                                                            " allows: 3.13, 3.14"]),
    ("flag-not-a-version", {}, "app", "latest", ["--python latest: not a Python version"]),
    ("range-allows-nothing-known", {"app/pyproject.toml": PYPROJECT.format(">=3.15")}, "app",
     None, ["requires-python >=3.15 in pyproject.toml allows none", "--python"]),
]


@pytest.mark.parametrize(("files", "app", "flag", "words"), [c[1:] for c in CONTRADICTIONS],
                         ids=[c[0] for c in CONTRADICTIONS])
def test_contradictions_are_one_line_errors(tmp_path: Path, files: dict[str, str], app: str,
                                            flag: str | None, words: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        detect(make(tmp_path, files, app), python=flag)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_stale_runtime_txt_is_a_warning_not_an_error(tmp_path: Path) -> None:
    """Heroku's runtime.txt is often left behind (python-3.6 next to requires-python
    >=3.8): the bounds win, and init says which file to update."""
    project = detect(make(tmp_path, {"app/runtime.txt": "python-3.10.4\n",
                                     "app/uv.lock": LOCK.format(">=3.12")}, "app"))
    assert project.python_version == "3.12"
    assert any("runtime.txt pins Python 3.10, which requires-python >=3.12 in uv.lock excludes:"
               " ignored" in w for w in project.warnings)


BASE_IMAGES = [("3.9", "python:3.9-slim-bookworm"), ("3.11", "python:3.11-slim-bookworm"),
               ("3.12", "python:3.12-slim-bookworm"), ("3.13", "python:3.13-slim-trixie"),
               ("3.14", "python:3.14-slim-trixie")]


@pytest.mark.parametrize(("version", "image"), BASE_IMAGES)
def test_base_image_named_like_the_official_one(tmp_path: Path, version: str,
                                                image: str) -> None:
    project = detect(make(tmp_path, {"app/.python-version": version}, "app"))
    dockerfile = next(f.content for f in render(project) if f.path == "Dockerfile")
    assert base_image_name(project) == image
    assert f"ARG PYTHON_IMAGE={image}\n" in dockerfile


def test_dry_run_says_where_the_version_came_from(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    app = make(tmp_path, {"repo/.git/HEAD": "", "repo/.python-version": "3.14\n",
                          "repo/backend/requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\n"},
               "repo/backend")
    assert main(["init", "--dry-run", "--ci", "none", str(app)]) == 0
    out = capsys.readouterr().out
    assert "python 3.14 from: .python-version in ../ (repository root)\n" in out
    assert not (app / "Dockerfile").exists()


def test_contradiction_stops_init_with_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    app = make(tmp_path, {"app/.python-version": "3.11\n",
                          "app/pyproject.toml": PYPROJECT.format(">=3.13")}, "app")
    assert main(["init", "--dry-run", str(app)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1
    assert ".python-version pins Python 3.11" in err[0]
    assert "Traceback" not in err[0]
