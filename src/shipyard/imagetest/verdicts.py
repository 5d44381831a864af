"""The running-container verdicts, pure: what was observed (health waits, HTTP answers,
`docker diff` lines, exit codes, seconds) in, a CheckResult out — tested as tables.

Why apart from runtime.py: that module starts containers and watches them (engine,
timing, cleanup); these functions only judge, and change for different reasons (what
counts as healthy, which writes are allowed, what a clean stop is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from shipyard.image.results import (
    CheckResult,
    failed,
    passed,
    skipped,
)
from shipyard.imagetest import readonly

TMPFS = ("/tmp", "/run")  # noqa: S108 — paths inside the container, as tmpfs mounts
KILLED_EXIT_CODE = 137  # 128 + SIGKILL: what `docker stop` leaves when the grace ran out
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM: terminated by the signal's default action


# -- observations and verdicts -------------------------------------------------------------

Outcome = Literal["healthy", "serving", "exited", "timeout"]


@dataclass(frozen=True)
class Wait:
    """How waiting for a container ended."""

    outcome: Outcome
    seconds: float
    status: str = ""
    """The last health status (starting, unhealthy, ...) or '' without a healthcheck."""
    exit_code: int | None = None
    last_check: str = ""
    """The last healthcheck's exit code and output, one line."""
    http: str = ""
    """The last HTTP answer or error, one line."""


def health_verdict(wait: Wait, timeout: float, log_tail: Sequence[str] = (), *,
                   log: Sequence[str] | None = None,
                   volumes: Sequence[str] = ("/data",)) -> CheckResult:
    """log is more of the container's log than the tail shown, to find a failed write in."""
    details = [f"log: {line}" for line in log_tail]
    explained = readonly.explain(log_tail if log is None else log, (*TMPFS, *volumes), volumes)
    if explained and wait.outcome in ("exited", "timeout"):
        how = (f"exited with code {wait.exit_code} after {wait.seconds:.1f} s"
               if wait.outcome == "exited" else f"was not healthy within {timeout:g} s")
        return failed("runtime.healthy", f"the hardened container {how}{explained}", details)
    if wait.outcome == "healthy":
        return passed("runtime.healthy", f"healthy after {wait.seconds:.1f} s "
                      "(read-only root, all capabilities dropped, no-new-privileges)")
    if wait.outcome == "serving":
        return skipped("runtime.healthy", "no HEALTHCHECK to wait for (see metadata.healthcheck);"
                       f" the health URL answered after {wait.seconds:.1f} s")
    hint = _log_hint(log_tail)
    if wait.outcome == "exited":
        if not hint and (cause := last_error_line(log_tail)):
            hint = f"; its log ends with `{cause}`"
        return failed("runtime.healthy",
                      f"the hardened container exited with code {wait.exit_code} after "
                      f"{wait.seconds:.1f} s, before it was healthy{hint}: read its log"
                      " (the last lines are below)", details)
    if not wait.status:
        return failed("runtime.healthy",
                      f"no HEALTHCHECK, and the health URL did not answer 2xx within {timeout:g} s"
                      f" (last answer: {wait.http or 'none'}){hint}: read its log", details)
    last = f"; last check: {wait.last_check}" if wait.last_check else ""
    return failed("runtime.healthy",
                  f"not healthy within {timeout:g} s (status {wait.status}{last}){hint}: fix "
                  "what the healthcheck reports, or raise [tool.shipyard.test] health_timeout if "
                  "the app is just slow", details)


def _log_hint(log_tail: Sequence[str]) -> str:
    text = "\n".join(log_tail).lower()
    if "read-only file system" in text:
        return " — it tried to write to the read-only root filesystem (see runtime.writes)"
    if "permission denied" in text or "operation not permitted" in text:
        return " — 'permission denied' in its log: it needs root or a capability it lacks"
    return ""


_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Warning)\b")


def last_error_line(log_tail: Sequence[str]) -> str:
    """The line that says why the app stopped: the last exception line of a traceback
    (`KeyError: 'SECRET_KEY'`), else the last line; shortened to one readable line."""
    lines = [line.strip() for line in log_tail if line.strip()]
    found = next((line for line in reversed(lines) if _EXCEPTION.match(line)),
                 lines[-1] if lines else "")
    return found if len(found) <= 160 else found[:159] + "…"


def http_verdict(url: str, status: int | None, error: str, seconds: float,
                 any_answer: bool = False) -> CheckResult:
    if status is not None and answered(status, any_answer):
        alive = " (no health route: any answer below 500 counts as alive; add one)" \
            if any_answer else ""
        return passed("runtime.http", f"GET {url} → {status} ({seconds * 1000:.0f} ms){alive}")
    got = f"HTTP {status}" if status is not None else error or "no answer"
    if any_answer:
        return failed("runtime.http",
                      f"GET {url} → {got}: the app must answer below 500 on its port, bound to "
                      "0.0.0.0 in the container")
    return failed("runtime.http",
                  f"GET {url} → {got}: the app must answer 2xx on the health path "
                  "([tool.shipyard] health_path) on its port, bound to 0.0.0.0 in the container")


def answered(status: int, any_answer: bool) -> bool:
    """What `shipyard test` accepts from the health URL: 2xx, or below 500 in the fallback."""
    return status < 500 if any_answer else 200 <= status < 300


@dataclass(frozen=True)
class Change:
    kind: str
    """A (added), C (changed) or D (deleted), as `docker diff` prints them."""
    path: str


def parse_diff(text: str) -> list[Change]:
    changes = []
    for line in text.splitlines():
        kind, _, path = line.strip().partition(" ")
        if kind in ("A", "C", "D") and path.startswith("/"):
            changes.append(Change(kind, path))
    return changes


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _leaves(changes: Sequence[Change]) -> list[Change]:
    """Drop a changed directory when a change below it is listed (docker diff lists both)."""
    paths = [c.path for c in changes]
    return [c for c in changes
            if not (c.kind == "C" and any(p.startswith(c.path.rstrip("/") + "/") for p in paths))]


_KIND = {"A": "added", "C": "changed", "D": "deleted"}


def writes_verdict(changes: Sequence[Change], writable: Sequence[str],
                   log: Sequence[str] = ()) -> CheckResult:
    """changes from `docker diff` on the writable probe; log is the probe's log, for the
    writes that failed even there (the image's files belong to root, not the app's user)."""
    outside = _leaves([c for c in changes if not _under(c.path, writable)])
    places = ", ".join(writable)
    refused = readonly.refused_writes(log, writable, [w for w in writable if w not in TMPFS])
    if refused and not outside:
        return failed("runtime.writes", *refused)
    if not outside:
        return passed("runtime.writes", f"nothing written outside tmpfs and volumes ({places})")
    first = outside[0]
    more = f" and {len(outside) - 1} more path(s)" if len(outside) > 1 else ""
    return failed(
        "runtime.writes",
        f"the app wrote {first.path} ({_KIND[first.kind]}){more} outside tmpfs and volumes "
        f"({places}): production runs it with a read-only root filesystem, where this fails — "
        "write scratch files to /tmp and data to a volume (or make the path configurable)",
        [f"{c.kind} {c.path}" for c in outside[:50]])


def is_log_file(path: str) -> bool:
    return path.startswith("/var/log/") or path.endswith(".log") or ".log." in path


def logs_verdict(changes: Sequence[Change], output_lines: int,
                 mounted: Sequence[str] | None = ()) -> CheckResult:
    """Log files from `docker diff` (the root filesystem) plus `mounted`: *.log files found
    inside tmpfs and volumes, which diff cannot see (None: could not look)."""
    files = [c.path for c in changes if c.kind != "D" and is_log_file(c.path)]
    files = [p for p in files if not any(q.startswith(p + "/") for q in files)]
    files += [p for p in mounted or () if p not in files]
    if files:
        return failed("runtime.logs",
                      f"the app writes log files ({', '.join(files[:3])}): log to "
                      "stdout/stderr instead, so `docker logs` and the logging driver get them "
                      "and the filesystem does not fill up", files)
    said = (f"{output_lines} line(s) on stdout/stderr" if output_lines
            else "nothing on stdout/stderr yet")
    note = ([] if mounted is not None else
            ["tmpfs and volumes were not searched for *.log files (no `find` in the image)"])
    return passed("runtime.logs", f"no log files written; {said}", note)


def stop_verdict(seconds: float, exit_code: int | None, grace: int) -> CheckResult:
    timing = f"{seconds:.1f} s, exit code {exit_code}"
    if exit_code == KILLED_EXIT_CODE:
        return failed("runtime.stop",
                      f"did not exit within {grace} s of SIGTERM and was killed ({timing}): make "
                      "the server PID 1 (`exec` it from the entrypoint script, JSON-form "
                      "ENTRYPOINT) and let it exit on SIGTERM")
    if exit_code in (0, SIGTERM_EXIT_CODE):
        how = "exited" if exit_code == 0 else "was terminated by the signal"
        return passed("runtime.stop", f"stopped on SIGTERM: {how} in {timing}")
    return failed("runtime.stop",
                  f"exited with code {exit_code} on SIGTERM ({timing}): a clean shutdown "
                  "exits 0; read the end of its log")


