"""A fleet deploy as data: batches, what each host is asked, how each is undone, the record.

Why a plan: an environment of several hosts is deployed batch by batch, and a failed batch
must put every host already switched back on the version it ran before (all or nothing:
Kamal leaves a half-switched fleet, basecamp/kamal#1658). Which hosts go together, which
request each gets and which request undoes it are decided here, before anything runs,
from what each host's agent reports (`status`, `history`) — pure functions the tests read
as tables. shipyard.deploy.fleet_run executes a plan through the same restricted keys and
the same agent requests as a single host: the key grammar does not grow.

Undo is `rollback TAG_BEFORE` on each switched host: the agent accepts it because that tag
ran successfully there (it is in the host's journal), it needs no registry (the images are
still on the host), and it moves the host's own known-good stack back exactly one step.
"""

from __future__ import annotations

import getpass
import math
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shipyard.agent import agent as contract
from shipyard.deploy.client import Request
from shipyard.errors import UsageError

Action = Literal["deploy", "rollback"]

HostOutcome = Literal[
    "ok",                  # switched to the release (and kept: the fleet succeeded)
    "already",             # ran the release before the run; nothing asked of it
    "failed-rolled-back",  # its own deploy failed; its agent restored what ran before
    "failed",              # its own deploy failed and its agent could NOT restore
    "refused",             # its agent did not start (refused, lock, config, unknown tag)
    "unknown",             # ssh died mid-request: the host may or may not have switched
    "rolled-back",         # switched, then put back by the fleet after a later failure
    "rollback-failed",     # switched, and putting it back failed: look at this host
    "no-previous",         # switched, but it ran nothing before: left on the release
    "not-started",         # its batch never came
]

RESTORED: frozenset[str] = frozenset(
    {"already", "failed-rolled-back", "refused", "rolled-back", "not-started"})
"""Outcomes of a failed run that leave the host on what it ran before the run."""


@dataclass(frozen=True)
class HostState:
    """What one host's agent says runs there (`status`: its `tag:` and `digest:` lines)."""

    host: str
    tag: str | None
    digest: str | None
    problem: str | None = None
    """Why the agent could not read the state (e.g. a new host that runs nothing yet)."""


def parse_status(lines: Sequence[str]) -> tuple[str | None, str | None]:
    """The tag and digest from an agent's `status` output (its contract, in agent.py)."""
    tag = digest = None
    for line in lines:
        if line.startswith("tag: "):
            value = line.removeprefix("tag: ").strip()
            tag = None if value == "(none)" else value
        elif line.startswith("digest: "):
            value = line.removeprefix("digest: ").strip()
            digest = None if value == "unknown" else value
    return tag, digest


def status_problems(lines: Sequence[str]) -> list[str]:
    """What is wrong in an agent's `status` output: an unhealthy, restarting or dead
    container, or drift (what runs is not what the env file says). Exited containers are
    not judged: status does not say whether a one-shot exited 0."""
    problems = []
    for line in lines:
        name, _, rest = line.partition(": ")
        words = rest.split()
        if name in ("tag", "digest", "zero-downtime") or not words:
            continue
        if name == "drift":
            if rest.strip() != "none":
                problems.append(line)
        elif words[0] in ("restarting", "dead") or words[:2] == ["running", "unhealthy"]:
            problems.append(line)
    return problems


@dataclass(frozen=True)
class Move:
    """One host's part of the run: the request that switches it and the one that undoes it."""

    host: str
    request: Request
    undo: Request | None
    """None: the host ran nothing before (or already ran the release), nothing to go back to."""


@dataclass(frozen=True)
class FleetPlan:
    action: Action
    tag: str
    batches: tuple[tuple[Move, ...], ...]
    already: tuple[str, ...] = ()
    """Hosts that run the release already (a rollback leaves them alone)."""

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(move.host for batch in self.batches for move in batch)


def batch_size(total: int, batch: int | str) -> int:
    """Hosts per batch: a count (at most the fleet), or a share rounded up (at least 1)."""
    if isinstance(batch, str):
        return max(1, math.ceil(total * int(batch.rstrip("%")) / 100))
    return max(1, min(batch, total))


def split(hosts: Sequence[str], batch: int | str) -> tuple[tuple[str, ...], ...]:
    """The hosts in order, cut into batches of batch_size."""
    size = batch_size(len(hosts), batch)
    return tuple(tuple(hosts[i:i + size]) for i in range(0, len(hosts), size))


def _undo(state: HostState, release: str) -> Request | None:
    if state.tag is None or state.tag == release:
        return None
    return Request("rollback", state.tag)


def plan_deploy(states: Sequence[HostState], tag: str, batch: int | str) -> FleetPlan:
    """Every host gets `deploy TAG` (a host already on TAG too: it re-pulls and re-checks)."""
    by_host = {state.host: state for state in states}
    batches = tuple(
        tuple(Move(host, Request("deploy", tag), _undo(by_host[host], tag)) for host in group)
        for group in split([s.host for s in states], batch))
    return FleetPlan("deploy", tag, batches)


def plan_rollback(states: Sequence[HostState], journals: Mapping[str, Sequence[dict[str, Any]]],
                  tag: str | None, batch: int | str) -> FleetPlan:
    """Every host back to TAG, or without TAG to the fleet's previous release.

    The previous release is the one tag that is, on every host, either its own rollback
    target (the agent's rule: the newest good tag before the current one) or what it runs
    already. Hosts that disagree (a host that joined later, or was deployed alone) make the
    target ambiguous: then nothing runs and the error names each host's own target.
    """
    if tag is None:
        tag = fleet_rollback_target(states, journals)
    unknown = [s.host for s in states if s.tag != tag
               and tag not in contract.deployed_tags(journals.get(s.host, ()))]
    if unknown:
        raise UsageError(f"{tag} never ran successfully on {', '.join(unknown)}; nothing was "
                         "rolled back", hint=f"deploy it instead: `shipyard deploy ENV {tag}`")
    moving = [s for s in states if s.tag != tag]
    batches = tuple(
        tuple(Move(host, Request("rollback", tag), _undo(next(s for s in moving if s.host == host),
                                                         tag)) for host in group)
        for group in split([s.host for s in moving], batch)) if moving else ()
    return FleetPlan("rollback", tag, batches,
                     already=tuple(s.host for s in states if s.tag == tag))


def fleet_rollback_target(states: Sequence[HostState],
                          journals: Mapping[str, Sequence[dict[str, Any]]]) -> str:
    """The fleet's previous release (see plan_rollback), or UsageError naming each host's."""
    own = {s.host: contract.rollback_target(journals.get(s.host, ()), s.tag) for s in states}
    candidates = [t for t in dict.fromkeys(own.values()) if t is not None]
    fits = [t for t in candidates if all(own[s.host] == t or s.tag == t for s in states)]
    if len(fits) == 1:
        return fits[0]
    shown = ", ".join(f"{s.host} {s.tag or '(none)'} -> {own[s.host] or '(nothing)'}"
                      for s in states)
    raise UsageError(f"the hosts do not agree on the previous release ({shown}); nothing "
                     "was rolled back", hint="name it: `shipyard rollback ENV TAG`")


def odd_hosts(digests: Mapping[str, str | None], expected: str | None = None) -> dict[str, str]:
    """Hosts whose digest differs from `expected` (default: the one most hosts run), and why."""
    known = [d for d in digests.values() if d]
    if expected is None and known:
        expected = Counter(known).most_common(1)[0][0]
    if expected is None:
        return {host: "digest unknown" for host in digests}
    return {host: f"runs {digest or 'an unknown digest'}, not {expected}"
            for host, digest in digests.items() if digest != expected}


def caller(environ: Mapping[str, str]) -> str:
    """Who started the run, for the record: the CI user and pipeline, else user@machine."""
    if environ.get("GITLAB_USER_LOGIN"):
        where = environ.get("CI_PIPELINE_URL") or environ.get("CI_PROJECT_PATH", "")
        return f"{environ['GITLAB_USER_LOGIN']} (GitLab {where})".replace(" ()", "")
    if environ.get("GITHUB_ACTOR"):
        run = environ.get("GITHUB_RUN_ID")
        url = (f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/"
               f"{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run}") if run else ""
        return f"{environ['GITHUB_ACTOR']} (GitHub {url})".replace(" ()", "")
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def run_outcome(outcomes: Mapping[str, str]) -> tuple[str, int]:
    """The run's outcome and exit status from the hosts': ok 0, rolled-back 1, failed 6."""
    if all(o in ("ok", "already") for o in outcomes.values()):
        return "ok", contract.EXIT_OK
    if all(o in RESTORED for o in outcomes.values()):
        return "rolled-back", contract.EXIT_FAILED
    return "failed", contract.EXIT_NOT_RESTORED
