"""Fleet environments end to end: three "hosts", each its own sshd (own host key and
authorized_keys), its own compose project and agent behind its own restricted key line,
the real CLI, real OpenSSH, real docker compose and a real registry.

Why three sshds and not three dockerds: what a fleet deploy must get right is per host —
which key reaches which agent, which project switches, which one is put back — and that
is all in the sshd/agent/project triple. The three projects are separate compose projects
on the one engine (their container names never collide); nothing here depends on an
engine's global state, so a dockerd per host would only cost time.

The image is tiny (python -m http.server with a HEALTHCHECK, as test_deploy_cli builds);
v1 and v2 differ in APP_VERSION. Host B's compose.override.yaml can turn its health check
against v2 (a host-specific fault: its config, not the image), so a deploy of v2 fails
exactly in the second batch.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_deploy_cli import COMPOSE as PLAIN_COMPOSE
from test_deploy_cli import DOCKERFILE, PYTHON, CliRun, shipyard

from fixtures.accounts import DEPLOY_ACCOUNT, Account
from fixtures.containers import build
from fixtures.keys import KeyPair, generate_key
from fixtures.ports import free_port
from fixtures.registry import Registry, running_registry
from fixtures.sshd import SSH_BINARY, Sshd, running_sshd
from shipyard.agent import agent_source
from shipyard.deploy.setup import authorized_keys_line
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]

PREFIX = f"syfleet{os.getpid()}"
VARIANTS = {
    "v1": "ENV APP_VERSION=v1\nLABEL org.opencontainers.image.created=2025-01-01T10:00:00Z\n",
    "v2": "ENV APP_VERSION=v2\nLABEL org.opencontainers.image.created=2025-01-02T10:00:00Z\n",
}
# http.server is PID 1 and ignores SIGTERM; SIGINT stops it at once (no 10 s stop grace).
COMPOSE = PLAIN_COMPOSE + "    stop_signal: SIGINT\n"
# Host B's own setting that makes v2 unhealthy there (and only there).
FAILS_ON_V2 = """\
services:
  web:
    healthcheck:
      test: ["CMD", "python", "-c", "import os; assert os.environ['APP_VERSION'] != 'v2'"]
      interval: 1s
      timeout: 3s
      start_period: 1s
      retries: 2
"""


@dataclass(frozen=True)
class Images:
    registry: Registry
    digests: dict[str, str]


@pytest.fixture(scope="module")
def images(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    """v1 and v2 in a registry of the module's own; the local tags are removed, so each
    host's deploy really pulls."""
    work = tmp_path_factory.mktemp("fleet-images")
    base = f"{PREFIX}-tiny:base"
    (work / "Dockerfile").write_text(DOCKERFILE)
    with running_registry(auth=False) as registry:
        refs = []
        try:
            build(docker_engine, work, base)
            for tag, body in VARIANTS.items():
                context = work / tag
                context.mkdir()
                (context / "Dockerfile").write_text(f"FROM {base}\n{body}")
                ref = registry.ref("app", tag)
                refs.append(ref)
                build(docker_engine, context, ref)
                docker_engine.run(["push", ref])
                docker_engine.run(["image", "rm", ref])
            yield Images(registry, {t: registry.manifest_digest("app", t) for t in VARIANTS})
        finally:
            docker_engine.run(["rmi", "-f", *refs, base], check=False)


@pytest.fixture(scope="module")
def three_sshds(ssh_accounts: dict[str, Account]) -> Iterator[list[Sshd]]:
    with ExitStack() as stack:
        yield [stack.enter_context(running_sshd(ssh_accounts["deploy"].name)) for _ in range(3)]


@dataclass
class Fleet:
    cwd: Path
    env: dict[str, str]
    hosts: list[Sshd]
    projects: list[Path]
    keys: list[KeyPair]

    def run(self, *args: str) -> CliRun:
        return shipyard(list(args), self.env, self.cwd)

    def summaries(self) -> list[dict[str, object]]:
        path = self.cwd / ".shipyard" / "fleet" / "prod.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]

    def deploy_each_directly(self, tag: str) -> None:
        """`deploy TAG` on every host at once, straight to its agent (a quick setup)."""
        procs = [subprocess.Popen(
            [SSH_BINARY, *sshd.ssh_options(key), "-p", str(sshd.port),
             f"{sshd.user}@{sshd.host}", "--", "deploy", tag],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for sshd, key in zip(self.hosts, self.keys, strict=True)]
        for proc in procs:
            output, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, output

    def tags(self) -> list[str]:
        """IMAGE_TAG of each host's .env (what its agent last settled on)."""
        return [next(line.split("=", 1)[1] for line in (p / ".env").read_text().splitlines()
                     if line.startswith("IMAGE_TAG=")) for p in self.projects]


def host_label(sshd: Sshd) -> str:
    return f"{sshd.user}@{sshd.host}:{sshd.port}"


@contextmanager
def fleet_of_three(sshds: list[Sshd], images: Images, docker: Docker, work: Path, batch: str,
                   overrides: dict[int, str] | None = None, wait: int = 0) -> Iterator[Fleet]:
    """Three projects as `host setup` leaves them, one per sshd, and a project whose
    pyproject.toml lists them: hosts A and B use the environment's key, C its own."""
    account = pwd.getpwnam(DEPLOY_ACCOUNT.name)
    token = secrets.token_hex(3)
    shared = generate_key(work / "id_fleet", "fleet")
    own = generate_key(work / "id_host_c", "host-c")
    projects = [DEPLOY_ACCOUNT.home / f"{PREFIX}-{name}-{token}" for name in "abc"]
    agent_dir = DEPLOY_ACCOUNT.home / f".{PREFIX}-agent-{token}"
    agent_dir.mkdir()
    agent = agent_dir / "agent.py"
    agent.write_text(agent_source())
    agent.chmod(0o644)
    try:
        for index, (sshd, project) in enumerate(zip(sshds, projects, strict=True)):
            project.mkdir(mode=0o750)
            (project / "compose.yaml").write_text(COMPOSE)
            (project / ".env").write_text(f"IMAGE_REPOSITORY={images.registry.host}/app\n")
            if overrides and index in overrides:
                (project / "compose.override.yaml").write_text(overrides[index])
            for path in (project, *project.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
            key = own if index == 2 else shared
            sshd.authorize(authorized_keys_line(PYTHON, str(agent), str(project),
                                                key.fingerprint(), key.public_line()))
        cwd = work / "app"
        cwd.mkdir()
        (cwd / "known_hosts").write_text("".join(s.known_hosts_line + "\n" for s in sshds))
        targets = [f'"ssh://{host_label(s)}"' for s in sshds[:2]]
        targets.append(f'{{ target = "ssh://{host_label(sshds[2])}", key = "{own.private}" }}')
        (cwd / "pyproject.toml").write_text(
            '[project]\nname = "app"\n\n[tool.shipyard.environments.prod]\n'
            f"targets = [{', '.join(targets)}]\n"
            f'key = "{shared.private}"\nknown_hosts = "known_hosts"\nbatch = {batch}\n'
            f"wait = {wait}\n")
        yield Fleet(cwd, {}, sshds, projects, [shared, shared, own])
    finally:
        for project in projects:
            docker.run(["compose", "--project-directory", str(project), "down", "--volumes",
                        "--remove-orphans", "--timeout", "3"],
                       env={"IMAGE_TAG": "down", "IMAGE_REPOSITORY": "x"}, check=False)
            shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(agent_dir, ignore_errors=True)


def status_lines(result: CliRun) -> dict[str, tuple[str, str]]:
    """host -> (tag, digest) from the `[host] tag:`/`digest:` lines of a fleet status."""
    found: dict[str, dict[str, str]] = {}
    for line in result.stdout:
        host, _, rest = line.partition("] ")
        key, _, value = rest.partition(": ")
        if key in ("tag", "digest"):
            found.setdefault(host.lstrip("["), {})[key] = value
    return {h: (v["tag"], v["digest"]) for h, v in found.items()}


def test_fleet_deploy_status_rollback(three_sshds: list[Sshd], images: Images,
                                      docker_engine: Docker, tmp_path: Path) -> None:
    with fleet_of_three(three_sshds, images, docker_engine, tmp_path, '"50%"', wait=1) as fleet:
        labels = [host_label(s) for s in three_sshds]
        first = fleet.run("deploy", "prod", "v1")
        assert first.code == 0, (first.stdout, first.stderr)
        assert f"batch 1/2: deploy v1 on {labels[0]}, {labels[1]}" in first.stderr
        assert "batch 1 healthy; watching it 1s before batch 2" in first.stderr
        assert fleet.tags() == ["v1", "v1", "v1"]

        second = fleet.run("deploy", "prod", "v2")
        assert second.code == 0, (second.stdout, second.stderr)
        status = fleet.run("status", "prod")
        assert status.code == 0, status.stderr
        v2 = ("v2", images.digests["v2"])
        assert status_lines(status) == dict.fromkeys(labels, v2)
        assert "DIFFERS" not in status.stderr

        record = fleet.summaries()[-1]
        assert (record["action"], record["tag"], record["digest"], record["outcome"]) == \
            ("deploy", "v2", images.digests["v2"], "ok")
        assert record["batches"] == [labels[:2], labels[2:]]
        hosts = record["hosts"]
        assert isinstance(hosts, list)
        assert [(h["host"], h["outcome"], h["tag_before"], h["digest_after"]) for h in hosts] \
            == [(label, "ok", "v1", images.digests["v2"]) for label in labels]

        # Host C goes back alone (its own key, straight to its agent): the fleet shows it.
        alone = three_sshds[2].ssh(["rollback", "v1"], tmp_path / "id_host_c", timeout=300)
        assert alone.returncode == 0, alone.stdout + alone.stderr
        odd = fleet.run("status", "prod")
        assert f"{labels[2]}: v1 {images.digests['v1']}  <-- DIFFERS" in odd.stderr
        history = fleet.run("history", "prod", "2")
        assert history.code == 0, history.stderr
        assert f"{labels[2]}: last digest {images.digests['v1']}  <-- DIFFERS" in history.stderr
        assert any(line.startswith(f"[{labels[0]}] {{") for line in history.stdout)

        # The fleet's previous release is v1: A and B go back, C runs it already.
        back = fleet.run("rollback", "prod")
        assert back.code == 0, (back.stdout, back.stderr)
        assert f"{labels[2]}: runs v1 already" in back.stderr
        assert status_lines(fleet.run("status", "prod")) == \
            dict.fromkeys(labels, ("v1", images.digests["v1"]))
        assert fleet.summaries()[-1]["outcome"] == "ok"

        # A fourth host that does not answer: nothing runs anywhere.
        config = fleet.cwd / "pyproject.toml"
        gone = f"ssh://{DEPLOY_ACCOUNT.name}@127.0.0.1:{free_port()}"
        config.write_text(config.read_text().replace("targets = [", f'targets = ["{gone}", '))
        refused = fleet.run("deploy", "prod", "v2")
        assert refused.code == 255, (refused.stdout, refused.stderr)
        assert "nothing was changed on any host" in refused.stderr
        assert fleet.tags() == ["v1", "v1", "v1"]


def test_failure_in_second_batch_rolls_back_the_first(three_sshds: list[Sshd], images: Images,
                                                      docker_engine: Docker,
                                                      tmp_path: Path) -> None:
    with fleet_of_three(three_sshds, images, docker_engine, tmp_path, "1",
                        overrides={1: FAILS_ON_V2}) as fleet:
        labels = [host_label(s) for s in three_sshds]
        fleet.deploy_each_directly("v1")
        v1 = ("v1", images.digests["v1"])

        failed = fleet.run("deploy", "prod", "v2")
        assert failed.code == 1, (failed.stdout, failed.stderr)
        assert "batch 2 failed: putting back every host already switched" in failed.stderr
        assert "batch 3/3" not in failed.stderr  # C was never asked
        assert status_lines(fleet.run("status", "prod")) == dict.fromkeys(labels, v1)
        assert fleet.tags() == ["v1", "v1", "v1"]

        record = fleet.summaries()[-1]
        assert (record["tag"], record["outcome"]) == ("v2", "rolled-back")
        hosts = record["hosts"]
        assert isinstance(hosts, list)
        assert [(h["outcome"], h["digest_before"], h["digest_after"]) for h in hosts] == [
            ("rolled-back", images.digests["v1"], images.digests["v1"]),
            ("failed-rolled-back", images.digests["v1"], images.digests["v1"]),
            ("not-started", images.digests["v1"], images.digests["v1"])]
        assert any(line.startswith("fleet-summary: ") for line in failed.stdout)
