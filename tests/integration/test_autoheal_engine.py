"""Autoheal on a real engine: a container of a real compose project that turns unhealthy
is restarted within the configured time, the restart is in the project's journal as the
agent's `history` prints it, and an unhealthy container of another project is left alone.

The program runs as installed (the file `host setup` copies), as this user; the services
have no network (`network_mode: none`) and a health check that tests for a file the
container's command creates at start, so a restart heals it and `rm` breaks it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.process import Daemon, start_daemon, wait_for
from shipyard.agent import AUTOHEAL_FILE, agent_source

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOCKER = os.environ.get("SHIPYARD_DOCKER", "docker")
CHECKS, INTERVAL = 2, 1.0
SERVE = ("import signal, time; signal.signal(signal.SIGTERM, lambda *a: exit(0)); "
         "open('/tmp/healthy', 'w').close(); time.sleep(1e9)")
COMPOSE = f"""\
services:
  web:
    image: python:3.11-slim-bookworm
    network_mode: none
    command: ["python", "-c", "{SERVE}"]
    healthcheck:
      test: ["CMD", "HEALTH"]
      interval: 1s
      timeout: 5s
      retries: 1
"""


def _docker(*args: str) -> str:
    return subprocess.run([DOCKER, *args], check=True, capture_output=True, text=True).stdout


def compose_project(root: Path, name: str, health: str) -> Path:
    project = root / name
    project.mkdir()
    test = '"test", "-f", "/tmp/healthy"' if health == "file" else '"false"'
    (project / "compose.yaml").write_text(COMPOSE.replace('"HEALTH"', test))
    _docker("compose", "--project-directory", str(project), "up", "-d", "--quiet-pull")
    return project


def container(project: Path) -> str:
    return _docker("compose", "--project-directory", str(project), "ps", "-q", "web").strip()


def state(container_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(_docker("inspect", "--format", "{{json .State}}",
                                                 container_id))
    return data


def health(container_id: str) -> str:
    return str(state(container_id).get("Health", {}).get("Status"))  # type: ignore[union-attr]


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    token = uuid.uuid4().hex[:8]
    made: list[Path] = []
    try:
        made.append(compose_project(tmp_path, f"heal-{token}", "file"))
        made.append(compose_project(tmp_path, f"other-{token}", "never"))
        yield made[0], made[1]
    finally:
        for project in made:
            subprocess.run([DOCKER, "compose", "--project-directory", str(project), "down",
                            "--timeout", "1"], capture_output=True)


@pytest.fixture
def autoheal(projects: tuple[Path, Path], tmp_path: Path) -> Iterator[Daemon]:
    program = tmp_path / AUTOHEAL_FILE
    program.write_text(agent_source(AUTOHEAL_FILE))
    daemon = start_daemon([sys.executable, "-I", program, "--project", projects[0],
                           "--interval", str(INTERVAL), "--checks", str(CHECKS),
                           "--backoff", "30", "--stop-timeout", "2"],
                          tmp_path / "autoheal.log", env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        yield daemon
    finally:
        daemon.stop()


def journal(project: Path) -> list[dict[str, object]]:
    path = project / ".shipyard" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_unhealthy_container_is_restarted_journaled_and_other_projects_left_alone(
        projects: tuple[Path, Path], autoheal: Daemon, tmp_path: Path) -> None:
    mine, other = projects
    web, foreign = container(mine), container(other)
    wait_for(lambda: health(web) == "healthy", timeout=60, what="the web container healthy",
             daemon=autoheal)
    wait_for(lambda: health(foreign) == "unhealthy", timeout=60,
             what="the other project's container unhealthy", daemon=autoheal)
    started, foreign_started = state(web)["StartedAt"], state(foreign)["StartedAt"]

    broken = time.monotonic()
    _docker("exec", web, "rm", "/tmp/healthy")
    # Docker's verdict (1 s interval, 1 retry), then CHECKS looks INTERVAL apart, then the
    # restart (stop timeout 2 s): the configured time, plus slack for a busy machine.
    budget = 2 + CHECKS * INTERVAL + 2 + 10
    wait_for(lambda: bool(journal(mine)), timeout=budget, what="autoheal's journal line",
             daemon=autoheal)
    took = time.monotonic() - broken
    entry = journal(mine)[-1]
    assert (entry["action"], entry["outcome"], entry["service"]) == \
        ("autoheal", "restarted", "web"), entry
    assert state(web)["StartedAt"] != started and took <= budget
    wait_for(lambda: health(web) == "healthy", timeout=30, what="the restarted container healthy")

    # The agent's own `history` (what `shipyard history ENV` runs on the host) shows it.
    agent = tmp_path / "agent.py"
    agent.write_text(agent_source())
    shown = subprocess.run([sys.executable, "-I", str(agent), "--project", str(mine)],
                           env={"SSH_ORIGINAL_COMMAND": "history"}, capture_output=True,
                           text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert '"action": "autoheal"' in shown.stdout and '"outcome": "restarted"' in shown.stdout

    # Meanwhile the other project's container has been unhealthy all along: untouched.
    assert state(foreign)["StartedAt"] == foreign_started and health(foreign) == "unhealthy"
    assert not (other / ".shipyard").exists()
    assert "restarted" in autoheal.log_text() and "other-" not in autoheal.log_text()
