"""An app whose config puts its cache, log and upload folders next to the code (computed
from __file__, one of them through os.pardir) and makes them when wsgi.py builds the
app at import — CTFd's shape — builds and passes `shipyard test` on the read-only root:
the image links the cache to the tmpfs and the uploads to the data volume, and leaves
the log folder read-only (the app then logs to stdout only).
wsgi.py monkey-patches for gevent, so gunicorn runs gevent workers. Its DATABASE_URL
comes from config.ini, else the env var (a configparser interpolation), else SQLite in
the package: the image sets it to the data volume.

Before: init took manage.py's app, and the build's import check died with
PermissionError making `.data/filesystem_cache` in the read-only /app."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_json, wait_healthy
from shipyard.config import Config
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "pkgwrites-flask-dirs"


def _post(url: str, body: bytes) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - http only
    with opener.open(request, timeout=10) as response:
        return int(response.status)


def test_folders_inside_the_package_are_linked_and_the_image_passes(
        docker_engine: Docker, tmp_path: Path) -> None:
    project = tmp_path / "board"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    result = init(project)
    assert result.project.app_target == "wsgi:app"
    tag = f"shipyard-test/pkgdirs:{tmp_path.name}"
    build(docker_engine, project, tag)
    try:
        # the import check at build created the SQLite database: not in the image
        assert docker_engine.run(["run", "--rm", "--entrypoint", "ls", tag, "-A", "/data"]
                                 ).stdout.split() == []
        report = run_image_tests(tag, Config(project_dir=project), project, docker=docker_engine)
        failed = [f"{r.id}: {r.reason}" for r in report.results if r.status == "fail"
                  and r.id.startswith(("runtime.", "smoke."))]  # labels: set by `build`
        assert not failed, failed
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            assert _post(f"{container.url}/notes/hello", b"hi there") == 201
            assert http_json(f"{container.url}/notes/hello") == (200, {"note": "HI THERE"})
            def listing(folder: str) -> list[str]:
                return docker_engine.run(["exec", container.id, "ls", folder]).stdout.split()

            assert listing("/data/uploads") == ["hello"]  # through /app/board/uploads
            assert len(listing("/tmp/filesystem_cache")) == 1  # the page, cached
            assert "board.db" in listing("/data")  # DATABASE_URL from config.ini's env
            assert "posted hello" in container.logs()  # the log folder stays read-only
            processes = docker_engine.run(["exec", container.id, "cat", "/proc/1/cmdline"]
                                          ).stdout.replace("\0", " ")
            assert "--worker-class gevent" in processes, processes
    finally:
        docker_engine.remove_images([tag])
