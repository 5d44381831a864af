"""Tagging rules as tables: one row per kind of build, plus a property for the tag grammar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.image.tags import (
    TAG_MAX_LENGTH,
    TAG_PATTERN,
    TagInputs,
    TagSet,
    compute_tags,
    image_refs,
    moving_tag_map,
    parse_release,
    pick_release,
    sanitize_tag_part,
)

SHA = "1a2b3c4"
TS = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
STAMP = "20261126T120000Z"
MOVING = ("main", "dev")
REPO_TAGS = ["v1.4.8", "v1.4.9", "v1.5.0", "v2.0.0", "v2.1.0-rc.1", "deploy-prod", "nightly"]


def build(**overrides: Any) -> TagInputs:
    fields: dict[str, Any] = {"short_sha": SHA, "timestamp": TS, "moving_branches": MOVING}
    fields.update(overrides)
    return TagInputs(**fields)


# -- parse_release ----------------------------------------------------------------------------

RELEASES = [
    # tag, (major, minor, patch, post, prerelease, image_tag) or None
    ("1.2.3", (1, 2, 3, None, False, "1.2.3")),
    ("v1.2.3", (1, 2, 3, None, False, "1.2.3")),
    ("V10.20.30", (10, 20, 30, None, False, "10.20.30")),
    ("1.2.3-rc.1", (1, 2, 3, None, True, "1.2.3-rc.1")),
    ("v1.2.3-alpha", (1, 2, 3, None, True, "1.2.3-alpha")),
    ("1.2.3-alpha.beta.7", (1, 2, 3, None, True, "1.2.3-alpha.beta.7")),
    ("1.2.3-1", (1, 2, 3, None, True, "1.2.3-1")),
    ("1.2.3rc1", (1, 2, 3, None, True, "1.2.3rc1")),
    ("1.2.3a1", (1, 2, 3, None, True, "1.2.3a1")),
    ("1.2.3b2", (1, 2, 3, None, True, "1.2.3b2")),
    ("1.2.3.dev1", (1, 2, 3, None, True, "1.2.3.dev1")),
    ("1.2.3.post1.dev2", (1, 2, 3, 1, True, "1.2.3.post1.dev2")),
    ("1.2.3.post1", (1, 2, 3, 1, False, "1.2.3.post1")),
    ("1.2.3.post", (1, 2, 3, 0, False, "1.2.3.post")),
    ("1.2.3+abc", (1, 2, 3, None, False, "1.2.3-abc")),
    ("1.2.3+ubuntu_1.2", (1, 2, 3, None, False, "1.2.3-ubuntu_1.2")),
    ("v1.2.3-rc.1+build.5", (1, 2, 3, None, True, "1.2.3-rc.1-build.5")),
    ("0.3.0", (0, 3, 0, None, False, "0.3.0")),
    ("1.2", None),
    ("1.2.3.4", None),
    ("01.2.3", None),
    ("1.2.03", None),
    ("1.2.3-", None),
    ("1.2.3+", None),
    ("1.2.3+a+b", None),
    ("1.2.3foo", None),
    ("release-1.2.3", None),
    ("deploy-prod", None),
    ("", None),
]


@pytest.mark.parametrize(("tag", "expected"), RELEASES, ids=[r[0] or "empty" for r in RELEASES])
def test_parse_release(tag: str, expected: tuple[Any, ...] | None) -> None:
    release = parse_release(tag)
    if expected is None:
        assert release is None
        return
    assert release is not None
    got = (release.major, release.minor, release.patch, release.post, release.prerelease,
           release.image_tag)
    assert got == expected
    assert TAG_PATTERN.fullmatch(release.image_tag)


PICKS = [
    ("none", [], None),
    ("only-non-releases", ["deploy", "nightly"], None),
    ("one", ["v1.2.3", "deploy"], "v1.2.3"),
    ("promoted-rc", ["v1.2.3-rc.2", "v1.2.3"], "v1.2.3"),
    ("highest-stable", ["v1.2.3", "v1.3.0", "v2.0.0-rc.1"], "v1.3.0"),
    ("only-prereleases", ["v2.0.0-rc.1", "v2.0.0-rc.2"], "v2.0.0-rc.2"),
]


@pytest.mark.parametrize(("tags", "expected"), [p[1:] for p in PICKS], ids=[p[0] for p in PICKS])
def test_pick_release(tags: list[str], expected: str | None) -> None:
    release = pick_release(tags)
    assert (release.tag if release else None) == expected


# -- compute_tags -----------------------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("branch-moving", {"branch": "main"}, [f"main-{SHA}-{STAMP}", "main"]),
    ("branch-not-configured", {"branch": "feature/login"}, [f"feature-login-{SHA}-{STAMP}"]),
    ("branch-moving-mapping", {"branch": "develop", "moving_branches": {"develop": "edge"}},
     [f"develop-{SHA}-{STAMP}", "edge"]),
    ("no-moving-configured", {"branch": "main", "moving_branches": ()}, [f"main-{SHA}-{STAMP}"]),
    ("pr", {"branch": "feature/x", "pr": "42"}, [f"pr-42-{SHA}-{STAMP}"]),
    ("pr-from-branch-named-main", {"branch": "main", "pr": "7"}, [f"pr-7-{SHA}-{STAMP}"]),
    ("detached", {}, [f"detached-{SHA}-{STAMP}"]),
    ("release-highest", {"tag": "v2.1.0", "release_tags": REPO_TAGS},
     [f"tag-v2.1.0-{SHA}-{STAMP}", "2.1.0", "2.1", "2", "latest"]),
    ("release-on-branch", {"branch": "main", "tag": "v2.1.0", "release_tags": REPO_TAGS},
     [f"main-{SHA}-{STAMP}", "2.1.0", "2.1", "2", "main", "latest"]),
    ("release-not-in-list", {"tag": "3.0.0", "release_tags": []},
     [f"tag-3.0.0-{SHA}-{STAMP}", "3.0.0", "3.0", "3", "latest"]),
    ("older-line-patch", {"tag": "v1.5.1", "release_tags": REPO_TAGS},
     [f"tag-v1.5.1-{SHA}-{STAMP}", "1.5.1", "1.5", "1"]),
    ("older-minor-patch", {"tag": "v1.4.10", "release_tags": REPO_TAGS},
     [f"tag-v1.4.10-{SHA}-{STAMP}", "1.4.10", "1.4"]),
    ("rebuild-of-old-patch", {"tag": "v1.4.8", "release_tags": REPO_TAGS},
     [f"tag-v1.4.8-{SHA}-{STAMP}", "1.4.8"]),
    ("rebuild-of-highest", {"tag": "v2.0.0", "release_tags": REPO_TAGS},
     [f"tag-v2.0.0-{SHA}-{STAMP}", "2.0.0", "2.0", "2", "latest"]),
    ("prerelease", {"tag": "v2.1.0-rc.1", "release_tags": REPO_TAGS},
     [f"tag-v2.1.0-rc.1-{SHA}-{STAMP}", "2.1.0-rc.1"]),
    ("prerelease-pep440", {"tag": "3.0.0a1", "release_tags": REPO_TAGS},
     [f"tag-3.0.0a1-{SHA}-{STAMP}", "3.0.0a1"]),
    ("dev-release", {"tag": "3.0.0.dev4", "release_tags": REPO_TAGS},
     [f"tag-3.0.0.dev4-{SHA}-{STAMP}", "3.0.0.dev4"]),
    ("newer-prerelease-ignored", {"tag": "v2.0.1", "release_tags": [*REPO_TAGS, "v2.1.0-rc.1"]},
     [f"tag-v2.0.1-{SHA}-{STAMP}", "2.0.1", "2.0", "2", "latest"]),
    ("post-release-is-stable", {"tag": "2.0.0.post1", "release_tags": REPO_TAGS},
     [f"tag-2.0.0.post1-{SHA}-{STAMP}", "2.0.0.post1", "2.0", "2", "latest"]),
    ("build-metadata", {"tag": "v2.0.0+build.7", "release_tags": REPO_TAGS},
     [f"tag-v2.0.0-build.7-{SHA}-{STAMP}", "2.0.0-build.7", "2.0", "2", "latest"]),
    ("non-release-tag", {"tag": "deploy-prod", "release_tags": REPO_TAGS},
     [f"tag-deploy-prod-{SHA}-{STAMP}"]),
    ("major-0", {"tag": "v0.3.1", "release_tags": ["v0.2.0", "v0.3.0"]},
     [f"tag-v0.3.1-{SHA}-{STAMP}", "0.3.1", "0.3", "latest"]),
    ("major-0-older-line", {"tag": "v0.2.5", "release_tags": ["v0.2.0", "v0.3.0"]},
     [f"tag-v0.2.5-{SHA}-{STAMP}", "0.2.5", "0.2"]),
    ("major-0-after-1.0", {"tag": "v0.9.1", "release_tags": ["v0.9.0", "v1.0.0"]},
     [f"tag-v0.9.1-{SHA}-{STAMP}", "0.9.1", "0.9"]),
    ("local", {"branch": "main", "is_local": True, "tag": "v9.0.0"},
     [f"local-main-{SHA}-{STAMP}"]),
    ("local-dirty", {"branch": "main", "is_local": True, "dirty": True},
     [f"local-main-{SHA}-{STAMP}-dirty"]),
    ("dirty-in-ci-is-local", {"branch": "main", "dirty": True, "tag": "v9.0.0"},
     [f"local-main-{SHA}-{STAMP}-dirty"]),
    ("local-detached", {"is_local": True}, [f"local-detached-{SHA}-{STAMP}"]),
    ("local-pr", {"pr": "42", "is_local": True}, [f"local-pr-42-{SHA}-{STAMP}"]),
    ("invalid-chars", {"branch": "feature/ÄÖ weird..name"},
     [f"feature-ao-weird-name-{SHA}-{STAMP}"]),
    ("uppercase", {"branch": "JIRA-123_Fix"}, [f"jira-123_fix-{SHA}-{STAMP}"]),
    ("only-invalid-chars", {"branch": "💥/日本"}, [f"ref-{SHA}-{STAMP}"]),
    ("full-sha", {"short_sha": "A" * 40, "branch": "main", "moving_branches": ()},
     [f"main-{'a' * 40}-{STAMP}"]),
    ("timestamp-other-zone",
     {"branch": "main", "moving_branches": (),
      "timestamp": datetime(2026, 11, 26, 13, 0, 0, tzinfo=timezone(timedelta(hours=1)))},
     [f"main-{SHA}-{STAMP}"]),
    ("moving-tag-equals-latest",
     {"branch": "main", "moving_branches": {"main": "latest"}, "tag": "v2.1.0",
      "release_tags": REPO_TAGS},
     [f"main-{SHA}-{STAMP}", "2.1.0", "2.1", "2", "latest"]),
]


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_compute_tags(overrides: dict[str, Any], expected: list[str]) -> None:
    tags = compute_tags(build(**overrides))
    assert tags.all() == expected
    assert tags.unique == expected[0]
    for tag in tags.all():
        assert TAG_PATTERN.fullmatch(tag), tag


VERSION_LABELS = [
    ("release", {"tag": "v1.2.3"}, "1.2.3"),
    ("release-with-metadata", {"tag": "v1.2.3+b.1"}, "1.2.3+b.1"),
    ("branch", {"branch": "main"}, f"main-{SHA}-{STAMP}"),
    ("local-ignores-release", {"tag": "v1.2.3", "is_local": True},
     f"local-tag-v1.2.3-{SHA}-{STAMP}"),
]


@pytest.mark.parametrize(("overrides", "expected"), [v[1:] for v in VERSION_LABELS],
                         ids=[v[0] for v in VERSION_LABELS])
def test_tagset_version(overrides: dict[str, Any], expected: str) -> None:
    assert compute_tags(build(**overrides)).version == expected


LONG = [
    ("long-branch", {"branch": "feature/" + "x" * 300}),
    ("long-local-dirty", {"branch": "y" * 300, "is_local": True, "dirty": True}),
    ("long-pr", {"pr": "9" * 300}),
    ("long-with-full-sha", {"branch": "z" * 300, "short_sha": "f" * 64, "dirty": True}),
    ("cut-at-separator", {"branch": "a" * 100 + "/" + "b" * 100}),
]


@pytest.mark.parametrize("overrides", [lg[1] for lg in LONG], ids=[lg[0] for lg in LONG])
def test_long_names_keep_sha_and_timestamp(overrides: dict[str, Any]) -> None:
    inputs = build(**overrides)
    unique = compute_tags(inputs).unique
    assert len(unique) <= TAG_MAX_LENGTH
    assert TAG_PATTERN.fullmatch(unique)
    assert f"-{inputs.short_sha.lower()}-{STAMP}" in unique
    assert "--" not in unique


SANITIZE = [
    ("plain", "main", "main"),
    ("slash", "feature/login", "feature-login"),
    ("umlaut", "Ärger/Öl", "arger-ol"),
    ("repeated-dots", "a..b", "a-b"),
    ("mixed-separators", "a._-b", "a-b"),
    ("spaces", "  my  branch ", "my-branch"),
    ("edges", "-_.x._-", "x"),
    ("underscore-kept", "snake_case", "snake_case"),
    ("cjk", "日本", ""),
    ("ligature", "ﬁx", "fix"),
]


@pytest.mark.parametrize(("text", "expected"), [s[1:] for s in SANITIZE],
                         ids=[s[0] for s in SANITIZE])
def test_sanitize_tag_part(text: str, expected: str) -> None:
    assert sanitize_tag_part(text) == expected


@given(
    branch=st.one_of(st.none(), st.text(max_size=400)),
    pr=st.one_of(st.none(), st.text(max_size=50)),
    tag=st.one_of(st.none(), st.text(max_size=50)),
    is_local=st.booleans(),
    dirty=st.booleans(),
    sha_length=st.integers(min_value=4, max_value=64),
)
def test_unique_tag_always_matches_grammar(
    branch: str | None, pr: str | None, tag: str | None, is_local: bool, dirty: bool,
    sha_length: int,
) -> None:
    sha = ("0123456789abcdef" * 4)[:sha_length]
    inputs = build(branch=branch, pr=pr, tag=tag, is_local=is_local, dirty=dirty, short_sha=sha)
    unique = compute_tags(inputs).unique
    assert TAG_PATTERN.fullmatch(unique)
    assert len(unique) <= TAG_MAX_LENGTH
    assert unique.endswith(f"{sha}-{STAMP}" + ("-dirty" if dirty else ""))
    ref = unique.removesuffix("-dirty").removesuffix(f"-{sha}-{STAMP}")
    assert ref == ref.lower()  # the timestamp keeps its upper-case T and Z


BAD_INPUTS = [
    ("naive-timestamp", {"timestamp": datetime(2026, 11, 26, 12, 0)}, "timezone-aware"),
    ("non-hex-sha", {"short_sha": "xyz1234"}, "hex"),
    ("too-short-sha", {"short_sha": "abc"}, "hex"),
    ("moving-tag-invalid", {"branch": "main", "moving_branches": {"main": "not valid"}},
     "not a valid image tag"),
    ("release-too-long", {"tag": "1.2.3-" + "a" * 130}, "longer than an image tag"),
]


@pytest.mark.parametrize(("overrides", "message"), [b[1:] for b in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_tags(build(**overrides))


MOVING_MAPS: list[tuple[str, Mapping[str, str] | Sequence[str], dict[str, str]]] = [
    ("list", ["main", "release/1.x"], {"main": "main", "release/1.x": "release-1.x"}),
    ("mapping", {"develop": "edge"}, {"develop": "edge"}),
    ("empty", [], {}),
]


@pytest.mark.parametrize(("config", "expected"), [m[1:] for m in MOVING_MAPS],
                         ids=[m[0] for m in MOVING_MAPS])
def test_moving_tag_map(
    config: Mapping[str, str] | Sequence[str], expected: dict[str, str]
) -> None:
    assert moving_tag_map(config) == expected


def test_moving_tag_map_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError):
        moving_tag_map("main")


# -- image_refs -------------------------------------------------------------------------------

REFS: list[tuple[str, str, TagSet | list[str], list[str]]] = [
    ("tagset", "registry.example.com/acme/app",
     TagSet("main-x", ("1.2.3", "1.2"), ("main",), latest=True),
     ["registry.example.com/acme/app:main-x", "registry.example.com/acme/app:1.2.3",
      "registry.example.com/acme/app:1.2", "registry.example.com/acme/app:main",
      "registry.example.com/acme/app:latest"]),
    ("list-with-duplicates", "app", ["a", "b", "a"], ["app:a", "app:b"]),
    ("registry-with-port", "localhost:5000/app", ["x"], ["localhost:5000/app:x"]),
    ("empty", "app", [], []),
]


@pytest.mark.parametrize(("repository", "tags", "expected"), [r[1:] for r in REFS],
                         ids=[r[0] for r in REFS])
def test_image_refs(repository: str, tags: TagSet | list[str], expected: list[str]) -> None:
    assert image_refs(repository, tags) == expected


BAD_REFS = [
    ("repository-with-tag", "app:1.0", ["x"]),
    ("repository-with-digest", "app@sha256:abc", ["x"]),
    ("empty-repository", "", ["x"]),
    ("trailing-slash", "acme/", ["x"]),
    ("invalid-tag", "app", ["bad tag"]),
    ("tag-too-long", "app", ["a" * 129]),
]


@pytest.mark.parametrize(("repository", "tags"), [b[1:] for b in BAD_REFS],
                         ids=[b[0] for b in BAD_REFS])
def test_image_refs_rejects(repository: str, tags: list[str]) -> None:
    with pytest.raises(ValueError):
        image_refs(repository, tags)
