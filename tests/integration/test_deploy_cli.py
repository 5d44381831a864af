"""`shipyard deploy|rollback|status|history` end to end: the real CLI, real OpenSSH client
and sshd, the real agent file behind a `restrict,command=` key, real docker compose and a
real registry. A tiny image (python -m http.server with a HEALTHCHECK) is built once.

Also `shipyard host setup --apply` against an sshd that allows a root login on 127.0.0.1
(a config of this module's own: the shared sshd fixture forbids root), which creates a
real deploy user, logs it in to a registry with auth, installs the agent and the key,
and is then used for a deploy with the key it generated.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.accounts import DEPLOY_ACCOUNT
from fixtures.containers import build
from fixtures.docker import DockerCli
from fixtures.keys import KeyPair, generate_key
from fixtures.ports import LOOPBACK, serve_on_free_port
from fixtures.process import Daemon, run, scratch_dir, start_daemon, wait_no_processes_of
from fixtures.registry import Registry
from fixtures.sshd import CONFIG_TEMPLATE, SSHD_BINARY, Sshd
from shipyard.agent import agent_source
from shipyard.deploy.setup import authorized_keys_line
from shipyard.tools.docker import Docker

PREFIX = f"sydeploy{os.getpid()}"
PYTHON = "/usr/bin/python3"

DOCKERFILE = """\
FROM python:3.11-slim-bookworm
WORKDIR /srv
CMD ["python", "-m", "http.server", "8000"]
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=30 \\
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"]
"""
COMPOSE = """\
services:
  web:
    image: ${IMAGE_REPOSITORY:-none}:${IMAGE_TAG:?set IMAGE_TAG}
    read_only: true
    tmpfs:
      - /tmp
"""

# The real CLI, which maps errors and exit codes exactly as `shipyard` does.
RUNNER = """\
import sys
from shipyard import cli
sys.exit(cli.main(sys.argv[1:]))
"""


@dataclass
class CliRun:
    code: int
    stdout: list[str]
    stderr: str
    streamed: bool
    """The first stdout line arrived while the CLI was still running."""


def shipyard(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> CliRun:
    """Run the CLI as a process, reading stdout line by line as it arrives."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, *args], cwd=cwd,
                                env={**clean, **env, "COLUMNS": "200"}, text=True,
                                stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        lines: list[str] = []
        streamed = False
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            if not lines:
                streamed = proc.poll() is None
            lines.append(line.rstrip("\n"))
            assert time.monotonic() < deadline, f"shipyard {args} ran over {timeout}s"
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        stderr.seek(0)
        return CliRun(code, lines, stderr.read(), streamed)


@pytest.fixture(scope="module")
def tiny_image(docker_engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = tmp_path_factory.mktemp("tiny-image")
    (context / "Dockerfile").write_text(DOCKERFILE)
    tag = f"{PREFIX}-tiny:base"
    build(docker_engine, context, tag)
    yield tag
    docker_engine.run(["rmi", "-f", tag], check=False)


def push(docker: Docker, source: str, registry: Registry, tags: list[str]) -> list[str]:
    refs = [registry.ref("app", tag) for tag in tags]
    for ref in refs:
        docker.run(["tag", source, ref])
        docker.run(["push", ref])
    return refs


@dataclass
class HostProject:
    """A compose project on "the host" (this machine), owned by a deploy user."""

    directory: Path
    agent: Path
    user: str


@contextmanager
def host_project(docker: Docker, user: str, home: Path, repository: str,
                 agent_dir: Path) -> Iterator[HostProject]:
    """compose.yaml + .env in HOME/<prefix>-staging (the compose project name), the agent
    in agent_dir; on exit `compose down` and the directory goes."""
    entry = pwd.getpwnam(user)
    project = home / f"{PREFIX}-staging"
    project.mkdir()
    (project / "compose.yaml").write_text(COMPOSE)
    (project / ".env").write_text(f"IMAGE_REPOSITORY={repository}\n")
    for path in (project, *project.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    agent_dir.mkdir(exist_ok=True)
    agent = agent_dir / "agent.py"
    agent.write_text(agent_source())
    agent.chmod(0o755)
    try:
        yield HostProject(project, agent, user)
    finally:
        docker.run(["compose", "--project-directory", str(project), "down", "--volumes",
                    "--remove-orphans"], env={"IMAGE_TAG": "down", "IMAGE_REPOSITORY": "x"},
                   check=False)
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(agent_dir, ignore_errors=True)


def ci_env(key: KeyPair, known_hosts: str, user: str, port: int) -> dict[str, str]:
    return {"SSH_AUTH": key.private.read_text(), "SSH_KNOWN_HOSTS": known_hosts,
            "SSH_DEPLOY_TARGET": f"ssh://{user}@{LOOPBACK}:{port}"}


def status_tag(result: CliRun) -> str:
    return next(line for line in result.stdout if line.startswith("tag: ")).removeprefix("tag: ")


# -- deploy through the restricted key --------------------------------------------------------


@pytest.mark.docker
@pytest.mark.ssh
@pytest.mark.slow
def test_deploy_rollback_status_history(sshd: Sshd, client_key: KeyPair, registry: Registry,
                                        tiny_image: str, docker_engine: Docker,
                                        tmp_path: Path) -> None:
    refs = push(docker_engine, tiny_image, registry, ["v1", "v2"])
    try:
        with host_project(docker_engine, sshd.user, DEPLOY_ACCOUNT.home,
                          f"{registry.host}/app", DEPLOY_ACCOUNT.home / f"{PREFIX}-agent") as host:
            _exercise(sshd, client_key, host, tmp_path)
    finally:
        docker_engine.run(["rmi", "-f", *refs], check=False)


def _exercise(sshd: Sshd, key: KeyPair, host: HostProject, cwd: Path) -> None:
    sshd.authorize(authorized_keys_line(PYTHON, str(host.agent), str(host.directory),
                                        key.fingerprint(), key.public_line()))
    env = ci_env(key, sshd.known_hosts_line, sshd.user, sshd.port)

    def agent_directly(*words: str) -> int:
        """The same request over plain ssh: what the agent itself exits with."""
        return sshd.ssh(list(words), key).returncode

    first = shipyard(["deploy", "staging", "v1"], env, cwd)
    assert first.code == 0, (first.stdout, first.stderr)
    assert first.streamed, "the agent's output must stream, not arrive at the end"
    assert "==> docker compose pull" in first.stdout
    assert "staging: deploy v1 via shipyard-deploy@127.0.0.1" in first.stderr

    status = shipyard(["status", "staging"], env, cwd)
    assert (status.code, status_tag(status)) == (0, "v1")
    assert any(line.startswith("web: running healthy") for line in status.stdout), status.stdout
    assert status.code == agent_directly("status")

    assert shipyard(["deploy", "staging", "v2"], env, cwd).code == 0
    assert status_tag(shipyard(["status", "staging"], env, cwd)) == "v2"

    back = shipyard(["rollback", "staging"], env, cwd)
    assert back.code == 0, (back.stdout, back.stderr)
    assert status_tag(shipyard(["status", "staging"], env, cwd)) == "v1"

    missing = shipyard(["deploy", "staging", "v9-not-pushed"], env, cwd)
    assert missing.code == 1, (missing.stdout, missing.stderr)  # failed, v1 runs again
    assert ("error: staging: deploy failed; the version that ran before runs again "
            "(agent exit status 1)") in missing.stderr
    assert status_tag(shipyard(["status", "staging"], env, cwd)) == "v1"

    unknown = shipyard(["rollback", "staging", "v7"], env, cwd)
    assert unknown.code == 5 == agent_directly("rollback", "v7"), unknown.stderr

    history = shipyard(["history", "staging", "3"], env, cwd)
    assert history.code == 0 == agent_directly("history", "3")
    assert len(history.stdout) == 3 and all('"action"' in line for line in history.stdout)

    (host.directory / "shipyard-agent.json").write_text('{"allow_tags": "^release-"}\n')
    refused = shipyard(["deploy", "staging", "v2"], env, cwd)
    assert refused.code == 2 == agent_directly("deploy", "v2")
    assert "refused: tag 'v2' does not match" in "\n".join(refused.stdout)
    assert status_tag(shipyard(["status", "staging"], env, cwd)) == "v1"


@pytest.mark.ssh
def test_wrong_host_key_is_one_line_and_nothing_runs(sshd: Sshd, client_key: KeyPair,
                                                     tmp_path: Path) -> None:
    marker = DEPLOY_ACCOUNT.home / f"{PREFIX}-ran"  # where the deploy user may write
    marker.unlink(missing_ok=True)
    sshd.authorize(client_key, f'restrict,command="touch {marker}"')
    impostor = generate_key(tmp_path / "impostor", "impostor")
    wrong = f"[{LOOPBACK}]:{sshd.port} {' '.join(impostor.public_line().split()[:2])}"
    env = ci_env(client_key, wrong, sshd.user, sshd.port)

    result = shipyard(["deploy", "staging", "v1"], env, tmp_path)
    assert result.code == 255
    assert result.stdout == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: the host key of shipyard-deploy@127.0.0.1 port {sshd.port} does not match the "
        "known_hosts given; nothing was run (check the known_hosts value (SSH_KNOWN_HOSTS) "
        f"against the host's real key, e.g. `ssh-keyscan -p {sshd.port} 127.0.0.1` verified "
        "out of band)"], result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    assert "Accepted publickey" not in sshd.log_text()

    right = shipyard(["deploy", "staging", "v1"],
                     ci_env(client_key, sshd.known_hosts_line, sshd.user, sshd.port), tmp_path)
    try:
        assert right.code == 0 and marker.exists()  # the same key, the right host key: it runs
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.ssh
def test_unauthorized_key_is_one_line(sshd: Sshd, client_key: KeyPair, tmp_path: Path) -> None:
    env = ci_env(client_key, sshd.known_hosts_line, sshd.user, sshd.port)
    result = shipyard(["status", "staging"], env, tmp_path)
    assert result.code == 255 and result.stdout == []
    assert f"error: shipyard-deploy@127.0.0.1 port {sshd.port} refused the deploy key; " \
           "nothing was run" in result.stderr


# -- host setup --apply over a root login ------------------------------------------------------

SETUP_USER = f"sysetup{os.getpid() % 100000}"


@contextmanager
def root_sshd(users: list[str]) -> Iterator[tuple[int, str, KeyPair, Path]]:
    """sshd on 127.0.0.1 that lets root in with a test key (keys for other users come from
    their ~/.ssh/authorized_keys, as on a real host). Yields (port, known_hosts_line,
    root key, log path)."""
    with scratch_dir("shipyard-root-sshd-") as state:
        host_keys = state / "hostkeys"
        host_keys.mkdir(mode=0o700)
        host_key = generate_key(host_keys / "ssh_host_ed25519_key", "shipyard-root-test-host")
        (state / "authorized_keys").mkdir(mode=0o755)
        root_key = generate_key(state / "root_key", "shipyard-test-root")
        root_keys = state / "authorized_keys" / "root"
        root_keys.write_text(root_key.public_line() + "\n")
        config, log = state / "sshd_config", state / "sshd.log"

        def launch(port: int) -> Daemon:
            text = CONFIG_TEMPLATE.format(host=LOOPBACK, port=port, host_key=host_key.private,
                                          state=state, user=" ".join(users))
            text = text.replace("PermitRootLogin no", "PermitRootLogin prohibit-password")
            text = text.replace(f"AuthorizedKeysFile {state}/authorized_keys/%u",
                                f"AuthorizedKeysFile {state}/authorized_keys/%u "
                                ".ssh/authorized_keys")
            config.write_text(text)
            run([SSHD_BINARY, "-t", "-f", config])
            return start_daemon([SSHD_BINARY, "-D", "-e", "-f", config], log)

        def ready(daemon: Daemon, port: int) -> bool:
            return f"Server listening on {LOOPBACK} port {port}." in daemon.log_text()

        daemon, port = serve_on_free_port(launch, ready, what="root sshd")
        try:
            known = f"[{LOOPBACK}]:{port} {' '.join(host_key.public_line().split()[:2])}"
            yield port, known, root_key, log
        finally:
            daemon.drain_children()
            daemon.stop()


@contextmanager
def removed_afterwards(user: str, paths: list[Path]) -> Iterator[None]:
    """Whatever the setup creates on this machine goes again: the user, its home, paths."""
    try:
        yield
    finally:
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            uid = None
        if uid is not None:
            wait_no_processes_of(uid, timeout=15.0)
            run(["userdel", "--remove", user], check=False)
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


@pytest.mark.docker
@pytest.mark.ssh
@pytest.mark.slow
def test_host_setup_apply_then_deploy(ssh_accounts: object, registry_with_auth: Registry,
                                      tiny_image: str, docker_engine: Docker,
                                      docker_cli: DockerCli, tmp_path: Path) -> None:
    registry = registry_with_auth
    assert registry.username and registry.password
    # A private DOCKER_CONFIG pushes, so this machine's own logins are untouched.
    docker_cli.login(registry.host, registry.username, registry.password)
    ref = docker_cli.track(registry.ref("app", "v1"))
    docker_cli.run("tag", tiny_image, ref)
    docker_cli.run("push", ref)

    project = tmp_path / "app"
    project.mkdir()
    (project / "compose.yaml").write_text(COMPOSE)
    (project / "compose.override.yaml.example").write_text("services:\n  web: {}\n")
    token = tmp_path / "token"
    token.write_text(registry.password + "\n")
    home = Path("/home") / SETUP_USER
    host_dir = home / "app-staging"
    agent_dir = Path(f"/usr/local/lib/{PREFIX}")
    assert not home.exists(), f"{home} exists: a leftover of an earlier run?"

    with removed_afterwards(SETUP_USER, [agent_dir, home]), \
            root_sshd(["root", SETUP_USER]) as (port, known, root_key, log):
        known_file = tmp_path / "known_hosts"
        known_file.write_text(known + "\n")
        key_out = tmp_path / "deploy_key"
        setup = shipyard([
            "host", "setup", "staging", "-C", str(project),
            "--target", f"ssh://{SETUP_USER}@{LOOPBACK}:{port}",
            "--admin", f"ssh://root@{LOOPBACK}:{port}", "--admin-key", str(root_key.private),
            "--known-hosts", str(known_file), "--image-repository", f"{registry.host}/app",
            "--registry", registry.host, "--registry-user", registry.username,
            "--registry-token-file", str(token), "--agent-path", f"{agent_dir}/agent.py",
            "--key-out", str(key_out), "--apply"], {}, tmp_path)
        try:
            assert setup.code == 0, setup.stderr + "\n--- sshd ---\n" + log.read_text()
            stdout = "\n".join(setup.stdout)
            assert f"SSH_DEPLOY_TARGET=ssh://{SETUP_USER}@127.0.0.1:{port}" in stdout
            assert known in stdout and "PRIVATE KEY" not in stdout
            assert registry.password not in stdout + setup.stderr

            entry = pwd.getpwnam(SETUP_USER)
            assert entry.pw_uid != 0 and entry.pw_dir == str(home)
            groups = run(["id", "-nG", SETUP_USER]).stdout.split()
            assert "docker" in groups
            assert (agent_dir / "autoheal.py").read_text() == agent_source("autoheal.py")
            assert (host_dir / "compose.yaml").read_text() == COMPOSE
            assert (host_dir / ".env").read_text() == f"IMAGE_REPOSITORY={registry.host}/app\n"
            assert (host_dir / "compose.override.yaml").exists()
            docker_config = (home / ".docker" / "config.json").read_text()
            assert registry.host in docker_config and '"auth": ""' not in docker_config
            keys = (home / ".ssh" / "authorized_keys").read_text().splitlines()
            assert len(keys) == 1 and keys[0].startswith(
                f'restrict,command="/usr/bin/python3 {agent_dir}/agent.py --project {host_dir} '
                "--key-id SHA256:")

            # The generated key, through the CI variables, deploys from the authed registry.
            env = {"SSH_AUTH": key_out.read_text(), "SSH_KNOWN_HOSTS": known,
                   "SSH_DEPLOY_TARGET": f"ssh://{SETUP_USER}@{LOOPBACK}:{port}"}
            deployed = shipyard(["deploy", "staging", "v1"], env, tmp_path)
            assert deployed.code == 0, (deployed.stdout, deployed.stderr)
            status = shipyard(["status", "staging"], env, tmp_path)
            assert status_tag(status) == "v1"

            # A re-run rotates the key: the old one is refused, everything else is kept.
            again = shipyard([
                "host", "setup", "staging", "-C", str(project),
                "--target", f"ssh://{SETUP_USER}@{LOOPBACK}:{port}",
                "--admin", f"ssh://root@{LOOPBACK}:{port}", "--admin-key",
                str(root_key.private), "--known-hosts", str(known_file),
                "--image-repository", f"{registry.host}/app", "--no-registry-login",
                "--agent-path", f"{agent_dir}/agent.py", "--apply"], {}, tmp_path)
            assert again.code == 0, again.stderr
            assert len((home / ".ssh" / "authorized_keys").read_text().splitlines()) == 1
            assert shipyard(["status", "staging"], env, tmp_path).code == 255
            env_lines = (host_dir / ".env").read_text().splitlines()
            assert f"IMAGE_REPOSITORY={registry.host}/app" in env_lines  # set again, once
            assert len([x for x in env_lines if x.startswith("IMAGE_REPOSITORY=")]) == 1
            assert "IMAGE_TAG=v1" in env_lines  # the agent's, kept
        finally:
            docker_engine.run(["compose", "--project-directory", str(host_dir), "down",
                               "--volumes"], env={"IMAGE_TAG": "down"}, check=False)
            docker_engine.run(["rmi", "-f", ref], check=False)
