"""An allow-list .dockerignore (`*`, then `!app`...) merged by `init` lets in every file the
generated Dockerfile reads from the context: what it COPYs AND what a RUN bind-mounts
(the native-library scan script docker/runtime_libs.py), and every helper file init
writes for the build (docker/dependency_pyproject.py, docker/egg_requirements.py).

The real case was linkding: its allow-list re-included docker/entrypoint.sh and the
uv helper, but not docker/runtime_libs.py, so the build stopped at
`"/docker/runtime_libs.py" not found`. Projects are written from scratch here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.dockerignore import DockerIgnore
from shipyard.generate.userfiles import context_sources
from shipyard.init import init

PROJECTS = Path(__file__).resolve().parents[1] / "projects"
APP = ("from flask import Flask\napp = Flask(__name__)\n\n\n@app.get('/health')\n"
       "def health():\n    return 'ok'\n")


def _requirements_with_a_compiled_dependency(root: Path) -> None:
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text("flask==3.1.0\ngunicorn==23.0.0\npsycopg2==2.9.10\n")


def _uv_with_uwsgi(root: Path) -> None:
    shutil.copytree(PROJECTS / "native-uwsgi-uv", root, dirs_exist_ok=True)


def _setuptools(root: Path) -> None:
    (root / "app.py").write_text(APP)
    (root / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="stapp", version="1.0", py_modules=["app"],'
        ' install_requires=["flask==3.1.0", "psycopg2==2.9.10"])\n')


SHAPES = {"requirements-native": _requirements_with_a_compiled_dependency,
          "uv-native": _uv_with_uwsgi, "setuptools-native": _setuptools}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_allow_list_lets_in_every_file_init_writes_that_the_dockerfile_reads(
        tmp_path: Path, shape: str) -> None:
    root = tmp_path / "app"
    root.mkdir()
    SHAPES[shape](root)
    (root / ".dockerignore").write_text("*\n!/app.py\n!/requirements.txt\n!/pyproject.toml\n"
                                        "!/uv.lock\n!/setup.py\n!/docker/entrypoint.sh\n")
    result = init(root)
    assert result.written
    dockerfile = (root / "Dockerfile").read_text()
    helpers = [p.file.path for p in result.planned if p.file.path.startswith("docker/")
               and p.file.path in dockerfile]
    assert "docker/runtime_libs.py" in helpers  # the case that broke: a bind-mounted script
    ignore = DockerIgnore((root / ".dockerignore").read_text())
    assert [h for h in helpers if ignore.excludes(h)] == []
    assert ignore.excludes("secret.key") and ignore.excludes("anything/else.py")


def test_context_sources_are_copy_and_bind_mount_sources() -> None:
    dockerfile = (
        "RUN --mount=type=bind,source=docker/runtime_libs.py,target=/tmp/r.py \\\n"
        "    --mount=type=bind,from=base,target=/run/base \\\n"
        "    --mount=type=cache,target=/root/.cache/uv --mount=type=secret,id=ca \\\n"
        "    python /tmp/r.py\n"
        "RUN --mount=type=bind,from=builder,source=/opt/list,target=/tmp/list true\n"
        "RUN --mount=source=uv.lock,target=uv.lock --mount=type=bind,src=./pyproject.toml,"
        "target=pyproject.toml uv sync\n"
        "RUN --mount=type=bind,target=/ctx ls /ctx\n"
        "COPY docker/entrypoint.sh /usr/local/bin/x\n")
    assert context_sources(dockerfile) == ["docker/runtime_libs.py", "uv.lock",
                                           "pyproject.toml", "docker/entrypoint.sh"]


def test_a_kept_dockerfile_keeps_what_it_bind_mounts(tmp_path: Path) -> None:
    """--skip Dockerfile: the user's own Dockerfile reads uv.lock through a bind mount (as
    uv's Docker guide does), so the merged allow-list must let it in."""
    root = tmp_path / "app"
    _uv_with_uwsgi(root)
    (root / "Dockerfile").write_text(
        "FROM python:3.12\nRUN --mount=type=bind,source=uv.lock,target=uv.lock \\\n"
        "    --mount=type=bind,source=pyproject.toml,target=pyproject.toml uv sync\n"
        "COPY app.py /app/\n")
    (root / ".dockerignore").write_text("*\n!/app.py\n")
    init(root, skip=["Dockerfile"])
    ignore = DockerIgnore((root / ".dockerignore").read_text())
    assert not ignore.excludes("uv.lock") and not ignore.excludes("pyproject.toml")
