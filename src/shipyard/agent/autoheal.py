#!/usr/bin/env python3
"""Shipyard autoheal: restart the containers of ONE compose project that stay unhealthy.

Why it exists: plain Docker only *reports* a failing health check; nothing restarts
the container (``restart: unless-stopped`` acts on exits, not on ``unhealthy``). Seed
003 runs willfarrell/autoheal for this, which needs the docker socket mounted into a
container: root-equivalent power inside an image that an attacker of the web app is
one step away from. This is the same job as a tiny program on the host, run by the
deploy user (who can use docker anyway), that only looks at its own project. Swarm
does not need it: Swarm replaces unhealthy tasks by itself.

Standard library only, python3 >= 3.9, one file, like the agent next to it; it imports
nothing from the agent (the journal format below is the agent's, see agent.py).

CONTRACT

Invocation (``shipyard host setup`` installs it as a ``systemd --user`` unit or a cron
line of the deploy user)::

    python3 autoheal.py --project /home/deploy/app-production
        [--interval 30] [--checks 3] [--backoff 60] [--max-backoff 1800] [--stop-timeout 10]

Containers of the project: the running containers whose label
``com.docker.compose.project.working_dir`` is ``--project`` (what docker compose sets
for ``--project-directory``): never a container of another project, even one with the
same compose project name elsewhere. The docker client is ``docker`` on PATH, or
SHIPYARD_AGENT_DOCKER.

Every ``--interval`` seconds: a container Docker reports ``unhealthy`` in ``--checks``
consecutive looks is restarted (``docker restart -t STOP``), unless its service is
backing off: after a restart the service's next restart waits ``--backoff`` seconds,
doubling with each further restart up to ``--max-backoff``; the count starts over once
the service has been healthy for ``--max-backoff`` seconds. While a deploy holds
``.shipyard/deploy.lock`` nothing is restarted (the agent judges health during a
deploy); a restart holds a shared lock on it, so a deploy waits for the restart.

Each restart is one line in the agent's journal ``<project>/.shipyard/journal.jsonl``
(so ``shipyard history`` shows it)::

    {"time": "...Z", "action": "autoheal", "caller": "autoheal", "service": "web",
     "container": "app-web-1", "image": "registry/app:v2",
     "outcome": "restarted" | "restart-failed", "duration_s": 10.4,
     "detail": "unhealthy for 3 checks 30s apart; restart 1 of web, next no sooner than 60s"}

The outcomes are never ``ok``, so autoheal lines do not move rollback's stack of good
tags. One instance per project: ``.shipyard/autoheal.lock`` (flock); a second one
exits 0 at once, so a cron line may start it every minute. Progress goes to stdout,
one line per event. SIGTERM/SIGINT end it cleanly.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATE_DIR = ".shipyard"
JOURNAL_NAME = "journal.jsonl"
DEPLOY_LOCK = "deploy.lock"
INSTANCE_LOCK = "autoheal.lock"
DOCKER_ENV = "SHIPYARD_AGENT_DOCKER"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
SERVICE_LABEL = "com.docker.compose.service"
QUERY_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    interval: float = 30.0
    checks: int = 3
    backoff: float = 60.0
    max_backoff: float = 1800.0
    stop_timeout: int = 10


@dataclass(frozen=True)
class Seen:
    """One running container of the project, as ``docker ps`` shows it."""

    id: str
    service: str
    name: str
    image: str
    health: str  # "healthy", "unhealthy", "starting", or "" (no health check)


@dataclass
class Tracker:
    """Who has been unhealthy how often, and who is backing off. Pure: time comes in."""

    settings: Settings
    streaks: dict[str, int] = field(default_factory=dict)  # container id -> unhealthy looks
    restarts: dict[str, int] = field(default_factory=dict)  # service -> restarts in a row
    last_restart: dict[str, float] = field(default_factory=dict)  # service -> when
    healthy_since: dict[str, float] = field(default_factory=dict)  # service -> when

    def due(self, seen: Iterable[Seen], now: float) -> list[Seen]:
        """Record one look at the project; return the containers to restart now."""
        seen = list(seen)
        self.streaks = {c.id: self.streaks.get(c.id, 0) + 1 for c in seen
                        if c.health == "unhealthy"}
        for container in seen:
            if container.health == "healthy":
                since = self.healthy_since.setdefault(container.service, now)
                if now - since >= self.settings.max_backoff:
                    self.restarts.pop(container.service, None)
            else:
                self.healthy_since.pop(container.service, None)
        return [c for c in seen if self.streaks.get(c.id, 0) >= self.settings.checks
                and now >= self.not_before(c.service)]

    def not_before(self, service: str) -> float:
        if service not in self.last_restart:
            return 0.0
        return self.last_restart[service] + self.wait(self.restarts.get(service, 0))

    def wait(self, restarts: int) -> float:
        """The back-off after `restarts` restarts in a row: backoff, 2x, 4x, ... max."""
        if restarts <= 0:
            return 0.0
        return float(min(self.settings.backoff * 2 ** (restarts - 1), self.settings.max_backoff))

    def restarted(self, container: Seen, now: float) -> int:
        """Note a restart; return how many restarts in a row the service has had."""
        self.streaks.pop(container.id, None)
        self.restarts[container.service] = self.restarts.get(container.service, 0) + 1
        self.last_restart[container.service] = now
        return self.restarts[container.service]


def parse_ps(text: str) -> list[Seen]:
    """``docker ps --format`` lines (ID, service, name, image, status) to Seen."""
    found = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        status = parts[4]
        health = ""
        for word in ("unhealthy", "healthy", "health: starting"):
            if f"({word})" in status:
                health = word.replace("health: ", "")
                break
        found.append(Seen(parts[0], parts[1], parts[2], parts[3], health))
    return found


def ps_argv(docker: str, project: Path) -> list[str]:
    return [docker, "ps", "--no-trunc", "--filter", f"label={WORKING_DIR_LABEL}={project}",
            "--format", "{{.ID}}\t{{.Label \"" + SERVICE_LABEL + "\"}}\t{{.Names}}\t"
            "{{.Image}}\t{{.Status}}"]


def now_rfc3339() -> str:
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")  # noqa: UP017 - python 3.9
    return stamp.replace("+00:00", "Z")


def append_journal(path: Path, entry: dict[str, Any]) -> None:
    """One JSON line with a single O_APPEND write, then fsync: as the agent writes."""
    path.parent.mkdir(mode=0o750, exist_ok=True)
    data = (json.dumps(entry, ensure_ascii=True, separators=(", ", ": ")) + "\n").encode()
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def journal_entry(container: Seen, ok: bool, duration: float, count: int, settings: Settings,
                  wait: float, problem: str = "") -> dict[str, Any]:
    detail = (f"unhealthy for {settings.checks} checks {settings.interval:g}s apart; restart "
              f"{count} of {container.service}, next no sooner than {wait:g}s")
    return {"time": now_rfc3339(), "action": "autoheal", "caller": "autoheal",
            "service": container.service, "container": container.name,
            "image": container.image, "outcome": "restarted" if ok else "restart-failed",
            "duration_s": round(duration, 1),
            "detail": detail if ok else f"{detail}; docker restart failed: {problem}"}


class Healer:
    """The loop: look, decide (Tracker), restart, journal."""

    def __init__(self, project: Path, settings: Settings, docker: str) -> None:
        self.project = project
        self.settings = settings
        self.docker = docker
        self.tracker = Tracker(settings)
        self.state = project / STATE_DIR
        self.stopping = False

    def run(self) -> int:
        print(f"autoheal: watching {self.project} every {self.settings.interval:g}s "
              f"(restart after {self.settings.checks} unhealthy checks)", flush=True)
        while not self.stopping:
            self.tick(time.monotonic())
            deadline = time.monotonic() + self.settings.interval
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.5, self.settings.interval))  # the check interval itself
        return 0

    def tick(self, now: float) -> None:
        try:
            proc = subprocess.run(ps_argv(self.docker, self.project), capture_output=True,
                                  text=True, timeout=QUERY_TIMEOUT, check=False,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"autoheal: docker ps failed: {exc}", flush=True)
            return
        if proc.returncode != 0:
            print(f"autoheal: docker ps failed: {proc.stderr.strip()[-200:]}", flush=True)
            return
        for container in self.tracker.due(parse_ps(proc.stdout), now):
            self.restart(container, now)

    def restart(self, container: Seen, now: float) -> None:
        self.state.mkdir(mode=0o750, exist_ok=True)
        fd = os.open(str(self.state / DEPLOY_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"autoheal: {container.name} is unhealthy, but a deploy is running: "
                      "leaving it to the deploy", flush=True)
                return
            started = time.monotonic()
            proc = subprocess.run([self.docker, "restart", "-t", str(self.settings.stop_timeout),
                                   container.id], capture_output=True, text=True, check=False,
                                  timeout=self.settings.stop_timeout + QUERY_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
            count = self.tracker.restarted(container, now)
            wait = self.tracker.wait(count)
            entry = journal_entry(container, proc.returncode == 0, time.monotonic() - started,
                                  count, self.settings, wait, proc.stderr.strip()[-200:])
            print(f"autoheal: {container.name}: {entry['outcome']} ({entry['detail']})",
                  flush=True)
            try:
                append_journal(self.state / JOURNAL_NAME, entry)
            except OSError as exc:
                print(f"autoheal: cannot write the journal: {exc}", flush=True)
        finally:
            os.close(fd)


def single_instance(project: Path) -> int | None:
    """The instance lock's fd, or None when another autoheal watches this project."""
    state = project / STATE_DIR
    state.mkdir(mode=0o750, exist_ok=True)
    fd = os.open(str(state / INSTANCE_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="autoheal.py", description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, help="the compose project directory")
    parser.add_argument("--interval", type=float, default=Settings.interval)
    parser.add_argument("--checks", type=int, default=Settings.checks)
    parser.add_argument("--backoff", type=float, default=Settings.backoff)
    parser.add_argument("--max-backoff", type=float, default=Settings.max_backoff)
    parser.add_argument("--stop-timeout", type=int, default=Settings.stop_timeout)
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.checks < 1 or args.backoff < 0 or args.stop_timeout < 0 \
            or args.max_backoff < args.backoff:
        parser.error("need --interval > 0, --checks >= 1, 0 <= --backoff <= --max-backoff")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    project = Path(args.project)
    if not project.is_absolute() or not project.is_dir():
        print(f"autoheal: --project {project} is not an absolute directory", file=sys.stderr)
        return 2
    lock = single_instance(project)
    if lock is None:
        return 0
    settings = Settings(args.interval, args.checks, args.backoff, args.max_backoff,
                        args.stop_timeout)
    healer = Healer(project, settings, os.environ.get(DOCKER_ENV) or "docker")

    def stop(_signum: int, _frame: object) -> None:
        healer.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return healer.run()


if __name__ == "__main__":
    sys.exit(main())
