"""shipyard.dockerignore follows moby/patternmatcher (BuildKit's matcher) rule for rule —
including where it differs from .gitignore, which is why pathspec is not used.
The integration test test_dockerignore_engine.py checks the same table against BuildKit."""

from __future__ import annotations

import pytest

from fixtures.dockerignore_cases import CURRENT_ONLY, MATCHES
from shipyard.dockerignore import DockerIgnore, InvalidPattern, clean


@pytest.mark.parametrize(("patterns", "path", "excluded"), MATCHES + CURRENT_ONLY,
                         ids=[f"{p!r}~{f}" for p, f, _ in MATCHES + CURRENT_ONLY])
def test_matches_like_buildkit(patterns: str, path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excludes(path) is excluded


@pytest.mark.parametrize(("text", "line"), [("*.pyc\n[]\n", 2), ("[z-a].txt\n", 1), ("!\n", 1)],
                         ids=["empty-class", "bad-range", "bare-bang"])
def test_invalid_patterns_name_their_line(text: str, line: int) -> None:
    with pytest.raises(InvalidPattern) as info:
        DockerIgnore(text)
    assert info.value.line == line


@pytest.mark.parametrize(("text", "allow_list"), [
    ("*\n!app\n", True),
    ("# only what the image needs\n**\n!/app\n!manage.py\n", True),
    ("/*\n!app\n", True),
    ("*\n", False),  # excludes everything and lets nothing back: not a list of anything
    (".git\n.env\n!.env.example\n", False),
    ("!app\n*\n", False),
    ("", False),
], ids=lambda v: repr(v))
def test_allow_list_is_recognised(text: str, allow_list: bool) -> None:
    assert DockerIgnore(text).is_allow_list is allow_list


@pytest.mark.parametrize(("path", "cleaned"), [
    ("a/./b/", "a/b"), ("//a", "/a"), ("a/../../b", "../b"), ("", "."), ("./", "."),
])
def test_clean_is_go_filepath_clean(path: str, cleaned: str) -> None:
    assert clean(path) == cleaned
