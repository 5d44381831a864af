"""`shipyard init` end to end through shipyard.cli.main, on a synthetic Flask project."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shipyard import __version__
from shipyard.cli import main

GENERATED = {"Dockerfile", "docker/entrypoint.sh", "docker/healthcheck.py", ".dockerignore",
             "compose.yaml", "compose.override.yaml.example", ".gitignore"}
SOURCES = {"app.py": "from flask import Flask\n\napp = Flask(__name__)\n",
           "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\n"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    return root


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_dry_run_reports_and_writes_nothing(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(project)
    assert main(["init", "--dry-run", str(project)]) == 0
    out = capsys.readouterr().out
    assert "shop: flask (wsgi) → app:app" in out
    assert "requirements-pinned from requirements.txt" in out
    for name in GENERATED:
        assert name in out
    assert tree(project) == before


def test_init_writes_the_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(project)]) == 0
    captured = capsys.readouterr()
    assert set(tree(project)) == GENERATED | set(SOURCES)
    assert "error" not in captured.err
    assert tree(project)["Dockerfile"].startswith("# shipyard-init: sha256=")
    assert "FROM base AS runtime" in tree(project)["Dockerfile"]
    assert stat.S_IMODE((project / "docker/entrypoint.sh").stat().st_mode) == 0o755
    assert tree(project)[".gitignore"] == ("compose.override.yaml\n.env\nshipyard-build.json\n"
                                          "shipyard-sbom.cdx.json\nshipyard-image.tar\n")
    for name in SOURCES:
        assert tree(project)[name] == SOURCES[name]


def test_second_run_changes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(project)]) == 0
    first = tree(project)
    capsys.readouterr()
    assert main(["init", str(project)]) == 0
    assert tree(project) == first
    assert "unchanged" in capsys.readouterr().out


def test_edited_file_is_refused_with_a_diff(project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(project)]) == 0
    compose = project / "compose.yaml"
    edited = compose.read_text() + "# my own tweak\n"
    compose.write_text(edited)
    (project / "Dockerfile").unlink()  # would be re-created if the run were not all-or-nothing
    capsys.readouterr()

    assert main(["init", str(project)]) == 2
    captured = capsys.readouterr()
    errors = error_lines(captured.err)
    assert len(errors) == 1
    assert "--force" in errors[0]
    assert "Traceback" not in captured.err
    assert "--- compose.yaml (yours)" in captured.out
    assert "+++ compose.yaml (shipyard)" in captured.out
    assert "-# my own tweak" in captured.out
    assert compose.read_text() == edited
    assert not (project / "Dockerfile").exists()


def test_force_replaces_the_edited_file(project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(project)]) == 0
    compose = project / "compose.yaml"
    original = compose.read_text()
    compose.write_text(original + "# my own tweak\n")
    assert main(["init", "--force", str(project)]) == 0
    assert compose.read_text() == original
    assert "overwrite" in capsys.readouterr().out


def test_user_gitignore_lines_are_kept(project: Path) -> None:
    (project / ".gitignore").write_text("*.log\n.env\n")
    assert main(["init", str(project)]) == 0
    assert (project / ".gitignore").read_text() == (
        "*.log\n.env\ncompose.override.yaml\nshipyard-build.json\nshipyard-sbom.cdx.json\n"
        "shipyard-image.tar\n")


ERRORS = [
    # id, argv tail (after "init"), files to write (None = delete), fragment of the error line
    ("missing-dir", ["{root}/does-not-exist"], {}, "not a directory"),
    ("unknown-extra", ["--extra", "nope", "{root}"],
     {"requirements.txt": None,
      "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["flask"]\n'
                        '[project.optional-dependencies]\npg = ["psycopg"]\n'},
     "choose one of: pg"),
    ("invalid-toml", ["{root}"], {"pyproject.toml": "[project\n"}, "pyproject.toml: invalid TOML"),
    ("bad-requirement", ["{root}"], {"requirements.txt": "flask==3.0.3\n???\n"},
     "requirements.txt:2:"),
]


@pytest.mark.parametrize(("args", "files", "fragment"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_usage_errors_are_one_clean_line(project: Path, capsys: pytest.CaptureFixture[str],
                                         args: list[str], files: dict[str, str | None],
                                         fragment: str) -> None:
    for name, text in files.items():
        if text is None:
            (project / name).unlink()
        else:
            (project / name).write_text(text)
    before = tree(project)
    code = main(["init", *[a.format(root=project) for a in args]])
    captured = capsys.readouterr()
    assert code == 2
    errors = error_lines(captured.err)
    assert len(errors) == 1
    assert fragment in errors[0]
    assert "Traceback" not in captured.err + captured.out
    assert "internal error" not in captured.err
    assert tree(project) == before


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"shipyard, version {__version__}"


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--no-such-flag"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_init_pins_the_base_image_digest_when_known(tmp_path: Path) -> None:
    from shipyard.init import init

    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\ngunicorn==23.0.0\n")
    digest = "sha256:" + "a" * 64
    asked: list[str] = []

    def resolver(name: str) -> str | None:
        asked.append(name)
        return digest

    init(tmp_path, resolve_digest=resolver)
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert asked == ["python:3.11-slim-bookworm"]
    assert f"ARG PYTHON_IMAGE=python:3.11-slim-bookworm@{digest}\n" in dockerfile


def test_init_notes_a_tag_only_pin(tmp_path: Path) -> None:
    from shipyard.init import init

    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\ngunicorn==23.0.0\n")
    result = init(tmp_path, resolve_digest=lambda name: None)
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm\n" in (tmp_path / "Dockerfile").read_text()
    assert any("pinned by tag only" in note for note in result.notes)


def _flask(tmp_path: Path, remote: str | None = None) -> Path:
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\ngunicorn==23.0.0\n")
    if remote:
        (tmp_path / ".git").mkdir()
        (tmp_path / ".git" / "config").write_text(f'[remote "origin"]\n\turl = {remote}\n')
    return tmp_path


@pytest.mark.parametrize(("remote", "written"), [
    ("git@github.com:acme/shop.git", ".github/workflows/shipyard.yml"),
    ("https://gitlab.example.com/acme/shop.git", ".gitlab-ci.yml"),
    (None, None),
], ids=["github-remote", "gitlab-remote", "no-remote"])
def test_init_writes_the_pipeline_the_remote_suggests(
    tmp_path: Path, remote: str | None, written: str | None
) -> None:
    from shipyard.init import init

    result = init(_flask(tmp_path, remote))
    pipelines = [p for p in (".github/workflows/shipyard.yml", ".gitlab-ci.yml")
                 if (tmp_path / p).exists()]
    assert pipelines == ([written] if written else [])
    if written is None:
        assert any("--ci gitlab" in note for note in result.notes)


def test_init_leaves_the_users_own_pipeline_alone(tmp_path: Path) -> None:
    from shipyard.init import init

    project = _flask(tmp_path, "https://gitlab.example.com/acme/shop.git")
    (project / ".gitlab-ci.yml").write_text("test:\n  script: [make test]\n")
    result = init(project)
    assert (project / ".gitlab-ci.yml").read_text() == "test:\n  script: [make test]\n"
    assert any("exists and is yours" in note for note in result.notes)
    forced = init(project, ci="gitlab")  # asked for explicitly: a conflict, as for any file
    assert [p.file.path for p in forced.conflicts] == [".gitlab-ci.yml"]
