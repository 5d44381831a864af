"""The one exception family the core raises for expected failures.

Why one family: the CLI turns any ShipyardError into a single clean line and
an exit code, and anything else into a traceback hint. The core never prints
and never exits, so every message must carry what happened *and* what to do.
"""

from __future__ import annotations


class ShipyardError(Exception):
    """An expected failure with a one-line message that tells the user what to do."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(ShipyardError):
    """Bad input from the user: a flag, a file, a value. Exit code 2 like click's."""

    exit_code = 2


class ConfigError(UsageError):
    """Invalid configuration; the message names the file and key path."""


class ParseError(Exception):
    """A file that is not what it claims (a Dockerfile, YAML, authorized_keys): message and
    line. Raised by the parsers (the Dockerfile model lives below the stages, so this does
    too); `check` turns it into a ParseFailure, other stages into a UsageError."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
