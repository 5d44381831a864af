"""Fleet deploys as data: batches, plans, the run against scripted agents, config, targets.

The run is driven by a fake `send` (pure logic: which host is asked what, in which
order, and what the record says); the real agents are in tests/integration/test_fleet_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard.config import load_config
from shipyard.deploy.client import Request
from shipyard.deploy.fleet import (
    HostState,
    caller,
    fleet_rollback_target,
    odd_hosts,
    parse_status,
    plan_deploy,
    plan_rollback,
    split,
)
from shipyard.deploy.fleet_run import (
    FleetUnreachable,
    execute,
    read_states,
    settle,
    summary_record,
    write_summary,
)
from shipyard.deploy.target import resolve_environment, resolve_fleet
from shipyard.errors import ConfigError, UsageError

HOSTS = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(("batch", "expected"), [
    (1, [["a"], ["b"], ["c"], ["d"], ["e"]]),
    (2, [["a", "b"], ["c", "d"], ["e"]]),
    (9, [HOSTS]),
    ("25%", [["a", "b"], ["c", "d"], ["e"]]),  # 1.25 hosts, rounded up
    ("20%", [["a"], ["b"], ["c"], ["d"], ["e"]]),
    ("1%", [["a"], ["b"], ["c"], ["d"], ["e"]]),  # at least one host
    ("100%", [HOSTS]),
])
def test_batches(batch: int | str, expected: list[list[str]]) -> None:
    assert [list(b) for b in split(HOSTS, batch)] == expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["tag: v2", "digest: sha256:ab", "web: running healthy v2 sha256:ab"], ("v2", "sha256:ab")),
    (["tag: (none)", "digest: unknown"], (None, None)),
    ([], (None, None)),
])
def test_parse_status(lines: list[str], expected: tuple[str | None, str | None]) -> None:
    assert parse_status(lines) == expected


def states(*items: tuple[str, str | None]) -> list[HostState]:
    return [HostState(host, tag, f"sha256:{tag}" if tag else None) for host, tag in items]


def test_deploy_plan_undoes_each_host_to_its_own_previous_tag() -> None:
    plan = plan_deploy(states(("a", "v1"), ("b", "v0"), ("c", None), ("d", "v2")), "v2", 2)
    moves = [(m.host, m.request, m.undo) for batch in plan.batches for m in batch]
    assert moves == [
        ("a", Request("deploy", "v2"), Request("rollback", "v1")),
        ("b", Request("deploy", "v2"), Request("rollback", "v0")),
        ("c", Request("deploy", "v2"), None),  # ran nothing: nothing to go back to
        ("d", Request("deploy", "v2"), None),  # ran v2 already
    ]
    assert [len(b) for b in plan.batches] == [2, 2]


def ok(*tags: str) -> list[dict[str, Any]]:
    """A journal of successful deploys of `tags`, in order."""
    return [{"action": "deploy", "outcome": "ok", "tag_after": t} for t in tags]


@pytest.mark.parametrize(("hosts", "journals", "expected"), [
    # every host on v2 after v1: back to v1
    ([("a", "v2"), ("b", "v2")], {"a": ok("v1", "v2"), "b": ok("v1", "v2")}, "v1"),
    # c was put back alone and runs v1 already: still v1
    ([("a", "v2"), ("c", "v1")], {"a": ok("v1", "v2"), "c": [
        *ok("v1", "v2"), {"action": "rollback", "outcome": "ok", "tag_after": "v1"}]}, "v1"),
    # failed deploys do not count
    ([("a", "v2")], {"a": [*ok("v1", "v2"), {"action": "deploy",
                                              "outcome": "failed-rolled-back",
                                              "tag_after": "v2"}]}, "v1"),
])
def test_fleet_rollback_target(hosts: list[tuple[str, str]],
                               journals: dict[str, list[dict[str, Any]]], expected: str) -> None:
    assert fleet_rollback_target(states(*hosts), journals) == expected


def test_fleet_rollback_target_ambiguous_names_each_host() -> None:
    with pytest.raises(UsageError, match=r"do not agree on the previous release \(a v2 -> v1, "
                                         r"b v2 -> v0\); nothing was rolled back"):
        fleet_rollback_target(states(("a", "v2"), ("b", "v2")),
                              {"a": ok("v1", "v2"), "b": ok("v0", "v2")})


def test_rollback_plan_skips_hosts_already_there_and_checks_the_tag_ran_everywhere() -> None:
    journals = {"a": ok("v1", "v2"), "b": ok("v1", "v2"), "c": ok("v1")}
    plan = plan_rollback(states(("a", "v2"), ("b", "v2"), ("c", "v1")), journals, None, 1)
    assert plan.already == ("c",)
    assert [(m.host, m.request, m.undo) for b in plan.batches for m in b] == [
        ("a", Request("rollback", "v1"), Request("rollback", "v2")),
        ("b", Request("rollback", "v1"), Request("rollback", "v2"))]
    with pytest.raises(UsageError, match="v0 never ran successfully on a, b, c"):
        plan_rollback(states(("a", "v2"), ("b", "v2"), ("c", "v1")), journals, "v0", 1)


@pytest.mark.parametrize(("digests", "expected", "odd"), [
    ({"a": "x", "b": "x", "c": "y"}, None, {"c"}),
    ({"a": "x", "b": "x"}, None, set()),
    ({"a": "x", "b": None}, None, {"b"}),
    ({"a": "x", "b": "x", "c": "y"}, "y", {"a", "b"}),
])
def test_odd_hosts(digests: dict[str, str | None], expected: str | None, odd: set[str]) -> None:
    assert set(odd_hosts(digests, expected)) == odd


@pytest.mark.parametrize(("environ", "expected"), [
    ({"GITLAB_USER_LOGIN": "ada", "CI_PIPELINE_URL": "https://gl/p/1"}, "ada (GitLab https://gl/p/1)"),
    ({"GITHUB_ACTOR": "bob", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"},
     "bob (GitHub https://github.com/o/r/actions/runs/7)"),
])
def test_caller(environ: dict[str, str], expected: str) -> None:
    assert caller(environ) == expected


# -- the run against scripted agents -------------------------------------------------------------


class Agents:
    """Each host answers each request with a scripted exit status (default 0)."""

    def __init__(self, script: dict[tuple[str, str], int]) -> None:
        self.script = script
        self.calls: list[tuple[str, str]] = []

    def __call__(self, host: str, request: Request, on_line: Any) -> int:
        words = " ".join(request.words)
        self.calls.append((host, words))
        on_line(f"{words} on {host}")
        return self.script.get((host, words), 0)


def run(plan_states: list[HostState], script: dict[tuple[str, str], int],
        batch: int | str) -> tuple[Agents, Any, list[str]]:
    agents = Agents(script)
    plan = plan_deploy(plan_states, "v2", batch)
    events: list[str] = []
    slept: list[float] = []
    result = execute(plan, {s.host: s for s in plan_states}, agents,
                     on_line=lambda h, line: None, on_event=events.append, wait=5,
                     sleep=slept.append)
    assert slept == [5] * (sum(1 for e in events if e.startswith("batch ") and "/" in e) - 1)
    return agents, result, events


def test_all_batches_ok() -> None:
    agents, result, _events = run(states(("a", "v1"), ("b", "v1"), ("c", "v1")), {}, 2)
    # between batches, after the wait, the batch before is asked for its status again
    # (the hosts of a batch are asked at once: in any order within it)
    calls = agents.calls
    assert [sorted(calls[:2]), sorted(calls[2:4]), calls[4:]] == [
        [("a", "deploy v2"), ("b", "deploy v2")], [("a", "status"), ("b", "status")],
        [("c", "deploy v2")]]
    assert (result.outcome, result.exit_code) == ("ok", 0)
    assert {h: r.outcome for h, r in result.hosts.items()} == dict.fromkeys("abc", "ok")


@pytest.mark.parametrize(("code", "b_outcome", "outcome", "exit_code"), [
    (1, "failed-rolled-back", "rolled-back", 1),   # b's agent put v1 back itself
    (3, "refused", "rolled-back", 1),              # b's lock was held: b never switched
    (6, "failed", "failed", 6),                    # b could not restore: look at it
])
def test_failure_in_second_batch_undoes_the_first(code: int, b_outcome: str, outcome: str,
                                                  exit_code: int) -> None:
    agents, result, events = run(states(("a", "v1"), ("b", "v1"), ("c", "v1")),
                                 {("b", "deploy v2"): code}, 1)
    assert agents.calls == [("a", "deploy v2"), ("a", "status"), ("b", "deploy v2"),
                            ("a", "rollback v1")]
    assert {h: r.outcome for h, r in result.hosts.items()} == {
        "a": "rolled-back", "b": b_outcome, "c": "not-started"}
    assert (result.outcome, result.exit_code) == (outcome, exit_code)
    assert "batch 2 failed: putting back every host already switched" in events


def test_dead_ssh_counts_as_maybe_switched_and_a_failed_undo_fails_the_run() -> None:
    agents, result, _ = run(states(("a", "v1"), ("b", "v1"), ("c", None)),
                            {("b", "deploy v2"): 255, ("c", "deploy v2"): 1,
                             ("a", "rollback v1"): 1}, 3)
    assert sorted(agents.calls[3:]) == [("a", "rollback v1"), ("b", "rollback v1")]
    assert {h: r.outcome for h, r in result.hosts.items()} == {
        "a": "rollback-failed", "b": "rolled-back", "c": "failed-rolled-back"}
    assert (result.outcome, result.exit_code) == ("failed", 6)


def test_first_deploy_that_fails_leaves_switched_hosts_and_says_so() -> None:
    _, result, _ = run(states(("a", None), ("b", None)), {("b", "deploy v2"): 6}, 1)
    assert {h: r.outcome for h, r in result.hosts.items()} == {"a": "no-previous",
                                                                "b": "failed"}
    assert result.exit_code == 6


def test_read_states_stops_before_anything_when_a_host_is_unreachable() -> None:
    def send(host: str, request: Request, on_line: Any) -> int:
        on_line("tag: v1" if host != "b" else "ssh: connect refused")
        return 255 if host == "b" else 0

    with pytest.raises(FleetUnreachable, match=r"could not read b \(exit 255: ssh: connect "
                                               r"refused\); nothing was changed on any host"):
        read_states(["a", "b"], send)


def test_read_states_takes_a_host_that_runs_nothing_yet() -> None:
    def send(host: str, request: Request, on_line: Any) -> int:
        on_line("error: docker compose ps failed: IMAGE_TAG is missing a value")
        return 1

    assert read_states(["a"], send)["a"].tag is None


def test_summary_record_and_file(tmp_path: Path) -> None:
    plan_states = states(("a", "v1"), ("b", "v1"))
    _, result, _ = run(plan_states, {("b", "deploy v2"): 1}, 1)
    settle(result, {s.host: s for s in plan_states})
    record = summary_record(result, "prod", "ada", "2026-01-01T00:00:00Z", 3.14)
    assert (record["outcome"], record["tag"], record["who"]) == ("rolled-back", "v2", "ada")
    assert [(h["host"], h["outcome"], h["digest_after"]) for h in record["hosts"]] == [
        ("a", "rolled-back", "sha256:v1"), ("b", "failed-rolled-back", "sha256:v1")]
    path = write_summary(tmp_path, "prod", record)
    write_summary(tmp_path, "prod", record)
    assert path == tmp_path / ".shipyard" / "fleet" / "prod.jsonl"
    assert [json.loads(line) for line in path.read_text().splitlines()] == [record, record]


# -- config and targets ---------------------------------------------------------------------------


def project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "shipyard.toml").write_text("[environments.prod]\n" + body)
    (tmp_path / "id").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
    return tmp_path


@pytest.mark.parametrize(("body", "message"), [
    ("targets = []\n", "environments.prod.targets must be a non-empty list"),
    ('targets = ["d@a", "ssh://d@a"]\n', "environments.prod.targets[1] names ssh://d@a again"),
    ('targets = [{ target = "d@a", kye = "x" }]\n',
     "environments.prod.targets[0] has an unknown key 'kye'"),
    ('targets = [{ key = "x" }]\n', "environments.prod.targets[0] needs a target"),
    ('targets = ["web1"]\n', "environments.prod.targets[0] must name the login user"),
    ('batch = "0%"\n', 'environments.prod.batch must be a host count (1, 2, ...) or a share'),
    ("batch = true\n", "environments.prod.batch must be a host count"),
    ("wait = -1\n", "environments.prod.wait must be between 0 and 3600 seconds"),
])
def test_fleet_config_errors_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        load_config(project(tmp_path, body))


def test_resolve_fleet_keys_and_known_hosts(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, (
        'targets = ["d@a", { target = "ssh://d@b:2222", key = "id_b", known_hosts = '
        '"[b]:2222 ssh-ed25519 AAAAb" }]\nkey = "id"\nknown_hosts = "kh"\nbatch = "50%"\n')))
    fleet = resolve_fleet("prod", config, {})
    assert fleet is not None and fleet.batch == "50%"
    a, b = fleet.hosts
    assert (str(a.target), a.key.origin, a.known_hosts.origin) == (
        "ssh://d@a", "shipyard.toml environments.prod.key",
        "shipyard.toml environments.prod.known_hosts")
    assert (str(b.target), b.key.origin) == (
        "ssh://d@b:2222", "shipyard.toml environments.prod.targets[1].key")
    # CI's SSH_AUTH stands in for the environment's key, not for a host's own
    with_ci = resolve_fleet("prod", config, {"SSH_AUTH": (tmp_path / "id").read_text()})
    assert with_ci is not None
    assert [h.key.origin for h in with_ci.hosts] == [
        "SSH_AUTH", "shipyard.toml environments.prod.targets[1].key"]
    with pytest.raises(UsageError, match="prod is a fleet of 2 hosts"):
        resolve_environment("prod", config, {})


@pytest.mark.parametrize(("body", "variable", "hosts", "error"), [
    ('target = "d@a"\n', None, None, None),  # one host: not a fleet
    ('target = "d@a"\n', "d@a d@b", None, "target names one host but SSH_DEPLOY_TARGET"),
    ('target = "d@a"\ntargets = ["d@b"]\n', None, None, "target names one host but"),
    ('known_hosts = "kh"\nkey = "id"\n', "d@a ssh://d@b:22", ["ssh://d@a", "ssh://d@b"], None),
    ('targets = ["d@a", "d@b"]\nknown_hosts = "kh"\nkey = "id"\n', "d@b d@a",
     ["ssh://d@a", "ssh://d@b"], None),
    ('targets = ["d@a", "d@b"]\nknown_hosts = "kh"\nkey = "id"\n', "d@a",
     None, "SSH_DEPLOY_TARGET names ssh://d@a but"),
])
def test_fleet_from_config_and_ci_variable(tmp_path: Path, body: str, variable: str | None,
                                           hosts: list[str] | None, error: str | None) -> None:
    config = load_config(project(tmp_path, body))
    environ = {"SSH_DEPLOY_TARGET": variable} if variable else {}
    if error is not None:
        with pytest.raises(UsageError, match=error):
            resolve_fleet("prod", config, environ)
        return
    fleet = resolve_fleet("prod", config, environ)
    assert (None if fleet is None else [str(h.target) for h in fleet.hosts]) == hosts


# -- host setup, one host of a fleet at a time ---------------------------------------------------


@pytest.mark.parametrize(("target", "expected"), [
    (None, "prod is a fleet: set up one host at a time (pass --target, one of ssh://d@a, "
           "ssh://d@b:2222)"),
    ("ssh://d@c", "--target ssh://d@c is not a host of prod"),
    ("d@b:2222", None),
])
def test_host_setup_per_host(tmp_path: Path, target: str | None, expected: str | None) -> None:
    from shipyard.deploy.setup_inputs import SetupOptions, prepare_setup
    from shipyard.tools.ssh import KeyPair

    root = project(tmp_path, 'targets = ["d@a", "ssh://d@b:2222"]\n')
    (root / "compose.yaml").write_text("services: {}\n")
    key = KeyPair(private="x", public="ssh-ed25519 AAAA k", fingerprint="SHA256:" + "a" * 43)
    options = SetupOptions(target=target, registry_login=False)
    if expected is not None:
        with pytest.raises(UsageError) as caught:
            prepare_setup(load_config(root), "prod", options, key)
        assert str(caught.value).startswith(expected)
        return
    setup, _admin = prepare_setup(load_config(root), "prod", options, key)
    assert str(setup.target) == "ssh://d@b:2222" and setup.project_dir.endswith("-prod")


def test_host_setup_installs_an_existing_public_key(tmp_path: Path) -> None:
    import subprocess

    from click.testing import CliRunner

    from shipyard.commands.deploy import host_group

    root = project(tmp_path, 'targets = ["d@a", "ssh://d@b:2222"]\n'
                             'known_hosts = "[b]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOm2"\n')
    (root / "compose.yaml").write_text("services: {}\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet", "-f",
                    str(tmp_path / "fleet")], check=True)
    public = (tmp_path / "fleet.pub").read_text().strip()
    result = CliRunner().invoke(host_group, [
        "setup", "prod", "-C", str(root), "--target", "d@b:2222", "--no-registry-login",
        "--public-key", str(tmp_path / "fleet.pub")])
    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.stdout
    assert "SSH_AUTH= unchanged: the private half of --public-key" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("authorized_keys line:"))
    assert line.endswith(public)
    # CI gets the whole fleet, not the one host set up (that would shrink or contradict it)
    assert "SSH_DEPLOY_TARGET=ssh://d@a ssh://d@b:2222\n" in result.stdout
    assert "append them as you set up each host" in result.stdout
    bad = CliRunner().invoke(host_group, [
        "setup", "prod", "-C", str(root), "--target", "d@b:2222", "--no-registry-login",
        "--public-key", str(tmp_path / "fleet")])
    assert isinstance(bad.exception, UsageError) and "is not one OpenSSH public key" in str(
        bad.exception)


@pytest.mark.parametrize(("lines", "problems"), [
    (["tag: v2", "digest: sha256:x", "web: running healthy v2 sha256:x", "drift: none",
      "zero-downtime: no (no proxy)"], []),
    (["web: running unhealthy v2 sha256:x", "worker: restarting -", "migrate: exited -",
      "drift: web runs v1, .env says v2"],
     ["web: running unhealthy v2 sha256:x", "worker: restarting -",
      "drift: web runs v1, .env says v2"]),
])
def test_status_problems(lines: list[str], problems: list[str]) -> None:
    from shipyard.deploy.fleet import status_problems

    assert status_problems(lines) == problems


def test_a_batch_that_turns_unhealthy_during_the_wait_is_undone() -> None:
    calls: list[tuple[str, str]] = []

    def send(host: str, request: Request, on_line: Any) -> int:
        words = " ".join(request.words)
        calls.append((host, words))
        if words == "status":
            on_line("web: running unhealthy v2 sha256:x" if host == "a" else "drift: none")
        return 0

    plan_states = states(("a", "v1"), ("b", "v1"), ("c", "v1"))
    plan = plan_deploy(plan_states, "v2", 1)
    result = execute(plan, {s.host: s for s in plan_states}, send, on_line=lambda h, x: None,
                     on_event=lambda x: None, wait=20, sleep=lambda s: None)
    assert calls == [("a", "deploy v2"), ("a", "status"), ("a", "rollback v1")]
    assert result.hosts["a"].problem == "web: running unhealthy v2 sha256:x"
    assert {h: r.outcome for h, r in result.hosts.items()} == {
        "a": "rolled-back", "b": "not-started", "c": "not-started"}
    assert result.exit_code == 1
