"""Run one external program and return a typed result; the only subprocess call site.

Why: every wrapper (docker, git, ssh) needs the same things — argv lists, a
timeout, stdin for secrets, and failures that say which command failed with
which exit code and stderr — so they all go through run().
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
    progress); the combined text ends up in Result.stdout. The timeout holds in
    both modes; on expiry CommandTimeout carries the output so far in details.
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
            details=exc.output if isinstance(exc.output, str) else None,
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
    """Run with merged output passed line by line to on_output, within the deadline.

    Why threads: reading the pipe blocks until the program writes or exits, so a
    silent program would never be stopped. A reader thread queues the lines and
    this thread waits on the queue with the time left, calling on_output itself
    (callers may update a display that is not thread-safe). The program runs in
    its own session, so a timeout kills everything it started (compose, buildx
    plugins), not just the first process; and it cannot prompt on the terminal.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    lines: list[str] = []
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    received: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, received), daemon=True).start()
    if input is not None and proc.stdin is not None:
        threading.Thread(target=_write_input, args=(proc.stdin, input), daemon=True).start()
    try:
        while (line := received.get(timeout=_left(deadline))) is not None:
            lines.append(line)
            on_output(line.rstrip("\n"))
        returncode = proc.wait(timeout=_left(deadline))
    except (queue.Empty, subprocess.TimeoutExpired):
        _kill_group(proc)
        raise subprocess.TimeoutExpired(argv, timeout or 0, output="".join(lines)) from None
    except BaseException:  # Ctrl-C or on_output failed: leave nothing running
        _kill_group(proc)
        raise
    text = "".join(lines)
    return Result(argv, returncode, text, text if returncode else "")


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _read_lines(stream: IO[str], received: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            received.put(line)
    except (OSError, ValueError):
        pass  # the pipe went away with the killed program
    finally:
        received.put(None)
        stream.close()


def _write_input(stream: IO[str], text: str) -> None:
    """Feed stdin from a thread: a program that does not read it must not block the deadline."""
    try:
        stream.write(text)
    except (OSError, ValueError):
        pass  # the program exited (or was killed) without reading everything
    finally:
        with contextlib.suppress(OSError, ValueError):
            stream.close()


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the program's process group (its own session), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()  # the group is gone already; make sure the leader is too
    proc.wait()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _display(argv: Sequence[str]) -> str:
    shown = " ".join(argv[:4])
    return shown + (" …" if len(argv) > 4 else "")
