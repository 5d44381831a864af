"""The pure decisions of the agent's zero-downtime deploy, as tables.

Why tables: which proxy the agent trusts, when a new container counts as healthy or
as failed, which containers are kept, removed or retired, and what the proxy points
at are the whole logic of "a version that never passes never gets a request"; the
engine-facing part runs in tests/integration/test_agent_zero_downtime_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fixtures.load import longest_gap, version_of
from shipyard.agent.agent import (
    ProxySpec,
    Replica,
    RolloutPlan,
    parse_replicas,
    parse_upstream,
    plan_rollout,
    probe_argv,
    probe_verdict,
    proxy_spec,
    upstream_port_problem,
)
from shipyard.detect.project import detect
from shipyard.generate.render import render


def _config(**services: dict[str, object]) -> str:
    return json.dumps({"name": "p", "services": services})


NGINX = {"org.shipyard.proxy": "nginx", "org.shipyard.proxy.upstream": "web:8000"}


@pytest.mark.parametrize(("services", "expected"), [
    ({"web": {}}, None),
    ({"web": {}, "proxy": {"labels": NGINX}}, ProxySpec("proxy", "nginx", "web", 8000)),
    ({"app": {}, "edge": {"labels": ["org.shipyard.proxy=nginx",
                                     "org.shipyard.proxy.upstream=app:5000"]}},
     ProxySpec("edge", "nginx", "app", 5000)),
    ({"web": {}, "proxy": {"labels": {"other": "x"}}}, None),
])
def test_proxy_spec_finds_the_labelled_proxy(services: dict[str, dict[str, object]],
                                             expected: ProxySpec | None) -> None:
    assert proxy_spec(_config(**services)) == expected


@pytest.mark.parametrize(("labels", "message"), [
    ({"org.shipyard.proxy": "haproxy", "org.shipyard.proxy.upstream": "web:8000"},
     "not a proxy the agent can switch"),
    ({"org.shipyard.proxy": "nginx"}, "must name another service and its port"),
    ({"org.shipyard.proxy": "nginx", "org.shipyard.proxy.upstream": "web"},
     "must name another service"),
    ({"org.shipyard.proxy": "nginx", "org.shipyard.proxy.upstream": "api:8000"},
     "must name another service"),
    ({"org.shipyard.proxy": "nginx", "org.shipyard.proxy.upstream": "proxy:80"},
     "must name another service"),
])
def test_proxy_spec_refuses_labels_that_cannot_work(labels: dict[str, str],
                                                    message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proxy_spec(_config(web={}, proxy={"labels": labels}))


@pytest.mark.parametrize(("web", "problem"), [
    ({}, False),
    ({"ports": []}, False),
    ({"ports": [{"target": 8000, "published": "8000", "host_ip": "127.0.0.1"}]}, True),
])
def test_a_web_service_with_a_host_port_cannot_be_doubled(web: dict[str, object],
                                                          problem: bool) -> None:
    """An override from before the proxy publishes web's port: deploy as before, say why."""
    spec = ProxySpec("proxy", "nginx", "web", 8000)
    found = upstream_port_problem(_config(web=web, proxy={"labels": NGINX}), spec)
    assert (found is not None) is problem
    if found:
        assert "publish the port on service 'proxy' instead" in found


def test_two_proxies_are_refused() -> None:
    with pytest.raises(ValueError, match="one proxy per project"):
        proxy_spec(_config(web={}, a={"labels": NGINX}, b={"labels": NGINX}))


def test_the_generated_compose_file_is_a_zero_downtime_project(tmp_path: Path) -> None:
    """What `shipyard init` writes is what the agent recognises (compose's JSON = YAML data)."""
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\ngunicorn==22.0.0\n")
    files = {f.path: f.content for f in render(detect(tmp_path))}
    data = YAML(typ="safe", pure=True).load(files["compose.yaml"])
    assert proxy_spec(json.dumps(data)) == ProxySpec("proxy", "nginx", "web", 8000)


@pytest.mark.parametrize(("results", "start_period", "retries", "verdict"), [
    ([], 30, 3, "starting"),
    ([(0.5, True)], 30, 3, "healthy"),
    ([(1, False), (2, False), (3, False), (4, False)], 30, 3, "starting"),  # in start period
    ([(1, False), (2, True)], 30, 3, "healthy"),
    ([(30, False), (31, False)], 30, 3, "starting"),
    ([(30, False), (31, False), (32, False)], 30, 3, "unhealthy"),
    ([(29, False), (30, False), (31, False)], 30, 3, "starting"),  # one inside the period
    ([(0, False)], 0, 1, "unhealthy"),
    ([(0, False)], 0, 0, "unhealthy"),  # retries 0 still needs one failure
    ([(40, False), (41, True), (42, False)], 30, 3, "starting"),  # a pass resets the count
])
def test_probe_verdict_is_dockers_rule_polled_every_second(
        results: list[tuple[float, bool]], start_period: float, retries: int,
        verdict: str) -> None:
    assert probe_verdict(results, start_period, retries) == verdict


@pytest.mark.parametrize(("test", "argv"), [
    (("CMD", "python", "/h.py"), ["docker", "exec", "c1", "python", "/h.py"]),
    (("CMD-SHELL", "curl -f localhost"), ["docker", "exec", "c1", "/bin/sh", "-c",
                                          "curl -f localhost"]),
    ((), None),
    (("CMD",), None),
    (("NONE",), None),
])
def test_probe_argv_runs_the_containers_own_check(test: tuple[str, ...],
                                                  argv: list[str] | None) -> None:
    assert probe_argv("docker", "c1", test) == argv


@pytest.mark.parametrize(("text", "host"), [
    ("set $shipyard_upstream web:8000;\n", "web"),
    ("set $shipyard_upstream p-web-2:8000;\n", "p-web-2"),
    ("  set  $shipyard_upstream p-web-3:8000 ;\n", "p-web-3"),
    ("", None),
    ("set $other web:8000;\n", None),
])
def test_parse_upstream(text: str, host: str | None) -> None:
    assert parse_upstream(text) == host


def _r(name: str, config_hash: str = "new", image: str = "sha256:new",
       running: bool = True) -> Replica:
    return Replica(id=f"id-{name}", name=name, config_hash=config_hash, image=image,
                   running=running, health="healthy")


OLD1, OLD2 = _r("p-web-1", "old", "sha256:old"), _r("p-web-2", "old", "sha256:old")
NEW3, DEAD4 = _r("p-web-3"), _r("p-web-4", running=False)


@pytest.mark.parametrize(("replicas", "active", "plan"), [
    # first deploy: nothing runs, start one
    ([], None, RolloutPlan((), (), None)),
    # the usual deploy: one old container serves, start one next to it, retire the old
    ([OLD1], "p-web-1", RolloutPlan((), (OLD1,), None)),
    ([OLD1], "web", RolloutPlan((), (OLD1,), None)),  # proxy just (re)started
    # the restore after a failed deploy: the serving one already runs what is wanted
    ([NEW3], "p-web-3", RolloutPlan((), (), NEW3)),
    # a leftover of a killed deploy never served: removed, the serving one stays
    ([OLD1, NEW3], "p-web-1", RolloutPlan((NEW3,), (OLD1,), None)),
    ([OLD1, NEW3], "p-web-3", RolloutPlan((OLD1,), (), NEW3)),
    ([NEW3, DEAD4], "p-web-3", RolloutPlan((DEAD4,), (), NEW3)),
    # the proxy forwards to the service name and two run: both in rotation, both retired
    ([OLD1, OLD2], "web", RolloutPlan((), (OLD1, OLD2), None)),
    # same config but a re-pulled image: a new container
    ([_r("p-web-1", "new", "sha256:old")], "p-web-1",
     RolloutPlan((), (_r("p-web-1", "new", "sha256:old"),), None)),
])
def test_plan_rollout(replicas: list[Replica], active: str | None, plan: RolloutPlan) -> None:
    assert plan_rollout(replicas, "new", "sha256:new", active) == plan


def test_plan_scale_starts_exactly_one_next_to_those_in_rotation() -> None:
    assert [plan_rollout(r, "new", None, "web").scale for r in ([], [OLD1], [OLD1, OLD2])] == [
        1, 2, 3]


def test_parse_replicas_reads_what_the_rollout_needs() -> None:
    inspect = [{
        "Id": "abc", "Name": "/p-web-2", "Image": "sha256:img",
        "Config": {"Labels": {"com.docker.compose.config-hash": "h1"},
                   "Healthcheck": {"Test": ["CMD", "python", "/h.py"], "StartPeriod": 30e9,
                                   "Retries": 5, "Timeout": 5e9}},
        "State": {"Running": True, "Health": {"Status": "starting"}},
    }, {"Id": "def", "Name": "/p-web-1", "Image": "sha256:old", "Config": {},
        "State": {"Running": False}}]
    assert parse_replicas(json.dumps(inspect)) == [
        Replica("def", "p-web-1", "", "sha256:old", False, ""),
        Replica("abc", "p-web-2", "h1", "sha256:img", True, "starting",
                ("CMD", "python", "/h.py"), 30.0, 5, 5.0),
    ]


@pytest.mark.parametrize(("ends", "gap"), [
    ([], 10.0),
    ([5.0], 5.0),
    ([1.0, 2.0, 9.5], 7.5),
    ([0.5, 1.0, 1.5], 8.5),
    ([-1.0, 11.0], 10.0),  # outside the window: not counted
])
def test_longest_gap_counts_the_window_edges(ends: list[float], gap: float) -> None:
    assert longest_gap(ends, 0.0, 10.0) == pytest.approx(gap)


def test_version_of_reads_the_examples_health_answer() -> None:
    assert version_of('{"status": "ok", "version": "v2"}') == "v2"
    assert version_of("<html>") is None
