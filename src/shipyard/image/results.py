"""A check's verdict on an image: one CheckResult per check (gathered by `shipyard test` in
its Report, imagetest/report.py; `check --image` reuses the metadata ones).

Why plain frozen data: the CLI renders it (text), CI reads it (JSON, JUnit XML),
tests assert on it by check id — none of them should re-run or re-derive anything.
A skipped check counts as passed (it did not find a problem) but says why it did
not run, so a reader can tell "clean" from "not looked at".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

Status = Literal["pass", "fail", "skip"]

GROUPS = ("metadata", "content", "structure", "smoke", "runtime", "acceptance")
"""The order checks run and are reported in."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. `reason` is one line a person can act on; `details` are
    supporting lines (paths, layers, log tail); `duration` is seconds."""

    id: str
    group: str
    passed: bool
    reason: str
    details: tuple[str, ...] = ()
    duration: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> Status:
        if self.skipped:
            return "skip"
        return "pass" if self.passed else "fail"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "group": self.group, "status": self.status,
                "passed": self.passed, "reason": self.reason, "details": list(self.details),
                "duration": round(self.duration, 3)}


def passed(check_id: str, reason: str, details: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check_id, group_of(check_id), True, reason, tuple(details))


def failed(check_id: str, reason: str, details: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check_id, group_of(check_id), False, reason, tuple(details))


def skipped(check_id: str, reason: str, details: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check_id, group_of(check_id), True, reason, tuple(details), skipped=True)


def verdict(check_id: str, ok: bool, reason: str, details: Iterable[str] = ()) -> CheckResult:
    return (passed if ok else failed)(check_id, reason, details)


def timed(make: Callable[[], CheckResult],
          clock: Callable[[], float] = time.monotonic) -> CheckResult:
    """make() with its wall time as the result's duration."""
    began = clock()
    result = make()
    return replace(result, duration=clock() - began)


def timed_all(make: Callable[[], list[CheckResult]],
              clock: Callable[[], float] = time.monotonic) -> list[CheckResult]:
    """make()'s results, the wall time on the first (the shared work happened once)."""
    began = clock()
    results = make()
    if results:
        results[0] = replace(results[0], duration=clock() - began)
    return results


def group_of(check_id: str) -> str:
    """Check ids are `group.name`; a structure test's id is `structure.<its name>`."""
    return check_id.partition(".")[0]
