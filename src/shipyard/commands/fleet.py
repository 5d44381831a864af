"""`shipyard deploy|rollback|status|history ENV` when ENV is a fleet: run, render, record.

Each host is reached exactly as a single environment is (its own key and known_hosts,
the same four agent requests); its output lines stream to stdout prefixed `[host]`, and
what shipyard says itself (batches, the per-host table, odd digests) goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
from rich.console import Console

from shipyard.deploy.client import Request, make_request, send
from shipyard.deploy.fleet import caller, odd_hosts, plan_deploy, plan_rollback
from shipyard.deploy.fleet_run import (
    FleetResult,
    Send,
    execute,
    read_journals,
    read_states,
    settle,
    summary_record,
    write_summary,
)
from shipyard.deploy.target import FleetSpec, materialize
from shipyard.errors import ShipyardError, UsageError

err = Console(stderr=True)
_print_lock = threading.Lock()


class FleetExit(ShipyardError):
    """A fleet run that did not end ok; the CLI exits with its status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def label(url: str) -> str:
    return url.removeprefix("ssh://")


def _echo(host: str, line: str) -> None:
    with _print_lock:
        click.echo(f"[{host}] {line}")
        sys.stdout.flush()


@contextmanager
def _connections(fleet: FleetSpec) -> Iterator[Send]:
    """A Send over each host's own materialized key and known_hosts."""
    with ExitStack() as stack:
        credentials = {label(spec.target.url): stack.enter_context(materialize(spec))
                       for spec in fleet.hosts}

        def ask(host: str, request: Request, on_output: Callable[[str], None]) -> int:
            return send(credentials[host], request, on_output)

        yield ask


def run_fleet(project_dir: Path, fleet: FleetSpec, verb: str, argument: str | None) -> None:
    """One fleet request; raises FleetExit (the run's exit status) unless it ended ok."""
    request = make_request(verb, argument, allow_tags=fleet.allow_tags)
    hosts = [label(spec.target.url) for spec in fleet.hosts]
    err.print(f"[bold]{fleet.name}[/]: {' '.join(request.words)} on {len(hosts)} hosts "
              f"({', '.join(hosts)})", highlight=False)
    with _connections(fleet) as ask:
        if verb == "status":
            _status(hosts, ask)
        elif verb == "history":
            _history(project_dir, fleet.name, hosts, ask, request)
        else:
            _change(project_dir, fleet, hosts, ask, request)


def _status(hosts: list[str], ask: Send) -> None:
    states = read_states(hosts, ask, on_line=_echo)
    odd = odd_hosts({h: s.digest for h, s in states.items()})
    for host, state in states.items():
        flag = f"  <-- DIFFERS: {odd[host]}" if host in odd else ""
        what = f"unreadable ({state.problem})" if state.problem else \
            f"{state.tag or '(none)'} {state.digest or 'unknown'}"
        err.print(f"{host}: {what}{flag}",
                  highlight=False, markup=False)
    if odd:
        err.print(f"[yellow]{len(odd)} of {len(hosts)} hosts run a different digest[/]",
                  highlight=False)


def _history(project_dir: Path, environment: str, hosts: list[str], ask: Send,
             request: Request) -> None:
    journals = read_journals(hosts, ask)
    count = int(request.argument or 10)
    last: dict[str, str | None] = {}
    for host, entries in journals.items():
        for entry in entries[-count:]:
            _echo(host, json.dumps(entry, ensure_ascii=True, separators=(", ", ": ")))
        done = [e for e in entries if e.get("outcome") != "started"]
        last[host] = done[-1].get("digest_after") if done else None
    odd = odd_hosts(last)
    for host in hosts:
        flag = f"  <-- DIFFERS: {odd[host]}" if host in odd else ""
        err.print(f"{host}: last digest {last[host] or 'unknown'}{flag}", highlight=False,
                  markup=False)
    path = project_dir / ".shipyard" / "fleet" / f"{environment}.jsonl"
    if path.is_file():
        lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        err.print(f"fleet runs recorded in {path}:", highlight=False, markup=False)
        for line in lines[-count:]:
            click.echo(f"[fleet] {line}")


def _change(project_dir: Path, fleet: FleetSpec, hosts: list[str], ask: Send,
            request: Request) -> None:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.monotonic()
    states = read_states(hosts, ask)
    if request.verb == "deploy":
        if request.argument is None:
            raise UsageError(f"{fleet.name} is a fleet: name the tag to deploy",
                             hint=f"`shipyard deploy {fleet.name} TAG`; without a tag each "
                                  "host would redeploy whatever it runs")
        plan = plan_deploy(list(states.values()), request.argument, fleet.batch)
    else:
        journals = read_journals(hosts, ask)
        plan = plan_rollback(list(states.values()), journals, request.argument, fleet.batch)
    for host in plan.already:
        err.print(f"{host}: runs {plan.tag} already", highlight=False, markup=False)
    result = execute(plan, states, ask, on_line=_echo, wait=fleet.wait,
                     on_event=lambda text: err.print(f"[bold]==> {text}[/]", highlight=False))
    settle(result, read_states(hosts, ask))
    record = summary_record(result, fleet.name, caller(os.environ), started,
                            time.monotonic() - t0)
    path = write_summary(project_dir, fleet.name, record)
    _report(result)
    err.print(f"summary recorded in {path}", highlight=False, markup=False)
    click.echo("fleet-summary: " + json.dumps(record, ensure_ascii=True))
    if result.exit_code != 0:
        raise FleetExit(f"{fleet.name}: {plan.action} {plan.tag} {result.outcome} "
                        f"(exit status {result.exit_code})", result.exit_code)


def _report(result: FleetResult) -> None:
    for host, record in result.hosts.items():
        flag = f"  <-- DIFFERS: {result.odd[host]}" if host in result.odd else ""
        err.print(f"{host}: {record.outcome} (ran {record.tag_before or 'nothing'}; runs "
                  f"{record.tag_after or 'nothing'} {record.digest_after or 'unknown'}){flag}",
                  highlight=False, markup=False)
