"""What runs versus what the env file says, and which build is newer: pure logic.

Why: ``status`` must report the running containers (not ``.env``), and a deploy must
never put an older build over a newer one (issue 11, faults 2 and 6). Both rest on
these small functions; the flows are in test_agent_flow.py and test_agent_e2e.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shipyard.agent.agent import RunningImage, build_time, drift, parse_time


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-01-31T12:00:00Z", datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)),
    ("2025-01-31T12:00:00.123456789Z", datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)),
    ("2025-01-31T12:00:00.5+00:00", datetime(2025, 1, 31, 12, 0, 0, 500000, tzinfo=UTC)),
    ("2025-01-31T14:00:00+02:00", datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)),
    ("2025-01-31T12:00:00-0130", datetime(2025, 1, 31, 13, 30, 0, tzinfo=UTC)),
    ("2025-01-31 12:00:00", datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)),
    ("2025-02-30T12:00:00Z", None),
    ("yesterday", None),
    ("", None),
    (None, None),
    (1738324800, None),
], ids=repr)
def test_parse_time(text: object, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def image(label: str | None = None, created: str | None = None) -> dict[str, Any]:
    labels = {"org.opencontainers.image.created": label} if label else {}
    return {"Id": "sha256:x", "Created": created, "Config": {"Labels": labels}}


@pytest.mark.parametrize(("info", "expected"), [
    (image("2025-01-02T00:00:00Z", "2025-01-05T00:00:00Z"), "2025-01-02T00:00:00Z"),
    (image(None, "2025-01-05T00:00:00.1Z"), "2025-01-05T00:00:00.1Z"),
    (image("not a time", "2025-01-05T00:00:00Z"), "2025-01-05T00:00:00Z"),
    (image(None, None), None),
    ({"Config": None}, None),
], ids=["label-wins", "created", "bad-label", "neither", "no-config"])
def test_build_time_prefers_the_oci_label(info: dict[str, Any], expected: str | None) -> None:
    found = build_time(info)
    assert (found[1] if found else None) == expected


def test_build_times_compare_across_zones() -> None:
    a = build_time(image("2025-01-02T01:00:00+02:00"))
    b = build_time(image("2025-01-01T23:30:00Z"))
    assert a is not None and b is not None and a[0] - b[0] == timedelta(minutes=-30)


WEB = "reg:5000/app"


@pytest.mark.parametrize(("running", "configured", "ids", "problems"), [
    ([RunningImage("web", f"{WEB}:v1", "sha256:1")], {"web": f"{WEB}:v1"},
     {f"{WEB}:v1": "sha256:1"}, []),
    ([RunningImage("web", f"{WEB}:v1", "sha256:1")], {"web": f"{WEB}:v2"},
     {f"{WEB}:v2": "sha256:2"}, [f"web runs {WEB}:v1, the env file says {WEB}:v2"]),
    ([RunningImage("web", f"{WEB}:main", "sha256:old")], {"web": f"{WEB}:main"},
     {f"{WEB}:main": "sha256:new"},
     [f"web runs an earlier image of {WEB}:main (sha256:old; {WEB}:main is sha256:new now)"]),
    ([RunningImage("web", f"{WEB}:v1", "sha256:1")], {"web": f"{WEB}:v1"}, {}, []),
    ([RunningImage("db", "postgres:16", "sha256:p")], {"web": f"{WEB}:v1"}, {}, []),
    ([], {"web": f"{WEB}:v1"}, {}, []),
], ids=["same", "other-tag", "mutable-tag-repulled", "image-gone", "unmanaged", "nothing-runs"])
def test_drift(running: list[RunningImage], configured: dict[str, str], ids: dict[str, str],
               problems: list[str]) -> None:
    assert drift(running, configured, ids) == problems
