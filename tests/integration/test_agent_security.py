"""The deploy key against a real sshd: it can reach the agent's grammar and nothing else.

Why against real sshd: ``restrict`` and ``command=`` are enforced by OpenSSH, and
how scp, sftp, port and agent forwarding, ptys and client environment behave
under them is sshd's behaviour, not ours. The agent is installed as
``shipyard host setup`` installs it; docker is a recording fake
(tests/fixtures/fake_docker.py), so "nothing ran" is checked directly: a refused
request leaves no docker call, no file changed in the project, and no marker file
from an injected ``touch``. NUL cannot travel in an ssh command (C strings end
there): tests/unit/test_agent_parse.py covers it at the parser.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.fake_docker import FakeDocker, install_fake_docker
from fixtures.keys import KeyPair
from fixtures.ports import free_port
from fixtures.process import run
from fixtures.sshd import SSH_BINARY, Sshd
from shipyard.agent import agent_source

pytestmark = [pytest.mark.ssh]

DEPLOY_USER = "shipyard-deploy"
REPO = "127.0.0.1:5999/guestbook"
SEED_ENTRY = ('{"time": "2025-01-01T00:00:00.000Z", "action": "deploy", "caller": "SHA256:seed", '
              '"tag_before": null, "tag_requested": "v1", "tag_after": "v1", '
              '"digest_before": null, "digest_after": null, "outcome": "ok", '
              '"duration_s": 1.0, "steps": {}, "detail": ""}\n')


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every path under root with (mode, mtime_ns, sha256): any change shows."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        state[str(path.relative_to(root))] = (info.st_mode, info.st_mtime_ns, digest)
    return state


@dataclass
class RestrictedHost:
    """A project on the sshd host whose only door is the agent, reached with ``key``."""

    sshd: Sshd
    key: KeyPair
    base: Path
    project: Path
    agent: Path
    fake: FakeDocker
    marker: Path  # what an injected `touch` would create
    authorized_line: str

    def ssh(self, *args: str, extra: tuple[str, ...] = (),
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [SSH_BINARY, *self.sshd.ssh_options(self.key), *extra, "-p", str(self.sshd.port),
                f"{self.sshd.user}@{self.sshd.host}"]
        if args:
            argv += ["--", *args]
        return run(argv, input=input, timeout=60, check=False)

    def scp_like(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run([program, *self.sshd.ssh_options(self.key), "-P", str(self.sshd.port), *args],
                   timeout=60, check=False)

    @property
    def target(self) -> str:
        return f"{self.sshd.user}@{self.sshd.host}"


@pytest.fixture
def restricted(sshd: Sshd, client_key: KeyPair) -> Iterator[RestrictedHost]:
    account = pwd.getpwnam(DEPLOY_USER)
    base = Path(account.pw_dir) / f"shipyard-sec-{secrets.token_hex(4)}"
    base.mkdir(mode=0o755)
    try:
        agent = base / "agent.py"  # root-owned: the deploy user cannot change its own door
        agent.write_text(agent_source())
        agent.chmod(0o644)
        fake = install_fake_docker(base / "fake", owner=DEPLOY_USER, repository=REPO)
        fake.preload(REPO, "v1")
        project = base / "guestbook"
        (project / ".shipyard").mkdir(parents=True)
        (project / ".env").write_text(f"IMAGE_REPOSITORY={REPO}\nIMAGE_TAG=v1\n")
        (project / ".shipyard" / "journal.jsonl").write_text(SEED_ENTRY)
        for path in [project, *project.rglob("*"), fake.root / "state.json"]:
            os.chown(path, account.pw_uid, account.pw_gid)
        command = (f"env SHIPYARD_AGENT_DOCKER={fake.binary} /usr/bin/python3 {agent} "
                   f"--project {project} --key-id {client_key.fingerprint()}")
        options = f'restrict,command="{command}"'
        sshd.authorize(client_key, options)
        yield RestrictedHost(sshd, client_key, base, project, agent, fake,
                             Path(f"/tmp/pwned-{secrets.token_hex(6)}"),
                             f"{options} {client_key.public_line()}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def assert_nothing_changed(host: RestrictedHost, before: dict[str, tuple[int, int, str]],
                           ) -> None:
    assert not host.marker.exists(), f"an injected command ran: {host.marker} exists"
    assert host.fake.calls() == [], "docker ran for a refused request"
    assert tree(host.project) == before, "the project directory changed"


def test_the_authorized_keys_line_is_restricted(restricted: RestrictedHost) -> None:
    line = restricted.sshd.authorized_keys_file.read_text().strip()
    assert line == restricted.authorized_line
    assert line.startswith('restrict,command="env SHIPYARD_AGENT_DOCKER=')
    status = restricted.ssh("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0] == "tag: v1"


INJECTIONS = {
    "semicolon": "status; touch {marker}",
    "and": "deploy v2 && touch {marker}",
    "or": "deploy nope || touch {marker}",
    "pipe": "history | touch {marker}",
    "subst": "deploy $(touch {marker})",
    "backticks": "deploy `touch {marker}`",
    "newline": "status\ntouch {marker}",
    "newline-in-tag": "deploy v2\ntouch {marker}",
    "redirect": "history > {marker}",
    "background": "status & touch {marker}",
    "ifs": "deploy${{IFS}}v2;touch${{IFS}}{marker}",
    "plain-command": "touch {marker}",
    "bash-c": "bash -c 'touch {marker}'",
    "bash": "bash",
    "sh-i": "sh -i",
    "very-long": "deploy " + "a" * 100_000,
    "long-tag": "deploy " + "a" * 129,
    "registry-in-tag": "deploy 127.0.0.1:5000/evil/app:v2",
    "repository-in-tag": "deploy evil/app",
    "digest": "deploy guestbook@sha256:" + "0" * 64,
    "bare-digest": "deploy sha256:" + "0" * 64,
    "option-as-tag": "deploy --help",
    "two-tags": "deploy v1 v2",
    "status-arg": "status --json",
    "history-zero": "history 0",
    "scp-sink": "scp -t /tmp",
    "sftp": "internal-sftp",
    "escape-sequence": "deploy v2\x1b[2J",
    "tab": "deploy\tv2",
    "unicode": "deploy v\u0662",
}


@pytest.mark.parametrize("template", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_commands_outside_the_grammar_are_refused_and_change_nothing(
        restricted: RestrictedHost, template: str) -> None:
    before = tree(restricted.project)
    result = restricted.ssh(template.format(marker=restricted.marker))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("refused: "), result.stderr
    assert_nothing_changed(restricted, before)


def test_several_ssh_arguments_are_one_command_string(restricted: RestrictedHost) -> None:
    """ssh joins arguments with spaces; the agent sees (and refuses) the whole string."""
    before = tree(restricted.project)
    result = restricted.ssh("deploy", "v2;", "touch", str(restricted.marker))
    assert result.returncode == 2 and result.stderr.startswith("refused: deploy takes at most")
    assert_nothing_changed(restricted, before)


def test_allow_pattern_is_enforced_over_ssh(restricted: RestrictedHost) -> None:
    config = restricted.project / "shipyard-agent.json"
    config.write_text('{"allow_tags": "^v[0-9]+$"}')
    before = tree(restricted.project)
    result = restricted.ssh("deploy main-1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "refused: tag 'main-1' does not match this project's allow_tags '^v[0-9]+$'")
    assert_nothing_changed(restricted, before)


def test_forced_tty_gets_no_shell(restricted: RestrictedHost) -> None:
    """``ssh -tt``: restrict denies the pty and ssh hangs up. sshd may still have started
    the forced command (the client pipelines its request), so the agent, and only the
    agent, may have run: a refused shell changes nothing, and a plain login (no command)
    is refused too (issue 11, fault 4: it used to deploy the configured tag)."""
    before = tree(restricted.project)
    shell = restricted.ssh("bash", "-i", extra=("-tt",), input=f"touch {restricted.marker}\n")
    assert (shell.returncode, shell.stdout) == (255, "")
    assert "PTY allocation request failed" in shell.stderr
    assert_nothing_changed(restricted, before)
    login = restricted.ssh(extra=("-tt",), input=f"touch {restricted.marker}\n")
    assert login.returncode in (2, 255) and login.stdout == "", login.stderr
    assert_nothing_changed(restricted, before)


def test_login_without_a_command_is_refused(restricted: RestrictedHost) -> None:
    """No command: refused like any text outside the grammar, nothing defaults to
    deploying (issue 11, fault 4); what the client types on stdin is never read."""
    before = tree(restricted.project)
    typed = f"echo PWNED-{restricted.marker.name}; touch {restricted.marker}\nexit\n"
    result = restricted.ssh(input=typed)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    agent_says = [x for x in result.stderr.splitlines() if not x.startswith("Pseudo-terminal")]
    assert len(agent_says) == 1 and agent_says[0].startswith("refused: no command given"), (
        result.stderr)
    assert f"PWNED-{restricted.marker.name}" not in result.stdout + result.stderr
    assert_nothing_changed(restricted, before)


def test_shell_with_a_command_is_refused(restricted: RestrictedHost) -> None:
    before = tree(restricted.project)
    for shell in (("bash", "-i"), ("/bin/sh",), ("exec", "bash")):
        result = restricted.ssh(*shell, input=f"touch {restricted.marker}\n")
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith("refused: ") and "is not an agent command" in (
            result.stderr)
    assert_nothing_changed(restricted, before)


def test_scp_and_sftp_are_refused(restricted: RestrictedHost, tmp_path: Path) -> None:
    before = tree(restricted.project)
    payload = tmp_path / "payload"
    payload.write_text("#!/bin/sh\ntouch /tmp/never\n")
    upload = Path(f"/tmp/scp-upload-{secrets.token_hex(4)}")
    download = tmp_path / "downloaded"
    batch = tmp_path / "batch"
    batch.write_text(f"put {payload} {upload}\nget /etc/hostname {download}\nls /\n")
    attempts = {
        "scp-sftp-upload": restricted.scp_like("scp", str(payload),
                                               f"{restricted.target}:{upload}"),
        "scp-legacy-upload": restricted.scp_like("scp", "-O", str(payload),
                                                 f"{restricted.target}:{upload}"),
        "scp-download": restricted.scp_like("scp", f"{restricted.target}:/etc/hostname",
                                            str(download)),
        "scp-legacy-download": restricted.scp_like("scp", "-O",
                                                   f"{restricted.target}:/etc/hostname",
                                                   str(download)),
        "sftp": restricted.scp_like("sftp", "-b", str(batch), restricted.target),
    }
    for name, result in attempts.items():
        assert result.returncode != 0, f"{name} succeeded: {result.stdout}{result.stderr}"
    assert not upload.exists() and not download.exists()
    assert_nothing_changed(restricted, before)


def _listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    return server


def _accepted_anything(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def _ssh_background(host: RestrictedHost, *extra: str) -> subprocess.Popen[str]:
    argv = [SSH_BINARY, *host.sshd.ssh_options(host.key), *extra, "-p", str(host.sshd.port),
            host.target]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    """Stop a background ssh and return its stderr; SIGKILL if SIGTERM did not end it in 10 s.

    Why the fallback: on a loaded CI machine an ssh once outlived SIGTERM by more than 10 s,
    and what the test checks (the refusal on stderr) was already written by then.
    """
    proc.terminate()
    try:
        return proc.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=10)[1]  # a retried communicate() keeps earlier output


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_local_port_forwarding_is_refused(restricted: RestrictedHost) -> None:
    target = _listener()
    local = free_port()
    ssh = _ssh_background(restricted, "-N", "-L", f"{local}:127.0.0.1:{target.getsockname()[1]}")
    try:
        wait_until(lambda: _connects(local), "ssh's local end of -L to listen")
        with socket.create_connection(("127.0.0.1", local), timeout=10) as conn:
            conn.settimeout(10)
            assert conn.recv(1) == b""  # ssh closes it when sshd refuses the channel
        assert not _accepted_anything(target), "a forwarded connection reached the target"
    finally:
        err = _stop(ssh)
        target.close()
    assert "administratively prohibited" in err


def test_stdio_forwarding_is_refused(restricted: RestrictedHost) -> None:
    target = _listener()
    try:
        result = restricted.ssh(extra=("-W", f"127.0.0.1:{target.getsockname()[1]}"))
        assert result.returncode != 0
        assert "administratively prohibited" in result.stderr
        assert not _accepted_anything(target)
    finally:
        target.close()


def test_remote_port_forwarding_is_refused(restricted: RestrictedHost) -> None:
    remote = free_port()
    ssh = _ssh_background(restricted, "-N", "-o", "ExitOnForwardFailure=yes",
                          "-R", f"{remote}:127.0.0.1:9")
    try:
        _, err = ssh.communicate(timeout=30)
    finally:
        if ssh.poll() is None:
            ssh.kill()
            ssh.wait()
    assert ssh.returncode != 0
    assert "remote port forwarding failed" in err
    assert not _connects(remote), "sshd listens on the remote forward port"


def test_agent_forwarding_is_refused(restricted: RestrictedHost, tmp_path: Path) -> None:
    """With ``-A`` and a loaded agent, the agent's processes still get no SSH_AUTH_SOCK."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, "ssh-agent's socket")
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        run(["ssh-add", str(restricted.key.private)], env=env)
        options = restricted.sshd.ssh_options(restricted.key)
        at = options.index("IdentityAgent=none")
        options[at] = f"IdentityAgent={sock}"
        argv = [SSH_BINARY, *options, "-A", "-o", "ForwardAgent=yes", "-p",
                str(restricted.sshd.port), restricted.target, "status"]
        result = run(argv, env=env, check=False)
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    calls = restricted.fake.calls()
    assert calls, "the agent ran no docker command"
    assert all("SSH_CONNECTION" in c["env"] for c in calls)  # the recording sees SSH_* vars
    assert not any("SSH_AUTH_SOCK" in c["env"] for c in calls)
    assert "SSH_ORIGINAL_COMMAND" not in calls[0]["env"]  # the caller's text stays in the agent


def test_client_environment_is_ignored(restricted: RestrictedHost) -> None:
    result = restricted.ssh("status", extra=(
        "-o", "SetEnv=IMAGE_TAG=evil SHIPYARD_AGENT_DOCKER=/tmp/evil LC_ALL=evil "
              "COMPOSE_FILE=/tmp/evil.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "tag: v1"
    assert restricted.fake.calls(), "the configured docker was not used"
    for call in restricted.fake.calls():
        assert not {"IMAGE_TAG", "LC_ALL", "COMPOSE_FILE"} & set(call["env"])
        assert call["env"]["SHIPYARD_AGENT_DOCKER"] == str(restricted.fake.binary)
