"""The generated GitHub workflow's `run:` steps, in order, in a GitHub-like environment.

Why: on GitHub the steps see GITHUB_* variables, `$GITHUB_OUTPUT`, expressions in `env:`
and `if:`, and outputs handed from job to job; detection (branch, sha, run URL), the
tags and the publish must behave there as they do under GitLab. fixtures.ghactions runs
the workflow's jobs here the way a runner would, for a push to `dev`: build, test,
publish and the staging deploy run; production does not. Checked from outside: the
registry's tags, the image's pipeline label, what the staging host runs and its journal.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_agent_e2e import Published, deployed_project, e2e_sshd, without_proxy
from test_gitlab_pipeline_e2e import (
    OUTDATED_STANDIN,
    OVERRIDE,
    PROJECT,
    last_ok,
    running_digest,
)

from fixtures.ghactions import WorkflowRun
from fixtures.gitserver import isolated_git_env
from fixtures.keys import generate_key
from fixtures.process import run
from fixtures.registry import Registry
from fixtures.sshd import Sshd
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RUN_URL = "https://github.com/acme/tinyrepo/actions/runs/4242"
_ = e2e_sshd  # a fixture used by name


@pytest.fixture
def project(registry_with_auth: Registry, tmp_path: Path) -> Iterator[Path]:
    """tinyrepo with its workflow, on branch dev; shipyard installs from a wheel of this
    tree (what `pip install "$SHIPYARD_INSTALL"` gets instead of the release)."""
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels),
         str(ROOT)], timeout=300)
    wheel = next(wheels.glob("shipyard-*.whl"))
    repo = tmp_path / "tinyrepo"
    shutil.copytree(PROJECT, repo, ignore=shutil.ignore_patterns("__pycache__"))
    init(repo)
    with (repo / "pyproject.toml").open("a") as out:
        out.write(f'\n[tool.shipyard]\nimage = "{registry_with_auth.host}/tinyrepo"\n')
    shipyard = Path(sys.executable).with_name("shipyard")
    run([str(shipyard), "ci", "github", "-C", str(repo), "--write", "--install", str(wheel)])
    env = isolated_git_env()
    for args in (["init", "-q", "-b", "dev"], ["add", "-A"], ["commit", "-qm", "tinyrepo"],
                 ["remote", "add", "origin", "https://github.com/acme/tinyrepo.git"]):
        run(["git", "-C", str(repo), *args], env=env)
    yield repo


def test_push_to_dev_runs_build_test_publish_and_the_staging_deploy(
        project: Path, registry_with_auth: Registry, e2e_sshd: Sshd, docker_engine: Docker,
        free_port: int, tmp_path: Path) -> None:
    registry = registry_with_auth
    key = generate_key(tmp_path / "staging_key", "github-staging")
    published = Published(registry, {}, without_proxy(project / "compose.yaml"))
    runner_venv = tmp_path / "runner-python"  # setup-python's interpreter, shipyard not in it
    run([sys.executable, "-m", "venv", str(runner_venv)])
    login = ["runuser", "-u", "shipyard-deploy", "--", "docker"]
    run([*login, "login", "--username", str(registry.username), "--password-stdin",
         registry.host], input=str(registry.password))
    refs: list[str] = []
    try:
        with deployed_project(e2e_sshd, key, published, OVERRIDE, docker_engine, free_port,
                              "tinyrepo-gh") as staging:
            env_file = staging.project / ".env"
            env_file.write_text(f"IMAGE_REPOSITORY={registry.host}/tinyrepo\n")
            account = pwd.getpwnam("shipyard-deploy")
            os.chown(env_file, account.pw_uid, account.pw_gid)
            sha = run(["git", "-C", str(project), "rev-parse", "HEAD"]).stdout.strip()
            workflow = WorkflowRun(
                workflow=project / ".github" / "workflows" / "shipyard.yml", repo=project,
                github={"event_name": "push", "ref": "refs/heads/dev", "ref_name": "dev",
                        "ref_type": "branch", "sha": sha, "repository": "acme/tinyrepo",
                        "server_url": "https://github.com", "run_id": "4242"},
                secrets={"SSH_AUTH": key.private.read_text(),
                         "SHIPYARD_REGISTRY_USER": str(registry.username),
                         "SHIPYARD_REGISTRY_PASSWORD": str(registry.password)},
                variables={"SSH_KNOWN_HOSTS": e2e_sshd.known_hosts_line,
                           "SSH_DEPLOY_TARGET": f"ssh://{e2e_sshd.user}@{e2e_sshd.host}:"
                                                f"{e2e_sshd.port}"},
                env={**os.environ, "PATH": f"{runner_venv / 'bin'}:{os.environ['PATH']}"},
            )
            jobs = workflow.run()
            print("job runtimes (s):", {name: job.seconds for name, job in jobs.items()})
            assert {name: job.ran for name, job in jobs.items()} == {
                "build": True, "test": True, "publish": True, "deploy-staging": True,
                "deploy-production": False}
            unique = jobs["build"].outputs["unique_tag"]
            assert unique.startswith(f"dev-{sha[:7]}-"), jobs["build"].outputs
            assert jobs["build"].outputs["image"] == f"{registry.host}/tinyrepo:{unique}"

            reply = registry.request("GET", "/v2/tinyrepo/tags/list")
            tags = set(json.loads(reply.body)["tags"])
            refs = [f"{registry.host}/tinyrepo:{tag}" for tag in tags]
            assert tags == {unique}  # dev has no moving tag by default; no semver
            labels = docker_engine.inspect(refs[0])["Config"]["Labels"]
            assert labels["org.shipyard.build.url"] == RUN_URL
            assert labels["org.opencontainers.image.revision"] == sha

            entry = last_ok(staging)
            assert (entry["tag_after"], entry["build_url"]) == (unique, RUN_URL)
            assert running_digest(staging) == registry.manifest_digest("tinyrepo", unique)
    finally:
        run([*login, "logout", registry.host], check=False)
        docker_engine.remove_images(refs)


def test_a_schedule_with_nothing_outdated_builds_and_deploys_nothing(
        project: Path, tmp_path: Path) -> None:
    """The cron run asks `shipyard outdated` (stood in for: exit 0, nothing would change);
    no build, so no test, publish or deploy."""
    runner = tmp_path / "runner-bin"
    runner.mkdir()
    (runner / "shipyard").write_text(OUTDATED_STANDIN % Path(sys.executable).with_name("shipyard"))
    (runner / "shipyard").chmod(0o755)
    runner_venv = tmp_path / "runner-python"
    run([sys.executable, "-m", "venv", str(runner_venv)])
    sha = run(["git", "-C", str(project), "rev-parse", "HEAD"]).stdout.strip()
    workflow = WorkflowRun(
        workflow=project / ".github" / "workflows" / "shipyard.yml", repo=project,
        github={"event_name": "schedule", "ref": "refs/heads/dev", "ref_name": "dev",
                "ref_type": "branch", "sha": sha, "repository": "acme/tinyrepo",
                "server_url": "https://github.com", "run_id": "4343"},
        secrets={}, variables={},
        env={**os.environ, "PATH": f"{runner}:{runner_venv / 'bin'}:{os.environ['PATH']}",
             "SHIPYARD_FAKE_OUTDATED": "0"},
    )
    jobs = workflow.run()
    assert {name: job.ran for name, job in jobs.items()} == {
        "build": True, "test": False, "publish": False, "deploy-staging": False,
        "deploy-production": False}
    assert jobs["build"].outputs == {"unique_tag": "", "image": ""}
    assert "nothing to rebuild" in "\n".join(jobs["build"].log)
    assert not (project / "shipyard-build.json").exists()
