"""Run a fleet plan: ask each host's agent, batch by batch, and undo on the first failure.

Why apart from the plan: this is the part with threads, clocks and ssh. It takes the
per-host request as a function (`Send`), so the tests drive it with a table of exit
statuses and check which hosts were asked what, in which order — and the CLI drives it
with the real ssh client and each host's own key.

Hosts of one batch run at once; the next batch starts only when every host of this one
answered 0, plus `wait` seconds. On the first failed batch no further host is touched,
and every host already switched — earlier batches and the successful hosts of this one,
and a host whose ssh died mid-request (it may have switched) — gets its undo request, all
at once. Then each host's `status` is read again, so the record says what really runs.

The record: one JSON line per run, appended to `<project>/.shipyard/fleet/<ENV>.jsonl`
(who, action, tag, digest, batches, per-host before/after/outcome). It lives on the side
that ran the fleet because the deploy key cannot write anything else on a host: giving it
a fifth request that stores caller-supplied text would widen the one thing the key may do.
Each host's own journal still records its part (caller key, tags, digests, outcome), so
`shipyard history ENV` rebuilds the picture from the hosts when the file is gone (a CI
runner's workspace is; the CLI prints the record too, so it is in the job log).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from shipyard.agent import agent as contract
from shipyard.deploy.client import Request
from shipyard.deploy.fleet import (
    FleetPlan,
    HostState,
    Move,
    odd_hosts,
    parse_status,
    run_outcome,
    status_problems,
)
from shipyard.errors import ShipyardError

Send = Callable[[str, Request, Callable[[str], None]], int]
"""Ask HOST's agent for REQUEST, each output line to the callback; its exit status (255:
no connection, or ssh died)."""

EXIT_NO_CONNECTION = 255
SUMMARY_DIR = Path(".shipyard") / "fleet"
_DONE = re.compile(r"^==> (?:deploy|rollback) of \S+ done in .*\(digest (sha256:[0-9a-f]{64})\)")


class FleetUnreachable(ShipyardError):
    """A host could not be read before the run: nothing was asked of any host."""

    exit_code = EXIT_NO_CONNECTION


@dataclass
class HostRecord:
    host: str
    batch: int | None
    tag_before: str | None
    digest_before: str | None
    outcome: str = "not-started"
    exit: int | None = None
    undo_exit: int | None = None
    problem: str | None = None
    """Why a host that switched counted as failed later (unhealthy after `wait`)."""
    tag_after: str | None = None
    digest_after: str | None = None


@dataclass
class FleetResult:
    plan: FleetPlan
    hosts: dict[str, HostRecord]
    outcome: str = "ok"
    exit_code: int = 0
    odd: dict[str, str] = field(default_factory=dict)
    """Hosts whose digest differs from the release's, and how (after the run)."""
    digest: str | None = None


def _ask(send: Send, host: str, request: Request, on_line: Callable[[str, str], None]) -> int:
    try:
        return send(host, request, lambda line: on_line(host, line))
    except ShipyardError as exc:  # ssh could not connect, or died
        on_line(host, f"!!! {exc}")
        return EXIT_NO_CONNECTION


def _together(calls: Sequence[tuple[str, Callable[[], int]]]) -> dict[str, int]:
    """Run the calls at once (one thread each: they wait on ssh); host -> exit status."""
    if not calls:
        return {}
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {host: pool.submit(call) for host, call in calls}
        return {host: future.result() for host, future in futures.items()}


def read_states(hosts: Sequence[str], send: Send,
                on_line: Callable[[str, str], None] | None = None) -> dict[str, HostState]:
    """Every host's `status`, at once; FleetUnreachable naming each host that did not answer."""
    lines: dict[str, list[str]] = {host: [] for host in hosts}
    guard = threading.Lock()

    def keep(host: str, line: str) -> None:
        with guard:
            lines[host].append(line)
            if on_line is not None:
                on_line(host, line)

    codes = _together([(h, partial(_ask, send, h, Request("status"), keep)) for h in hosts])
    # exit 1: the agent answered but could not read the project (a host that runs nothing
    # yet: compose has no tag to interpolate) -- a state, not an unreachable host
    bad = {h: c for h, c in codes.items() if c not in (contract.EXIT_OK, contract.EXIT_FAILED)}
    if bad:
        raise FleetUnreachable(
            "could not read " + "; ".join(
                f"{h} (exit {c}: {(lines[h] or ['no answer'])[-1]})" for h, c in bad.items())
            + "; nothing was changed on any host",
            hint="fix or remove that host, then run again")
    return {h: HostState(h, *parse_status(lines[h])) if codes[h] == contract.EXIT_OK
            else HostState(h, None, None, (lines[h] or ["unreadable"])[-1]) for h in hosts}


def read_journals(hosts: Sequence[str], send: Send) -> dict[str, list[dict[str, Any]]]:
    """Every host's journal (`history`, as much as the agent gives), parsed."""
    lines: dict[str, list[str]] = {host: [] for host in hosts}
    request = Request("history", str(contract.HISTORY_MAX))

    def keep(host: str, line: str) -> None:
        lines[host].append(line)

    codes = _together([(h, partial(_ask, send, h, request, keep)) for h in hosts])
    bad = [h for h, c in codes.items() if c != 0]
    if bad:
        raise FleetUnreachable(f"could not read the history of {', '.join(bad)}; nothing was "
                               "changed on any host")
    return {h: contract.parse_journal("\n".join(lines[h])) for h in hosts}


def execute(plan: FleetPlan, states: Mapping[str, HostState], send: Send, *,
            on_line: Callable[[str, str], None], on_event: Callable[[str], None],
            wait: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> FleetResult:
    """Run the plan (module docstring); the result before the hosts are read again."""
    records = {h: HostRecord(h, None, s.tag, s.digest) for h, s in states.items()}
    seen: list[str] = []  # the release's digest, as the agents' "done" lines name it

    def watch(host: str, line: str) -> None:
        found = _DONE.search(line)
        if found:
            seen.append(found[1])
        on_line(host, line)

    for host in plan.already:
        records[host].outcome = "already"
    switched: list[Move] = []
    for number, batch in enumerate(plan.batches, 1):
        if number > 1 and wait > 0:
            on_event(f"batch {number - 1} healthy; watching it {wait:g}s before batch {number}")
            sleep(wait)
            if _watch(plan.batches[number - 2], records, send, on_line):
                on_event(f"batch {number - 1} is no longer healthy after {wait:g}s: putting "
                         "back every host already switched")
                _undo(switched, records, send, on_line)
                break
        on_event(f"batch {number}/{len(plan.batches)}: {plan.action} {plan.tag} on "
                 + ", ".join(m.host for m in batch))
        codes = _together([(m.host, partial(_ask, send, m.host, m.request, watch))
                           for m in batch])
        failed = False
        for move in batch:
            record, code = records[move.host], codes[move.host]
            record.batch, record.exit = number, code
            record.outcome = _outcome(code)
            if code in (contract.EXIT_OK, EXIT_NO_CONNECTION):
                switched.append(move)
            failed = failed or code != contract.EXIT_OK
        if failed:
            on_event(f"batch {number} failed: putting back every host already switched")
            _undo(switched, records, send, on_line)
            break
    result = FleetResult(plan, records, digest=seen[0] if seen else None)
    result.outcome, result.exit_code = run_outcome({h: r.outcome for h, r in records.items()})
    return result


def _watch(batch: Sequence[Move], records: Mapping[str, HostRecord], send: Send,
           on_line: Callable[[str, str], None]) -> bool:
    """Read the batch's `status` again after the wait; True if any host is not healthy."""
    lines: dict[str, list[str]] = {m.host: [] for m in batch}

    def keep(host: str, line: str) -> None:
        lines[host].append(line)

    codes = _together([(m.host, partial(_ask, send, m.host, Request("status"), keep))
                       for m in batch])
    failed = False
    for host, code in codes.items():
        problems = status_problems(lines[host]) if code == contract.EXIT_OK \
            else [f"status exit {code}: {(lines[host] or ['no answer'])[-1]}"]
        if problems:
            records[host].problem = "; ".join(problems)
            on_line(host, f"!!! not healthy after the wait: {records[host].problem}")
            failed = True
    return failed


def _outcome(code: int) -> str:
    if code == contract.EXIT_OK:
        return "ok"
    if code == contract.EXIT_FAILED:
        return "failed-rolled-back"
    if code == contract.EXIT_NOT_RESTORED:
        return "failed"
    if code == EXIT_NO_CONNECTION:
        return "unknown"
    return "refused"


def _undo(switched: Sequence[Move], records: Mapping[str, HostRecord], send: Send,
          on_line: Callable[[str, str], None]) -> None:
    calls = []
    for move in switched:
        undo = move.undo
        if undo is None:
            if records[move.host].outcome == "ok":
                records[move.host].outcome = "no-previous"
            continue
        calls.append((move.host, partial(_ask, send, move.host, undo, on_line)))
    for host, code in _together(calls).items():
        records[host].undo_exit = code
        records[host].outcome = "rolled-back" if code == contract.EXIT_OK else "rollback-failed"


def settle(result: FleetResult, after: Mapping[str, HostState]) -> FleetResult:
    """Fill in what each host runs after the run, the release's digest and the odd hosts."""
    for host, state in after.items():
        result.hosts[host].tag_after, result.hosts[host].digest_after = state.tag, state.digest
    wanted = result.plan.tag if result.outcome == "ok" else None
    on_release = [s.digest for s in after.values() if s.tag == result.plan.tag and s.digest]
    result.digest = on_release[0] if on_release else result.digest
    expected = result.digest if wanted is not None else None
    result.odd = odd_hosts({h: s.digest for h, s in after.items()}, expected)
    return result


def summary_record(result: FleetResult, environment: str, who: str, started: str,
                   duration: float) -> dict[str, Any]:
    """The run's one JSON line (module docstring)."""
    return {
        "time": started, "environment": environment, "action": result.plan.action,
        "who": who, "tag": result.plan.tag, "digest": result.digest,
        "outcome": result.outcome, "duration_s": round(duration, 1),
        "batches": [[m.host for m in batch] for batch in result.plan.batches],
        "hosts": [vars(record) for record in result.hosts.values()],
        "odd_hosts": result.odd,
    }


def write_summary(project_dir: Path, environment: str, record: Mapping[str, Any]) -> Path:
    """Append the record to `<project>/.shipyard/fleet/<ENV>.jsonl`; its path."""
    path = project_dir / SUMMARY_DIR / f"{environment}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    contract.append_journal(path, dict(record))
    return path
