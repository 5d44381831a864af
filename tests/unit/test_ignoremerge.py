"""Merging into a user's .dockerignore: the user's lines stay, the block adds only what
is missing, and the merged file provably keeps secrets out and lets the COPY sources in."""

from __future__ import annotations

import pytest

from shipyard.dockerignore import DockerIgnore
from shipyard.generate.ignoremerge import BEGIN, END, REQUIRED, Exclusion, merge, split_block

COPIES = ["pyproject.toml", "uv.lock", "docker/entrypoint.sh", "docker/healthcheck.py"]
DEV = [Exclusion("shop/settings/dev.py", ("shop/settings/dev.py",))]
ALLOW = "# Ignore everything\n*\n\n!/shop\n!/manage.py\n!/pyproject.toml\n!/uv.lock\n"
DENY = ".git\n.env\nnode_modules\n*.pem\n"
SHIPYARD_LIKE = "\n".join(e.pattern for e in REQUIRED) + "\n"

# (id, user's file, paths that must end up excluded, paths that must stay in,
#  lines the block must hold, lines it must not hold)
CASES: list[tuple[str, str, list[str], list[str], list[str], list[str]]] = [
    ("allow-list-kept-re-includes-copies", ALLOW,
     ["shop/.env", "shop/certs/tls.pem", "shop/settings/dev.py", "README.md", ".git/HEAD",
      "shop/__pycache__/x.pyc", "docker/other.sh"],
     ["shop/models.py", "manage.py", "uv.lock", "docker/entrypoint.sh", "docker/healthcheck.py"],
     ["!docker/entrypoint.sh", "!docker/healthcheck.py", "**/.env", "shop/settings/dev.py"],
     ["!pyproject.toml", "!uv.lock", ".venv", "shipyard-*.json"]),  # `*` keeps those out
    ("allow-list-nested-git-needs-exclusion", "*\n!shop\n",
     ["shop/.git/HEAD"], ["shop/app.py"], ["**/.git"], []),
    ("deny-list-gets-missing-exclusions", DENY,
     ["app/.env", ".env.production", "id_ed25519", "compose.override.yaml",
      "shipyard-build.json", "shop/settings/dev.py", "node_modules/x"],
     ["app.py", "docker/entrypoint.sh", "shop/settings/prod.py"],
     ["**/.env", "**/.env.*", "**/*.pem", "shipyard-*.json", "shop/settings/dev.py"],
     [".git", "node_modules", "!docker/entrypoint.sh"]),  # nothing re-included that was in
    ("deny-list-excluding-docker-dir", "docker\n", ["docker/Dockerfile.dev"],
     ["docker/entrypoint.sh"], ["!docker/entrypoint.sh", "!docker/healthcheck.py"], []),
    ("complete-file-needs-only-the-dev-file", SHIPYARD_LIKE, ["shop/settings/dev.py"], [],
     ["shop/settings/dev.py"], ["**/.env"]),
    ("user-re-include-after-exclusion-is-overridden", ".env\n!shop/.env\n",
     ["shop/.env"], [], ["**/.env"], []),
]


@pytest.mark.parametrize(("text", "out", "kept", "has", "has_not"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_merge(text: str, out: list[str], kept: list[str], has: list[str],
               has_not: list[str]) -> None:
    merged = merge(text, copies=COPIES, extra=DEV, top_dirs=["shop", "docker"])
    assert merged.text.startswith(text.rstrip("\n")), "the user's lines come first, unchanged"
    ignore = DockerIgnore(merged.text)
    assert [p for p in out if not ignore.excludes(p)] == []
    assert [p for p in kept if ignore.excludes(p)] == []
    block = merged.text.splitlines()
    assert [line for line in has if line not in block] == []
    assert [line for line in has_not if line in block[block.index(BEGIN):]] == []
    # later lines win: every exclusion of the block comes after its re-includes
    lines = block[block.index(BEGIN) + 1:block.index(END)]
    bangs = [i for i, line in enumerate(lines) if line.startswith("!")]
    assert bangs == list(range(len(bangs)))


def test_allow_list_is_reported_as_kept() -> None:
    merged = merge(ALLOW, copies=COPIES, extra=DEV, top_dirs=["shop"])
    assert merged.allow_list
    assert merged.summary.startswith("merged: your allow-list kept, added ")
    assert merged.reincluded == ["docker/entrypoint.sh", "docker/healthcheck.py"]
    assert not merge(DENY, copies=COPIES).allow_list


@pytest.mark.parametrize("text", [ALLOW, DENY, SHIPYARD_LIKE, "", "no-final-newline"],
                         ids=["allow", "deny", "complete", "empty", "no-newline"])
def test_rerun_is_idempotent(text: str) -> None:
    once = merge(text, copies=COPIES, extra=DEV, top_dirs=["shop"]).text
    assert merge(once, copies=COPIES, extra=DEV, top_dirs=["shop"]).text == once


def test_nothing_missing_leaves_the_file_byte_for_byte() -> None:
    text = SHIPYARD_LIKE + "\n\n# trailing blank lines are the user's business\n\n"
    assert merge(text, copies=["app.py"]).text == text


def test_user_edits_around_the_block_are_kept_and_the_block_rebuilt() -> None:
    first = merge(ALLOW, copies=COPIES, extra=DEV, top_dirs=["shop"]).text
    # the user adds a line above, lets one file back in after the block, and deletes a
    # line inside it; the dev file is gone from the project by now
    edited = first.replace("!/uv.lock\n", "!/uv.lock\n!/static\n").replace("**/*.p12\n", "")
    edited += "!shop/certs/public.pem\n"
    again = merge(edited, copies=COPIES, top_dirs=["shop"]).text
    user, _ = split_block(again)
    assert "!/static" in user
    assert again.endswith(f"{END}\n!shop/certs/public.pem\n")
    assert "**/*.p12" in again  # the block is Shipyard's: rebuilt from the user's lines
    assert "shop/settings/dev.py" not in again
    assert not DockerIgnore(again).excludes("shop/certs/public.pem")  # the user's choice wins
    assert DockerIgnore(again).excludes("shop/certs/private.pem")


def test_block_goes_away_when_the_user_covers_everything_themselves() -> None:
    first = merge(DENY, copies=COPIES).text
    user, position = split_block(first)
    covered = "\n".join(user[:position]) + "\n" + SHIPYARD_LIKE
    assert BEGIN not in merge(covered + first[first.index(BEGIN):], copies=COPIES).text


def test_a_file_the_dockerfile_copies_by_name_survives_the_exclusions() -> None:
    merged = merge(DENY, copies=["requirements.txt", "certs/ca.pem"])
    lines = merged.text.splitlines()
    assert lines.index("!certs/ca.pem") > lines.index("**/*.pem")  # after: it must win
    ignore = DockerIgnore(merged.text)
    assert not ignore.excludes("certs/ca.pem")
    assert ignore.excludes("certs/server.pem") and ignore.excludes("certs/server.key")
    assert merged.reincluded == ["certs/ca.pem"]
    assert merge(merged.text, copies=["requirements.txt", "certs/ca.pem"]).text == merged.text


def test_a_deleted_end_marker_loses_no_line() -> None:
    first = merge(DENY + "# my notes\n", copies=COPIES).text
    broken = first.replace(END + "\n", "") + "my-own-line\n"
    again = merge(broken, copies=COPIES).text
    assert "my-own-line" in again and "# my notes" in again
    assert merge(again, copies=COPIES).text == again


def test_crlf_file_stays_crlf() -> None:
    merged = merge(DENY.replace("\n", "\r\n"), copies=COPIES).text
    assert merged.startswith(DENY.replace("\n", "\r\n"))
    assert "\n" not in merged.replace("\r\n", "")
