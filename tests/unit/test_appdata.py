"""A data directory the settings fix inside the project (linkding's <project>/data, no
env var to move it): the image links it to the data volume, the checkout's copy stays
out of the context, and the build steps get a scratch directory that never ships."""

from __future__ import annotations

import shutil
from pathlib import Path

from shipyard.detect import detect
from shipyard.detect.appdata import app_data_dirs
from shipyard.generate.render import render

FIXTURE = Path(__file__).resolve().parent.parent / "projects" / "appdata-django"


def test_the_directory_is_found_relative_to_base_dir(tmp_path: Path) -> None:
    settings = tmp_path / "pkg" / "conf" / "settings.py"
    settings.parent.mkdir(parents=True)
    settings.write_text("from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent"
                        ".parent\nDB = BASE_DIR / 'var' / 'app.db'\n")
    found = app_data_dirs(tmp_path, {settings: settings.read_text()})
    assert [(d.relative, d.where) for d in found] == [("pkg/var", "pkg/conf/settings.py:3")]


def test_django_project_with_a_fixed_data_directory(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(FIXTURE, root)
    project = detect(root)
    assert project.data_links == ["/app/data"]
    assert not [w for w in project.warnings if "SQLite" in w]
    files = {f.path: f.content for f in render(project)}
    dockerfile = files["Dockerfile"]
    assert "ln -s /data /app/data" in dockerfile
    build_step = next(line for line in dockerfile.splitlines() if "manage.py collectstatic" in line)
    steps = dockerfile[dockerfile.index("mkdir -p data"):dockerfile.index("rm -rf data")]
    assert "collectstatic" in steps and build_step in steps
    assert "data" in files[".dockerignore"].splitlines()
