"""Choosing what ``rollback`` goes back to, from the journal alone.

Why a stack: after v1, v2, v3 a rollback lands on v2; a second rollback must go
on to v1, not flip back to v3 (which is what "the tag before the current one"
would do if rollbacks counted as deploys). Failed and interrupted runs never
count: only versions that were verified healthy are rollback targets.
"""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.agent.agent import (
    deployed_tags,
    known_good_stack,
    parse_journal,
    rollback_target,
)


def ok(tag: str, action: str = "deploy") -> dict[str, Any]:
    return {"action": action, "tag_after": tag, "outcome": "ok"}


def failed(tag_after: str, requested: str) -> dict[str, Any]:
    return {"action": "deploy", "tag_after": tag_after, "tag_requested": requested,
            "outcome": "failed-rolled-back"}


@pytest.mark.parametrize(("entries", "current", "target"), [
    ([], None, None),
    ([], "v1", None),
    ([ok("v1")], "v1", None),
    ([ok("v1"), ok("v2")], "v2", "v1"),
    ([ok("v1"), ok("v2"), failed("v2", "v3")], "v2", "v1"),
    ([ok("v1"), ok("v2"), ok("v3")], "v3", "v2"),
    ([ok("v1"), ok("v2"), ok("v3"), ok("v2", "rollback")], "v2", "v1"),
    ([ok("v1"), ok("v2"), ok("v3"), ok("v2", "rollback"), ok("v1", "rollback")], "v1", None),
    ([ok("v1"), ok("v2"), ok("v1", "rollback"), ok("v3")], "v3", "v1"),
    ([ok("v1"), ok("v2"), ok("v1")], "v1", "v2"),
    ([ok("v1"), ok("v1"), ok("v1")], "v1", None),
    ([ok("v1"), ok("v2")], "v9", "v2"),
    ([ok("v1"), ok("v2"), {"action": "deploy", "tag_after": "v3", "outcome": "interrupted"}],
     "v3", "v2"),
    ([ok("v1"), ok("v2"), ok("v3"), ok("v1", "rollback")], "v1", None),
    ([ok("v1"), ok("v2"), ok("v0", "rollback")], "v0", "v2"),
    ([{"tag_after": None, "outcome": "ok"}, ok("v1"), {"outcome": "ok"}, ok("v2")], "v2", "v1"),
], ids=["empty", "empty-with-current", "first", "second", "after-failed", "three",
        "rollback-once", "rollback-twice", "deploy-after-rollback", "redeploy-old",
        "same-tag", "current-unknown", "after-interrupted", "rollback-skipping",
        "rollback-to-unknown", "junk-entries"])
def test_rollback_target(entries: list[dict[str, Any]], current: str | None,
                         target: str | None) -> None:
    assert rollback_target(entries, current) == target


def test_known_good_stack_replays_deploys_and_rollbacks() -> None:
    entries = [ok("v1"), ok("v2"), ok("v3"), failed("v3", "v4"), ok("v2", "rollback"), ok("v5")]
    assert known_good_stack(entries) == ["v1", "v2", "v5"]


def test_deployed_tags_are_every_healthy_version_once() -> None:
    entries = [ok("v1"), failed("v1", "v2"), ok("v3"), ok("v1", "rollback")]
    assert deployed_tags(entries) == ["v3", "v1"]


def test_parse_journal_skips_torn_and_foreign_lines() -> None:
    text = '{"outcome": "ok", "tag_after": "v1"}\n{"outcome": "ok", "ta\n[1, 2]\n\n"x"\n'
    assert parse_journal(text) == [{"outcome": "ok", "tag_after": "v1"}]
