"""The generated GitLab pipeline, run for real by gitlab-ci-local (issue 18, issue 15).

Why: the pipeline is the product's one way to build and deploy (seeds 000 and 003), so
it is run, not only validated: `shipyard ci gitlab --write` on a small project, then
gitlab-ci-local (shell executor: each job's script runs here, with Buildah, a registry
with auth and an sshd whose keys can run nothing but the agent; only the test job may
reach the test bed's engine, as on an unprivileged runner) for the events a user has —
a push to `dev`, a push to `main`, a `vX.Y.Z` tag, and scheduled rebuilds — checked the
way a user would: tags in the registry, the digest each host runs, the journal line
naming the pipeline.

One project and repository for every event; CI variables per environment (key, known
hosts, target) as GitLab's environment-scoped variables, in gitlab-ci-local's variables
file. `shipyard outdated` (another part of issue 15) is stood in for by a wrapper that
answers with SHIPYARD_FAKE_OUTDATED (the pipeline relies only on its exit status).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_agent_e2e import (  # the module's sshd and deploy projects, as there
    Deployment,
    Published,
    deployed_project,
    e2e_sshd,
    without_proxy,
)

from fixtures.accounts import Account
from fixtures.gitserver import isolated_git_env
from fixtures.keys import KeyPair, generate_key
from fixtures.process import run
from fixtures.registry import Registry, running_registry
from fixtures.sshd import Sshd
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1] / "projects" / "scriptserver-argparse"
GITLAB_CI_LOCAL = Path("/var/cache/shipyard-testbed/npm/bin/gitlab-ci-local")  # testbed/npmtools
REMOTE = "git@gitlab.example.com:acme/tinyrepo.git"
PIPELINE_URL = re.compile(r"https://gitlab\.example\.com/acme/tinyrepo/pipelines/\d+")
OVERRIDE = """\
services:
  web:
    ports:
      - "127.0.0.1:{port}:8000"
    healthcheck:
      interval: 1s
      timeout: 5s
      start_period: 30s
      retries: 3
"""
# `shipyard outdated` is built elsewhere (issue 15 item 1); the pipeline only uses its exit.
OUTDATED_STANDIN = """#!/bin/sh
if [ "$1" = outdated ]; then
  echo "shipyard outdated (stand-in): exit ${SHIPYARD_FAKE_OUTDATED:-1}"
  exit "${SHIPYARD_FAKE_OUTDATED:-1}"
fi
exec %s "$@"
"""
# The runner has no engine except for the test job (issue 18): any other job's docker
# call is recorded and fails, as it would on an unprivileged runner.
DOCKER_ONLY_IN_TEST = """#!/bin/sh
if [ "$CI_JOB_NAME" = shipyard-test ]; then exec %s "$@"; fi
echo "$CI_JOB_NAME: docker $*" >> %s
echo "no container engine in job $CI_JOB_NAME" >&2
exit 1
"""
_ = e2e_sshd  # a fixture used by name


@dataclass
class Pipelines:
    """The project, its two hosts, and how to run one pipeline event."""

    repo: Path
    registry: Registry
    staging: Deployment
    production: Deployment
    bin_dir: Path
    runs: list[tuple[str, float]]
    docker_calls: Path

    def git(self, *args: str) -> str:
        return run(["git", "-C", str(self.repo), *args], env=isolated_git_env()).stdout.strip()

    def pipeline(self, event: str, *extra: str, env: dict[str, str] | None = None) -> str:
        """Run every job of one pipeline; its output (a failure shows the whole log)."""
        started = time.monotonic()
        environ = {**os.environ, "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
                   "SHIPYARD_DOCKER": str(self.bin_dir / "docker"), **(env or {})}
        # gitlab-ci-local says GITLAB_CI=false (a local run); GitLab says true
        result = run([str(GITLAB_CI_LOCAL), "--force-shell-executor", "--no-color",
                      "--concurrency", "1", "--variable", "GITLAB_CI=true", *extra],
                     cwd=self.repo, env=environ, check=False, timeout=900)
        self.runs.append((event, round(time.monotonic() - started, 1)))
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-8000:]
        assert not self.docker_calls.exists(), self.docker_calls.read_text()
        return output

    def tags(self) -> set[str]:
        reply = self.registry.request("GET", "/v2/tinyrepo/tags/list")
        assert reply.status == 200, reply.body
        return set(json.loads(reply.body)["tags"] or [])

    def digest(self, tag: str) -> str:
        return self.registry.manifest_digest("tinyrepo", tag)


def last_ok(deployment: Deployment) -> dict[str, object]:
    entries = [e for e in deployment.journal() if e["outcome"] == "ok"]
    assert entries, deployment.journal()
    return entries[-1]


def running_digest(deployment: Deployment) -> str:
    """What the host really runs, as the agent's `status` reports it (web's digest)."""
    status = deployment.ok("status").stdout.splitlines()
    web = next(line for line in status if line.startswith("web: running"))
    return web.split()[-1]


def deploy_user_login(registry: Registry, logout: bool = False) -> None:
    """The deploy user's registry login (a read token in real life; `host setup` does it)."""
    argv = ["runuser", "-u", "shipyard-deploy", "--", "docker"]
    if logout:
        run([*argv, "logout", registry.host], check=False)
        return
    run([*argv, "login", "--username", str(registry.username), "--password-stdin",
         registry.host], input=str(registry.password))


def variables_file(path: Path, registry: Registry, sshd: Sshd,
                   keys: dict[str, KeyPair]) -> None:
    """CI/CD variables as GitLab would have them: the key per environment (File type)."""
    target = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}"
    values = {env: key.private.read_text() for env, key in keys.items()}
    path.write_text("\n".join([
        "SSH_AUTH:", "  type: file", "  values:",
        *(f"    {env}: {json.dumps(text)}" for env, text in values.items()),
        f"SSH_KNOWN_HOSTS: {json.dumps(sshd.known_hosts_line)}",
        f"SSH_DEPLOY_TARGET: {json.dumps(target)}",
        f"SHIPYARD_REGISTRY_USER: {json.dumps(registry.username)}",
        f"SHIPYARD_REGISTRY_PASSWORD: {json.dumps(registry.password)}",
    ]) + "\n")


@pytest.fixture(scope="module")
def pipelines(e2e_sshd: Sshd, docker_engine: Docker, ssh_accounts: dict[str, Account],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipelines]:
    if not GITLAB_CI_LOCAL.exists():
        message = f"{GITLAB_CI_LOCAL} is missing: run `python -m testbed up`"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("gitlab-pipeline")
    repo = work / "tinyrepo"
    shutil.copytree(PROJECT, repo, ignore=shutil.ignore_patterns("__pycache__"))
    with running_registry(auth=True) as registry:
        init(repo)
        with (repo / "pyproject.toml").open("a") as out:
            out.write(f'\n[tool.shipyard]\nimage = "{registry.host}/tinyrepo"\n')
        shipyard = Path(sys.executable).with_name("shipyard")
        run([str(shipyard), "ci", "gitlab", "-C", str(repo), "--write"])
        with (repo / ".gitignore").open("a") as out:  # what gitlab-ci-local leaves behind
            out.write(".gitlab-ci-local/\nshipyard-build.env\n"
                      ".gitlab-ci-local-variables.yml\n")
        env = isolated_git_env()
        for args in (["init", "-q", "-b", "dev"], ["add", "-A"], ["commit", "-qm", "tinyrepo"],
                     ["remote", "add", "origin", REMOTE]):
            run(["git", "-C", str(repo), *args], env=env)
        bin_dir = work / "bin"
        bin_dir.mkdir()
        (bin_dir / "shipyard").write_text(OUTDATED_STANDIN % shipyard)
        (bin_dir / "shipyard").chmod(0o755)
        docker_calls = work / "docker-calls-outside-the-test-job"
        (bin_dir / "docker").write_text(DOCKER_ONLY_IN_TEST % (docker_engine.binary,
                                                                docker_calls))
        (bin_dir / "docker").chmod(0o755)
        keys = {env: generate_key(work / f"{env}_key", f"gitlab-{env}")
                for env in ("staging", "production")}
        variables_file(repo / ".gitlab-ci-local-variables.yml", registry, e2e_sshd, keys)
        published = Published(registry, {}, without_proxy(repo / "compose.yaml"))
        deploy_user_login(registry)
        built_refs: list[str] = []
        try:
            with deployed_project(e2e_sshd, keys["staging"], published, OVERRIDE,
                                  docker_engine, _port(), "tinyrepo-staging") as staging, \
                    deployed_project(e2e_sshd, keys["production"], published, OVERRIDE,
                                     docker_engine, _port(), "tinyrepo-prod") as production:
                for deployment in (staging, production):
                    env_file = deployment.project / ".env"
                    env_file.write_text(f"IMAGE_REPOSITORY={registry.host}/tinyrepo\n")
                    account = pwd.getpwnam("shipyard-deploy")
                    os.chown(env_file, account.pw_uid, account.pw_gid)
                p = Pipelines(repo, registry, staging, production, bin_dir, [], docker_calls)
                yield p
                built_refs = [f"{registry.host}/tinyrepo:{tag}" for tag in p.tags()]
                print("pipeline runtimes (s):", p.runs)
        finally:
            deploy_user_login(registry, logout=True)
            docker_engine.remove_images(built_refs)


def _port() -> int:
    from fixtures.ports import free_port

    return free_port()


def test_push_dev_push_main_and_a_release_tag(pipelines: Pipelines) -> None:
    p = pipelines
    # A push to dev: build -> test -> publish -> deploy to staging; production untouched.
    out = p.pipeline("push dev")
    assert re.search(r"PASS\s+shipyard-deploy-staging", out), out[-3000:]
    assert "shipyard-deploy-production" not in out
    dev = [t for t in p.tags() if t.startswith("dev-")]
    assert len(dev) == 1, p.tags()
    staged = last_ok(p.staging)
    assert staged["tag_after"] == dev[0]
    assert running_digest(p.staging) == p.digest(dev[0]) == staged["digest_after"]
    dev_url = str(staged["build_url"])
    assert PIPELINE_URL.fullmatch(dev_url), staged
    assert p.production.journal() == []

    # The same commit pushed to main: production, with main's moving tag; staging stays.
    p.git("checkout", "-q", "-b", "main")
    out = p.pipeline("push main")
    assert re.search(r"PASS\s+shipyard-deploy-production", out), out[-3000:]
    assert "shipyard-deploy-staging" not in out
    main = [t for t in p.tags() if t.startswith("main-")]
    assert len(main) == 1 and "main" in p.tags(), p.tags()
    released = last_ok(p.production)
    assert released["tag_after"] == main[0]
    assert running_digest(p.production) == p.digest(main[0]) == p.digest("main")
    assert PIPELINE_URL.fullmatch(str(released["build_url"]))
    assert released["build_url"] != dev_url  # the journal names the pipeline that built it
    assert running_digest(p.staging) == p.digest(dev[0])

    # A release tag: the semver tags and `latest` (the highest stable: the newer release
    # candidate does not count), no deploy.
    p.git("tag", "v1.3.0-rc.1")
    p.git("tag", "v1.2.0")
    journals = (len(p.staging.journal()), len(p.production.journal()))
    p.pipeline("tag v1.2.0", "--variable", "CI_COMMIT_TAG=v1.2.0", "--variable",
               "CI_COMMIT_REF_NAME=v1.2.0", "--unset-variable", "CI_COMMIT_BRANCH")
    tags = p.tags()
    assert {"1.2.0", "1.2", "1", "latest"} <= tags, tags
    assert not any("rc" in t for t in tags), tags
    assert len({p.digest(t) for t in ("1.2.0", "1.2", "1", "latest")}) == 1
    assert p.digest("latest") not in (p.digest("main"), p.digest(dev[0]))
    assert (len(p.staging.journal()), len(p.production.journal())) == journals


def test_scheduled_rebuilds_refresh_staging_never_production(pipelines: Pipelines) -> None:
    p = pipelines
    if not p.production.journal():  # run alone: production first, as the normal push does
        p.git("checkout", "-q", "-B", "main")
        p.pipeline("push main")
    production = (running_digest(p.production), len(p.production.journal()))
    before = p.tags()
    staging_entries = len(p.staging.journal())
    schedule = ["--variable", "CI_PIPELINE_SOURCE=schedule"]

    # `shipyard outdated` says nothing would change: no build, no tag, no deploy.
    out = p.pipeline("schedule, nothing outdated", *schedule,
                     env={"SHIPYARD_FAKE_OUTDATED": "0"})
    assert "nothing to rebuild" in out
    assert p.tags() == before and len(p.staging.journal()) == staging_entries

    # Something is behind: rebuilt without cache (the test bed cannot pull a fresh base, so
    # the flags lose --pull), tested, published, deployed to staging only.
    out = p.pipeline("schedule, outdated", *schedule, "--variable",
                     "SHIPYARD_REBUILD_FLAGS=--no-cache", env={"SHIPYARD_FAKE_OUTDATED": "1"})
    assert "shipyard-deploy-production" not in out
    new = p.tags() - before
    unique = [t for t in new if t.startswith("main-")]
    assert len(unique) == 1, new
    staged = last_ok(p.staging)
    assert staged["tag_after"] == unique[0]
    assert running_digest(p.staging) == p.digest(unique[0])
    assert (running_digest(p.production), len(p.production.journal())) == production
