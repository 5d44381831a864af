"""The agent's wire contract has one source — agent.py — and the client side agrees with it.

Why: the agent runs on hosts as a copy of agent.py; the client (deploy/client.py, host
setup, the config's request words, the tag grammar) must speak exactly its language.
The client imports the names from agent.py; these tests catch a re-declared or drifted
copy and a contract that stops being self-consistent.
"""

from __future__ import annotations

import re

import pytest

import shipyard.agent.agent as agent
from shipyard import config
from shipyard.deploy import client, setup
from shipyard.image import tags


def test_every_agent_exit_code_has_a_client_meaning_and_no_other() -> None:
    codes = {value for name, value in vars(agent).items() if name.startswith("EXIT_")}
    assert set(client.AGENT_EXIT) == codes
    assert client.AGENT_EXIT[agent.EXIT_OK] == "done"
    assert client.AGENT_EXIT[agent.EXIT_REFUSED].startswith("refused")
    assert len(set(client.AGENT_EXIT.values())) == len(client.AGENT_EXIT)  # distinct words


def test_the_client_requests_are_the_agent_commands() -> None:
    assert config.DEPLOY_REQUESTS == agent.COMMANDS
    assert [word.split(" ")[0] for word in agent.HELP.split(", ")] == list(agent.COMMANDS)


def test_the_tag_grammar_is_the_agents() -> None:
    assert tags.TAG_PATTERN.pattern == agent.TAG_PATTERN
    assert client.TAG_PATTERN is tags.TAG_PATTERN


def test_the_agent_config_name_is_the_agents() -> None:
    assert setup.AGENT_CONFIG == agent.CONFIG_NAME


def test_history_max_is_the_largest_count_the_agent_accepts() -> None:
    assert client.HISTORY_MAX == agent.HISTORY_MAX
    assert re.fullmatch(agent.COUNT_PATTERN, str(agent.HISTORY_MAX))
    assert not re.fullmatch(agent.COUNT_PATTERN, str(agent.HISTORY_MAX + 1))


@pytest.mark.parametrize(("verb", "argument"), [
    ("deploy", "main-1a2b3c4"), ("deploy", None), ("rollback", "v1.2.3"), ("rollback", None),
    ("status", None), ("history", 7), ("history", client.HISTORY_MAX),
])
def test_every_request_the_client_makes_is_one_the_agent_accepts(verb: str,
                                                                 argument: str | int | None
                                                                 ) -> None:
    request = client.make_request(verb, argument)
    parsed = agent.parse_command(" ".join(request.words))
    assert parsed.action == verb
