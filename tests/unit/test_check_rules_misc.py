"""Rules for .dockerignore, the deploy key's authorized_keys line and CI files, as tables."""

from __future__ import annotations

import pytest

from shipyard.checks.model import RULES
from shipyard.checks.rules_misc import (
    DockerIgnore,
    DockerIgnoreContext,
    check_authorized_keys,
    check_ci,
    check_dockerignore,
    ci_labels,
    parse_authorized_keys,
    parse_ci,
)
from shipyard.errors import ParseError

GOOD_IGNORE = "**/.git\n**/.env\n**/.env.*\n**/*.pem\n**/*.key\n**/id_rsa*\n**/id_ed25519*\n" \
              "**/.ssh\n"

# (case id, rule, .dockerignore text or None, files in the context, fires?)
IGNORE_CASES: list[tuple[str, str, str | None, list[str], bool]] = [
    ("di001-missing", "DI001", None, [], True),
    ("di001-present", "DI001", "", [], False),
    ("di002-no-git", "DI002", ".env\n", [], True),
    ("di002-negated-back", "DI002", ".git\n!.git\n", [], True),
    ("di002-git", "DI002", ".git\n", [], False),
    ("di002-allowlist", "DI002", "*\n!src\n!requirements.txt\n", [], False),
    ("di003-no-env", "DI003", ".git\n", [], True),
    ("di003-nested-env-present", "DI003", ".env\n.env.*\n", ["app/.env"], True),
    ("di003-env", "DI003", "**/.env\n**/.env.*\n", ["app/.env"], False),
    ("di004-no-keys", "DI004", ".git\n.env\n", [], True),
    ("di004-real-key-present", "DI004", "*.pem\n*.key\nid_*\n.ssh\n", ["certs/tls.key"], True),
    ("di004-keys", "DI004", GOOD_IGNORE, ["certs/tls.key", "deploy/id_ed25519"], False),
]


@pytest.mark.parametrize(("rule", "text", "files", "fires"), [c[1:] for c in IGNORE_CASES],
                         ids=[c[0] for c in IGNORE_CASES])
def test_dockerignore_rules(rule: str, text: str | None, files: list[str], fires: bool) -> None:
    found = [f for f in check_dockerignore(DockerIgnoreContext(".dockerignore", text, files))
             if f.rule_id == rule]
    assert bool(found) == fires, [f.message for f in found]


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    (".git", ".git/HEAD", True),
    ("**/.git", "sub/.git/config", True),
    ("*.pem", "tls.pem", True),
    ("*.pem", "certs/tls.pem", False),
    ("**/*.pem", "certs/tls.pem", True),
    ("/build", "build/x", True),
    ("./build/", "build/x", True),
    ("docs/*.md", "docs/a.md", True),
    ("docs/*.md", "docs/sub/a.md", False),
    ("*\n!src", "src/app.py", False),
    ("*\n!src\nsrc/.env", "src/.env", True),
    ("id_rsa*", "id_rsa.pub", True),
    ("file?.txt", "file1.txt", True),
    ("[ab].txt", "c.txt", False),
    ("# comment\n\n", "x", False),
], ids=lambda v: str(v).replace("\n", "|"))
def test_dockerignore_matching(patterns: str, path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excludes(path) is excluded


@pytest.mark.parametrize(("text", "line"), [("*.pyc\n[]\n", 2), ("[z-a].txt\n", 1)],
                         ids=["empty-class", "bad-range"])
def test_dockerignore_invalid_patterns_are_parse_errors(text: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        DockerIgnore(text)
    assert info.value.line == line


RESTRICTED = ('restrict,command="cd /home/deploy/app; docker compose pull && docker compose up -d"'
              " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB deploy@ci\n")

# (case id, rule, authorized_keys text, lines where it fires)
KEY_CASES: list[tuple[str, str, str, list[int]]] = [
    ("dp001-bare-key", "DP001", "ssh-ed25519 AAAA deploy@ci\n", [1]),
    ("dp001-command-only", "DP001", 'command="docker compose up -d" ssh-ed25519 AAAA\n', [1]),
    ("dp001-restricted", "DP001", RESTRICTED, []),
    ("dp002-bare-key", "DP002", "# deploy\nssh-rsa AAAA\n", [2]),
    ("dp002-restrict-only", "DP002", "restrict ssh-ed25519 AAAA\n", [1]),
    ("dp002-restricted", "DP002", RESTRICTED, []),
    ("dp003-pty", "DP003", 'restrict,pty,command="x" ssh-ed25519 AAAA\n', [1]),
    ("dp003-permitopen", "DP003",
     'restrict,permitopen="localhost:5432",command="x" ssh-ed25519 AAAA\n', [1]),
    ("dp003-none", "DP003", RESTRICTED, []),
    ("dp004-original-command", "DP004",
     'restrict,command="$SSH_ORIGINAL_COMMAND" ssh-ed25519 AAAA\n', [1]),
    ("dp004-shell", "DP004", 'restrict,command="/bin/bash" ssh-ed25519 AAAA\n', [1]),
    ("dp004-fixed", "DP004", RESTRICTED, []),
]


@pytest.mark.parametrize(("rule", "text", "lines"), [c[1:] for c in KEY_CASES],
                         ids=[c[0] for c in KEY_CASES])
def test_authorized_keys_rules(rule: str, text: str, lines: list[int]) -> None:
    found = [f for f in check_authorized_keys("authorized_keys", text) if f.rule_id == rule]
    assert [f.line for f in found] == lines


def test_authorized_keys_options_are_parsed() -> None:
    (key,) = parse_authorized_keys(
        'restrict,from="10.0.0.0/8",command="echo \\"a,b\\"; docker compose up -d" '
        "ssh-ed25519 AAAA c\n")
    assert key.options == {"restrict": None, "from": "10.0.0.0/8",
                           "command": 'echo "a,b"; docker compose up -d'}
    assert key.key_type == "ssh-ed25519"


@pytest.mark.parametrize(("text", "line"), [
    ("restrict,command=\"unterminated ssh-ed25519 AAAA\n", 1),
    ("# only a comment\n\n", 1),
    ("ssh-ed25519 AAAA\nnot a key line\n", 2),
    ("restrict ssh-ed25519\n", 1),
], ids=["unterminated-quote", "no-key", "garbage", "no-key-data"])
def test_authorized_keys_parse_errors(text: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_authorized_keys(text)
    assert info.value.line == line


# (case id, rule, CI file text, lines where it fires)
CI_CASES: list[tuple[str, str, str, list[int]]] = [
    ("ci001-strict-no", "CI001",
     "deploy:\n  script: ssh -o StrictHostKeyChecking=no \"$SSH_DEPLOY_TARGET\"\n", [2]),
    ("ci001-devnull", "CI001", "deploy:\n  script:\n    - ssh -o UserKnownHostsFile=/dev/null h\n",
     [3]),
    ("ci001-known-hosts", "CI001",
     "deploy:\n  script:\n    - echo \"$SSH_KNOWN_HOSTS\" > ~/.ssh/known_hosts\n    - ssh h\n", []),
    ("ci002-secret-build-arg", "CI002",
     "build:\n  script: docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t r/a:$SHA .\n", [2]),
    ("ci002-plain-build-arg", "CI002",
     "build:\n  script: docker build --build-arg PYTHON_VERSION=3.12 -t r/a:$SHA .\n", []),
    ("ci003-only-latest", "CI003",
     "build:\n  script:\n    - docker build -t r/a:latest .\n    - docker build --tag r/b .\n",
     [3]),
    ("ci003-unique", "CI003",
     "build:\n  script:\n    - docker build -t r/a:$CI_COMMIT_SHORT_SHA -t r/a:latest .\n", []),
]


@pytest.mark.parametrize(("rule", "text", "lines"), [c[1:] for c in CI_CASES],
                         ids=[c[0] for c in CI_CASES])
def test_ci_rules(rule: str, text: str, lines: list[int]) -> None:
    parse_ci(text)
    found = [f for f in check_ci(".gitlab-ci.yml", text) if f.rule_id == rule]
    assert [f.line for f in found] == lines


def test_ci_labels() -> None:
    text = "b:\n  script: docker build --label org.opencontainers.image.revision=$SHA .\n"
    assert ci_labels(text) == {"org.opencontainers.image.revision"}
    assert "org.opencontainers.image.source" in ci_labels("b:\n  script: shipyard build\n")


def test_ci_yaml_errors_are_parse_errors() -> None:
    with pytest.raises(ParseError) as info:
        parse_ci("build:\n  script: [\n")
    assert info.value.line == 3


def test_every_misc_rule_has_a_failing_and_a_passing_case() -> None:
    fires = ({c[1] for c in IGNORE_CASES if c[4]} | {c[1] for c in KEY_CASES if c[3]}
             | {c[1] for c in CI_CASES if c[3]})
    passes = ({c[1] for c in IGNORE_CASES if not c[4]} | {c[1] for c in KEY_CASES if not c[3]}
              | {c[1] for c in CI_CASES if not c[3]})
    rules = {r for r in RULES if r[:2] in ("DI", "DP", "CI")}
    assert rules <= fires, sorted(rules - fires)
    assert rules <= passes, sorted(rules - passes)
