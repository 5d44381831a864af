"""The agent's deploy/rollback orchestration, run as a real process against a fake docker.

Why a fake docker here: the order of steps, the rollback on every kind of
failure, the lock (timeouts, serialisation, a killed holder), the hook and the
journal are the agent's own logic; a recording fake (tests/fixtures/fake_docker.py)
exercises all of it in a second, and shows exactly which docker commands ran.
The real engine, registry and sshd are in tests/integration/test_agent_e2e.py.
Every test also runs under python 3.9 when one is installed: the agent must run
on older hosts, and mypy cannot check 3.9 any more.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import shipyard.agent.agent as agent_module
from fixtures.fake_docker import FakeDocker, install_fake_docker

AGENT = Path(agent_module.__file__)
REPO = "registry.example:5000/guestbook"
FP = "SHA256:" + "k" * 43
ENV_START = f"# deployment settings\nIMAGE_REPOSITORY={REPO}\nSECRET_KEY='s3cr=t # x'\n"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _python39() -> str | None:
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [shutil.which("python3.9"),
                  *sorted(str(p) for p in pyenv.glob("3.9*/bin/python3.9"))]
    for candidate in candidates:
        if candidate and subprocess.run(
                [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"],
                capture_output=True, check=False).returncode == 0:
            return candidate
    return None


PY39 = _python39()


@pytest.fixture(params=["current", "3.9"], scope="module")
def python(request: pytest.FixtureRequest) -> str:
    if request.param == "3.9":
        if PY39 is None:
            pytest.skip("no python3.9 installed: the 3.9 compatibility run is skipped")
        return PY39
    return sys.executable


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Host:
    project: Path
    fake: FakeDocker
    python: str

    def environ(self, command: str | None) -> dict[str, str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.project.parent),
               "SHIPYARD_AGENT_DOCKER": str(self.fake.binary)}
        if command is not None:
            env["SSH_ORIGINAL_COMMAND"] = command
        return env

    def argv(self) -> list[str]:
        return [self.python, str(AGENT), "--project", str(self.project), "--key-id", FP]

    def run(self, command: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(), env=self.environ(command), capture_output=True,
                              text=True, timeout=60, check=False)

    def start(self, command: str | None) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(), env=self.environ(command), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ok(self, command: str | None) -> subprocess.CompletedProcess[str]:
        result = self.run(command)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def journal_lines(self) -> list[dict[str, Any]]:
        """Every journal line, the ``started`` intents included."""
        path = self.project / ".shipyard" / "journal.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def journal(self) -> list[dict[str, Any]]:
        """The outcomes (what happened), without the ``started`` intent lines."""
        return [e for e in self.journal_lines() if e["outcome"] != "started"]

    def env(self) -> str:
        return (self.project / ".env").read_text()

    def configure(self, **config: Any) -> None:
        (self.project / "shipyard-agent.json").write_text(json.dumps(config))

    def lock_record(self) -> str:
        path = self.project / ".shipyard" / "deploy.lock"
        return path.read_text() if path.exists() else ""

    def commands(self) -> list[str]:
        """The docker commands that ran, shortened: 'pull', 'up', 'ps', 'tag', ..."""
        short = []
        for argv in self.fake.argvs():
            short.append(argv[1] if argv[0] == "compose" else " ".join(argv[:2]))
        return short


@pytest.fixture
def host(tmp_path: Path, python: str) -> Host:
    project = tmp_path / "guestbook"
    project.mkdir()
    (project / ".env").write_text(ENV_START)
    fake = install_fake_docker(tmp_path / "fake", python=sys.executable, repository=REPO,
                               broken_tags=["v3"], missing_tags=["nope"])
    return Host(project, fake, python)


def tagged(tag: str) -> str:
    return ENV_START + f"IMAGE_TAG={tag}\n"


# --- the happy path ---------------------------------------------------------------
def test_first_deploy_then_update(host: Host) -> None:
    first = host.ok("deploy v1")
    assert host.env() == tagged("v1")
    assert "==> IMAGE_TAG: (none) -> v1 (.env)" in first.stdout
    commands = host.commands()
    assert commands.index("pull") < commands.index("up")
    assert commands[-4:] == ["up", "ps", "config", "image inspect"]
    up = next(a for a in host.fake.argvs() if a[:2] == ["compose", "up"])
    assert up[2:6] == ["-d", "--wait", "--wait-timeout", up[5]] and int(up[5]) > 250
    host.ok("deploy v2")
    assert host.env() == tagged("v2")
    first_entry, second = host.journal()
    assert first_entry["tag_before"] is None and first_entry["digest_before"] is None
    assert second == {
        "time": second["time"], "action": "deploy", "caller": FP,
        "tag_before": "v1", "tag_requested": "v2", "tag_after": "v2",
        "digest_before": first_entry["digest_after"], "digest_after": second["digest_after"],
        "outcome": "ok", "duration_s": second["duration_s"], "steps": second["steps"],
        "detail": "", "build_url": None}  # the fake's images carry no pipeline label
    assert RFC3339.fullmatch(second["time"])
    assert second["digest_after"].startswith("sha256:")
    assert second["digest_after"] != second["digest_before"]
    assert set(second["steps"]) == {"pull", "up", "verify"}
    assert host.lock_record() == ""  # a clean exit leaves no record


def test_status_and_history_output(host: Host) -> None:
    host.ok("deploy v1")
    host.ok("deploy v2")
    status = host.ok("status").stdout.splitlines()
    digest = host.journal()[-1]["digest_after"]
    assert status == ["tag: v2", f"digest: {digest}", f"web: running healthy v2 {digest}",
                      "drift: none",
                      "zero-downtime: no (no proxy service in compose.yaml: a deploy stops the "
                      "old container before the new one serves; see `shipyard init`)"]
    lines = (host.project / ".shipyard" / "journal.jsonl").read_text().splitlines()
    assert host.ok("history").stdout.splitlines() == lines
    assert host.ok("history 1").stdout.splitlines() == lines[-1:]


def test_status_and_history_write_nothing(host: Host) -> None:
    assert host.ok("history").stdout == ""
    assert host.ok("status").stdout.splitlines()[:2] == ["tag: (none)", "digest: unknown"]
    assert sorted(p.name for p in host.project.iterdir()) == [".env"]


def test_deploy_without_a_tag_repulls_the_configured_tag(host: Host) -> None:
    (host.project / ".env").write_text(tagged("main"))
    host.fake.preload(REPO, "main")
    result = host.ok("deploy")
    assert "==> deploy main" in result.stdout and "IMAGE_TAG:" not in result.stdout
    assert "pull" in host.commands() and "up" in host.commands()
    assert host.env() == tagged("main")
    assert host.journal()[-1]["tag_before"] == host.journal()[-1]["tag_after"] == "main"


def test_deploy_without_a_tag_needs_one_configured(host: Host) -> None:
    result = host.run("deploy")
    assert result.returncode == 4
    assert "sets no IMAGE_TAG; deploy an explicit tag first" in result.stderr
    assert "pull" not in host.commands()


# --- failures roll back -----------------------------------------------------------
def test_never_healthy_deploy_is_rolled_back(host: Host) -> None:
    host.ok("deploy v1")
    env_before = host.env()
    result = host.run("deploy v3")
    assert result.returncode == 1
    assert "v3: log line 2" in result.stdout  # the failing container's last log lines
    assert "==> restoring v1" in result.stdout
    assert "v1 restored and healthy" in result.stderr
    assert host.env() == env_before
    entry = host.journal()[-1]
    assert (entry["outcome"], entry["tag_before"], entry["tag_requested"],
            entry["tag_after"]) == ("failed-rolled-back", "v1", "v3", "v1")
    assert entry["digest_after"] == entry["digest_before"]
    assert "unhealthy" in entry["detail"] and "restore" in entry["steps"]
    assert host.fake.state()["running"] == "v1"


def test_unknown_tag_fails_at_pull_and_is_rolled_back(host: Host) -> None:
    host.ok("deploy v1")
    result = host.run("deploy nope")
    assert result.returncode == 1
    assert "manifest unknown" in result.stdout and "log lines" not in result.stdout
    assert host.env() == tagged("v1")
    assert host.journal()[-1]["outcome"] == "failed-rolled-back"


def test_failed_first_deploy_restores_the_env_file_and_says_failed(host: Host) -> None:
    result = host.run("deploy v3")
    assert result.returncode == 6  # failed, and NOT restored (there was nothing to restore)
    assert "no previous version to restore" in result.stderr
    assert host.env() == ENV_START
    assert host.journal()[-1]["outcome"] == "failed"


def test_repulled_mutable_tag_is_pointed_back_at_the_old_image(host: Host) -> None:
    (host.project / ".env").write_text(tagged("main"))
    host.fake.preload(REPO, "main")
    old_id, new_id = host.fake.image_id("main", 0), host.fake.image_id("main", 1)
    host.fake.set_rules(repository=REPO, generation={"main": 1}, broken_ids=[new_id])
    result = host.run("deploy")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ["tag", old_id, f"{REPO}:main"] in host.fake.argvs()
    assert host.fake.state()["running_id"] == old_id
    assert host.journal()[-1]["outcome"] == "failed-rolled-back"


# --- the pre-deploy hook ----------------------------------------------------------
HOOK = """
import json, os, pathlib, sys
calls = pathlib.Path(sys.argv[1]).read_text() if pathlib.Path(sys.argv[1]).exists() else ""
pathlib.Path(sys.argv[2]).write_text(json.dumps({
    "env": {k: v for k, v in os.environ.items() if k.startswith(("SHIPYARD_", "SSH_"))},
    "pulls_so_far": sum('"pull"' in line for line in calls.splitlines()),
    "dotenv": pathlib.Path(".env").read_text(), "cwd": os.getcwd()}))
print("dumping the database")
sys.exit(int(sys.argv[3]))
"""


@pytest.mark.parametrize("hook_exit", [0, 3], ids=["hook-ok", "hook-fails"])
def test_pre_deploy_hook_runs_first_and_can_abort(host: Host, tmp_path: Path,
                                                  hook_exit: int) -> None:
    host.ok("deploy v1")
    seen = tmp_path / "hook-saw.json"
    host.configure(pre_deploy=[sys.executable, "-c", HOOK, str(host.fake.root / "calls.jsonl"),
                               str(seen), str(hook_exit)])
    result = host.run("deploy v2")
    assert "  dumping the database" in result.stdout
    saw = json.loads(seen.read_text())
    assert saw["pulls_so_far"] == 1  # only v1's: the hook ran before v2's pull
    assert saw["dotenv"] == tagged("v1") and saw["cwd"] == str(host.project)
    assert saw["env"] == {"SHIPYARD_PROJECT": str(host.project), "SHIPYARD_ACTION": "deploy",
                          "SHIPYARD_TAG_BEFORE": "v1", "SHIPYARD_TAG_AFTER": "v2",
                          "SHIPYARD_AGENT_DOCKER": str(host.fake.binary)}  # no SSH_ORIGINAL_COMMAND
    entry = host.journal()[-1]
    if hook_exit == 0:
        assert result.returncode == 0 and host.env() == tagged("v2")
        assert "pre_deploy" in entry["steps"]
    else:
        assert result.returncode == 1
        assert "pre-deploy hook exited 3" in result.stderr
        assert host.env() == tagged("v1")
        assert host.commands().count("pull") == 1
        assert (entry["outcome"], entry["tag_after"]) == ("failed", "v1")
        assert entry["detail"] == "pre-deploy hook exited 3; nothing was changed"


def test_missing_hook_program_is_a_config_error(host: Host) -> None:
    host.ok("deploy v1")
    host.configure(pre_deploy=["/nonexistent/dump-db"])
    result = host.run("deploy v2")
    assert result.returncode == 4 and "cannot run '/nonexistent/dump-db'" in result.stderr
    assert host.env() == tagged("v1")


# --- rollback ---------------------------------------------------------------------
def test_rollback_walks_back_through_good_versions(host: Host) -> None:
    for tag in ("v1", "v2"):
        host.ok(f"deploy {tag}")
    assert host.run("deploy v3").returncode == 1
    host.ok("rollback")
    assert host.env() == tagged("v1")
    entry = host.journal()[-1]
    assert (entry["action"], entry["tag_before"], entry["tag_after"], entry["outcome"]) == (
        "rollback", "v2", "v1", "ok")
    again = host.run("rollback")
    assert again.returncode == 5 and "no earlier successful deploy" in again.stderr
    host.ok("rollback v2")
    assert host.env() == tagged("v2")
    unknown = host.run("rollback v3")
    assert unknown.returncode == 5
    assert "'v3' never ran successfully here (known: v1, v2)" in unknown.stderr
    assert host.env() == tagged("v2")


# --- refusals change nothing ------------------------------------------------------
@pytest.mark.parametrize("command", [
    "bash", "deploy v1; touch /tmp/x", "deploy $(id)", "status\nid", "deploy reg:5000/a:v1",
    "deploy " + "a" * 4000, "",
], ids=["bash", "semicolon", "subst", "newline", "registry", "long", "empty"])
def test_refused_requests_run_nothing(host: Host, command: str) -> None:
    result = host.run(command)
    assert result.returncode == 2
    assert result.stderr.startswith("refused: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert host.fake.calls() == []
    assert sorted(p.name for p in host.project.iterdir()) == [".env"]


def test_allow_pattern_refuses_other_tags(host: Host) -> None:
    host.configure(allow_tags="^(main|dev)-")
    for command in ("deploy feature-1", "rollback v1"):
        result = host.run(command)
        assert result.returncode == 2 and "allow_tags" in result.stderr
    assert host.fake.calls() == []
    host.ok("deploy main-1a2b")


def test_bad_config_is_exit_4_naming_the_key(host: Host) -> None:
    host.configure(alow_tags="^v")
    result = host.run("status")
    assert result.returncode == 4
    assert 'unknown key "alow_tags" (did you mean "allow_tags"?)' in result.stderr
    assert host.fake.calls() == []


def test_missing_docker_is_exit_4(host: Host) -> None:
    env = host.environ("status") | {"SHIPYARD_AGENT_DOCKER": "/nonexistent/docker"}
    result = subprocess.run(host.argv(), env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 4 and "cannot run '/nonexistent/docker'" in result.stderr


# --- the lock ---------------------------------------------------------------------
def test_lock_timeout_names_the_holder(host: Host) -> None:
    host.ok("deploy v1")
    host.configure(lock_timeout=1)
    lock_path = host.project / ".shipyard" / "deploy.lock"
    with lock_path.open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write(json.dumps({"pid": os.getpid(), "action": "deploy", "tag_requested": "v9",
                               "caller": "SHA256:other", "started": "T0"}))
        held.flush()
        started = time.monotonic()
        result = host.run("deploy v2")
        waited = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert f"pid {os.getpid()} (running): deploy v9 by SHA256:other since T0" in result.stderr
    assert "try again later" in result.stderr
    assert 1.0 <= waited < 10
    assert host.env() == tagged("v1") and host.commands().count("pull") == 1


def test_concurrent_deploys_serialize(host: Host) -> None:
    host.fake.set_rules(repository=REPO, up_seconds=1.0)
    first = host.start("deploy v1")
    wait_until(lambda: "deploy" in host.lock_record(), "the first deploy to hold the lock")
    second = host.start("deploy v2")
    _, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), err1 + err2
    assert "==> waiting up to 120s for the deploy lock (pid" in out2
    assert "(running): deploy v1 by " in out2
    a, b = host.journal()
    assert (a["tag_after"], b["tag_before"], b["tag_after"]) == ("v1", "v1", "v2")
    a_end = datetime.fromisoformat(a["time"].replace("Z", "+00:00")).timestamp() + a["duration_s"]
    b_start = datetime.fromisoformat(b["time"].replace("Z", "+00:00")).timestamp()
    assert a_end <= b_start + 0.1  # durations are rounded to 0.1 s
    assert host.commands().count("up") == 2


def test_killed_agent_is_detected_and_the_next_deploy_succeeds(host: Host) -> None:
    host.ok("deploy v1")
    host.fake.set_rules(repository=REPO, up_seconds=2.0)
    victim = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("up_started") == 2, "the deploy to reach `up`")
    record = json.loads(host.lock_record())
    assert (record["pid"], record["step"], record["tag_requested"]) == (victim.pid, "up", "v2")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    host.fake.set_rules(repository=REPO)
    result = host.ok("deploy v2")
    # The orphaned `docker compose up` inherited the lock: the next deploy waited for it.
    assert "gone, its child processes still hold the lock" in result.stdout
    assert f"!!! the previous deploy did not finish (agent pid {victim.pid} is gone" in (
        result.stdout)
    interrupted, done = host.journal()[-2:]
    assert (interrupted["outcome"], interrupted["tag_before"], interrupted["tag_requested"],
            interrupted["caller"]) == ("interrupted", "v1", "v2", FP)
    assert "killed?) during up before finishing" in interrupted["detail"]
    assert (done["outcome"], done["tag_after"]) == ("ok", "v2")
    assert host.env() == tagged("v2") and host.lock_record() == ""


def test_after_an_interrupted_deploy_a_failure_restores_the_last_known_good(host: Host) -> None:
    host.ok("deploy v1")
    host.fake.set_rules(repository=REPO, broken_tags=["v3"], up_seconds=2.0)
    victim = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("up_started") == 2, "the deploy to reach `up`")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    host.fake.set_rules(repository=REPO, broken_tags=["v3"])
    result = host.run("deploy v3")
    assert result.returncode == 1
    assert "==> restoring v1" in result.stdout  # not v2, which never proved healthy
    assert host.env() == tagged("v1")


def test_killed_first_deploy_leaves_no_known_good_version(host: Host) -> None:
    host.fake.set_rules(repository=REPO, broken_tags=["v3"], up_seconds=2.0)
    victim = host.start("deploy v1")
    wait_until(lambda: host.fake.state().get("up_started") == 1, "the deploy to reach `up`")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    host.fake.set_rules(repository=REPO, broken_tags=["v3"])
    result = host.run("deploy v3")
    assert result.returncode == 6
    assert "no previous version to restore" in result.stderr  # v1 never proved healthy
    assert host.env() == tagged("v1")  # the env file as this run found it
    assert [e["outcome"] for e in host.journal()] == ["interrupted", "failed"]


def test_sigterm_rolls_back(host: Host) -> None:
    host.ok("deploy v1")
    host.fake.set_rules(repository=REPO, up_seconds=2.0)
    proc = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("up_started") == 2, "the deploy to reach `up`")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    entry = host.journal()[-1]
    assert (entry["outcome"], entry["tag_after"]) == ("failed-rolled-back", "v1")
    assert entry["detail"] == "interrupted by SIGTERM"
    assert host.env() == tagged("v1")


def test_a_vanished_ssh_client_does_not_stop_the_deploy(host: Host) -> None:
    host.ok("deploy v1")
    proc = subprocess.Popen(host.argv(), env=host.environ("deploy v2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone: every write gets EPIPE
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert host.env() == tagged("v2") and host.journal()[-1]["outcome"] == "ok"


# --- issue 11: faults that must not come back (each test failed before its fix) ---------
def _break_journal(host: Host) -> Path:
    """Make the journal unwritable, also for root: a directory where the file was."""
    journal = host.project / ".shipyard" / "journal.jsonl"
    saved = journal.with_name("journal.saved")
    journal.rename(saved)
    journal.mkdir()
    return saved


def _mend_journal(host: Host, saved: Path) -> None:
    journal = host.project / ".shipyard" / "journal.jsonl"
    journal.rmdir()
    saved.rename(journal)


def test_fault1_unwritable_journal_stops_the_deploy_before_anything_switches(host: Host) -> None:
    host.ok("deploy v1")
    _break_journal(host)
    calls = len(host.fake.calls())
    result = host.run("deploy v2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot write the journal" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert host.env() == tagged("v1") and host.fake.state()["running"] == "v1"
    assert not [a for a in host.fake.argvs()[calls:] if a[:2] in (["compose", "pull"],
                                                                   ["compose", "up"])]


def test_fault1_intent_first_and_an_unjournaled_outcome_is_told_as_it_is(host: Host) -> None:
    host.ok("deploy v1")
    host.fake.set_rules(repository=REPO, up_seconds=1.0)
    proc = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("up_started") == 2, "the deploy to reach `up`")
    intent = host.journal_lines()[-1]
    assert (intent["outcome"], intent["tag_before"], intent["tag_requested"]) == (
        "started", "v1", "v2")  # written before the switch
    saved = _break_journal(host)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err  # v2 went live: that is what is reported
    assert "cannot write the outcome (ok) to the journal" in err and "v2 runs" in err
    assert host.fake.state()["running"] == "v2" and host.env() == tagged("v2")
    _mend_journal(host, saved)
    host.fake.set_rules(repository=REPO)
    host.ok("deploy v2")
    interrupted = host.journal()[-2]
    assert (interrupted["outcome"], interrupted["tag_after"]) == ("interrupted", "v2")
    assert "during journal" in interrupted["detail"]


def test_fault2_status_reports_what_runs_and_the_drift_from_the_env_file(host: Host) -> None:
    host.ok("deploy v1")
    v1_digest = host.journal()[-1]["digest_after"]
    host.fake.set_rules(repository=REPO, pull_seconds=30)
    victim = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("pull_started") == 2, "the deploy to reach pull")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    assert host.env() == tagged("v2")  # the env file names a version that never ran
    status = host.ok("status").stdout.splitlines()
    assert status[0] == "tag: v2"
    assert status[2:-1] == [f"web: running healthy v1 {v1_digest}",
                          f"drift: web runs {REPO}:v1, the env file says {REPO}:v2"]
    host.fake.set_rules(repository=REPO)
    host.ok("deploy v2")
    interrupted, done = host.journal()[-2:]
    assert (interrupted["outcome"], interrupted["tag_after"]) == ("interrupted", "v1")
    assert (done["outcome"], done["tag_after"]) == ("ok", "v2")
    assert host.ok("status").stdout.splitlines()[-2] == "drift: none"  # then zero-downtime


def test_fault3_rollback_works_with_the_registry_down(host: Host) -> None:
    host.ok("deploy v1")
    host.ok("deploy v2")
    host.fake.set_rules(repository=REPO, registry_down=True)
    result = host.run("rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "==> every image is on this host: nothing to pull" in result.stdout
    assert host.fake.state()["running"] == "v1" and host.env() == tagged("v1")
    assert ["compose", "pull"] not in host.fake.argvs()[-12:]
    deploy = host.run("deploy v2")  # a deploy always pulls: a tag may have moved
    assert deploy.returncode == 1 and "connection refused" in deploy.stdout
    assert host.fake.state()["running"] == "v1"


def test_fault3_rollback_pulls_only_the_missing_images(host: Host) -> None:
    host.ok("deploy v1")
    host.ok("deploy v2")
    state = host.fake.state()
    del state["images"][f"{REPO}:v1"]  # pruned on the host
    (host.fake.root / "state.json").write_text(json.dumps(state))
    result = host.ok("rollback")
    assert "==> docker compose pull web" in result.stdout
    assert ["compose", "pull", "web"] in host.fake.argvs()
    assert host.fake.state()["running"] == "v1"


def test_fault4_a_session_without_a_command_is_refused(host: Host) -> None:
    (host.project / ".env").write_text(tagged("main"))
    host.fake.preload(REPO, "main")
    result = host.run(None)  # sshd leaves SSH_ORIGINAL_COMMAND unset
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("refused: no command given") and result.stdout == ""
    assert host.fake.calls() == [] and host.journal_lines() == []
    assert host.env() == tagged("main")


CREATED = {"v1": "2025-01-01T10:00:00Z", "v2": "2025-01-02T10:00:00.5+00:00"}


def test_fault6_an_older_build_never_replaces_a_newer_one(host: Host) -> None:
    host.fake.set_rules(repository=REPO, created=CREATED)
    host.ok("deploy v1")
    host.ok("deploy v2")
    result = host.run("deploy v1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("v1 was built 2025-01-01T10:00:00Z, before v2, which runs now (built "
            "2025-01-02T10:00:00.5+00:00): a deploy never replaces a newer build with an older "
            "one; `rollback v1` goes back on purpose") in result.stderr
    assert host.fake.state()["running"] == "v2" and host.env() == tagged("v2")
    assert host.journal()[-1]["outcome"] == "failed-rolled-back"
    host.ok("rollback v1")  # going back on purpose is what rollback is for
    assert host.fake.state()["running"] == "v1"
    host.ok("deploy v2")
    assert host.fake.state()["running"] == "v2"


def test_fault6_two_deploys_at_once_the_older_build_loses_and_says_why(host: Host) -> None:
    host.fake.set_rules(repository=REPO, created=CREATED, up_seconds=1.0)
    newer = host.start("deploy v2")
    wait_until(lambda: '"tag_requested": "v2"' in host.lock_record(), "v2 to hold the lock")
    older = host.start("deploy v1")
    _, err_new = newer.communicate(timeout=60)
    _, err_old = older.communicate(timeout=60)
    assert (newer.returncode, older.returncode) == (0, 1), err_new + err_old
    assert "a deploy never replaces a newer build with an older one" in err_old
    assert host.fake.state()["running"] == "v2" and host.env() == tagged("v2")


@pytest.mark.parametrize("drops_fds", [False, True], ids=["holds-the-lock", "lock-free"])
def test_fault7_the_orphaned_step_of_a_killed_agent_is_stopped_by_the_next_call(
        host: Host, drops_fds: bool) -> None:
    host.ok("deploy v1")
    host.fake.set_rules(repository=REPO, pull_seconds=60, pull_drops_fds=drops_fds)
    victim = host.start("deploy v2")
    wait_until(lambda: host.fake.state().get("pull_started") == 2, "the deploy to reach pull")
    record = json.loads(host.lock_record())
    group = record["group"]
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    assert agent_module.group_alive(group)  # the orphaned `compose pull` runs on
    host.fake.set_rules(repository=REPO)
    started = time.monotonic()
    result = host.ok("deploy v2")
    assert time.monotonic() - started < 30  # not the orphan's 60 s
    assert (f"!!! stopping process group {group} (step pull) left running by the killed agent "
            f"pid {victim.pid}") in result.stdout
    assert not agent_module.group_alive(group)
    assert host.fake.state()["running"] == "v2" and host.lock_record() == ""
