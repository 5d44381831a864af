"""What `shipyard test` returns: its CheckResults for one image, in run order.

Why plain frozen data: the CLI renders it (text), CI reads it (JSON, JUnit XML),
tests assert on it by check id — none of them should re-run or re-derive anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.image.results import CheckResult, Status


@dataclass(frozen=True)
class Report:
    """All results for one image, in run order."""

    image: str
    image_id: str
    results: tuple[CheckResult, ...] = ()
    duration: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def skips(self) -> list[CheckResult]:
        return [r for r in self.results if r.skipped]

    def get(self, check_id: str) -> CheckResult:
        for result in self.results:
            if result.id == check_id:
                return result
        raise KeyError(f"no check {check_id!r} in the report (have: {self.ids()})")

    def ids(self) -> list[str]:
        return [r.id for r in self.results]

    def counts(self) -> dict[str, int]:
        statuses: Sequence[Status] = [r.status for r in self.results]
        return {"total": len(statuses), "passed": statuses.count("pass"),
                "failed": statuses.count("fail"), "skipped": statuses.count("skip")}

    def to_dict(self) -> dict[str, Any]:
        return {"image": self.image, "image_id": self.image_id, "passed": self.passed,
                "summary": self.counts(), "duration": round(self.duration, 3),
                "notes": list(self.notes), "checks": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
