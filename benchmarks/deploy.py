"""Deploy benchmark: `docker compose up -d` vs the zero-downtime deploy vs Swarm, under load.

Why: issue 11 measured every normal deploy as an outage (66-260 failed requests,
4-15 s without an answer). Both paths run here in one run, on the same machine,
engine, registry and images, so the numbers sit side by side:

  plain -- the generated compose project without its proxy: web publishes the
           port and the agent does what it always did (pull, `up -d --wait`,
           restore on failure);
  proxy -- the generated compose project as `shipyard init` writes it now: nginx
           in front of web, and the agent starts the new container next to the
           old one, polls its health every second, switches the proxy, drains and
           retires the old one;
  swarm -- the same project (with its proxy) with `"engine": "swarm"`: the agent
           deploys it as a stack on the test bed's single-node swarm (a second
           dockerd, testbed/swarm.py) and Swarm does a start-first, health-gated
           update, rolling back by itself when the new task never turns healthy.

The Django example (examples/django-app) is built once; v1 and v2 differ only in
APP_VERSION; v3 serves but fails its health check (HEALTHCHECK_PATH points at a
route that does not exist). Per mode, after an unmeasured first deploy of v1:
deploy v2, rollback (to v1), deploy v3 (fails). Each runs under a bounded load of
20 GET /healthz per second on loopback (2 s timeout, new connection each), from 1 s
before the agent starts to 2 s after it exits. The agent is the real one
(src/shipyard/agent/agent.py), run locally as sshd would run it, minus ssh.

Targets (proxy and swarm mode): 0 failed requests for all three; proxy mode's deploy
wall time <= 1.5 x the new container's own time-to-healthy (as the agent measured
it) + 3 s (Swarm does not report a time-to-healthy).
A benchmark, not a test: it exits 0 even when a target is missed, but says MISSED.
BENCH_AGENT_DOCKER=PATH gives the agent another docker client (e.g. a wrapper that
logs how long each docker call takes).
Run after `python -m testbed up` (the nginx:1.22 stand-in) and `source .testbed/env`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the registry and the load generator fixtures

from ruamel.yaml import YAML  # noqa: E402
from tables import text_report  # noqa: E402  # benchmarks/tables.py, beside this script

from fixtures.containers import build  # noqa: E402
from fixtures.load import Load, LoadReport  # noqa: E402
from fixtures.ports import free_port  # noqa: E402
from fixtures.registry import running_registry  # noqa: E402
from shipyard.init import init  # noqa: E402
from shipyard.tools.docker import Docker  # noqa: E402

EXAMPLE = ROOT / "examples" / "django-app"
AGENT = ROOT / "src" / "shipyard" / "agent" / "agent.py"
RESULTS = ROOT / "benchmarks" / "results" / "deploy.json"
IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.egg-info", "build", ".venv", "var", "static.dist", "*.mo")
VARIANTS = {
    "v1": "ENV APP_VERSION=v1\n",
    "v2": "ENV APP_VERSION=v2\n",
    "v3": "ENV APP_VERSION=v3 HEALTHCHECK_PATH=/no-such-health-route/\n",
}
ACTIONS = (("deploy", "deploy v2"), ("rollback", "rollback"), ("failed deploy", "deploy v3"))
RATE, TIMEOUT = 20.0, 2.0
BEFORE_S, AFTER_S = 1.0, 2.0
AGENT_CONFIG = {"deploy_timeout": 240, "lock_timeout": 30, "log_lines": 5}
MODES = ("plain", "proxy", "swarm")
SWARM_HOST = os.environ.get("SHIPYARD_SWARM_HOST", "unix:///run/shipyard-testbed-swarm.sock")
HEALTHY_RE = re.compile(r"==> (\S+) healthy after ([0-9.]+)s")
WALL_FACTOR, WALL_SLACK = 1.5, 3.0


@dataclass
class Measured:
    """One action under load: the agent's exit and time, and what the clients saw."""

    mode: str
    action: str
    exit_code: int
    wall_s: float
    time_to_healthy_s: float | None
    sent: int
    failed: int
    longest_gap_s: float
    answered_by: dict[str, int]
    failures: str


def _publish(docker: Docker, registry_host: str, work: Path, token: str) -> tuple[str, list[str]]:
    """Build the example and its three variants, push them; (compose.yaml, local tags)."""
    example = work / "django-app"
    shutil.copytree(EXAMPLE, example, ignore=IGNORE)
    init(example)
    base = f"shipyard-bench-deploy/guestbook:base-{token}"
    tags = [base]
    print("building the example ...", file=sys.stderr, flush=True)
    build(docker, example, base)
    for tag, body in VARIANTS.items():
        context = work / tag
        context.mkdir()
        (context / "Dockerfile").write_text(f"FROM {base}\n{body}")
        local = f"shipyard-bench-deploy/guestbook:{tag}-{token}"
        remote = f"{registry_host}/guestbook:{tag}"
        build(docker, context, local)
        docker.run(["tag", local, remote])
        docker.run(["push", remote], timeout=600)
        docker.run(["image", "rm", remote])
        tags += [local, remote]  # remote: what the deploys pull
    return (example / "compose.yaml").read_text(), tags


def project_files(compose_yaml: str, mode: str, port: int) -> tuple[str, str]:
    """(compose.yaml, compose.override.yaml) of one mode; plain drops the proxy."""
    yaml = YAML()
    data = yaml.load(compose_yaml)
    if mode == "plain":
        del data["services"]["proxy"]
        override = f'services:\n  web:\n    ports:\n      - "127.0.0.1:{port}:8000"\n'
    else:
        override = f'services:\n  proxy:\n    ports:\n      - "127.0.0.1:{port}:8080"\n'
    out: list[str] = []

    class _Sink:
        def write(self, text: str | bytes) -> None:
            out.append(text.decode() if isinstance(text, bytes) else text)

    yaml.dump(data, _Sink())
    return "".join(out), override


def run_agent(project: Path, command: str, docker: Docker, docker_host: str | None = None
              ) -> tuple[int, str, float]:
    """The agent as sshd runs it for the deploy key; (exit code, output, wall seconds).

    Each output line is prefixed with the seconds since the start, as it arrived, so the
    saved log (benchmarks/results/) shows where a deploy spends its time."""
    env = dict(os.environ, SSH_ORIGINAL_COMMAND=command,
               SHIPYARD_AGENT_DOCKER=os.environ.get("BENCH_AGENT_DOCKER", docker.binary))
    if docker_host is not None:  # swarm mode: the agent talks to the swarm's manager
        env["DOCKER_HOST"] = docker_host
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(AGENT), "--project", str(project)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = [f"{time.monotonic() - start:6.2f} {line.rstrip()}" for line in proc.stdout]
    code = proc.wait(timeout=900)
    return code, "\n".join(lines) + "\n", time.monotonic() - start


def under_load(project: Path, command: str, port: int, docker: Docker,
               docker_host: str | None = None) -> tuple[int, str, float, LoadReport]:
    with Load(f"http://127.0.0.1:{port}/healthz", rate=RATE, timeout=TIMEOUT) as load:
        time.sleep(BEFORE_S)  # the load's own baseline: answers before the agent starts
        code, output, wall = run_agent(project, command, docker, docker_host)
        time.sleep(AFTER_S)
    return code, output, wall, load.stop()


def wait_serving(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Load(f"http://127.0.0.1:{port}/healthz", rate=4, timeout=TIMEOUT) as load:
            time.sleep(0.6)
        seen = load.stop()
        if seen.sent and not seen.failed:
            return
    raise RuntimeError(f"nothing answers on port {port} after {timeout}s")


def measure_mode(mode: str, compose_yaml: str, registry_host: str, docker: Docker,
                 work: Path) -> list[Measured]:
    port = free_port()
    project = work / f"bench-{mode}-{secrets.token_hex(3)}"
    project.mkdir()
    compose, override = project_files(compose_yaml, mode, port)
    (project / "compose.yaml").write_text(compose)
    (project / "compose.override.yaml").write_text(override)
    (project / ".env").write_text(f"IMAGE_REPOSITORY={registry_host}/guestbook\n")
    swarm = SWARM_HOST if mode == "swarm" else None
    config = dict(AGENT_CONFIG, engine="swarm") if swarm else AGENT_CONFIG
    (project / "shipyard-agent.json").write_text(json.dumps(config))
    results = []
    try:
        print(f"[{mode}] first deploy of v1 ...", file=sys.stderr, flush=True)
        code, output, _wall = run_agent(project, "deploy v1", docker, swarm)
        if code != 0:
            raise RuntimeError(f"[{mode}] first deploy failed:\n{output}")
        wait_serving(port)
        for action, command in ACTIONS:
            print(f"[{mode}] {action} ({command}) under load ...", file=sys.stderr, flush=True)
            code, output, wall, report = under_load(project, command, port, docker, swarm)
            log = RESULTS.with_name(f"deploy-{mode}-{action.replace(' ', '-')}.log")
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(output, encoding="utf-8")
            healthy = HEALTHY_RE.findall(output)
            results.append(Measured(
                mode=mode, action=action, exit_code=code, wall_s=round(wall, 2),
                time_to_healthy_s=float(healthy[-1][1]) if healthy else None,
                sent=report.sent, failed=len(report.failed),
                longest_gap_s=round(report.longest_gap_s, 2),
                answered_by=dict(sorted(report.versions().items())),
                failures=report.describe_failures()))
            wait_serving(port)
    finally:
        if swarm:
            for service in ("proxy", "web"):  # what the proxy and app saw, for the record
                try:  # `service logs` of a service with removed tasks can hang: bounded
                    logs = subprocess.run(
                        [docker.binary, "--host", SWARM_HOST, "service", "logs", "--timestamps",
                         "--tail", "300", f"{project.name}_{service}"], capture_output=True,
                        text=True, check=False, timeout=60)
                except subprocess.TimeoutExpired:
                    continue
                RESULTS.with_name(f"deploy-swarm-{service}-service.log").write_text(
                    logs.stdout + logs.stderr, encoding="utf-8")
            remove_stack(docker, project.name)
            pulled = subprocess.run(  # what the swarm pulled from the throwaway registry
                [docker.binary, "--host", SWARM_HOST, "images", "--format",
                 "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=False)
            refs = [r for r in pulled.stdout.split() if r.startswith(registry_host + "/")]
            if refs:
                subprocess.run([docker.binary, "--host", SWARM_HOST, "image", "rm", "--force",
                                *refs], capture_output=True, check=False)
        else:
            docker.run(["compose", "--project-directory", str(project), "down", "--volumes",
                        "--remove-orphans", "--timeout", "5"], env={"IMAGE_TAG": "down"},
                       check=False, timeout=180)
    return results


def remove_stack(docker: Docker, stack: str) -> None:
    """`docker stack rm` on the swarm, then its volume once its containers are gone."""
    swarm = [docker.binary, "--host", SWARM_HOST]
    subprocess.run([*swarm, "stack", "rm", stack], capture_output=True, check=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and subprocess.run(
            [*swarm, "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={stack}"],
            capture_output=True, text=True, check=False).stdout.strip():
        time.sleep(0.5)
    subprocess.run([*swarm, "volume", "rm", f"{stack}_data"], capture_output=True, check=False)


def report(results: list[Measured], docker: Docker) -> dict[str, Any]:
    proxy = {m.action: m for m in results if m.mode == "proxy"}
    targets: list[dict[str, Any]] = []
    for mode in ("proxy", "swarm"):
        measured = {m.action: m for m in results if m.mode == mode}
        for action, _command in ACTIONS if measured else ():
            m = measured.get(action)
            targets.append({"name": f"{action}: failed requests", "rule": f"{mode} mode: 0",
                            "value": m.failed if m else None,
                            "passed": bool(m and m.failed == 0)})
    deploy = proxy.get("deploy")
    limit = (round(WALL_FACTOR * deploy.time_to_healthy_s + WALL_SLACK, 2)
             if deploy and deploy.time_to_healthy_s is not None else None)
    targets += [{
        "name": "deploy wall time",
        "rule": f"proxy mode: <= {WALL_FACTOR} x time-to-healthy + {WALL_SLACK:g} s"
                f" (= {limit} s)",
        "value": deploy.wall_s if deploy else None,
        "passed": bool(deploy and limit is not None and deploy.wall_s <= limit)}] if proxy else []
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "example": "examples/django-app",
        "load": {"rate_per_s": RATE, "timeout_s": TIMEOUT, "path": "/healthz",
                 "before_s": BEFORE_S, "after_s": AFTER_S},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "docker_server": docker.ping(), "docker_client": docker.client_version()},
        "results": [asdict(m) for m in results],
        "targets": targets,
        "all_targets_met": all(t["passed"] for t in targets),
    }


def table(doc: dict[str, Any]) -> str:
    """Action rows with plain and proxy side by side, then the targets."""
    by = {(r["mode"], r["action"]): r for r in doc["results"]}
    rows = [("action", "mode", "exit", "wall s", "healthy s", "sent", "failed", "longest gap s",
             "answered by")]
    for action, _command in ACTIONS:
        for mode in MODES:
            r = by.get((mode, action))
            if r is None:
                continue
            tth = "-" if r["time_to_healthy_s"] is None else f"{r['time_to_healthy_s']:.1f}"
            answered = " ".join(f"{k}:{v}" for k, v in r["answered_by"].items())
            rows.append((action, mode, str(r["exit_code"]), f"{r['wall_s']:.1f}", tth,
                         str(r["sent"]), str(r["failed"]), f"{r['longest_gap_s']:.2f}",
                         answered))
    return text_report(rows, doc["targets"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.add_argument("--mode", choices=MODES, action="append",
                        help="measure only this mode (repeatable; default all three)")
    parser.add_argument("--agent", type=Path, default=None,
                        help="the agent.py to run (default: this tree's)")
    args = parser.parse_args(argv)
    global AGENT
    AGENT = (args.agent or AGENT).resolve()
    docker = Docker()
    docker.ping()
    token = secrets.token_hex(4)
    work = Path(tempfile.mkdtemp(prefix="shipyard-bench-deploy-"))
    tags: list[str] = []
    results: list[Measured] = []
    try:
        with running_registry(auth=False) as registry:
            compose_yaml, tags = _publish(docker, registry.host, work, token)
            for mode in args.mode or MODES:
                results += measure_mode(mode, compose_yaml, registry.host, docker, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        docker.remove_images(tags)
    doc = report(results, docker)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2) if args.json else table(doc))
    if not doc["all_targets_met"]:
        print("MISSED: at least one target was not met (see above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
