"""The host agent's request grammar: exactly ``deploy [TAG]``, ``rollback [TAG]``,
``status``, ``history [N]``, ``backup``, ``restore [BACKUP]``, nothing else.

Why a table *and* a property test: the table pins the cases people think of
(shell metacharacters, registries in tags, NUL); the property test throws
thousands of generated strings, including valid commands mutated with shell
syntax, at the parser and compares it with an independent statement of the
grammar, so a loosened regular expression cannot slip through.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shipyard.agent.agent import Refused, Request, check_allowed, parse_command

# The grammar, restated independently of the agent's own constants (on purpose).
ORACLE = re.compile(
    r"(?:deploy|rollback)(?: [A-Za-z0-9_][A-Za-z0-9._-]{0,127})?"
    r"|status"
    r"|history(?: [1-9][0-9]{0,3})?"
    r"|backup"
    r"|restore(?: [A-Za-z0-9][A-Za-z0-9._-]{0,127})?"
)
SHELL_META = [*";&|$`()<>\\\"'*?[]{}~!#=%^\n\r\t\x00\x0b\x0c ",
              "$(", "${", "&&", "||", ">>", "<<", "\u00a0", "\u2028", "\ufeff", "\u202e",
              "\u00e9", "\uff10"]
PAYLOADS = ["; touch /tmp/pwned", "&& id", "| sh", "$(id)", "`id`", "\nid", "\x00id",
            "/../../etc/passwd", ":latest", "@sha256:" + "0" * 64, " --help", "\r\nid"]


def _oracle(text: str) -> bool:
    return ORACLE.fullmatch(text) is not None


def _outcome(text: str | None) -> Request | str:
    try:
        return parse_command(text)
    except Refused as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize(("text", "expected"), [
    ("deploy", Request("deploy")),
    ("deploy v1", Request("deploy", tag="v1")),
    ("deploy main-1a2b3c4", Request("deploy", tag="main-1a2b3c4")),
    ("deploy 1.2.3", Request("deploy", tag="1.2.3")),
    ("deploy _private", Request("deploy", tag="_private")),
    ("deploy " + "a" * 128, Request("deploy", tag="a" * 128)),
    ("rollback", Request("rollback")),
    ("rollback v1.2.3-rc.1_b", Request("rollback", tag="v1.2.3-rc.1_b")),
    ("status", Request("status")),
    ("history", Request("history", count=10)),
    ("history 1", Request("history", count=1)),
    ("history 9999", Request("history", count=9999)),
    ("backup", Request("backup")),
    ("restore", Request("restore")),
    ("restore db-20261130T062300123Z-v1.pgdump",
     Request("restore", tag="db-20261130T062300123Z-v1.pgdump")),
], ids=lambda v: repr(v)[:40] if not isinstance(v, Request) else "")
def test_accepted(text: str | None, expected: Request) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(("text", "why"), [
    (None, "no command given"),  # a plain login or `ssh -tt`: never a default deploy
    ("", "is not an agent command"),
    (" ", "is not an agent command"),
    ("deploy ", "not a valid tag"),
    (" deploy", "is not an agent command"),
    ("deploy  v1", "at most one TAG"),
    ("deploy v1 ", "at most one TAG"),
    ("deploy v1 v2", "at most one TAG"),
    ("Deploy", "is not an agent command"),
    ("DEPLOY v1", "is not an agent command"),
    ("deploy .v1", "not a valid tag"),
    ("deploy -v1", "not a valid tag"),
    ("deploy --help", "not a valid tag"),
    ("deploy " + "a" * 129, "not a valid tag"),
    ("deploy 127.0.0.1:5000/guestbook:v1", "repository is fixed"),
    ("deploy evil.example/guestbook", "repository is fixed"),
    ("deploy guestbook:v1", "repository is fixed"),
    ("deploy guestbook@sha256:" + "a" * 64, "repository is fixed"),
    ("deploy @sha256:" + "a" * 64, "repository is fixed"),
    ("deploy ../../etc", "repository is fixed"),
    ("status now", "takes no arguments"),
    ("status --json", "takes no arguments"),
    ("history 0", "count from 1 to 9999"),
    ("history -1", "count from 1 to 9999"),
    ("history 01", "count from 1 to 9999"),
    ("history 10000", "count from 1 to 9999"),
    ("history ten", "count from 1 to 9999"),
    ("history 1 2", "count from 1 to 9999"),
    ("status; touch /tmp/pwned", "is not an agent command"),
    ("status;id", "is not an agent command"),
    ("deploy v1;id", "not a valid tag"),
    ("deploy v1 && touch /tmp/pwned", "at most one TAG"),
    ("deploy v1&&id", "not a valid tag"),
    ("history | sh", "count from 1 to 9999"),
    ("deploy $(touch /tmp/pwned)", "at most one TAG"),
    ("deploy $(id)", "not a valid tag"),
    ("deploy `id`", "not a valid tag"),
    ("deploy ${IFS}id", "not a valid tag"),
    ("deploy v1\nid", "control or non-ASCII"),
    ("status\n", "control or non-ASCII"),
    ("deploy v1\r", "control or non-ASCII"),
    ("deploy\tv1", "control or non-ASCII"),
    ("deploy v1\x00", "control or non-ASCII"),
    ("\x00", "control or non-ASCII"),
    ("deploy v1\x1b[2J", "control or non-ASCII"),
    ("déploy", "control or non-ASCII"),
    ("deploy v\u0661", "control or non-ASCII"),  # an Arabic-Indic digit: \d would match it
    ("deploy v1\u00a0", "control or non-ASCII"),
    ("deploy " + "a" * 5000, "characters long"),
    ("x" * 100_000, "characters long"),
    ("bash", "is not an agent command"),
    ("bash -i", "is not an agent command"),
    ("sh -c id", "is not an agent command"),
    ("scp -t /tmp/x", "is not an agent command"),
    ("scp -f /etc/passwd", "is not an agent command"),
    ("internal-sftp", "is not an agent command"),
    ("/usr/lib/openssh/sftp-server", "is not an agent command"),
    ("git-upload-pack 'repo'", "is not an agent command"),
    ("rsync --server -e.Lsfx . /tmp", "is not an agent command"),
    ("docker compose up -d", "is not an agent command"),
], ids=lambda v: repr(v)[:40])
def test_refused(text: str | None, why: str) -> None:
    with pytest.raises(Refused, match=re.escape(why)) as caught:
        parse_command(text)
    message = str(caught.value)
    assert message.isprintable() and "\n" not in message  # one line, no terminal escapes
    assert len(message) < 400


@pytest.mark.parametrize(("tag", "pattern", "allowed"), [
    ("main-1a2b", "^(main|dev)-", True),
    ("dev-77", "^(main|dev)-", True),
    ("feature-x", "^(main|dev)-", False),
    ("xmain-1", "^(main|dev)-", False),
    ("v1.2.3", r"^v\d+\.\d+\.\d+$", True),
    ("v1.2.3-rc1", r"^v\d+\.\d+\.\d+$", False),
    ("anything", None, True),
], ids=lambda v: str(v))
def test_allow_pattern(tag: str, pattern: str | None, allowed: bool) -> None:
    if allowed:
        check_allowed(tag, pattern)
    else:
        with pytest.raises(Refused, match="allow_tags"):
            check_allowed(tag, pattern)


# --- properties -------------------------------------------------------------------
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", fullmatch=True)
counts = st.integers(1, 9999).map(str)
backups = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True)
valid_commands = st.one_of(
    st.sampled_from(["deploy", "rollback", "status", "history", "backup", "restore"]),
    st.builds(lambda name: f"restore {name}", backups),
    st.builds(lambda verb, tag: f"{verb} {tag}", st.sampled_from(["deploy", "rollback"]), tags),
    st.builds(lambda n: f"history {n}", counts),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid command with shell syntax or junk inserted, appended or substituted."""
    base = draw(valid_commands)
    junk = draw(st.one_of(st.sampled_from(SHELL_META + PAYLOADS),
                          st.text(min_size=1, max_size=8)))
    position = draw(st.integers(0, len(base)))
    how = draw(st.sampled_from(["insert", "append", "prepend", "replace"]))
    if how == "insert":
        return base[:position] + junk + base[position:]
    if how == "append":
        return base + junk
    if how == "prepend":
        return junk + base
    return base[:position] + junk + base[position + 1:]


def _check(text: str) -> None:
    outcome = _outcome(text)
    assert isinstance(outcome, Request) == _oracle(text), (text, outcome)
    if isinstance(outcome, Request):
        words = text.split(" ")
        assert outcome.action == words[0]
        if outcome.action in ("deploy", "rollback", "restore"):
            assert outcome.tag == (words[1] if len(words) == 2 else None)
        if outcome.action == "history":
            assert outcome.count == (int(words[1]) if len(words) == 2 else 10)
    else:
        assert "\n" not in outcome and outcome.isprintable()


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_commands)
def test_every_grammar_valid_command_is_accepted(text: str) -> None:
    assert _oracle(text)
    _check(text)


@settings(max_examples=3000, deadline=None)
@given(mutated())
def test_mutated_commands_are_accepted_only_if_still_in_the_grammar(text: str) -> None:
    _check(text)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_accepted_only_if_in_the_grammar(text: str) -> None:
    _check(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + " ._-:/@;&|$`", max_size=40))
def test_near_miss_ascii_is_accepted_only_if_in_the_grammar(text: str) -> None:
    _check(text)


ARGUMENT_CHARS = string.ascii_letters + string.digits + "._-:/@ +\u0661\uff10\u00e9;$`"


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A real or almost-real verb and an argument that is often almost valid."""
    verb = draw(st.sampled_from(["deploy", "rollback", "status", "history", "Deploy",
                                 "histor", "deploy ", "history "]))
    argument = draw(st.one_of(
        st.text(alphabet=ARGUMENT_CHARS, max_size=12),
        st.integers(-10, 20000).map(str),
        st.integers(0, 99).map(lambda n: f"0{n}"),
        st.builds(lambda t, j: t + j, tags, st.sampled_from(SHELL_META)),
    ))
    return draw(st.sampled_from([verb, f"{verb} {argument}", f"{verb}{argument}"]))


@settings(max_examples=3000, deadline=None)
@given(near_misses())
def test_near_miss_commands_are_accepted_only_if_in_the_grammar(text: str) -> None:
    _check(text)


@settings(max_examples=1000, deadline=None)
@given(valid_commands, st.sampled_from(PAYLOADS))
def test_payload_after_a_valid_command_is_always_refused(text: str, payload: str) -> None:
    assume(not _oracle(text + payload))
    assert not isinstance(_outcome(text + payload), Request)
