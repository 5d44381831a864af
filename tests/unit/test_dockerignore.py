"""shipyard.dockerignore follows moby/patternmatcher (BuildKit's matcher) rule for rule —
including where it differs from .gitignore, which is why pathspec is not used.
The integration test test_dockerignore_engine.py checks the same table against BuildKit."""

from __future__ import annotations

import pytest

from shipyard.dockerignore import DockerIgnore, InvalidPattern, clean

# (patterns, path, excluded)
MATCHES: list[tuple[str, str, bool]] = [
    # plain names match at the root only (gitignore would match at any depth)
    ("*.pem", "tls.pem", True),
    ("*.pem", "certs/tls.pem", False),
    ("secret", "a/secret", False),
    ("**/*.pem", "certs/deep/tls.pem", True),
    ("**/*.pem", "tls.pem", True),
    # a match on a parent directory excludes everything below it
    ("docs", "docs/a/b.md", True),
    ("docs/*", "docs/a/b.md", True),
    ("docs/*.md", "docs/sub/a.md", False),
    # leading slash, ./ and trailing slash are cleaned away
    ("/build", "build/x", True),
    ("./build/", "build/x", True),
    ("a//b", "a/b", True),
    ("a/../b", "b", True),
    # ** forms: suffix (**/x), prefix (x/**, x**), middle (a/**/b), alone
    ("**/.git", ".git/HEAD", True),
    ("**/.git", "sub/.git/config", True),
    ("**/.git", "sub.git", False),
    ("foo/**", "foo/x/y", True),
    ("foo/**", "foobar", False),
    ("foo**", "foobar", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/xb", False),
    ("**", "anything/at/all", True),
    # single-segment wildcards
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file/.txt", False),
    ("[ab].txt", "a.txt", True),
    ("[ab].txt", "c.txt", False),
    ("*.py[cod]", "x.pyc", True),
    ("\\*.txt", "*.txt", True),
    ("\\*.txt", "a.txt", False),
    # regexp metacharacters are literal
    ("a+b(1).txt", "a+b(1).txt", True),
    ("a.b", "axb", False),
    # re-includes: last match wins, and a child can come back below an excluded parent
    ("*\n!src", "src/app.py", False),
    ("*\n!src", "README.md", True),
    ("*\n!src\nsrc/.env", "src/.env", True),
    ("*\n!/src\n /src/dev.py", "src/dev.py", True),  # lines are trimmed
    ("src/.env\n!src", "src/.env", False),  # the later `!src` wins
    ("*\n!docker/entrypoint.sh", "docker/entrypoint.sh", False),
    ("*\n!docker/entrypoint.sh", "docker/other.sh", True),
    ("docker\n!docker/entrypoint.sh\ndocker/*", "docker/entrypoint.sh", True),
    # comments only in column 0: an indented `#` line is a pattern (here matching nothing)
    ("# comment\n\n", "x", False),
    (" # not a comment", "x", False),
    ("#x\n", "#x", False),
    (" #x\n", "#x", True),
    ("\ufeff*.pem", "a.pem", True),  # BOM on the first line is dropped
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), MATCHES,
                         ids=[f"{p!r}~{f}" for p, f, _ in MATCHES])
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
