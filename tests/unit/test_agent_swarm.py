"""The Swarm engine's pure parts: the stack file derived from `docker compose config`, the
convergence verdict, and the setup/config wiring of `engine = "swarm"`.

Why tables: the derivation decides what Swarm does on every update (start-first, who rolls
back, how tasks are reached), and the verdict decides when a deploy is done or failed;
both must be exact for every shape of input, without an engine.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_host_setup import BASE, FULL_PLAN, rows

from shipyard.agent.agent import (
    ConfigError,
    SwarmService,
    SwarmTask,
    is_secret_variable,
    parse_config,
    parse_swarm_services,
    parse_swarm_tasks,
    stack_file,
    stack_progress,
    swarm_image,
)
from shipyard.config import Environment, parse_table
from shipyard.deploy.setup import FileStep, RunStep, plan_setup
from shipyard.detect import detect
from shipyard.errors import ConfigError as ShipyardConfigError
from shipyard.generate.render import render
from shipyard.secretpatterns import is_secret_name

# `docker compose config --format json` of the generated project (trimmed), with an override.
CONFIG: dict[str, Any] = {
    "name": "guestbook",
    "networks": {"default": {"name": "guestbook_default", "ipam": {}}},
    "volumes": {"data": {"name": "guestbook_data"}},
    "services": {
        "web": {
            "image": "registry.example.com/guestbook:v2", "restart": "unless-stopped",
            "container_name": "guestbook-web", "read_only": True, "tmpfs": ["/tmp", "/run"],
            "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
            "healthcheck": {"test": ["CMD", "python", "/hc.py"], "interval": "10s"},
            "networks": {"default": None}, "command": None, "entrypoint": None,
        },
        "proxy": {
            "image": "nginx:1.22", "pull_policy": "missing", "restart": "unless-stopped",
            "user": "101:101",
            "depends_on": {"web": {"condition": "service_started", "required": True}},
            "ports": [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 8080,
                       "published": "8000", "protocol": "tcp"}],
            "environment": {"CONF": "proxy_pass http://$$upstream;"},
        },
        "worker": {
            "image": "registry.example.com/guestbook:v2", "restart": "no",
            "deploy": {"replicas": 3, "endpoint_mode": "vip",
                       "update_config": {"parallelism": 2, "monitor": "30s"}},
        },
    },
}


def test_stack_file_keeps_the_project_and_makes_updates_safe() -> None:
    name, stack, secret_files = stack_file(json.dumps(CONFIG))
    assert name == "guestbook" and secret_files == {}
    assert stack["version"] == "3.9"
    web, proxy, worker = (stack["services"][s] for s in ("web", "proxy", "worker"))
    # compose-only keys are gone; what Swarm needs instead is there
    assert not {"container_name", "restart", "tmpfs", "networks", "command"} & set(web)
    assert not {"pull_policy", "depends_on", "restart"} & set(proxy)
    assert web["volumes"] == [{"type": "volume", "source": "data", "target": "/data"},
                              {"type": "tmpfs", "target": "/tmp"},
                              {"type": "tmpfs", "target": "/run"}]
    assert web["deploy"] == {
        "endpoint_mode": "dnsrr", "restart_policy": {"condition": "any", "delay": "2s"},
        "update_config": {"order": "start-first", "parallelism": 1, "delay": "0s",
                          "failure_action": "rollback", "monitor": "10s",
                          "max_failure_ratio": 0},
        "rollback_config": {"order": "start-first", "parallelism": 1, "delay": "0s",
                            "failure_action": "pause", "monitor": "10s"}}
    assert web["healthcheck"] == CONFIG["services"]["web"]["healthcheck"]
    # the proxy publishes in host mode (no routing mesh); two cannot bind one port
    assert proxy["ports"] == [{"target": 8080, "published": 8000, "protocol": "tcp",
                               "mode": "host"}]
    assert proxy["deploy"]["update_config"]["order"] == "stop-first"
    assert proxy["environment"] == {"CONF": "proxy_pass http://$$upstream;"}  # still escaped
    # what the project's own deploy section says wins
    assert worker["deploy"]["replicas"] == 3 and worker["deploy"]["endpoint_mode"] == "vip"
    assert worker["deploy"]["update_config"]["parallelism"] == 2
    assert worker["deploy"]["update_config"]["monitor"] == "30s"
    assert worker["deploy"]["update_config"]["failure_action"] == "rollback"
    assert worker["deploy"]["restart_policy"]["condition"] == "none"
    # the stack names its own overlay network; the volume keeps the project's name
    assert stack["networks"] == {"default": {"ipam": {}, "driver": "overlay"}}
    assert stack["volumes"] == {"data": {"name": "guestbook_data"}}


@pytest.mark.parametrize(("config", "problem"), [
    ({"name": "x", "services": {}}, "no services"),
    ({"name": "Bad Name", "services": {"web": {"image": "x"}}}, "cannot name a stack"),
])
def test_stack_file_refuses_what_cannot_be_a_stack(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        stack_file(json.dumps(config))


def svc(name: str = "web", image: str = "r/app:v2@sha256:2", replicas: int | None = 1,
        updated: str = "t1", state: str = "", started: str = "", message: str = "") -> SwarmService:
    return SwarmService(name, image, replicas, updated, state, started, message)


def task(image: str = "r/app:v2@sha256:2", state: str = "running", desired: str = "running",
         slot: int = 1) -> SwarmTask:
    return SwarmTask("web", slot, "node1", state, desired, image, "", "2026-01-01T00:00:00Z")


OLD = "r/app:v1@sha256:1"
BEFORE = {"web": svc(image=OLD, updated="t0", state="completed", started="s0")}
PROGRESS = [
    ("created, task starting", [svc()], [task(state="starting")], {}, 0.0, "waiting"),
    ("created, task running", [svc()], [task()], {}, 0.0, "converged"),
    ("update started, old task still serving",
     [svc(state="updating", started="s1")], [task(OLD), task(state="starting")], BEFORE, 1.0,
     "waiting"),
    ("update completed, old task gone",
     [svc(state="completed", started="s1")], [task(OLD, "shutdown", "shutdown"), task()],
     BEFORE, 9.0, "converged"),
    ("Swarm rolling back", [svc(image=OLD, state="rollback_started", started="s1")],
     [task(OLD)], BEFORE, 9.0, "waiting"),
    ("Swarm rolled back", [svc(image=OLD, state="rollback_completed", started="s1")],
     [task(OLD)], BEFORE, 9.0, "failed"),
    ("update paused", [svc(state="paused", started="s1")], [task(OLD)], BEFORE, 9.0, "failed"),
    ("an old rollback, unchanged: the tasks decide",
     [svc(image=OLD, updated="t0", state="rollback_completed", started="s0")], [task(OLD)],
     {"web": svc(image=OLD, updated="t0", state="rollback_completed", started="s0")}, 0.0,
     "converged"),
    ("spec changed, no update yet", [svc(image=OLD)], [task(OLD)], BEFORE, 1.0, "waiting"),
    ("spec changed, no update needed", [svc(image=OLD)], [task(OLD)], BEFORE, 6.0, "converged"),
    ("image wanted but old task runs", [svc()], [task(OLD)], BEFORE, 6.0, "waiting"),
    ("two of three replicas", [svc(replicas=3)], [task(slot=1), task(slot=2)], {}, 0.0,
     "waiting"),
    ("global: one per node", [svc(replicas=None)], [task()], {}, 0.0, "converged"),
]


@pytest.mark.parametrize(("services", "tasks", "before", "waited", "verdict"),
                         [p[1:] for p in PROGRESS], ids=[p[0] for p in PROGRESS])
def test_stack_progress(services: list[SwarmService], tasks: list[SwarmTask],
                        before: dict[str, SwarmService], waited: float, verdict: str) -> None:
    assert stack_progress(services, tasks, before, waited)[0] == verdict


def test_a_rolled_back_update_is_named_in_the_failure() -> None:
    verdict, lines = stack_progress(
        [svc(image=OLD, state="rollback_completed", started="s1", message="rollback completed")],
        [task(OLD)], BEFORE, 9.0)
    assert verdict == "failed"
    assert lines == ["web: Swarm rolled the update back (rollback completed)"]


def test_parse_services_and_tasks_of_one_stack() -> None:
    services = parse_swarm_services(json.dumps([
        {"ID": "s1", "UpdatedAt": "t1", "Spec": {
            "Name": "guestbook_web", "Labels": {"com.docker.stack.namespace": "guestbook"},
            "TaskTemplate": {"ContainerSpec": {"Image": "r/app:v2@sha256:2"}},
            "Mode": {"Replicated": {"Replicas": 2}}},
         "UpdateStatus": {"State": "updating", "StartedAt": "s", "Message": "update in progress"}},
        {"ID": "s2", "Spec": {"Name": "other_web", "Labels": {
            "com.docker.stack.namespace": "other"}}},
    ]), "guestbook")
    assert services == {"s1": SwarmService("web", "r/app:v2@sha256:2", 2, "t1", "updating", "s",
                                           "update in progress")}
    tasks = parse_swarm_tasks(json.dumps([
        {"ServiceID": "s1", "Slot": 2, "NodeID": "n1", "DesiredState": "running",
         "CreatedAt": "c", "Spec": {"ContainerSpec": {"Image": "r/app:v2@sha256:2"}},
         "Status": {"State": "failed", "Err": "task: non-zero exit (1)",
                    "ContainerStatus": {"ContainerID": "abc"}}},
        {"ServiceID": "s9", "Slot": 1},
    ]), services)
    assert tasks == [SwarmTask("web", 2, "n1", "failed", "running", "r/app:v2@sha256:2",
                               "task: non-zero exit (1)", "c", "abc")]
    assert tasks[0].label == "web.2"


@pytest.mark.parametrize(("ref", "expected"), [
    ("r:5000/app:v2@sha256:ab", ("v2", "sha256:ab")),
    ("nginx:1.22", ("1.22", None)),
    ("app@sha256:ab", ("latest", "sha256:ab")),
])
def test_swarm_image(ref: str, expected: tuple[str | None, str | None]) -> None:
    assert swarm_image(ref) == expected


def test_agent_config_engine() -> None:
    assert parse_config({}).engine == "compose"
    assert parse_config({"engine": "swarm"}).engine == "swarm"
    with pytest.raises(ConfigError, match='engine must be "compose" or "swarm", not "k8s"'):
        parse_config({"engine": "k8s"})


def test_environment_engine_is_checked() -> None:
    def parse(table: dict[str, Any]) -> Environment:
        return parse_table(Environment, table, file=Path("shipyard.toml"),
                           prefix="environments.prod")

    assert parse({}).engine == "compose" and parse({"engine": "swarm"}).engine == "swarm"
    with pytest.raises(ShipyardConfigError, match=re.escape(
            'environments.prod.engine must be one of "compose", "swarm", got "kubernetes"')):
        parse({"engine": "kubernetes"})


def test_host_setup_for_swarm_checks_the_manager_and_writes_the_engine() -> None:
    setup = replace(BASE, engine="swarm")
    assert rows(setup) == [FULL_PLAN[0], ("run", "sh", None, None, None), *FULL_PLAN[1:]]
    plan = plan_setup(setup)
    check = plan.steps[1]
    assert isinstance(check, RunStep) and "Swarm manager" in check.description
    config = next(s for s in plan.steps if isinstance(s, FileStep)
                  and s.path.endswith("shipyard-agent.json"))
    assert json.loads(config.content) == {"allow_tags": "^dev-", "engine": "swarm"}
    assert "engine swarm" in config.description
    only_engine = next(s for s in plan_setup(replace(setup, allow_tags=None)).steps
                       if isinstance(s, FileStep) and s.path.endswith("shipyard-agent.json"))
    assert json.loads(only_engine.content) == {"engine": "swarm"}


def test_secret_settings_become_swarm_secrets() -> None:
    config = json.loads(json.dumps(CONFIG))
    config["services"]["web"]["environment"] = {
        "DJANGO_SECRET_KEY": "s3cr$$t", "WEB_CONCURRENCY": "3", "DB_PASSWORD": "",
        "SECRET_KEY_FILE": "/run/secrets/x"}
    _name, stack, files = stack_file(json.dumps(config))
    web = stack["services"]["web"]
    # the value leaves the service spec (readable by `docker service inspect`)
    assert web["environment"] == {"WEB_CONCURRENCY": "3", "DB_PASSWORD": "",
                                  "SECRET_KEY_FILE": "/run/secrets/x"}
    digest = hashlib.sha256(b"s3cr$t").hexdigest()[:12]
    key = f"DJANGO_SECRET_KEY_{digest}"
    assert web["secrets"] == [{"source": key, "target": "DJANGO_SECRET_KEY"}]
    assert stack["secrets"] == {key: {"name": f"guestbook_{key}", "file": f"secrets/{key}"}}
    assert files == {key: "s3cr$t"}  # compose's `$$` escape undone: the real value


@pytest.mark.parametrize("name", [
    "DJANGO_SECRET_KEY", "DB_PASSWORD", "NPM_TOKEN", "api-token", "AWS_ACCESS_KEY",
    "SECRET_KEY_FILE", "GPG_KEY", "PASSWORD_HOST", "WEB_CONCURRENCY", "AUTH_TOKEN_TTL", "",
    "STRIPE_API_KEY", "SIGNING_KEY", "TOKEN", "pat"])
def test_agent_secret_rule_is_shipyards(name: str) -> None:
    assert is_secret_variable(name) is is_secret_name(name)


def test_agent_secret_words_are_shipyards() -> None:
    from shipyard import secretpatterns
    from shipyard.agent import agent

    for words in ("_SECRET_WORDS", "_SECRET_PAIRS", "_NOT_A_VALUE"):
        assert getattr(agent, words) == getattr(secretpatterns, words), words


def test_generated_entrypoint_exports_swarm_secrets(tmp_path: Path) -> None:
    """The entrypoint `shipyard init` writes turns /run/secrets/VAR files into variables
    (not overriding a variable that is set, skipping names that are not variables)."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (project / "requirements.txt").write_text("flask==3.0.0\ngunicorn==22.0.0\n")
    entry = next(f for f in render(detect(project)) if f.path == "docker/entrypoint.sh")
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "DJANGO_SECRET_KEY").write_text("from-swarm")
    (secrets_dir / "SET_ALREADY").write_text("from-swarm")
    (secrets_dir / "not-a-name").write_text("x")
    script = entry.content.replace("/run/secrets", str(secrets_dir))
    (tmp_path / "entrypoint.sh").write_text(script)
    out = subprocess.run(
        ["sh", str(tmp_path / "entrypoint.sh"), "sh", "-c",
         'echo "$DJANGO_SECRET_KEY $SET_ALREADY"'],
        env={"PATH": os.environ["PATH"], "SET_ALREADY": "from-env"},
        capture_output=True, text=True, check=True)
    assert out.stdout == "from-swarm from-env\n"
    empty = subprocess.run(["sh", "-c", script.replace(str(secrets_dir), str(tmp_path / "no")),
                            "sh", "true"], capture_output=True, text=True, check=False)
    assert empty.returncode == 0, empty.stderr


def test_the_swarm_test_engine_never_deletes_the_main_engines_bridge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """dockerd 20.10 started with `--bridge none` (`-b none`), or restarted with
    `--default-address-pool`, deletes the host's `docker0` at start-up — the MAIN engine's
    bridge: every container on it loses its network. The second engine brings a bridge
    of its own and no local pool instead."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))  # the repository
    from testbed import swarm

    argv = swarm.dockerd_argv()
    pairs = list(itertools.pairwise(argv))
    assert ("--bridge", "none") not in pairs and ("-b", "none") not in pairs
    assert "--bridge=none" not in argv and "-b=none" not in argv
    assert ("--bridge", swarm.BRIDGE) in pairs and swarm.BRIDGE != "docker0"
    assert not any(arg.startswith("--default-address-pool") for arg in argv)
    assert "--iptables=false" in argv  # never touches the main engine's chains
