"""Small helpers for running commands and reporting progress in the test bed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


class TestbedError(RuntimeError):
    """The test bed cannot be set up; the message says what to do."""


def say(message: str) -> None:
    print(f"testbed: {message}", file=sys.stderr, flush=True)


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv with captured text output; raise TestbedError with stderr on failure."""
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **env} if env else None,
            check=False,
            input=input.decode() if input is not None else None,
        )
    except FileNotFoundError as exc:
        raise TestbedError(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"`{' '.join(argv)}` did not finish within {timeout}s") from exc
    if check and proc.returncode != 0:
        raise TestbedError(
            f"`{' '.join(argv)}` failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    return proc


def ok(argv: Sequence[str], timeout: float = 30) -> bool:
    """Whether argv runs and exits 0."""
    try:
        return run(argv, check=False, timeout=timeout).returncode == 0
    except TestbedError:
        return False


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll condition until it holds or the deadline passes (then raise)."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while not condition():
        if time.monotonic() > deadline:
            raise TestbedError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
