"""Ask the host agent for one thing over the restricted key, and return its exit status.

Why so little: the authorized_keys line forces the agent as the only program
the key can run, so the client only chooses the request words (ssh sends
them as SSH_ORIGINAL_COMMAND) and connects safely. The words are checked
here with the same grammar the agent uses, so a typo fails locally with a
clear message instead of as a refusal from the host — but the agent checks
them again: the client is not trusted.

The exit status of `shipyard deploy/rollback/status/history` is the agent's
(AGENT_EXIT below words each of its codes, which agent.py alone defines); when the
host could not be reached, or the local ssh died, SshConnectionError (exit 255).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shipyard.agent import agent as contract
from shipyard.config import DEPLOY_REQUESTS
from shipyard.deploy.target import Credentials, Target
from shipyard.errors import ShipyardError, UsageError
from shipyard.image.tags import TAG_PATTERN
from shipyard.tools import ssh
from shipyard.tools.ssh import SshConnectionError

Verb = Literal["deploy", "rollback", "status", "history", "backup", "restore"]

AGENT_EXIT: dict[int, str] = {
    contract.EXIT_OK: "done",
    contract.EXIT_FAILED: "failed; the version that ran before runs again",
    contract.EXIT_REFUSED: "refused by the host agent; nothing ran",
    contract.EXIT_LOCK_TIMEOUT: "not started: another deploy holds the lock (timed out waiting)",
    contract.EXIT_CONFIG: "not started: configuration error on the host",
    contract.EXIT_UNKNOWN_TARGET: "not started: unknown rollback target",
    contract.EXIT_NOT_RESTORED: "failed and the previous version was NOT restored: the host "
                                "needs a look (`shipyard status`)",
}
"""The agent's exit statuses (its contract, defined in agent.py), as the CLI words them."""

READ_FAILED = "failed: the host could not read the project's state"
"""EXIT_FAILED of `status`/`history`: nothing was deployed, so nothing was restored."""


def exit_meaning(verb: str, code: int) -> str:
    """What the agent's exit status means for this request, in words."""
    if code == contract.EXIT_FAILED and verb in ("status", "history"):
        return READ_FAILED
    if verb in ("backup", "restore") and code in BACKUP_EXIT:
        return BACKUP_EXIT[code]
    return AGENT_EXIT.get(code, "ended with an unexpected status")

HISTORY_MAX = contract.HISTORY_MAX

BACKUP_EXIT: dict[int, str] = {
    contract.EXIT_FAILED: "failed (the agent's output says what; a failed restore names the "
                          "safety backup holding the state before)",
    contract.EXIT_UNKNOWN_TARGET: "not started: no such backup on the host (see `history`)",
}
"""What backup/restore's statuses mean where they differ from a deploy's."""


class AgentExit(ShipyardError):
    """The agent answered with a non-zero status; the CLI exits with that same status."""

    def __init__(self, environment: str, verb: str, code: int) -> None:
        meaning = exit_meaning(verb, code)
        super().__init__(f"{environment}: {verb} {meaning} (agent exit status {code})")
        self.exit_code = code


@dataclass(frozen=True)
class Request:
    """One request for the agent: a verb and its optional argument."""

    verb: Verb
    argument: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The ssh remote command, word by word (the agent reads SSH_ORIGINAL_COMMAND)."""
        return (self.verb,) if self.argument is None else (self.verb, self.argument)


def make_request(verb: str, argument: str | int | None = None, *,
                 allow_tags: str | None = None) -> Request:
    """A checked Request: TAG by the OCI tag grammar (and `allow_tags`, a re.search
    pattern, when the environment has one), N a count from 1 to HISTORY_MAX.

    An empty argument is an error, not "no argument": in CI an unset variable
    (`deploy staging "$TAG"`) must not turn into a redeploy of whatever runs.
    """
    if verb not in DEPLOY_REQUESTS:
        raise UsageError(f"unknown request {verb!r}",
                         hint=f"the agent answers {', '.join(DEPLOY_REQUESTS)}")
    if argument is None:
        return Request(verb)  # type: ignore[arg-type]  # checked against DEPLOY_REQUESTS
    text = str(argument)
    if not text.strip():
        raise UsageError(f"`{verb}` got an empty argument",
                         hint="is the variable holding the tag set? leave it out to mean none")
    if verb in ("deploy", "rollback"):
        if any(c in text for c in "/@:"):
            raise UsageError(
                f"{text!r} is not a tag: give only the tag",
                hint="the image repository is fixed by the host's compose file",
            )
        if not TAG_PATTERN.fullmatch(text):
            raise UsageError(
                f"{text!r} is not a valid image tag",
                hint="a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -",
            )
        if allow_tags is not None and re.search(allow_tags, text) is None:
            raise UsageError(f"tag {text!r} does not match this environment's allow_tags "
                             f"{allow_tags!r}", hint="deploy a tag built from the right branch")
    elif verb == "restore":
        if not re.fullmatch(contract.BACKUP_NAME_PATTERN, text):
            raise UsageError(f"{text!r} is not a backup file name",
                             hint="give the file name as `history` lists it, without a path")
    elif verb == "history":
        if not re.fullmatch(r"[0-9]{1,6}", text) or not 1 <= int(text) <= HISTORY_MAX:
            raise UsageError(f"history count must be 1-{HISTORY_MAX}, got {text!r}")
        text = str(int(text))
    else:
        raise UsageError(f"`{verb}` takes no argument, got {text!r}")
    return Request(verb, text)  # type: ignore[arg-type]


def request_argv(target: Target, key_file: Path, known_hosts_file: Path,
                 request: Request) -> list[str]:
    """The ssh argv for a request (without the -E log file the runner adds)."""
    return ssh.client_argv(target.destination, port=target.port, key_file=key_file,
                           known_hosts_file=known_hosts_file, remote=request.words)


def send(
    credentials: Credentials,
    request: Request,
    on_output: Callable[[str], None],
    *,
    timeout: float | None = None,
) -> int:
    """Run the request on the host, streaming each output line; the agent's exit status.

    Raises SshConnectionError (one line, nothing ran) when ssh cannot connect,
    trust the host key, or log in; and when the local ssh was killed by a signal
    (a negative status is ssh's death, not the agent's answer).
    """
    target = credentials.spec.target
    result = ssh.run_remote(
        target.destination, port=target.port, key_file=credentials.key_file,
        known_hosts_file=credentials.known_hosts_file, remote=request.words,
        on_output=on_output, timeout=timeout,
    )
    if result.returncode < 0:
        raise ssh_killed(-result.returncode, target.destination, " ".join(request.words))
    return result.returncode


def ssh_killed(signum: int, destination: str, words: str) -> SshConnectionError:
    """The local ssh died by a signal: the host may have finished the request, or not."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return SshConnectionError(
        f"the local ssh to {destination} was killed by {name} during `{words}`; "
        "whether the host finished it is unknown",
        hint="ask the host: `shipyard status ENV` and `shipyard history ENV`")
