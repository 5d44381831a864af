"""Writable folders a config computes from `__file__` (CTFd's cache, log and upload
folders): resolved statically to a place in the project, then linked by the image to
the tmpfs (caches) or to their own directory on the data volume.

Before: nothing followed these paths; the build's import check of such an app died
with PermissionError in the read-only /app."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tree import write_tree as make
from shipyard.detect import detect
from shipyard.detect.pkgdirs import package_dirs
from shipyard.generate.render import render

FIXTURE = Path(__file__).resolve().parent.parent / "projects" / "pkgwrites-flask-dirs"
IMPORTS = "import os\nimport pathlib\nfrom pathlib import Path\n"

# (id, file, assignment text, expected (relative folder, setting, scratch) or None)
SHAPES = [
    ("pardir-join", "app/config.py",
     'CACHE_DIR = os.path.join(os.path.dirname(__file__), os.pardir, ".data", "cache")',
     (".data/cache", "CACHE_DIR", True)),
    ("abspath-dirname", "app/config.py",
     'LOG_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logs")',
     ("app/logs", "LOG_FOLDER", False)),
    ("realpath-dotdot", "app/config.py",
     'UPLOAD_FOLDER = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "up")',
     ("up", "UPLOAD_FOLDER", False)),
    ("config-value-or-default", "app/config.py",
     'LOG_FOLDER = read("LOG_FOLDER") or os.path.join(os.path.dirname(__file__), "logs")',
     ("app/logs", "LOG_FOLDER", False)),
    ("path-parent-div", "app/settings.py",
     'MEDIA_ROOT = Path(__file__).resolve().parent / "media"', ("app/media", "MEDIA_ROOT", False)),
    ("path-parents-index", "app/conf/settings.py",
     'DATA_DIR = pathlib.Path(__file__).parents[1] / "data" / "files"',
     ("app/data/files", "DATA_DIR", False)),
    ("base-dir-chain", "app/settings.py",
     'BASE_DIR = Path(__file__).resolve().parent.parent\nTMP_DIR = BASE_DIR / "tmp"',
     ("tmp", "TMP_DIR", True)),
    ("joinpath", "app/settings.py",
     'SESSION_DIR = Path(__file__).parent.joinpath("sessions")',
     ("app/sessions", "SESSION_DIR", False)),
    ("in-a-class-under-if", "app/config.py",
     'class Config:\n    if True:\n        CACHE_DIR: str = os.path.join('
     'os.path.dirname(__file__), "cache")', ("app/cache", "CACHE_DIR", True)),
    ("a-file-not-a-folder", "app/config.py",
     'LOG_PATH = os.path.join(os.path.dirname(__file__), "app.log")', None),
    ("not-a-writable-name", "app/config.py",
     'TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")', None),
    ("static-root-is-built", "app/settings.py",
     'STATIC_ROOT = Path(__file__).resolve().parent / "static"', None),
    ("above-the-project", "config.py",
     'LOG_DIR = os.path.join(os.path.dirname(__file__), os.pardir, "logs")', None),
    ("absolute-piece", "app/config.py",
     'LOG_DIR = os.path.join(os.path.dirname(__file__), "/var/log/app")', None),
    ("unknown-call", "app/config.py",
     'UPLOAD_DIR = os.path.join(find_root(__file__), "uploads")', None),
    ("the-package-itself", "app/config.py", "DATA_DIR = os.path.dirname(__file__)", None),
]


@pytest.mark.parametrize(("rel", "text", "expected"), [s[1:] for s in SHAPES],
                         ids=[s[0] for s in SHAPES])
def test_folder_shapes(tmp_path: Path, rel: str, text: str,
                       expected: tuple[str, str, bool] | None) -> None:
    root = make(tmp_path / "proj", {rel: IMPORTS + text + "\n"})
    found = [(d.relative, d.name, d.scratch) for d in package_dirs(root)]
    assert found == ([expected] if expected else [])


def test_a_folder_with_files_of_the_checkout_is_left_alone_with_a_warning(
        tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "requirements.txt": "Flask==3.1.0\n",
        "app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n",
        "app/config.py": IMPORTS + 'DATA_DIR = os.path.join(os.path.dirname(__file__), "data")\n',
        "app/data/countries.csv": "de,fr\n", "app/data/.gitkeep": ""})
    project = detect(root)
    assert project.dir_links == {}
    assert any("app/config.py:4: DATA_DIR" in w and "countries.csv" in w
               for w in project.warnings), project.warnings


def test_installed_package_gets_a_warning_not_a_link(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "pyproject.toml": '[build-system]\nrequires = ["hatchling"]\nbuild-backend = '
                          '"hatchling.build"\n[project]\nname = "app"\nversion = "1"\n'
                          'dependencies = ["flask"]\n',
        "uv.lock": "version = 1\n",
        "src/app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n",
        "src/app/config.py": IMPORTS + 'UPLOAD_DIR = Path(__file__).parent / "uploads"\n'})
    project = detect(root)
    assert project.install_mode == "package"  # the layout under test, never silently skipped
    assert project.dir_links == {}
    assert any("UPLOAD_DIR" in w and "installed package" in w for w in project.warnings)


def test_fixture_links_cache_to_tmpfs_and_logs_uploads_to_the_volume() -> None:
    project = detect(FIXTURE)
    assert project.dir_links == {"/app/.data/filesystem_cache": "/tmp/filesystem_cache",
                                 "/app/board/uploads": "/data/uploads"}
    # a log folder is not made writable (containers log to stdout): a warning says why
    assert any("board/config.py:31: LOG_FOLDER" in w and "stdout" in w
               for w in project.warnings), project.warnings
    assert any("board/config.py:30: CACHE_DIR" in n and "/tmp/filesystem_cache" in n
               for n in project.notes), project.notes
    files = {f.path: f.content for f in render(project)}
    dockerfile, entrypoint = files["Dockerfile"], files["docker/entrypoint.sh"]
    assert "&& mkdir -p /app/board && ln -s /data/uploads /app/board/uploads" in dockerfile
    assert "ln -s /tmp/filesystem_cache /app/.data/filesystem_cache" in dockerfile
    # a fresh tmpfs or volume: the targets are made before anything imports the app
    mkdir = entrypoint.index("mkdir -p /data/uploads /tmp/filesystem_cache")
    assert mkdir < entrypoint.index('exec "$@"')
    # the import check at build: link targets made on a throwaway /tmp and in the data
    # volume's folder, which is emptied again (a fresh volume starts as a copy of it)
    smoke = dockerfile[dockerfile.index("# Smoke test"):dockerfile.index("EXPOSE")]
    assert "--mount=type=tmpfs,target=/tmp" in smoke
    assert "mkdir -p /data/uploads /tmp/filesystem_cache && python -c \"import wsgi\"" in smoke
    assert smoke.rstrip().endswith("&& find /data -mindepth 1 -delete")
    ignored = files[".dockerignore"].splitlines()
    assert {"board/uploads", ".data/filesystem_cache"} <= set(ignored)
    assert "board/logs" not in ignored


def test_user_dockerignore_gets_the_linked_folders(tmp_path: Path) -> None:
    from shipyard.init import init

    root = tmp_path / "board"
    make(root, {rel.relative_to(FIXTURE).as_posix(): rel.read_text()
                for rel in FIXTURE.rglob("*") if rel.is_file() and "__pycache__" not in rel.parts})
    (root / ".dockerignore").write_text("**/__pycache__\n")
    init(root)
    lines = (root / ".dockerignore").read_text().splitlines()
    assert {"board/uploads", ".data/filesystem_cache"} <= set(lines), lines


def test_two_folders_with_one_name_get_their_own_targets(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "requirements.txt": "Flask==3.1.0\n",
        "app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n",
        "app/config.py": IMPORTS + 'UPLOAD_DIR = Path(__file__).parent / "uploads"\n',
        "admin/config.py": IMPORTS + 'UPLOAD_DIR = Path(__file__).parent / "uploads"\n'})
    assert detect(root).dir_links == {"/app/admin/uploads": "/data/uploads",
                                      "/app/app/uploads": "/data/app-uploads"}
