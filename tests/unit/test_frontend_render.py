"""The JavaScript stage init writes, and where the builder takes its output: after the
sources, before the app is installed, collectstatic runs or the import check imports it;
for a uv workspace member, with the stage's paths at the workspace root.

Before: init wrote no JavaScript stage, so the image lacked whatever the build writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.tree import write_tree
from fixtures.uv_workspace import make_workspace
from shipyard.checks import check
from shipyard.config import load_config
from shipyard.errors import ConfigError
from shipyard.init import init

PROJECTS = Path(__file__).resolve().parent.parent / "projects"
BUILD = json.dumps({"name": "x", "scripts": {"build": "node build.js"}})
BUILDER_COPY = "COPY --from=frontend /out/ /src/"
FROM = "FROM --platform=$BUILDPLATFORM "  # the stage runs on the build machine


def _files(root: Path) -> dict[str, str]:
    return {p.file.path: p.file.content for p in init(root, dry_run=True).planned}


def _copy(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root)
    return root


def test_output_inside_the_app_is_laid_over_the_sources(tmp_path: Path) -> None:
    root = _copy("frontend-npm-static", tmp_path)
    dockerfile = _files(root)["Dockerfile"]
    stage = dockerfile[dockerfile.index(FROM + "node:24-trixie-slim AS frontend"):
                       dockerfile.index("FROM base AS dependencies")]
    # the install layer depends on the manifest and the lock only
    assert stage.index("COPY package.json package-lock.json ./") < stage.index("npm ci") \
        < stage.index("COPY . .") < stage.index("npm run build")
    assert "-newer /frontend-build/start" in stage and "-C /out" in stage
    builder = dockerfile[dockerfile.index("FROM dependencies AS builder"):]
    assert builder.index("COPY . .") < builder.index(BUILDER_COPY) < builder.index("compileall")
    assert builder.index(BUILDER_COPY) < builder.index("FROM base AS runtime")
    for name in ("package.json", "package-lock.json"):  # nothing to build: no stage
        (root / name).unlink()
    files = _files(root)
    assert "AS frontend" not in files["Dockerfile"] and BUILDER_COPY not in files["Dockerfile"]
    assert "**/node_modules" not in files[".dockerignore"]


def test_output_outside_the_javascript_directory(tmp_path: Path) -> None:
    root = _copy("frontend-outdir-workspace", tmp_path)
    notes = init(root, dry_run=True).notes  # what init and --dry-run report
    assert ("JavaScript build in frontend/: `npm run build` ('node build.js') with npm from"
            " package-lock.json, image node:24-trixie-slim (.nvmrc: 24)") in "\n".join(notes)
    files = _files(root)
    dockerfile = files["Dockerfile"]
    stage = dockerfile[dockerfile.index(FROM + "node:24-trixie-slim AS frontend"):  # .nvmrc
                       dockerfile.index("FROM base AS dependencies")]
    assert "COPY package.json package-lock.json ./\nCOPY frontend/package.json frontend/" in stage
    assert "COPY frontend frontend\nWORKDIR /src/frontend" in stage  # only the JS sources
    assert "COPY . ." not in stage
    assert "**/node_modules" in files[".dockerignore"].splitlines()


def test_collectstatic_sees_the_build_output(tmp_path: Path) -> None:
    root = _copy("appdata-django", tmp_path)
    write_tree(root, {"package.json": BUILD, "package-lock.json": "{}"})
    dockerfile = _files(root)["Dockerfile"]
    assert dockerfile.index(BUILDER_COPY) < dockerfile.index("collectstatic")


def test_uv_workspace_member_builds_from_the_workspace_root(tmp_path: Path) -> None:
    member = make_workspace(tmp_path / "repo", git=False)
    write_tree(tmp_path / "repo", {
        "package.json": json.dumps({"workspaces": ["frontend"]}), "bun.lock": "{}",
        "frontend/package.json": BUILD})
    files = _files(member)
    dockerfile = files["Dockerfile"]
    stage = dockerfile[dockerfile.index(FROM + "oven/bun:1-slim AS frontend"):
                       dockerfile.index("FROM base AS dependencies")]
    assert "COPY package.json bun.lock ./" in stage  # not moved under backend/
    assert "bun install --frozen-lockfile" in stage and "bun run build" in stage
    assert "COPY backend .\n# What the JavaScript build wrote" in dockerfile
    ignore = files["Dockerfile.dockerignore"].splitlines()
    for line in ("!bun.lock", "!package.json", "!frontend/package.json", "!frontend"):
        assert line in ignore
    assert ignore[-1] == "**/node_modules"  # after the allow-list lines, so it wins


def test_the_stage_can_be_turned_off_or_given_an_image(tmp_path: Path) -> None:
    root = _copy("frontend-npm-static", tmp_path)
    (root / "shipyard.toml").write_text('[frontend]\nimage = "node:22-bookworm-slim"\n')
    assert FROM + "node:22-bookworm-slim AS frontend" in _files(root)["Dockerfile"]
    (root / "shipyard.toml").write_text("[frontend]\nenabled = false\n")
    result = init(root, dry_run=True)
    dockerfile = next(p.file.content for p in result.planned if p.file.path == "Dockerfile")
    assert "AS frontend" not in dockerfile
    assert any("enabled = false" in note for note in result.notes)


def test_a_misspelt_frontend_key_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "shipyard.toml").write_text("[frontend]\nimgae = \"node:22\"\n")
    with pytest.raises(ConfigError, match=r"frontend\.imgae"):
        load_config(tmp_path)


@pytest.mark.parametrize("name", ["frontend-npm-static", "frontend-outdir-workspace"])
def test_the_stage_passes_shipyard_check(tmp_path: Path, name: str) -> None:
    root = _copy(name, tmp_path)
    init(root)
    report = check(root)
    assert [(f.rule_id, f.line, f.message) for f in report.findings] == []


def test_pnpm_comes_through_corepack_at_a_fixed_version(tmp_path: Path) -> None:
    root = _copy("frontend-npm-static", tmp_path)
    (root / "package-lock.json").rename(root / "pnpm-lock.yaml")
    dockerfile = _files(root)["Dockerfile"]
    stage = dockerfile[dockerfile.index(FROM + "node:24-trixie-slim AS frontend"):
                       dockerfile.index("FROM base AS dependencies")]
    assert "ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_DEFAULT_TO_LATEST=0" in stage
    assert stage.index("COREPACK_DEFAULT_TO_LATEST=0") < stage.index(
        "corepack enable && pnpm install --frozen-lockfile") < stage.index("pnpm run build")
