"""The host agent end to end: real sshd with the restricted key, real registry, real engine.

Why: this is the product's deploy path (seed 000 + seed 004's "pull and run a
newer tag; roll back by running the previous one"). The Django example is built
once; v1 and v2 differ only in APP_VERSION (and their build-time label: v1 is the
oldest build), v3 never becomes healthy. Every step
goes through ``ssh deploy-user@host COMMAND`` with the exact authorized_keys line
``shipyard host setup`` writes, and is checked from outside: HTTP answers, data
in the volume, the registry's digests, the journal.

Module-scoped registry and sshd (the same fixture machinery as ``registry`` and
``sshd``): the images are pushed once and each test gets its own project
directory, compose project, port and client key.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from fixtures.accounts import Account
from fixtures.containers import build, http_get, http_json
from fixtures.keys import KeyPair
from fixtures.process import run
from fixtures.registry import Registry, running_registry
from fixtures.sshd import SSH_BINARY, Sshd, running_sshd
from shipyard.agent import agent_source
from shipyard.agent.agent import group_alive
from shipyard.init import init
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEPLOY_USER = "shipyard-deploy"
REPOSITORY = "guestbook"
BROKEN_ENTRYPOINT = (
    '["python", "-c", "import signal, sys, time; '
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
    "print('v3: broken on purpose, never serving', flush=True); time.sleep(3600)\"]")
CREATED = "LABEL org.opencontainers.image.created={}\n"
VARIANTS = {
    "v1": "ENV APP_VERSION=v1\n" + CREATED.format("2025-01-01T10:00:00Z"),
    "v2": "ENV APP_VERSION=v2\n" + CREATED.format("2025-01-02T10:00:00Z"),
    "v3": f"ENV APP_VERSION=v3\nENTRYPOINT {BROKEN_ENTRYPOINT}\n"
          + CREATED.format("2025-01-03T10:00:00Z"),
}
# Per-host settings, as compose.override.yaml is meant for: the port, and health
# checks tuned so a never-healthy version is detected in seconds, not a minute.
OVERRIDE = """\
services:
  web:
    ports:
      - "127.0.0.1:{port}:8000"
    healthcheck:
      interval: 2s
      timeout: 5s
      start_period: 30s
      retries: 3
"""
AGENT_CONFIG = {"deploy_timeout": 180, "lock_timeout": 300, "log_lines": 20}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Published:
    """The example's versions in the module's registry, and the compose file to run them."""

    registry: Registry
    digests: dict[str, str]  # tag -> registry manifest digest
    compose_yaml: str


@pytest.fixture(scope="module")
def e2e_registry() -> Iterator[Registry]:
    with running_registry(auth=False) as reg:
        yield reg


@pytest.fixture(scope="module")
def e2e_sshd(ssh_accounts: dict[str, Account]) -> Iterator[Sshd]:
    with running_sshd(ssh_accounts["deploy"].name) as server:
        yield server


@contextmanager
def published_variants(docker_engine: Docker, registry: Registry, work: Path, prefix: str,
                       variants: dict[str, str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """Build the Django example once and push each variant (a one-line Dockerfile on top
    of it) to the registry; yields the initialised example and the variants' digests."""
    token = secrets.token_hex(4)
    example = work / "django-app"
    shutil.copytree(EXAMPLES / "django-app", example, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist", "*.mo"))
    init(example)
    base = f"{prefix}/guestbook:base-{token}"
    local = {tag: f"{prefix}/guestbook:{tag}-{token}" for tag in variants}
    remote = {tag: registry.ref(REPOSITORY, tag) for tag in variants}
    try:
        build(docker_engine, example, base)
        for tag, body in variants.items():
            context = work / tag
            context.mkdir()
            (context / "Dockerfile").write_text(f"FROM {base}\n{body}")
            build(docker_engine, context, local[tag])
            docker_engine.run(["tag", local[tag], remote[tag]])
            docker_engine.run(["push", remote[tag]], timeout=600)
            # Untag the registry reference: every deploy must really pull it.
            docker_engine.run(["image", "rm", remote[tag]])
        yield example, {tag: registry.manifest_digest(REPOSITORY, tag) for tag in variants}
    finally:
        docker_engine.remove_images([*remote.values(), *local.values(), base])


@pytest.fixture(scope="module")
def published(docker_engine: Docker, e2e_registry: Registry,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """Build the Django example once; v1/v2/v3 are one-line Dockerfiles on top of it."""
    with published_variants(docker_engine, e2e_registry, tmp_path_factory.mktemp("agent-e2e"),
                            "shipyard-agent-e2e", VARIANTS) as (example, digests):
        yield Published(e2e_registry, digests, without_proxy(example / "compose.yaml"))


def without_proxy(compose_yaml: Path) -> str:
    """The generated compose.yaml minus its proxy: a project set up before there was one.

    These tests pin the plain path, which such projects keep; the proxy's own path is
    in test_agent_zero_downtime_e2e.py."""
    yaml = YAML()
    data = yaml.load(compose_yaml)
    del data["services"]["proxy"]
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@dataclass
class Deployment:
    """One compose project on the "host", reachable only through the agent."""

    sshd: Sshd
    key: KeyPair
    project: Path
    agent: Path
    port: int
    docker: Docker
    authorized_line: str

    def ssh_argv(self, *args: str) -> list[str]:
        argv = [SSH_BINARY, *self.sshd.ssh_options(self.key), "-p", str(self.sshd.port),
                f"{self.sshd.user}@{self.sshd.host}"]
        return [*argv, "--", *args] if args else argv

    def ssh(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(self.ssh_argv(*args), timeout=600, check=False)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.ssh(*args)
        assert result.returncode == 0, (
            f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.ssh_argv(*args), stdin=subprocess.DEVNULL, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    @property
    def journal_path(self) -> Path:
        return self.project / ".shipyard" / "journal.jsonl"

    def journal(self) -> list[dict[str, Any]]:
        """The outcomes, without the ``started`` intent line each action writes first."""
        if not self.journal_path.exists():
            return []
        entries = [json.loads(line) for line in self.journal_path.read_text().splitlines()]
        return [e for e in entries if e["outcome"] != "started"]

    def lock_record(self) -> dict[str, Any]:
        path = self.project / ".shipyard" / "deploy.lock"
        text = path.read_text() if path.exists() else ""
        return json.loads(text) if text.strip() else {}

    def env_text(self) -> str:
        return (self.project / ".env").read_text()

    def health(self) -> dict[str, Any]:
        status, body = http_json(f"http://127.0.0.1:{self.port}/healthz")
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    def version(self) -> str:
        return str(self.health()["version"])

    def entries(self) -> list[tuple[str, str]]:
        status, body = http_json(f"http://127.0.0.1:{self.port}/api/entries")
        assert status == 200 and isinstance(body, list), body
        return [(e["name"], e["message"]) for e in body]

    def add_entry(self, name: str, message: str) -> None:
        """Write into the data volume through the running version's own code."""
        code = ("from entries.models import Entry; "
                f"Entry.objects.create(name={name!r}, message={message!r})")
        self.docker.run(["compose", "--project-directory", str(self.project), "exec", "-T",
                         "web", "python", "manage.py", "shell", "-c", code], timeout=120)


def _wait_lock_free(project: Path, timeout: float = 300) -> None:
    """Until no agent (or orphan of a killed one) holds the project's deploy lock."""
    path = project / ".shipyard" / "deploy.lock"
    if not path.exists():
        return
    with path.open("r") as handle:
        def free() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(handle, fcntl.LOCK_UN)
            return True
        wait_until(free, f"the deploy lock of {project} to be free", timeout)


@contextmanager
def deployed_project(sshd: Sshd, client_key: KeyPair, published: Published, override: str,
                     docker_engine: Docker, free_port: int, name: str,
                     agent_flags: str = "") -> Iterator[Deployment]:
    """A compose project in the deploy user's home as `shipyard host setup` leaves it, with
    the agent behind client_key (its command line + agent_flags); taken down and removed
    afterwards."""
    account = pwd.getpwnam(DEPLOY_USER)
    home = Path(account.pw_dir)
    token = secrets.token_hex(3)
    project = home / f"{name}-{token}"  # the directory name is the compose project name
    agent_dir = home / f".shipyard-{name}-{token}"
    try:
        agent_dir.mkdir(mode=0o755)
        agent = agent_dir / "agent.py"  # root-owned, read-only for the deploy user
        agent.write_text(agent_source())
        agent.chmod(0o644)
        project.mkdir(mode=0o750)
        (project / "compose.yaml").write_text(published.compose_yaml)
        (project / "compose.override.yaml").write_text(override.format(port=free_port))
        (project / ".env").write_text(
            f"# written by the test as `shipyard host setup` would\n"
            f"IMAGE_REPOSITORY={published.registry.host}/{REPOSITORY}\n")
        (project / "shipyard-agent.json").write_text(json.dumps(AGENT_CONFIG))
        for path in [project, *project.iterdir()]:
            os.chown(path, account.pw_uid, account.pw_gid)
        options = (f'restrict,command="/usr/bin/python3 {agent} --project {project} '
                   f'--key-id {client_key.fingerprint()}{agent_flags}"')
        sshd.authorize(client_key, options)
        yield Deployment(sshd, client_key, project, agent, free_port, docker_engine,
                         f"{options} {client_key.public_line()}")
    finally:
        _wait_lock_free(project)
        docker_engine.run(["compose", "--project-directory", str(project), "down", "--volumes",
                           "--remove-orphans", "--timeout", "5"],
                          env={"IMAGE_TAG": "down"}, check=False, timeout=180)
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(agent_dir, ignore_errors=True)


@pytest.fixture
def deployment(e2e_sshd: Sshd, client_key: KeyPair, published: Published,
               docker_engine: Docker, free_port: int) -> Iterator[Deployment]:
    with deployed_project(e2e_sshd, client_key, published, OVERRIDE, docker_engine, free_port,
                          "guestbook") as deployed:
        yield deployed


def test_deploy_update_break_roll_back(deployment: Deployment, published: Published,
                                       client_key: KeyPair) -> None:
    d = deployment
    assert d.authorized_line in d.sshd.authorized_keys_file.read_text()

    # v1: the first deploy, from nothing.
    first = d.ok("deploy", "v1")
    assert "==> IMAGE_TAG: (none) -> v1 (.env)" in first.stdout
    assert d.version() == "v1" and d.health()["status"] == "ok"
    assert d.ok("status").stdout.splitlines() == [
        "tag: v1", f"digest: {published.digests['v1']}",
        f"web: running healthy v1 {published.digests['v1']}", "drift: none",
        "zero-downtime: no (no proxy service in compose.yaml: a deploy stops the old "
        "container before the new one serves; see `shipyard init`)"]
    d.add_entry("ada", "written under v1")
    assert d.entries() == [("ada", "written under v1")]

    # v2: the update keeps the data.
    d.ok("deploy", "v2")
    assert d.version() == "v2"
    assert d.entries() == [("ada", "written under v1")]

    # A tag the registry does not have: pull fails, v2 keeps running untouched.
    missing = d.ssh("deploy", "v9")
    assert missing.returncode == 1
    assert "==> restoring v2" in missing.stdout
    assert d.version() == "v2"

    # v3 never becomes healthy: the deploy fails, shows its log, and v2 comes back.
    broken = d.ssh("deploy", "v3")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "v3: broken on purpose, never serving" in broken.stdout
    assert "==> restoring v2" in broken.stdout
    assert "v2 restored and healthy" in broken.stderr
    assert d.version() == "v2"
    assert d.entries() == [("ada", "written under v1")]
    assert "IMAGE_TAG=v2\n" in d.env_text()

    # `rollback` goes to the last good version before v2: v1, with the data.
    back = d.ok("rollback")
    assert "==> rollback v1" in back.stdout
    assert d.version() == "v1"
    assert d.entries() == [("ada", "written under v1")]

    # `deploy` without a tag re-pulls and restarts the configured tag, like the seed.
    d.ok("deploy")
    assert d.version() == "v1"

    journal = d.journal()
    fingerprint = client_key.fingerprint()
    summary = [(e["action"], e["tag_before"], e["tag_requested"], e["tag_after"], e["outcome"])
               for e in journal]
    assert summary == [
        ("deploy", None, "v1", "v1", "ok"),
        ("deploy", "v1", "v2", "v2", "ok"),
        ("deploy", "v2", "v9", "v2", "failed-rolled-back"),
        ("deploy", "v2", "v3", "v2", "failed-rolled-back"),
        ("rollback", "v2", "v1", "v1", "ok"),
        ("deploy", "v1", "v1", "v1", "ok"),
    ]
    assert {e["caller"] for e in journal} == {fingerprint}
    assert [e["digest_after"] for e in journal] == [
        published.digests[t] for t in ("v1", "v2", "v2", "v2", "v1", "v1")]
    assert journal[1]["digest_before"] == published.digests["v1"]
    assert "unhealthy" in journal[3]["detail"] or "not healthy" in journal[3]["detail"]
    assert all(e["duration_s"] > 0 for e in journal)
    stored = d.journal_path.read_text().splitlines()
    assert d.ok("history", "3").stdout.splitlines() == stored[-3:]
    assert d.ok("history").stdout.splitlines() == stored[-10:]


def test_concurrent_deploys_serialize(deployment: Deployment) -> None:
    d = deployment
    first = d.start("deploy", "v1")
    wait_until(lambda: d.lock_record().get("tag_requested") == "v1",
               "the first deploy to take the lock")
    second = d.start("deploy", "v2")
    out1, _ = first.communicate(timeout=600)
    out2, _ = second.communicate(timeout=600)
    assert (first.returncode, second.returncode) == (0, 0), out1 + out2
    assert "==> waiting up to 300s for the deploy lock (pid" in out2
    a, b = d.journal()
    assert (a["tag_before"], a["tag_after"], b["tag_before"], b["tag_after"]) == (
        None, "v1", "v1", "v2")
    a_end = datetime.fromisoformat(a["time"].replace("Z", "+00:00")).timestamp() + a["duration_s"]
    b_start = datetime.fromisoformat(b["time"].replace("Z", "+00:00")).timestamp()
    assert a_end <= b_start + 0.1
    assert d.version() == "v2"


def test_killed_agent_mid_deploy_then_next_deploy_succeeds(deployment: Deployment) -> None:
    d = deployment
    d.ok("deploy", "v1")
    d.add_entry("grace", "before the crash")
    victim = d.start("deploy", "v2")
    # Mid-deploy, in the worst place: the new tag is written and `docker compose up`
    # is replacing the container.
    wait_until(lambda: d.lock_record().get("step") == "up", "the deploy to reach `up`")
    assert "IMAGE_TAG=v2\n" in d.env_text()
    pid = d.lock_record()["pid"]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert str(d.agent).encode() in cmdline and str(d.project).encode() in cmdline  # that agent
    os.kill(pid, signal.SIGKILL)
    out, _ = victim.communicate(timeout=120)
    assert victim.returncode != 0
    assert "==> deploy v2" in out and "done in" not in out

    after = d.ok("deploy", "v2")
    assert f"!!! the previous deploy did not finish (agent pid {pid} is gone" in after.stdout
    assert d.version() == "v2"
    assert d.entries() == [("grace", "before the crash")]
    interrupted, done = d.journal()[-2:]
    assert (interrupted["outcome"], interrupted["tag_before"], interrupted["tag_requested"]) == (
        "interrupted", "v1", "v2")
    assert "during up" in interrupted["detail"]
    assert (done["outcome"], done["tag_after"]) == ("ok", "v2")
    assert d.lock_record() == {}
    status, _ = http_get(f"http://127.0.0.1:{d.port}/")
    assert status == 200


@contextmanager
def registry_paused(registry: Registry) -> Iterator[None]:
    """SIGSTOP the registry process: a pull from it hangs, as from a registry that is down."""
    config = str(registry.storage_dir.parent / "config.yml").encode()
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and _cmdline(p)[-1:] == [config]]
    assert pids, f"no registry process serving {config!r}"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _cmdline(proc: Path) -> list[bytes]:
    try:
        return (proc / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return []


def test_issue11_faults_on_the_real_engine(deployment: Deployment, published: Published) -> None:
    """Faults 1, 2, 3, 6 and 7 of issue 11 through sshd, dockerd and the registry."""
    d = deployment
    repository = f"{published.registry.host}/{REPOSITORY}"
    d.ok("deploy", "v1")
    d.ok("deploy", "v2")

    # 6: an older build never replaces a newer one; the loser says why.
    older = d.ssh("deploy", "v1")
    assert older.returncode == 1, older.stdout + older.stderr
    assert ("v1 was built 2025-01-01T10:00:00Z, before v2, which runs now (built "
            "2025-01-02T10:00:00Z)") in older.stderr
    assert d.version() == "v2"

    # 1: no journal, no switch.
    journal = d.journal_path
    saved = journal.with_name("journal.saved")
    journal.rename(saved)
    journal.mkdir()
    try:
        unjournaled = d.ssh("deploy", "v3")
    finally:
        journal.rmdir()
        saved.rename(journal)
    assert unjournaled.returncode == 1, unjournaled.stdout + unjournaled.stderr
    assert "cannot write the journal" in unjournaled.stderr
    assert "IMAGE_TAG=v2\n" in d.env_text() and d.version() == "v2"

    with registry_paused(published.registry):
        # 7: an agent killed while `docker compose pull` hangs leaves that pull running.
        victim = d.start("deploy", "v3")
        wait_until(lambda: d.lock_record().get("step") == "pull", "the deploy to reach pull")
        record = d.lock_record()
        os.kill(record["pid"], signal.SIGKILL)
        victim.communicate(timeout=120)
        assert group_alive(record["group"])  # the orphaned pull outlived its agent

        # 2: status tells what runs, not what the env file says.
        status = d.ok("status").stdout.splitlines()
        assert status[0] == "tag: v3"
        assert status[2:-1] == [f"web: running healthy v2 {published.digests['v2']}",
                              f"drift: web runs {repository}:v2, the env file says "
                              f"{repository}:v3"]

        # 3 and 7: the next call stops the orphan (if compose has not died by itself yet,
        # of EPIPE on the dead agent's pipe: tests/unit/test_agent_flow.py pins that case);
        # the rollback needs no registry.
        orphan_left = group_alive(record["group"])
        started = time.monotonic()
        back = d.ok("rollback", "v1")
        assert time.monotonic() - started < 120  # not lock_timeout (300 s) behind the orphan
        if orphan_left:
            assert f"!!! stopping process group {record['group']} (step pull)" in back.stdout
        assert not group_alive(record["group"])
        assert "==> every image is on this host: nothing to pull" in back.stdout
        assert d.version() == "v1"
    interrupted, done = d.journal()[-2:]
    assert (interrupted["outcome"], interrupted["tag_requested"], interrupted["tag_after"]) == (
        "interrupted", "v3", "v2")
    assert (done["action"], done["outcome"], done["tag_after"]) == ("rollback", "ok", "v1")
    assert d.ok("status").stdout.splitlines()[-2] == "drift: none"  # then zero-downtime
