"""Apps whose assets a JavaScript build writes build and serve them: the bundle written
into the app's static folder (linkding's shape), and the single-page app written
outside the JavaScript directory into the Python package (full-stack-fastapi-template's
Vite outDir), from `npm run build` in the `frontend` stage on node:24-trixie-slim, and
the same shape as a bun workspace, built on oven/bun:1-slim.

Before: the image had no JavaScript stage; both apps refuse to import without their
build output, so the build's import check failed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.containers import build, hardened_container, http_get, wait_healthy
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECTS = Path(__file__).resolve().parents[1] / "projects"


def _build(docker: Docker, name: str, tmp_path: Path) -> str:
    project = tmp_path / name
    shutil.copytree(PROJECTS / name, project, ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    tag = f"shipyard-test/{name}:{tmp_path.name}"
    build(docker, project, tag)
    return tag


def test_bundle_written_into_the_static_folder_is_served(docker_engine: Docker,
                                                         tmp_path: Path) -> None:
    tag = _build(docker_engine, "frontend-npm-static", tmp_path)
    try:
        listing = docker_engine.run(["run", "--rm", "--entrypoint", "ls", tag,
                                     "/app", "/app/static"]).stdout.split()
        assert "bundle.js" in listing
        assert "node_modules" not in listing and "package.json" in listing
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_get(f"{container.url}/static/bundle.js")
            assert status == 200
            assert body.startswith("/* shop bundle, node v24.")  # built in the stage
            assert 'document.title = "shop: bundle loaded"' in body
    finally:
        docker_engine.remove_images([tag])


def test_output_outside_the_javascript_directory_reaches_the_package(
        docker_engine: Docker, tmp_path: Path) -> None:
    tag = _build(docker_engine, "frontend-outdir-workspace", tmp_path)
    try:
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_get(f"{container.url}/")
            assert status == 200 and "Hello from the frontend build" in body
        no_node = docker_engine.run(["run", "--rm", "--entrypoint", "sh", tag, "-c",
                                     "command -v node || echo none"]).stdout.strip()
        assert no_node == "none"  # the toolchain stayed in its stage
    finally:
        docker_engine.remove_images([tag])


def test_bun_workspace_builds_in_the_bun_stage(docker_engine: Docker, tmp_path: Path) -> None:
    tag = _build(docker_engine, "frontend-bun-outdir", tmp_path)
    try:
        with hardened_container(docker_engine, tag) as container:
            wait_healthy(container)
            status, body = http_get(f"{container.url}/")
            assert status == 200 and "Hello from the frontend build" in body
            assert "built by bun 1." in body  # oven/bun:1-slim ran it, not node
    finally:
        docker_engine.remove_images([tag])
