"""Zero-downtime deploys end to end: real sshd, registry and engine, under load.

Why: "no request fails during a deploy" is the promise of the proxy that `shipyard
init` now writes into compose.yaml; only traffic that keeps arriving while the real
agent deploys, rolls back and refuses a bad version can show it. The project is the
generated one (nginx in front of web, only the proxy publishes a port); a bounded
load (tests/fixtures/load.py: 20 GET/s, 2 s timeout) runs through each action and
every answer is counted. v3 serves but fails its health check: it must never
answer a request, and v1 must keep serving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_agent_e2e import (  # the module's sshd and registry, one per module
    Deployment,
    Published,
    deployed_project,
    e2e_registry,
    e2e_sshd,
    published_variants,
)

from fixtures.keys import KeyPair
from fixtures.load import Load, LoadReport
from fixtures.registry import Registry
from fixtures.sshd import Sshd
from shipyard.tools.docker import Docker

pytestmark = [pytest.mark.docker, pytest.mark.ssh, pytest.mark.slow]
__all__ = ["e2e_registry", "e2e_sshd"]  # fixtures, used by name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VARIANTS = {
    "v1": "ENV APP_VERSION=v1\n",
    "v2": "ENV APP_VERSION=v2\n",
    # Serves like the others, but its health check asks a route that does not exist.
    "v3": "ENV APP_VERSION=v3 HEALTHCHECK_PATH=/no-such-health-route/\n",
}
# Only the proxy publishes a port; a short start period so v3 is given up in seconds.
OVERRIDE = """\
services:
  proxy:
    ports:
      - "127.0.0.1:{port}:8080"
  web:
    healthcheck:
      start_period: 5s
      retries: 3
"""


@pytest.fixture(scope="module")
def published_zd(docker_engine: Docker, e2e_registry: Registry,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    with published_variants(docker_engine, e2e_registry, tmp_path_factory.mktemp("agent-zd"),
                            "shipyard-agent-zd", VARIANTS) as (example, digests):
        yield Published(e2e_registry, digests, (example / "compose.yaml").read_text())


@pytest.fixture
def proxied(e2e_sshd: Sshd, client_key: KeyPair, published_zd: Published,
            docker_engine: Docker, free_port: int) -> Iterator[Deployment]:
    """The generated compose project (with its proxy) on the "host", behind the agent."""
    with deployed_project(e2e_sshd, client_key, published_zd, OVERRIDE, docker_engine,
                          free_port, "guestbook-zd") as deployed:
        yield deployed


def _under_load(d: Deployment, *command: str) -> tuple[int, str, LoadReport]:
    with Load(f"http://127.0.0.1:{d.port}/healthz") as load:
        time.sleep(1.0)  # answers before the agent starts: the load itself works
        result = d.ssh(*command)
        time.sleep(1.5)  # and after it ends
    report = load.stop()
    assert report.sent >= 40
    return result.returncode, result.stdout + result.stderr, report


def _web_containers(d: Deployment) -> list[str]:
    out = d.docker.run(["compose", "--project-directory", str(d.project), "ps", "-q", "web"],
                       env={"IMAGE_TAG": "x"}).stdout
    return out.split()


def test_deploy_rollback_and_failed_deploy_lose_no_request(proxied: Deployment) -> None:
    d = proxied
    d.ok("deploy", "v1")
    assert d.version() == "v1"
    status = d.ok("status").stdout.splitlines()
    assert status[-1] == "zero-downtime: yes (nginx service proxy in front of web)"

    code, out, seen = _under_load(d, "deploy", "v2")
    assert code == 0, out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}"
    assert set(seen.versions()) == {"v1", "v2"}  # switched during the window
    assert "healthy after" in out and "draining the old workers" in out
    assert d.version() == "v2" and len(_web_containers(d)) == 1

    code, out, seen = _under_load(d, "rollback")
    assert code == 0, out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}"
    assert d.version() == "v1" and len(_web_containers(d)) == 1

    code, out, seen = _under_load(d, "deploy", "v3")
    assert code == 1, out
    assert seen.failed == [], f"{seen.describe_failures()}\n{out}"
    assert "v3" not in seen.versions(), "a version that failed its check got requests"
    assert "it never received a request" in out
    assert d.version() == "v1" and len(_web_containers(d)) == 1
    summary = [(e["action"], e["tag_requested"], e["tag_after"], e["outcome"])
               for e in d.journal()]
    assert summary == [("deploy", "v1", "v1", "ok"), ("deploy", "v2", "v2", "ok"),
                       ("rollback", "v1", "v1", "ok"),
                       ("deploy", "v3", "v1", "failed-rolled-back")]
