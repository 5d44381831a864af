"""Run one external program and return a typed result; the only subprocess call site.

Why: every wrapper (docker, git, ssh) needs the same things — argv lists, a
timeout, stdin for secrets, and failures that say which command failed with
which exit code and stderr — so they all go through run().
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError


@dataclass(frozen=True)
class Result:
    """What a finished program left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandError(ShipyardError):
    """A program exited non-zero. Carries the argv, exit code and stderr for callers to map."""

    def __init__(self, result: Result, message: str | None = None, *, hint: str | None = None):
        first = _first_line(result.stderr) or _first_line(result.stdout) or "no output"
        shown = _display(result.argv)
        super().__init__(
            message or f"`{shown}` failed with exit code {result.returncode}: {first}",
            hint=hint,
            details=result.stderr,
        )
        self.result = result

    @property
    def argv(self) -> tuple[str, ...]:
        return self.result.argv

    @property
    def returncode(self) -> int:
        return self.result.returncode

    @property
    def stderr(self) -> str:
        return self.result.stderr


class CommandNotFound(ShipyardError):
    """The program is not installed (or not on PATH)."""


class CommandTimeout(ShipyardError):
    """The program did not finish within its time limit and was killed."""


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    check: bool = True,
    on_output: Callable[[str], None] | None = None,
) -> Result:
    """Run argv, capture stdout/stderr, and raise CommandError on failure when check is set.

    env is merged over the current environment. With on_output, stdout and
    stderr are merged and each line is passed to it as it arrives (for build
    progress); the combined text ends up in Result.stdout.
    """
    argv = tuple(str(a) for a in argv)
    full_env = {**os.environ, **env} if env is not None else None
    if shutil.which(argv[0], path=(full_env or os.environ).get("PATH")) is None:
        raise CommandNotFound(
            f"`{argv[0]}` was not found", hint=f"install {Path(argv[0]).name} or put it on PATH"
        )
    try:
        if on_output is None:
            proc = subprocess.run(
                argv,
                input=input,
                env=full_env,
                cwd=cwd,
                timeout=timeout,
                capture_output=True,
                text=True,
                check=False,
            )
            result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        else:
            result = _stream(argv, input, full_env, cwd, timeout, on_output)
    except subprocess.TimeoutExpired as exc:
        raise CommandTimeout(
            f"`{_display(argv)}` did not finish within {timeout:g}s and was stopped",
            hint="raise the timeout or look at why it hangs",
        ) from exc
    if check and not result.ok:
        raise CommandError(result)
    return result


def _stream(
    argv: tuple[str, ...],
    input: str | None,
    env: Mapping[str, str] | None,
    cwd: str | Path | None,
    timeout: float | None,
    on_output: Callable[[str], None],
) -> Result:
    """Run with merged output streamed line by line (a timeout is enforced after the fact)."""
    lines: list[str] = []
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        text=True,
    ) as proc:
        if input is not None and proc.stdin is not None:
            proc.stdin.write(input)
            proc.stdin.close()
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_output(line.rstrip("\n"))
        returncode = proc.wait(timeout=timeout)
    text = "".join(lines)
    return Result(argv, returncode, text, text if returncode else "")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _display(argv: Sequence[str]) -> str:
    shown = " ".join(argv[:4])
    return shown + (" …" if len(argv) > 4 else "")
