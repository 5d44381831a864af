"""Backing services end to end: Redis and an RQ worker, from `shipyard init` to a deploy.

The fixture (tests/projects/backing-flask-rq) is a Flask app that requires REDIS_URL and
enqueues a job on an `rq.Queue("jobs")`; the job records which container ran it. Before
issue 17, init wrote one web service (nothing ran the job, nothing gave REDIS_URL) and
`shipyard test` gave REDIS_URL a placeholder, so /healthz (a Redis PING) failed. Now:

* `shipyard test` starts a throwaway Redis from the image's label and the app is healthy;
* in the generated compose project, the worker service runs a job the web service
  enqueued; a job running when the worker gets SIGTERM still finishes (warm shutdown);
* the host agent deploys a new tag: web and the worker move to it, Redis is not
  recreated (same container), and the new worker runs the next job.

One image (module fixture), one compose project for the last two tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.containers import ca_secrets
from fixtures.registry import running_registry
from shipyard.agent import agent as agent_module
from shipyard.config import load_config
from shipyard.imagebuild.run import build as build_image
from shipyard.imagetest.run import test_image as run_image_tests
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIXTURE = Path(__file__).resolve().parents[1] / "projects" / "backing-flask-rq"
REDIS_IMAGE = "redis:7-bookworm"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


@dataclass
class App:
    project: Path
    image: str  # the built image's id
    repository: str


@pytest.fixture(scope="module")
def jobs_app(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The fixture after `shipyard init` (committed) and `shipyard build`, as CI would."""
    if not docker_engine.has_image(REDIS_IMAGE):
        message = f"{REDIS_IMAGE} is not available: run `python -m testbed up`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    project = tmp_path_factory.mktemp("backing") / f"jobs{os.getpid()}"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    init(project)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(project), *args], check=True,
                       env={**os.environ, **GIT_ENV}, capture_output=True)
    ca = ca_secrets()
    report = build_image(project, env={**os.environ, "CI": "true", "SHIPYARD_BRANCH": "main"},
                         docker=docker_engine, ca_bundle=ca[0].src if ca else None,
                         report_path=project.parent / "report.json")
    yield App(project, report.image_id, project.name)
    docker_engine.remove_images(list(report.refs))


def test_shipyard_test_starts_the_redis_the_app_needs(docker_engine: Docker,
                                                      jobs_app: App) -> None:
    config = load_config(jobs_app.project)
    report = run_image_tests(jobs_app.image, config, jobs_app.project, docker=docker_engine)
    assert report.passed, [f"{r.id}: {r.reason}" for r in report.failures]
    note = next(n for n in report.notes if "throwaway Redis" in n)
    assert REDIS_IMAGE in note and "REDIS_URL" in note


class Host:
    """The generated compose project run by the real host agent (no ssh: the agent is
    started as sshd would start it, with the request in SSH_ORIGINAL_COMMAND)."""

    def __init__(self, docker: Docker, project: Path) -> None:
        self.docker, self.project = docker, project

    def compose(self, *args: str, check: bool = True) -> str:
        return self.docker.run(["compose", "--project-directory", str(self.project), *args],
                               check=check, timeout=300).stdout

    def deploy(self, tag: str) -> str:
        env = {**os.environ, "SSH_ORIGINAL_COMMAND": f"deploy {tag}",
               "SHIPYARD_AGENT_DOCKER": self.docker.binary}
        done = subprocess.run([sys.executable, agent_module.__file__, "--project",
                               str(self.project), "--key-id", "SHA256:" + "A" * 43], env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        return done.stdout

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-q", service).split()
        assert len(ids) == 1, (service, ids)
        return ids[0]

    def web(self, method: str, path: str) -> dict[str, str | None]:
        """A request from inside the web container (no port is published)."""
        code = ("import json, urllib.request as u; r = u.urlopen(u.Request("
                f"'http://127.0.0.1:8000{path}', method='{method}'), timeout=10);"
                " print(r.read().decode())")
        out = self.docker.run(["exec", self.container("web"), "python", "-c", code],
                              timeout=60).stdout
        answer: dict[str, str | None] = json.loads(out)
        return answer

    def wait_job(self, token: str, key: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.web("GET", f"/jobs/{token}")[key]
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"job {token}: no {key} after {timeout} s: "
                             + self.compose("logs", "--tail", "30", "worker"))


@pytest.fixture(scope="module")
def host(docker_engine: Docker, jobs_app: App) -> Iterator[Host]:
    """The generated files as init wrote them; the image pushed as v1 and v2 to a local
    registry (a deploy pulls the app's image), named in .env as a host would have it."""
    with running_registry(auth=False) as registry:
        repository = f"{registry.host}/{jobs_app.repository}"
        for tag in ("v1", "v2"):
            docker_engine.run(["tag", jobs_app.image, f"{repository}:{tag}"])
            docker_engine.run(["push", f"{repository}:{tag}"], timeout=300)
        env = jobs_app.project / ".env"
        previous = env.read_text() if env.exists() else ""
        env.write_text(previous + f"IMAGE_REPOSITORY={repository}\n")
        host = Host(docker_engine, jobs_app.project)
        try:
            yield host
        finally:
            host.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
            docker_engine.remove_images([f"{repository}:v1", f"{repository}:v2"])


def test_the_agent_rolls_web_and_workers_but_never_recreates_redis(host: Host) -> None:
    began = time.monotonic()
    first = host.deploy("v1")
    assert "--no-recreate redis" in first
    redis, worker = host.container("redis"), host.container("worker")
    token = host.web("POST", "/jobs")["token"]
    assert token
    assert host.wait_job(token, "done") == worker[:12]  # the worker service ran it

    second = host.deploy("v2")
    assert host.container("redis") == redis  # created once, never recreated by a deploy
    new_worker = host.container("worker")
    assert new_worker != worker  # the worker moved to the new tag with web
    image = host.docker.run(["inspect", "--format", "{{.Config.Image}}", new_worker]).stdout
    assert image.strip().endswith(":v2")
    assert second.index("up -d --no-recreate redis") < second.index("old workers drain")
    token = host.web("POST", "/jobs")["token"]
    assert token
    assert host.wait_job(token, "done") == new_worker[:12]
    print(f"two deploys and two jobs in {time.monotonic() - began:.1f} s")


def test_a_worker_finishes_its_job_on_sigterm(host: Host) -> None:
    if not host.compose("ps", "-q", "worker").strip():
        host.deploy("v1")
    worker = host.container("worker")
    token = host.web("POST", "/jobs?seconds=3")["token"]
    assert token
    host.wait_job(token, "started")
    stopped = time.monotonic()
    host.compose("stop", "worker")  # SIGTERM, then stop_grace_period (60 s) before SIGKILL
    took = time.monotonic() - stopped
    assert host.web("GET", f"/jobs/{token}")["done"] == worker[:12]
    state = json.loads(host.docker.run(["inspect", "--format", "{{json .State}}",
                                        worker]).stdout)
    assert state["ExitCode"] == 0, state  # a warm shutdown, not a kill
    assert took < 30, took
