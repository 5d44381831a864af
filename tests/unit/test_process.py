"""process.run, the one subprocess call site: results, typed failures, stdin, streaming.

The programs run here are the test interpreter itself (no docker, no network)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.tools.process import CommandError, CommandNotFound, CommandTimeout, Result, run

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


# -- success and results -----------------------------------------------------------------------

def test_result_carries_argv_and_output() -> None:
    result = run(py("import sys; print('out'); print('err', file=sys.stderr)"))
    assert result == Result((PY, "-c", result.argv[2]), 0, "out\n", "err\n")
    assert result.ok is True


def test_argv_items_are_converted_to_str(tmp_path: Path) -> None:
    result = run([Path(PY), "-c", "import sys; print(sys.argv[1])", tmp_path])
    assert result.stdout == f"{tmp_path}\n"
    assert all(isinstance(a, str) for a in result.argv)


def test_env_is_merged_over_the_current_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_OUTER", "outer")
    code = "import os; print(os.environ['SHIPYARD_TEST_OUTER'], os.environ['SHIPYARD_TEST_X'])"
    assert run(py(code), env={"SHIPYARD_TEST_X": "inner"}).stdout == "outer inner\n"


def test_cwd(tmp_path: Path) -> None:
    assert run(py("import os; print(os.getcwd())"), cwd=tmp_path).stdout.strip() == str(
        tmp_path.resolve())


# -- failures ----------------------------------------------------------------------------------

NOT_FOUND = [
    ("missing-name", ["shipyard-no-such-program-4b1d"], None, "shipyard-no-such-program-4b1d"),
    ("missing-path", ["/nonexistent/bin/tool"], None, "/nonexistent/bin/tool"),
    ("not-on-given-path", ["sh", "-c", "true"], {"PATH": "/nonexistent"}, "sh"),
]


@pytest.mark.parametrize(("argv", "env", "named"), [c[1:] for c in NOT_FOUND],
                         ids=[c[0] for c in NOT_FOUND])
def test_command_not_found(argv: list[str], env: dict[str, str] | None, named: str) -> None:
    with pytest.raises(CommandNotFound) as err:
        run(argv, env=env)
    assert f"`{named}` was not found" in err.value.message
    assert err.value.hint is not None and "install" in err.value.hint
    assert isinstance(err.value, ShipyardError)


FAILURES = [
    # id, code, first line shown in the message
    ("stderr-first-line", "import sys; sys.stderr.write('\\n  boom: bad thing\\nmore\\n'); "
                          "sys.exit(3)", "boom: bad thing"),
    ("stdout-when-no-stderr", "import sys; print('only stdout'); sys.exit(3)", "only stdout"),
    ("no-output", "import sys; sys.exit(3)", "no output"),
]


@pytest.mark.parametrize(("code", "first"), [c[1:] for c in FAILURES],
                         ids=[c[0] for c in FAILURES])
def test_command_error(code: str, first: str) -> None:
    with pytest.raises(CommandError) as err:
        run(py(code))
    error = err.value
    assert error.argv == (PY, "-c", code)
    assert error.returncode == 3
    assert error.message == f"`{PY} -c {code}` failed with exit code 3: {first}"
    assert error.details == error.stderr
    assert "\n" not in str(error)


def test_command_error_keeps_full_stderr() -> None:
    with pytest.raises(CommandError) as err:
        run(py("import sys; sys.stderr.write('a\\nb\\nc\\n'); sys.exit(1)"))
    assert err.value.stderr == "a\nb\nc\n"


def test_long_argv_is_shortened_in_the_message() -> None:
    with pytest.raises(CommandError) as err:
        run([*py("import sys; sys.exit(2)"), "extra-1", "extra-2", "extra-3"])
    assert err.value.message.startswith(f"`{PY} -c import sys; sys.exit(2) extra-1 …`")
    assert "extra-2" not in err.value.message
    assert err.value.argv[-1] == "extra-3"


def test_check_false_returns_the_failed_result() -> None:
    result = run(py("import sys; sys.exit(7)"), check=False)
    assert (result.ok, result.returncode) == (False, 7)


def test_timeout_raises_command_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        run(py("import time; time.sleep(10)"), timeout=0.3)
    assert time.monotonic() - start < 5
    assert "0.3s" in err.value.message
    assert err.value.hint


def test_timeout_also_applies_when_streaming() -> None:
    lines: list[str] = []
    start = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        run(py("import time; print('started', flush=True); time.sleep(2)"), timeout=0.3,
            on_output=lines.append)
    assert time.monotonic() - start < 1.5
    assert lines == ["started"]
    assert "0.3s" in err.value.message
    assert err.value.details == "started\n"  # the log so far, for the error report


STREAM_TIMEOUTS = [
    # id, code: each must be stopped by the 0.3 s deadline
    ("silent", "import time; time.sleep(10)"),
    ("chatty", "import time\nfor _ in range(1000):\n"
               "    print('tick', flush=True); time.sleep(0.01)"),
    ("closes-stdout-then-hangs", "import os, time; os.close(1); os.close(2); time.sleep(10)"),
    ("ignores-stdin", "import time; time.sleep(10)"),
]


@pytest.mark.parametrize("code", [c[1] for c in STREAM_TIMEOUTS],
                         ids=[c[0] for c in STREAM_TIMEOUTS])
def test_streaming_deadline_holds_whatever_the_program_does(code: str) -> None:
    start = time.monotonic()
    with pytest.raises(CommandTimeout):
        run(py(code), timeout=0.3, on_output=lambda _: None, input="x" * 1_000_000)
    assert time.monotonic() - start < 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, parent not yet reaped) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return not _alive(pid)


def test_streaming_timeout_kills_what_the_program_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
            "print('spawned', flush=True)\n"
            "time.sleep(30)\n")
    seen: list[str] = []
    with pytest.raises(CommandTimeout):
        run(py(code), timeout=1.0, on_output=seen.append)
    assert seen == ["spawned"]
    pid = int(pidfile.read_text())
    try:
        assert _wait_gone(pid, 5), "the grandchild outlived the timeout"
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_on_output_runs_on_the_calling_thread() -> None:
    threads: set[int] = set()
    run(py("print('a'); print('b')"), on_output=lambda _: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}


def test_failing_on_output_stops_the_program(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = (f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); "
            "print('x', flush=True); time.sleep(30)")

    def explode(line: str) -> None:
        raise RuntimeError("display broke")

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="display broke"):
        run(py(code), on_output=explode, timeout=20)
    assert time.monotonic() - start < 5  # killed, not waited for
    assert _wait_gone(int(pidfile.read_text()), 5)


def test_streaming_without_timeout_still_finishes() -> None:
    assert run(py("print('done')"), on_output=lambda _: None).stdout == "done\n"


# -- stdin and streaming -----------------------------------------------------------------------

ECHO_STDIN = "import sys; data = sys.stdin.read(); print(len(data), data.upper())"


@pytest.mark.parametrize("streaming", [False, True], ids=["captured", "streamed"])
def test_input_goes_to_stdin_not_argv(streaming: bool) -> None:
    lines: list[str] = []
    result = run(py(ECHO_STDIN), input="hunter2-secret",
                 on_output=lines.append if streaming else None)
    assert result.stdout == "14 HUNTER2-SECRET\n"
    assert not any("hunter2" in a for a in result.argv)
    assert lines == (["14 HUNTER2-SECRET"] if streaming else [])


def test_without_input_stdin_is_not_inherited_when_streaming() -> None:
    result = run(py("import sys; print(repr(sys.stdin.read()))"), on_output=lambda _: None)
    assert result.stdout == "''\n"


def test_on_output_gets_each_line_as_it_arrives() -> None:
    code = ("import sys, time\n"
            "print('one', flush=True)\n"
            "print('two', file=sys.stderr, flush=True)\n"
            "time.sleep(0.05)\n"
            "print('three', flush=True)\n")
    seen: list[tuple[str, float]] = []
    result = run(py(code), on_output=lambda line: seen.append((line, time.monotonic())))
    assert [line for line, _ in seen] == ["one", "two", "three"]
    assert seen[0][1] < seen[2][1]
    assert result.stdout == "one\ntwo\nthree\n"
    assert result.stderr == ""  # merged into stdout while streaming


def test_streamed_failure_raises_with_the_merged_log() -> None:
    code = ("import sys; print('step 1', flush=True); print('it broke', file=sys.stderr); "
            "sys.exit(4)")
    seen: list[str] = []
    with pytest.raises(CommandError) as err:
        run(py(code), on_output=seen.append)
    assert seen == ["step 1", "it broke"]
    assert err.value.returncode == 4
    assert err.value.stderr == "step 1\nit broke\n"
    assert err.value.message.endswith("failed with exit code 4: step 1")
