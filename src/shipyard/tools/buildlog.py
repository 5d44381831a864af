"""BuildKit's plain progress (`--progress plain`), read back: which step failed and why.

Why: the plain log interleaves every step ("vertex") of a parallel build, and the
docker client's own final message names the solve, not the step: the first line
of its output is `#0 building with ...` or `#1 [internal] load build definition`.
A user without `-v` must still see *which* Dockerfile instruction failed and the
last lines *that step* printed (uv's "No interpreter found", a missing compiler, a
SyntaxError traceback) — so the log is parsed into vertices here, as pure functions
over text, and the failing vertex's own lines are quoted.

The format, as BuildKit prints it (one line each, `N` the vertex number):

    #N [stage i/n] INSTRUCTION ...   the vertex's name (repeated when output resumes)
    #N 0.215 text                    the step's own output, with seconds since it started
    #N transferring context: 2B      status without a timestamp
    #N CACHED | #N DONE 1.2s | #N CANCELED
    #N ERROR: message                the step failed
    ERROR: failed to solve: ...      the client's summary (also `failed to build: ...`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"^#(?P<id>\d+) (?P<rest>.*)$")
_NAME = re.compile(r"^\[(?P<what>[^\]]+)\] ?(?P<instruction>.*)$")
_OUTPUT = re.compile(r"^\d+\.\d+ ?(?P<text>.*)$")
_DONE = re.compile(r"^DONE \d+(?:\.\d+)?s$")
_SUMMARY = re.compile(r"^(?:ERROR|error): (?P<message>.*)$")
_EXIT_CODE = re.compile(r"exit code: \d+$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

TAIL = 20
"""How many of the failing step's own output lines an error quotes."""


@dataclass
class Vertex:
    """One build step as the plain log tells it."""

    id: int
    name: str = ""
    output: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    cached: bool = False
    done: bool = False
    error: str | None = None

    @property
    def internal(self) -> bool:
        """BuildKit's own bookkeeping ([internal] load ..., metadata), not a Dockerfile step."""
        return self.name.startswith("[internal]") or not self.name.startswith("[")


@dataclass(frozen=True)
class Failure:
    """Why a build failed: the step (its Dockerfile instruction, or None when the failure
    is not one step's, e.g. a Dockerfile syntax error) and its last output lines."""

    step: str | None
    error: str
    lines: tuple[str, ...]

    def describe(self) -> str:
        """A one-line-first message: the step and the cause, then the quoted output."""
        what = f"build step `{self.step}` failed" if self.step else "the build failed"
        head = f"{what}: {self.error}" if self.error else what
        if not self.lines:
            return head
        quoted = "\n".join(f"    | {line}" for line in self.lines)
        return f"{head}\n  last {len(self.lines)} line(s) of its output:\n{quoted}"


def parse(text: str) -> list[Vertex]:
    """The vertices of a plain progress log, in the order they first appeared."""
    vertices: dict[int, Vertex] = {}
    for raw in text.splitlines():
        match = _LINE.match(_ANSI.sub("", raw).rstrip())
        if not match:
            continue
        number = int(match["id"])
        vertex = vertices.setdefault(number, Vertex(number))
        _feed(vertex, match["rest"])
    return list(vertices.values())


def _feed(vertex: Vertex, rest: str) -> None:
    if not vertex.name and _NAME.match(rest):
        vertex.name = rest
        return
    if rest == vertex.name:
        return  # the header again: output resumes after other steps' lines
    if rest == "CACHED":
        vertex.cached = True
    elif _DONE.match(rest):
        vertex.done = True
    elif rest.startswith("ERROR:") or rest.startswith("ERROR "):
        vertex.error = rest[6:].strip()
    elif (output := _OUTPUT.match(rest)) is not None:
        vertex.output.append(output["text"])
    elif rest and not vertex.name:
        vertex.name = rest  # `#0 building with "default" instance ...`
    elif rest:
        vertex.status.append(rest)


def failure(text: str, tail: int = TAIL) -> Failure | None:
    """The failing step of a plain progress log and its last `tail` output lines, or None
    when the log shows no error at all.

    A Dockerfile step that failed wins over BuildKit's internal ones (a failed step
    cancels the others); without any failed vertex the client's `ERROR: ...` summary
    is the cause (a Dockerfile parse error, an unknown base image)."""
    vertices = parse(text)
    failed = [v for v in vertices if v.error is not None]
    steps = [v for v in failed if not v.internal] or failed
    summary = _summary(text)
    if not steps:
        return Failure(None, summary, ()) if summary else None
    vertex = steps[0]
    lines = [line for line in vertex.output if line.strip()] or vertex.status
    return Failure(vertex.name or None, _cause(vertex.error or "", summary),
                   tuple(lines[-tail:]) if tail > 0 else ())


def _summary(text: str) -> str:
    """The client's last `ERROR: ...` line, prefixes like `failed to solve:` removed."""
    found = ""
    for raw in text.splitlines():
        match = _SUMMARY.match(_ANSI.sub("", raw).strip())
        if match:
            found = match["message"]
    for prefix in ("failed to build: ", "failed to solve: "):
        found = found.removeprefix(prefix)
    return found.strip()


def _cause(error: str, summary: str) -> str:
    """`exit code: 1` rather than the whole `process "/bin/sh -c ..." did not complete
    successfully: exit code: 1` (or older BuildKit's `executor failed running [...]:
    exit code: 1`): the step's name already shows the command."""
    message = error or summary
    exit_code = _EXIT_CODE.search(message)
    if exit_code and message.startswith(("process ", "executor failed running")):
        return exit_code.group(0)
    return message


class ShortProgress:
    """What `build` shows without -v: each step's name once, when it is CACHED, and errors.

    Stateful because BuildKit repeats a vertex's name whenever its output resumes and
    says `#N CACHED` on a line of its own; feed() returns the line to show, or None."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def feed(self, raw: str) -> str | None:
        line = _ANSI.sub("", raw).rstrip()
        match = _LINE.match(line)
        if not match:
            return line if _SUMMARY.match(line.strip()) else None
        number, rest = int(match["id"]), match["rest"]
        if _NAME.match(rest):
            if self._names.get(number) == rest:
                return None
            self._names[number] = rest
            return line
        if rest == "CACHED":
            name = self._names.get(number, "")
            return f"#{number} CACHED {name}".rstrip()
        if rest.startswith("ERROR"):
            return line
        return None
