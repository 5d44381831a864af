"""Reading BuildKit's plain progress back: the failing step, its own last lines, CACHED steps.

The logs below are written by hand in the shapes BuildKit prints (current BuildKit with
timestamps and interleaved vertices, and the older engine's `executor failed running`).
"""

from __future__ import annotations

import pytest

from shipyard.tools import buildlog
from shipyard.tools.docker import BuildFailed, explain_build_failure
from shipyard.tools.process import Result

INTERLEAVED = """\
#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 1.20kB done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/python:3.12-slim
#2 DONE 0.4s

#3 [builder 1/9] FROM docker.io/library/python:3.12-slim@sha256:0123
#3 CACHED

#4 [builder 2/9] RUN --mount=type=cache,target=/root/.cache pip install uv
#4 CACHED

#5 [internal] load build context
#5 transferring context: 4.10kB done
#5 DONE 0.0s

#6 [builder 6/9] RUN pip install -r requirements.txt
#6 0.812 Collecting cryptography==42.0.0
#7 [runtime 3/4] RUN useradd --system app
#7 0.301 useradd: warning: the home directory already exists.
#6 1.902   Downloading cryptography-42.0.0.tar.gz (671 kB)
#7 DONE 0.4s

#6 [builder 6/9] RUN pip install -r requirements.txt
#6 9.120       error: command 'cc' failed: No such file or directory
#6 9.121       note: This error originates from a subprocess.
#6 9.130 error: subprocess-exited-with-error
#6 9.131 You need a C compiler to build cryptography
#6 ERROR: process "/bin/sh -c pip install -r requirements.txt" did not complete \
successfully: exit code: 1
------
 > [builder 6/9] RUN pip install -r requirements.txt:
9.130 error: subprocess-exited-with-error
------
Dockerfile:14
--------------------
  14 | >>> RUN pip install -r requirements.txt
--------------------
ERROR: failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not \
complete successfully: exit code: 1
""".replace("\\\n", "")

OLD_ENGINE = """\
#1 [internal] load build definition from Dockerfile
#1 sha256:3841a0fa857dbe0fedba95fd41f67628cb7a8e35197f13aae44d96d8e0765cc7
#1 transferring dockerfile: 292B done
#1 DONE 0.0s

#5 [builder 2/5] WORKDIR /app
#5 sha256:98a30b3af1b2e2d471f4316505f1e76dc0eb05d363ff9693c7cba5619e4b342d
#5 CACHED

#9 [builder 5/5] RUN uv sync --frozen --no-dev
#9 sha256:d07172ff33f500fab42ee17bea01fbe8293a80ebd6343cd96c5284db61aada12
#9 0.454 Using CPython 3.11.9 interpreter at: /usr/local/bin/python3
#9 0.464 error: No interpreter found for Python >=3.13 in managed installations or search path
#9 ERROR: executor failed running [/bin/sh -c uv sync --frozen --no-dev]: exit code: 2
------
 > [builder 5/5] RUN uv sync --frozen --no-dev:
------
executor failed running [/bin/sh -c uv sync --frozen --no-dev]: exit code: 2
"""

COPY_MISSING = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#6 [builder 3/6] COPY requirements.txt ./
#6 ERROR: failed to calculate checksum of ref abc::def: "/requirements.txt": not found
------
ERROR: failed to solve: failed to compute cache key: "/requirements.txt": not found
"""

PARSE_ERROR = """\
#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 88B done
#1 DONE 0.0s
Dockerfile:3
--------------------
   3 | >>> RUNN echo hi
--------------------
ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN
"""


def test_failure_names_the_failing_step_not_the_first_vertex() -> None:
    found = buildlog.failure(INTERLEAVED)
    assert found is not None
    assert found.step == "[builder 6/9] RUN pip install -r requirements.txt"
    assert found.error == "exit code: 1"


def test_failure_quotes_only_the_failing_steps_own_lines_in_order() -> None:
    found = buildlog.failure(INTERLEAVED)
    assert found is not None
    assert found.lines == (
        "Collecting cryptography==42.0.0",
        "  Downloading cryptography-42.0.0.tar.gz (671 kB)",
        "      error: command 'cc' failed: No such file or directory",
        "      note: This error originates from a subprocess.",
        "error: subprocess-exited-with-error",
        "You need a C compiler to build cryptography",
    )


def test_failure_keeps_the_last_lines_when_the_step_said_more() -> None:
    lines = "".join(f"#4 {n}.000 line {n}\n" for n in range(1, 51))
    text = f"#4 [builder 3/3] RUN make\n{lines}#4 ERROR: process \"make\" did not complete" \
           " successfully: exit code: 2\n"
    found = buildlog.failure(text, tail=20)
    assert found is not None
    assert found.lines[0] == "line 31"
    assert found.lines[-1] == "line 50"
    assert len(found.lines) == 20


def test_failure_reads_the_older_engines_executor_message() -> None:
    found = buildlog.failure(OLD_ENGINE)
    assert found is not None
    assert found.step == "[builder 5/5] RUN uv sync --frozen --no-dev"
    assert found.error == "exit code: 2"
    assert found.lines[-1].startswith("error: No interpreter found for Python >=3.13")
    assert not any(line.startswith("sha256:") for line in found.lines)


def test_a_step_without_output_quotes_its_error() -> None:
    found = buildlog.failure(COPY_MISSING)
    assert found is not None
    assert found.step == "[builder 3/6] COPY requirements.txt ./"
    assert '"/requirements.txt": not found' in found.error


def test_a_dockerfile_error_is_the_clients_summary() -> None:
    found = buildlog.failure(PARSE_ERROR)
    assert found == buildlog.Failure(
        None, "dockerfile parse error on line 3: unknown instruction: RUNN", ())


def test_no_failure_in_a_good_log() -> None:
    assert buildlog.failure("#1 [internal] load build definition\n#1 DONE 0.0s\n") is None


def test_describe_is_one_line_first_then_the_quote() -> None:
    found = buildlog.failure(OLD_ENGINE)
    assert found is not None
    text = found.describe()
    first, *rest = text.splitlines()
    assert first == ("build step `[builder 5/5] RUN uv sync --frozen --no-dev` failed:"
                     " exit code: 2")
    assert rest[-1].endswith("error: No interpreter found for Python >=3.13 in managed"
                             " installations or search path")


def test_the_docker_error_no_longer_quotes_the_first_log_line() -> None:
    result = Result(("docker", "build", "."), 1, "", INTERLEAVED)
    explained = explain_build_failure(BuildFailed(result))
    assert isinstance(explained, BuildFailed)
    assert "load build definition" not in str(explained)
    assert str(explained).startswith(
        "build step `[builder 6/9] RUN pip install -r requirements.txt` failed: exit code: 1")
    assert "You need a C compiler to build cryptography" in str(explained)


@pytest.mark.parametrize(("log", "shown"), [
    (INTERLEAVED, [
        "#1 [internal] load build definition from Dockerfile",
        "#2 [internal] load metadata for docker.io/library/python:3.12-slim",
        "#3 [builder 1/9] FROM docker.io/library/python:3.12-slim@sha256:0123",
        "#3 CACHED [builder 1/9] FROM docker.io/library/python:3.12-slim@sha256:0123",
        "#4 [builder 2/9] RUN --mount=type=cache,target=/root/.cache pip install uv",
        "#4 CACHED [builder 2/9] RUN --mount=type=cache,target=/root/.cache pip install uv",
        "#5 [internal] load build context",
        "#6 [builder 6/9] RUN pip install -r requirements.txt",
        "#7 [runtime 3/4] RUN useradd --system app",
        '#6 ERROR: process "/bin/sh -c pip install -r requirements.txt" did not complete'
        " successfully: exit code: 1",
        'ERROR: failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not'
        " complete successfully: exit code: 1",
    ]),
])
def test_short_progress_shows_each_step_once_and_cached_ones(log: str, shown: list[str]) -> None:
    short = buildlog.ShortProgress()
    assert [line for raw in log.splitlines() if (line := short.feed(raw)) is not None] == shown
