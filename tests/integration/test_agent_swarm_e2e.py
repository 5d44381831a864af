"""The Swarm engine end to end: real sshd with the restricted key, registry and a swarm.

Why: `engine = "swarm"` promises the same four requests as compose, a stack update that
loses no request (Swarm's start-first update, gated by the health check, behind the
project's proxy) and an update that Swarm itself rolls back when the new version never
turns healthy. Only a real swarm under traffic can show that. The swarm is the test
bed's second dockerd (testbed/swarm.py: its own data root and socket, so the main engine
never changes mode); the agent reaches it through DOCKER_HOST on the authorized_keys
line, as an operator would point it at a manager's socket. The compose project is the
one `shipyard init` generates (web + nginx proxy); the app is a tiny standard-library
server built on the Python stand-in (seconds, not a Django build): /healthz answers its
version, the generated health check path is where the generated compose file expects
it, v3 serves but fails its health check.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_agent_e2e import (  # the module's sshd and registry, one per module
    DEPLOY_USER,
    REPOSITORY,
    Deployment,
    _wait_lock_free,
    e2e_registry,
    e2e_sshd,
    wait_until,
)

from fixtures.containers import build
from fixtures.keys import KeyPair
from fixtures.load import Load, LoadReport
from fixtures.process import run
from fixtures.registry import Registry
from fixtures.sshd import Sshd
from shipyard.agent import agent_source
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]
__all__ = ["e2e_registry", "e2e_sshd"]  # fixtures, used by name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SWARM_HOST = os.environ.get("SHIPYARD_SWARM_HOST", "unix:///run/shipyard-testbed-swarm.sock")
DOCKER = os.environ.get("SHIPYARD_DOCKER", "docker")
SERVER = '''\
import json, os, signal, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ["APP_VERSION"]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") != "/healthz":
            self.send_error(404)
            return
        body = json.dumps({"status": "ok", "version": VERSION, "token_in_env": "API_TOKEN" in
                           os.environ, "token_file": os.path.isfile("/run/secrets/API_TOKEN")
                           }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("0.0.0.0", 8000), Handler)
server.daemon_threads = False  # SIGTERM: answer what is in flight, then exit
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
print(f"serving {VERSION}", flush=True)
server.serve_forever()
server.server_close()
'''
HEALTHCHECK = '''\
import os, sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:8000" + os.environ.get("HEALTH", "/healthz"),
                           timeout=3)
except Exception as exc:
    print(f"health check failed: {exc}")
    sys.exit(1)
'''
VARIANTS = {"v1": "APP_VERSION=v1", "v2": "APP_VERSION=v2",
            "v3": "APP_VERSION=v3 HEALTH=/no-such-health-route/"}
# Per-host settings: the proxy's port, fast health checks and a short update monitor.
OVERRIDE = """\
services:
  proxy:
    ports:
      - "127.0.0.1:{port}:8080"
  web:
    environment:
      API_TOKEN: "t0ken-$$-value"
    healthcheck:
      interval: 2s
      start_period: 5s
      retries: 3
    deploy:
      update_config:
        monitor: 3s
"""
AGENT_CONFIG = {"engine": "swarm", "deploy_timeout": 180, "lock_timeout": 300,
                "log_lines": 20}


def swarm(*args: str, check: bool = True, timeout: float = 120) -> str:
    return run([DOCKER, "--host", SWARM_HOST, *args], check=check, timeout=timeout).stdout


@pytest.fixture(scope="module")
def swarm_engine(docker_engine: Docker) -> str:
    """The test bed's swarm; the main engine must not be in swarm mode."""
    state = run([DOCKER, "--host", SWARM_HOST, "info", "--format",
                 "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"], check=False)
    if state.stdout.strip() != "active true":
        pytest.fail(f"no Swarm manager at {SWARM_HOST} ({state.stdout.strip()}"
                    f"{state.stderr.strip()[-200:]}): run `python -m testbed up`")
    main = docker_engine.run(["info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()
    assert main == "inactive", "the main engine must never be switched to swarm mode"
    return SWARM_HOST


Published = tuple[str, dict[str, str]]  # compose.yaml, tag -> manifest digest


@pytest.fixture(scope="module")
def swarm_published(docker_engine: Docker, e2e_registry: Registry,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """compose.yaml as `shipyard init` writes it, and v1..v3 of the tiny app pushed."""
    work = tmp_path_factory.mktemp("agent-swarm")
    example = work / "django-app"
    shutil.copytree(EXAMPLES / "django-app", example, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist", "*.mo"))
    init(example)
    token = secrets.token_hex(4)
    local = {tag: f"shipyard-agent-swarm/app:{tag}-{token}" for tag in VARIANTS}
    remote = {tag: e2e_registry.ref(REPOSITORY + "-swarm", tag) for tag in VARIANTS}
    try:
        for tag, env in VARIANTS.items():
            context = work / tag
            context.mkdir()
            (context / "server.py").write_text(SERVER)
            (context / "healthcheck.py").write_text(HEALTHCHECK)
            (context / "Dockerfile").write_text(
                "FROM python:3.11-slim-bookworm\nCOPY server.py /srv/server.py\n"
                "COPY healthcheck.py /usr/local/lib/shipyard/healthcheck.py\n"
                f"ENV {env}\nUSER 1000\nCMD [\"python\", \"/srv/server.py\"]\n")
            build(docker_engine, context, local[tag])
            docker_engine.run(["tag", local[tag], remote[tag]])
            docker_engine.run(["push", remote[tag]], timeout=600)
        digests = {tag: e2e_registry.manifest_digest(REPOSITORY + "-swarm", tag)
                   for tag in VARIANTS}
        yield (example / "compose.yaml").read_text(), digests
    finally:
        docker_engine.remove_images([*remote.values(), *local.values()])
        remove_pulled(e2e_registry.host)


def remove_pulled(registry_host: str) -> None:
    """The images the swarm pulled from a (throwaway) registry: its data root is kept."""
    refs = [ref for ref in swarm("images", "--format", "{{.Repository}}:{{.Tag}}").split()
            if ref.startswith(registry_host + "/")]
    if refs:
        swarm("image", "rm", "--force", *refs, check=False)


@contextmanager
def stack_project(sshd: Sshd, key: KeyPair, compose_yaml: str, registry: Registry,
                  docker_engine: Docker, port: int) -> Iterator[Deployment]:
    """A project on the "manager" behind the agent with engine swarm; the stack, its
    volume and the directories are removed afterwards."""
    account = pwd.getpwnam(DEPLOY_USER)
    home = Path(account.pw_dir)
    token = secrets.token_hex(3)
    project = home / f"swarmapp-{token}"  # the stack's name
    agent_dir = home / f".shipyard-swarm-{token}"
    try:
        agent_dir.mkdir(mode=0o755)
        agent = agent_dir / "agent.py"
        agent.write_text(agent_source())
        agent.chmod(0o644)
        project.mkdir(mode=0o750)
        (project / "compose.yaml").write_text(compose_yaml)
        (project / "compose.override.yaml").write_text(OVERRIDE.format(port=port))
        (project / ".env").write_text(f"IMAGE_REPOSITORY={registry.host}/{REPOSITORY}-swarm\n")
        (project / "shipyard-agent.json").write_text(json.dumps(AGENT_CONFIG))
        for path in [project, *project.iterdir()]:
            os.chown(path, account.pw_uid, account.pw_gid)
        options = (f'restrict,command="env DOCKER_HOST={SWARM_HOST} /usr/bin/python3 {agent} '
                   f'--project {project} --key-id {key.fingerprint()}"')
        sshd.authorize(key, options)
        yield Deployment(sshd, key, project, agent, port, docker_engine,
                         f"{options} {key.public_line()}")
    finally:
        _wait_lock_free(project)
        stack = project.name
        swarm("stack", "rm", stack, check=False)
        wait_until(lambda: not swarm("ps", "-aq", "--filter",
                                     f"label=com.docker.stack.namespace={stack}").split(),
                   f"the containers of stack {stack} to be gone", 120)
        swarm("volume", "rm", f"{stack}_data", check=False)
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(agent_dir, ignore_errors=True)


@pytest.fixture
def stacked(e2e_sshd: Sshd, client_key: KeyPair, swarm_engine: str,
            swarm_published: Published, e2e_registry: Registry,
            docker_engine: Docker, free_port: int) -> Iterator[Deployment]:
    with stack_project(e2e_sshd, client_key, swarm_published[0], e2e_registry, docker_engine,
                       free_port) as deployed:
        yield deployed


def _under_load(d: Deployment, *command: str) -> tuple[int, str, LoadReport]:
    with Load(f"http://127.0.0.1:{d.port}/healthz") as load:
        time.sleep(1.0)  # answers before the agent starts: the load itself works
        result = d.ssh(*command)
        time.sleep(1.5)  # and after it ends
    report = load.stop()
    assert report.sent >= 40
    return result.returncode, result.stdout + result.stderr, report


def _proxy_log(d: Deployment) -> str:
    """The proxy's own account (nginx's error log) for a failure message."""
    logs = run([DOCKER, "--host", SWARM_HOST, "service", "logs", "--timestamps",
                f"{d.project.name}_proxy"], check=False, timeout=60)
    return (logs.stdout + logs.stderr)[-3000:]  # nginx logs to stderr


def _summary(d: Deployment) -> list[tuple[str, str, str, str]]:
    return [(e["action"], e["tag_requested"], e["tag_after"], e["outcome"])
            for e in d.journal()]


def test_swarm_stack_update_and_rollback_lose_no_request(
        stacked: Deployment, swarm_published: Published) -> None:
    d, digests = stacked, swarm_published[1]
    first = d.ok("deploy", "v1")
    assert "==> docker stack deploy --with-registry-auth" in first.stdout
    assert d.version() == "v1"
    status = d.ok("status").stdout.splitlines()
    assert status[:2] == ["tag: v1", f"digest: {digests['v1']}"]
    assert any(re.fullmatch(rf"web\.1 on \S+: running v1 {digests['v1']}", line)
               for line in status), status
    assert status[-2:] == ["drift: none", f"engine: swarm (stack {d.project.name}; updates "
                           "start-first, rolled back by Swarm on failure)"]
    stack_file = json.loads((d.project / ".shipyard" / "stack.json").read_text())
    web = stack_file["services"]["web"]
    assert web["deploy"]["update_config"]["order"] == "start-first"
    assert web["deploy"]["update_config"]["failure_action"] == "rollback"
    assert web["deploy"]["endpoint_mode"] == "dnsrr" and "container_name" not in web
    # The secret setting is a Swarm secret: mounted into the task, not in the service spec.
    assert d.health()["token_file"] is True and d.health()["token_in_env"] is False
    spec_env = swarm("service", "inspect", f"{d.project.name}_web", "--format",
                     "{{json .Spec.TaskTemplate.ContainerSpec.Env}}")
    assert "t0ken" not in spec_env and "t0ken" not in json.dumps(stack_file)

    code, out, seen = _under_load(d, "deploy", "v2")
    assert code == 0, out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}\n{_proxy_log(d)}"
    assert set(seen.versions()) == {"v1", "v2"}  # switched during the window
    assert d.version() == "v2"

    code, out, seen = _under_load(d, "rollback")
    assert code == 0, out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}\n{_proxy_log(d)}"
    assert d.version() == "v1"
    assert _summary(d) == [("deploy", "v1", "v1", "ok"), ("deploy", "v2", "v2", "ok"),
                           ("rollback", "v1", "v1", "ok")]
    history = d.ok("history", "2").stdout.splitlines()
    assert [json.loads(line)["outcome"] for line in history] == ["started", "ok"]


def test_swarm_rolls_back_an_update_that_never_turns_healthy(
        stacked: Deployment, swarm_published: Published) -> None:
    d, digests = stacked, swarm_published[1]
    d.ok("deploy", "v1")

    code, out, seen = _under_load(d, "deploy", "v3")
    assert code == 1, out
    assert "web: Swarm rolled the update back" in out
    assert "health check failed" in out  # the new task's own health check output
    assert "v1 restored and healthy" in out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}\n{_proxy_log(d)}"
    assert "v3" not in seen.versions(), "a version that failed its check got requests"
    assert d.version() == "v1"
    assert _summary(d) == [("deploy", "v1", "v1", "ok"),
                           ("deploy", "v3", "v1", "failed-rolled-back")]
    status = d.ok("status").stdout.splitlines()
    assert any(re.fullmatch(rf"web\.1 on \S+: running v1 {digests['v1']}", line)
               for line in status), status
    assert "drift: none" in status
    # The key still reaches nothing but the four requests.
    refused = d.ssh("docker", "service", "ls")
    assert refused.returncode == 2 and refused.stderr.startswith("refused:")


def test_restarting_the_swarm_engine_leaves_the_main_engines_bridge(
        swarm_engine: str, docker_engine: Docker, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI starts both engines afresh on a machine that ran the suite before. dockerd 20.10
    restarted with `--default-address-pool` deleted `docker0`, and every later container on
    the main engine's default bridge failed to start ("could not find bridge docker0").
    Last in the module: the engine is restarted (cleanly; its swarm and images stay)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))  # the repository
    from testbed import engine as testbed_engine
    from testbed import swarm as testbed_swarm

    client = testbed_engine.Client(DOCKER, "env", "")
    assert testbed_engine.link_exists("docker0")
    testbed_swarm.stop(client)
    assert run([DOCKER, "--host", SWARM_HOST, "version"], check=False).returncode != 0
    testbed_swarm.ensure(client)  # starts it again: the restart CI does

    assert testbed_engine.link_exists("docker0"), "the Swarm engine's start removed docker0"
    answer = run([DOCKER, "run", "--rm", "python:3.11-slim-bookworm", "python", "-c",
                  "print('on the default bridge')"], check=False)
    assert answer.returncode == 0, answer.stderr
    state = swarm("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    assert state.strip() == "active true"
