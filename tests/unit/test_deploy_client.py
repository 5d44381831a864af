"""The deploy client as tables: requests → words → ssh argv, ssh failures → one line,
exit status = the agent's. A stub `ssh` on PATH stands in for the network here; the
real sshd and agent are in tests/integration/test_deploy_cli.py."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shipyard.config import Config
from shipyard.deploy.client import HISTORY_MAX, AgentExit, Request, make_request, request_argv, send
from shipyard.deploy.target import Target, materialize, resolve_environment
from shipyard.errors import UsageError
from shipyard.tools.ssh import SshConnectionError, client_argv, connection_error

KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAsecretmaterial\n"
       "-----END OPENSSH PRIVATE KEY-----\n")
KNOWN = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOo\n"

# -- requests -----------------------------------------------------------------------------------

REQUESTS = [
    ("deploy-tag", "deploy", "main-1a2b3c4-20250131T120000Z",
     ("deploy", "main-1a2b3c4-20250131T120000Z")),
    ("deploy-no-tag", "deploy", None, ("deploy",)),
    ("rollback-no-tag", "rollback", None, ("rollback",)),
    ("rollback-tag", "rollback", "v1.2.3", ("rollback", "v1.2.3")),
    ("status", "status", None, ("status",)),
    ("history-default", "history", None, ("history",)),
    ("history-n", "history", "25", ("history", "25")),
    ("history-int", "history", 3, ("history", "3")),
    ("history-leading-zero", "history", "007", ("history", "7")),
    ("history-max", "history", str(HISTORY_MAX), ("history", str(HISTORY_MAX))),
    ("tag-max-length", "deploy", "a" * 128, ("deploy", "a" * 128)),
    ("tag-underscore-first", "deploy", "_x.y-z", ("deploy", "_x.y-z")),
]


@pytest.mark.parametrize(("verb", "argument", "words"), [r[1:] for r in REQUESTS],
                         ids=[r[0] for r in REQUESTS])
def test_request_words(verb: str, argument: str | int | None, words: tuple[str, ...]) -> None:
    assert make_request(verb, argument).words == words


BAD_REQUESTS = [
    ("unknown-verb", "shell", None, "unknown request 'shell'"),
    ("tag-with-repository", "deploy", "registry.example.com/app:v1", "is not a tag"),
    ("tag-with-digest", "deploy", "sha256@abc", "is not a tag"),
    ("tag-leading-dash", "deploy", "-oProxyCommand=x", "is not a valid image tag"),
    ("tag-leading-dot", "deploy", ".hidden", "is not a valid image tag"),
    ("tag-too-long", "deploy", "a" * 129, "is not a valid image tag"),
    ("tag-with-space", "rollback", "v1 v2", "is not a valid image tag"),
    ("tag-shell-chars", "deploy", "v1;rm", "is not a valid image tag"),
    ("tag-empty-variable", "deploy", "", "`deploy` got an empty argument"),
    ("status-argument", "status", "x", "`status` takes no argument"),
    ("history-zero", "history", "0", "history count must be 1-9999"),
    ("history-too-many", "history", "10000", "history count must be 1-9999"),
    ("history-not-a-number", "history", "ten", "history count must be 1-9999"),
    ("history-negative", "history", "-1", "history count must be 1-9999"),
]


@pytest.mark.parametrize(("verb", "argument", "message"), [r[1:] for r in BAD_REQUESTS],
                         ids=[r[0] for r in BAD_REQUESTS])
def test_request_errors(verb: str, argument: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")) as info:
        make_request(verb, argument)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("tag", "allowed"), [
    pytest.param("main-1a2b3c4-20250131T120000Z", True, id="main-build"),
    pytest.param("dev-1a2b3c4-20250131T120000Z", False, id="dev-build"),
    pytest.param("v1.2.3", False, id="version"),
])
def test_allow_tags_checked_before_connecting(tag: str, allowed: bool) -> None:
    if allowed:
        assert make_request("deploy", tag, allow_tags="^main-").argument == tag
    else:
        with pytest.raises(UsageError, match="does not match this environment's allow_tags"):
            make_request("deploy", tag, allow_tags="^main-")


# -- argv --------------------------------------------------------------------------------------

KEYFILE, KHFILE = Path("/tmp/k/id_deploy"), Path("/tmp/k/known_hosts")
COMMON = ["ssh", "-F", "/dev/null", "-i", str(KEYFILE), "-o", "IdentitiesOnly=yes",
          "-o", "IdentityAgent=none", "-o", f"UserKnownHostsFile={KHFILE}",
          "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
          "-o", "UpdateHostKeys=no", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
          "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-T"]
ARGVS = [
    ("deploy", Target("deploy", "host.example.com"), Request("deploy", "v1"),
     [*COMMON, "-p", "22", "deploy@host.example.com", "--", "deploy", "v1"]),
    ("status-port", Target("deploy", "127.0.0.1", 2222), Request("status"),
     [*COMMON, "-p", "2222", "deploy@127.0.0.1", "--", "status"]),
    ("ipv6", Target("d", "::1", 2200), Request("history", "5"),
     [*COMMON, "-p", "2200", "d@::1", "--", "history", "5"]),
]


@pytest.mark.parametrize(("target", "request_", "argv"), [a[1:] for a in ARGVS],
                         ids=[a[0] for a in ARGVS])
def test_request_argv(target: Target, request_: Request, argv: list[str]) -> None:
    assert request_argv(target, KEYFILE, KHFILE, request_) == argv


def test_argv_without_key_uses_own_identities() -> None:
    """The admin login of `host setup --apply`: agent/default keys, host key still strict."""
    argv = client_argv("root@h", port=22, key_file=None, known_hosts_file=KHFILE,
                       remote=["true"])
    assert "-i" not in argv and "IdentitiesOnly=yes" not in argv
    assert "StrictHostKeyChecking=yes" in argv and f"UserKnownHostsFile={KHFILE}" in argv


def test_log_file_option_comes_first() -> None:
    argv = client_argv("d@h", port=22, key_file=KEYFILE, known_hosts_file=KHFILE, remote=["status"],
                       log_file=Path("/tmp/log"))
    assert argv[:5] == ["ssh", "-F", "/dev/null", "-E", "/tmp/log"]
    assert argv[-3:] == ["d@h", "--", "status"]


# -- ssh failures → one line ------------------------------------------------------------------

FAILURES = [
    ("host-key-changed",
     "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
     "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
     "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
     "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\n"
     "Host key verification failed.\n",
     "the host key of deploy@127.0.0.1 port 2222 does not match the known_hosts given; "
     "nothing was run", "ssh-keyscan -p 2222 127.0.0.1"),
    ("host-unknown",
     "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
     "checking.\nHost key verification failed.\n",
     "deploy@127.0.0.1 port 2222 is not in the known_hosts given; nothing was run",
     "SSH_KNOWN_HOSTS"),
    ("key-refused", "deploy@127.0.0.1: Permission denied (publickey).\n",
     "deploy@127.0.0.1 port 2222 refused the deploy key; nothing was run", "authorized_keys"),
    ("key-invalid", 'Load key "/tmp/x/id_deploy": invalid format\n'
                    "deploy@127.0.0.1: Permission denied (publickey).\n",
     "the private key is not a valid OpenSSH private key; nothing was run", "BEGIN and END"),
    ("refused", "ssh: connect to host 127.0.0.1 port 2222: Connection refused\n",
     "cannot connect to deploy@127.0.0.1 port 2222 (Connection refused); nothing was run",
     "sshd runs there"),
    ("dns", "ssh: Could not resolve hostname nowhere: Name or service not known\n",
     "cannot resolve the host name of deploy@127.0.0.1 port 2222; nothing was run", None),
    ("lost", "Connection closed by 127.0.0.1 port 2222\n",
     "the connection to deploy@127.0.0.1 port 2222 was lost; the agent may have finished, "
     "or not", "shipyard status"),
    ("unknown", "something odd happened\n",
     "ssh to deploy@127.0.0.1 port 2222 failed: something odd happened", None),
    ("empty", "", "ssh to deploy@127.0.0.1 port 2222 failed: ssh exited 255 without saying why",
     None),
]


@pytest.mark.parametrize(("log", "message", "hint"), [f[1:] for f in FAILURES],
                         ids=[f[0] for f in FAILURES])
def test_connection_error(log: str, message: str, hint: str | None) -> None:
    error = connection_error(log, "deploy@127.0.0.1", 2222)
    assert error.message == message
    assert error.exit_code == 255
    assert "\n" not in str(error)
    if hint is not None:
        assert error.hint is not None and hint in error.hint


# -- running against a stub ssh ----------------------------------------------------------------

STUB = r'''#!{python}
"""Stand-in for ssh: records argv, then behaves as STUB_MODE says."""
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["STUB_RECORD"], "w") as out:
    json.dump({{"argv": argv, "stdin": sys.stdin.read() if not sys.stdin.isatty() else ""}}, out)
words = argv[argv.index("--") + 1:]
mode = os.environ.get("STUB_MODE", "agent")
if mode == "killed":  # the local ssh dies (OOM killer, a cancelled CI job)
    print("==> deploy v2", flush=True)
    os.kill(os.getpid(), 9)
if mode == "fail":
    log = argv[argv.index("-E") + 1]
    with open(log, "a") as out:
        out.write(os.environ["STUB_LOG"])
    sys.exit(255)
print("==> " + " ".join(words), flush=True)
print("error: something on stderr", file=sys.stderr, flush=True)
print("done", flush=True)
sys.exit(int(os.environ.get("STUB_EXIT", "0")))
'''


@pytest.fixture
def stub_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(STUB.format(python=sys.executable))
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record = tmp_path / "record.json"
    monkeypatch.setenv("STUB_RECORD", str(record))
    return record


def spec_for(tmp_path: Path) -> object:
    return resolve_environment("staging", Config(project_dir=tmp_path, image="app"), {
        "SSH_DEPLOY_TARGET": "ssh://deploy@127.0.0.1:2222", "SSH_AUTH": KEY,
        "SSH_KNOWN_HOSTS": KNOWN})


@pytest.mark.parametrize("agent_exit", [0, 1, 2, 3, 4, 5, 6])
def test_send_returns_the_agents_exit_status(tmp_path: Path, stub_ssh: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             agent_exit: int) -> None:
    monkeypatch.setenv("STUB_EXIT", str(agent_exit))
    lines: list[str] = []
    with materialize(spec_for(tmp_path)) as credentials:  # type: ignore[arg-type]
        code = send(credentials, make_request("deploy", "v2"), lines.append)
    assert code == agent_exit
    assert lines == ["==> deploy v2", "error: something on stderr", "done"]


# issue 11, fault 5: the words match the outcome; every outcome has its own status.
OUTCOMES = [
    ("deploy", 1, "staging: deploy failed; the version that ran before runs again "
                  "(agent exit status 1)"),
    ("rollback", 1, "staging: rollback failed; the version that ran before runs again "
                    "(agent exit status 1)"),
    ("deploy", 6, "staging: deploy failed and the previous version was NOT restored: the host "
                  "needs a look (`shipyard status`) (agent exit status 6)"),
    ("rollback", 6, "staging: rollback failed and the previous version was NOT restored: the "
                    "host needs a look (`shipyard status`) (agent exit status 6)"),
    ("deploy", 2, "staging: deploy refused by the host agent; nothing ran (agent exit status 2)"),
    ("status", 1, "staging: status failed: the host could not read the project's state "
                  "(agent exit status 1)"),
    ("deploy", 42, "staging: deploy ended with an unexpected status (agent exit status 42)"),
]


@pytest.mark.parametrize(("verb", "code", "message"), OUTCOMES,
                         ids=[f"{v}-{c}" for v, c, _ in OUTCOMES])
def test_agent_exit_words_match_the_outcome(verb: str, code: int, message: str) -> None:
    error = AgentExit("staging", verb, code)
    assert str(error) == message and error.exit_code == code
    assert "rolled back" not in str(error)  # the old catch-all words for every exit 1


def test_a_killed_local_ssh_is_not_an_agent_status(tmp_path: Path, stub_ssh: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_MODE", "killed")
    lines: list[str] = []
    with pytest.raises(SshConnectionError) as info, \
            materialize(spec_for(tmp_path)) as credentials:  # type: ignore[arg-type]
        send(credentials, make_request("deploy", "v2"), lines.append)
    assert lines == ["==> deploy v2"]
    assert info.value.exit_code == 255
    assert str(info.value).startswith(
        "the local ssh to deploy@127.0.0.1 was killed by SIGKILL during `deploy v2`; "
        "whether the host finished it is unknown")
    assert "shipyard status" in (info.value.hint or "")


def test_secrets_never_in_argv(tmp_path: Path, stub_ssh: Path) -> None:
    with materialize(spec_for(tmp_path)) as credentials:  # type: ignore[arg-type]
        send(credentials, make_request("status"), lambda line: None)
        key_path = str(credentials.key_file)
        assert Path(key_path).read_text() == KEY  # the file exists while ssh runs
    recorded = json.loads(stub_ssh.read_text())
    argv = " ".join(recorded["argv"])
    assert "secretmaterial" not in argv and "PRIVATE KEY" not in argv
    assert "AAAAC3Nza" not in argv  # known_hosts went by file too
    assert recorded["stdin"] == ""  # nothing sent to the agent but the words
    assert key_path in recorded["argv"]
    assert not Path(key_path).exists()  # and the key is gone afterwards


def test_ssh_failure_is_one_line_and_nothing_streamed(tmp_path: Path, stub_ssh: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_MODE", "fail")
    monkeypatch.setenv("STUB_LOG", "Host key for [127.0.0.1]:2222 has changed and you have "
                                   "requested strict checking.\nHost key verification failed.\n")
    lines: list[str] = []
    with pytest.raises(SshConnectionError) as info, \
            materialize(spec_for(tmp_path)) as credentials:  # type: ignore[arg-type]
        send(credentials, make_request("deploy", "v2"), lines.append)
    assert lines == []  # ssh's own words went to its log, not to the agent's output
    assert "does not match the known_hosts given; nothing was run" in str(info.value)


# -- the commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    pytest.param(["deploy", "staging", "v2"], ["deploy", "v2"], id="deploy"),
    pytest.param(["rollback", "staging"], ["rollback"], id="rollback"),
    pytest.param(["status", "staging"], ["status"], id="status"),
    pytest.param(["history", "staging", "3"], ["history", "3"], id="history"),
])
def test_commands_send_words_and_exit_with_the_agents_status(
    tmp_path: Path, stub_ssh: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
    words: list[str],
) -> None:
    from shipyard.commands import deploy as commands

    command = {"deploy": commands.deploy_command, "rollback": commands.rollback_command,
               "status": commands.status_command, "history": commands.history_command}[args[0]]
    monkeypatch.setenv("STUB_EXIT", "3")
    env = {"SSH_DEPLOY_TARGET": "ssh://deploy@127.0.0.1:2222", "SSH_AUTH": KEY,
           "SSH_KNOWN_HOSTS": KNOWN}
    result = CliRunner().invoke(command, [*args[1:], "-C", str(tmp_path)], env=env)
    assert isinstance(result.exception, AgentExit), result.output
    assert result.exception.exit_code == 3  # shipyard.cli.main exits with this
    assert str(result.exception) == (
        f"staging: {args[0]} not started: another deploy holds the lock (timed out waiting) "
        "(agent exit status 3)")
    recorded = json.loads(stub_ssh.read_text())
    assert recorded["argv"][-len(words) - 1:] == ["--", *words]
    assert f"==> {' '.join(words)}" in result.stdout


def test_command_usage_error_before_connecting(tmp_path: Path, stub_ssh: Path) -> None:
    from shipyard.commands.deploy import deploy_command

    env = {"SSH_DEPLOY_TARGET": "ssh://deploy@127.0.0.1:2222", "SSH_AUTH": KEY,
           "SSH_KNOWN_HOSTS": KNOWN}
    result = CliRunner().invoke(deploy_command, ["staging", "", "-C", str(tmp_path)], env=env)
    assert isinstance(result.exception, UsageError)
    assert "empty argument" in str(result.exception)
    assert not stub_ssh.exists()  # ssh never ran


def test_command_exit_zero_when_the_agent_succeeds(tmp_path: Path, stub_ssh: Path) -> None:
    from shipyard.commands.deploy import status_command

    env = {"SSH_DEPLOY_TARGET": "ssh://deploy@127.0.0.1:2222", "SSH_AUTH": KEY,
           "SSH_KNOWN_HOSTS": KNOWN}
    result = CliRunner().invoke(status_command, ["staging", "-C", str(tmp_path)], env=env)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert result.stdout.splitlines() == ["==> status", "error: something on stderr", "done"]
