"""Labels and their build args as tables: what each kind of build says about itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shipyard.image.labels import (
    LABEL_BUILD_ARGS,
    compute_labels,
    label_build_args,
    labels_without_build_args,
    rfc3339,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
COMMIT_TIME = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "e" * 64
OCI = "org.opencontainers.image"

BASE: dict[str, Any] = {"revision": SHA, "created": COMMIT_TIME, "version": "1.2.3"}

CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("minimal", {},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA, f"{OCI}.version": "1.2.3"}),
    ("ci-release",
     {"source": "https://gitlab.example.com/acme/app.git", "title": "app",
      "url": "https://app.example.com", "base_name": "docker.io/library/python:3.12-slim",
      "base_digest": DIGEST, "build_url": "https://gitlab.example.com/acme/app/-/pipelines/7"},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA,
      f"{OCI}.source": "https://gitlab.example.com/acme/app.git", f"{OCI}.version": "1.2.3",
      f"{OCI}.title": "app", f"{OCI}.url": "https://app.example.com",
      f"{OCI}.base.name": "docker.io/library/python:3.12-slim", f"{OCI}.base.digest": DIGEST,
      "org.shipyard.build.url": "https://gitlab.example.com/acme/app/-/pipelines/7"}),
    ("local-build", {"version": "local-main-0123456-20261126T130000Z", "local": True},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA,
      f"{OCI}.version": "local-main-0123456-20261126T130000Z",
      "org.shipyard.build.local": "true"}),
    ("credentials-stripped", {"source": "https://oauth2:glpat-secret@gitlab.example.com/a/b.git"},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA,
      f"{OCI}.source": "https://gitlab.example.com/a/b.git", f"{OCI}.version": "1.2.3"}),
    ("empty-values-left-out", {"source": "", "title": "", "build_url": None},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA, f"{OCI}.version": "1.2.3"}),
    ("created-converted-to-utc",
     {"created": datetime(2026, 11, 26, 14, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))},
     {f"{OCI}.created": "2026-11-26T12:00:00Z", f"{OCI}.revision": SHA, f"{OCI}.version": "1.2.3"}),
]


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_compute_labels(overrides: dict[str, Any], expected: dict[str, str]) -> None:
    assert compute_labels(**{**BASE, **overrides}) == expected


BAD = [
    ("naive-created", {"created": datetime(2026, 11, 26, 12, 0)}, "timezone-aware"),
    ("digest-without-algorithm", {"base_digest": "e" * 64}, "sha256"),
    ("digest-too-short", {"base_digest": "sha256:abc"}, "sha256"),
]


@pytest.mark.parametrize(("overrides", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_compute_labels_rejects(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_labels(**{**BASE, **overrides})


FULL = compute_labels(**BASE, source="https://example.com/a.git", title="app",
                      url="https://app.example.com", base_name="python:3.12-slim",
                      base_digest=DIGEST, build_url="https://ci.example.com/1", local=True)

BUILD_ARGS = [
    ("full", FULL,
     {"BUILD_CREATED": "2026-11-26T12:00:00Z", "BUILD_REVISION": SHA,
      "BUILD_SOURCE": "https://example.com/a.git", "BUILD_VERSION": "1.2.3",
      "BUILD_URL": "https://ci.example.com/1", "BASE_IMAGE_NAME": "python:3.12-slim",
      "BASE_IMAGE_DIGEST": DIGEST}),
    ("missing-labels-give-no-args", compute_labels(**BASE),
     {"BUILD_CREATED": "2026-11-26T12:00:00Z", "BUILD_REVISION": SHA, "BUILD_VERSION": "1.2.3"}),
    ("empty", {}, {}),
]


@pytest.mark.parametrize(("labels", "expected"), [b[1:] for b in BUILD_ARGS],
                         ids=[b[0] for b in BUILD_ARGS])
def test_label_build_args(labels: dict[str, str], expected: dict[str, str]) -> None:
    assert label_build_args(labels) == expected


def test_every_label_goes_either_as_build_arg_or_as_label_flag() -> None:
    args = label_build_args(FULL)
    rest = labels_without_build_args(FULL)
    assert rest == {f"{OCI}.title": "app", f"{OCI}.url": "https://app.example.com",
                    "org.shipyard.build.local": "true"}
    assert len(args) + len(rest) == len(FULL)
    assert set(LABEL_BUILD_ARGS.values()) == set(args)


RFC3339 = [
    ("utc", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
    ("offset", datetime(2026, 1, 2, 0, 4, 5, tzinfo=timezone(timedelta(hours=-3))),
     "2026-01-02T03:04:05Z"),
    ("microseconds-dropped", datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
     "2026-01-02T03:04:05Z"),
]


@pytest.mark.parametrize(("moment", "expected"), [r[1:] for r in RFC3339],
                         ids=[r[0] for r in RFC3339])
def test_rfc3339(moment: datetime, expected: str) -> None:
    assert rfc3339(moment) == expected
