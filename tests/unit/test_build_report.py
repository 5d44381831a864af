"""shipyard-build.json: what two builds of one commit must agree on, and what they may not."""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.image.buildreport import BuildReport


def _report(started_at: str, total: float) -> BuildReport:
    return BuildReport(
        image_id="sha256:" + "a" * 64, repository="registry.example.com/app", unique_tag="main-1",
        tags=["main-1", "main"], refs=["registry.example.com/app:main-1"],
        labels={"org.opencontainers.image.created": "2026-11-20T10:00:00Z"}, build_args={},
        base={"name": "python:3.11-slim-bookworm", "digest": None}, local=False,
        provider="gitlab", started_at=started_at, durations={"total_s": total},
        sbom="shipyard-sbom.cdx.json", packages=42, builder="buildah")


def test_wall_clock_facts_live_apart_and_two_runs_compare_equal() -> None:
    first, second = _report("2026-11-30T07:00:00Z", 61.2), _report("2026-11-30T07:05:00Z", 58.9)
    assert first.comparable() == second.comparable()
    assert first.to_json() != second.to_json()
    data = json.loads(first.to_json())
    assert data["run"] == {"started_at": "2026-11-30T07:00:00Z", "durations": {"total_s": 61.2}}
    assert "started_at" not in data and "durations" not in data


def test_report_round_trips_and_reads_the_older_flat_layout(tmp_path: Path) -> None:
    report = _report("2026-11-30T07:00:00Z", 61.2)
    path = tmp_path / "shipyard-build.json"
    path.write_text(report.to_json())
    assert BuildReport.load(path) == report
    flat = {**report.comparable(), "started_at": report.started_at,
            "durations": report.durations}
    path.write_text(json.dumps(flat))
    assert BuildReport.load(path) == report
