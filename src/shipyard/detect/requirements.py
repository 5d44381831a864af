"""Parse pip requirements files far enough to plan a Docker build.

We need: every file involved (for the cache-friendly COPY), whether all lines
are pinned or hashed (how precise the source is), local path requirements
(directories that belong in the dependency layer), git URLs (ssh ones need a
mount and a pinned host key, all need git), and the names of what gets
installed (framework and server detection). We do not resolve anything, but
we read each line the way pip does, so what pip accepts is accepted here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.detect.implied import implied_by
from shipyard.detect.reqlines import Where, classify, split_line
from shipyard.detect.vcs import GitHost, add_source
from shipyard.errors import UsageError

__all__ = ["GitHost", "RequirementsInfo", "parse_requirements"]

_OUTSIDE_HINT = "a Docker build can only see files inside the project directory"


@dataclass
class RequirementsInfo:
    """What a requirements file (and its -r/-c includes) declares."""

    files: list[str] = field(default_factory=list)  # relative to project root
    names: set[str] = field(default_factory=set)  # canonical names of what gets installed
    local_paths: list[str] = field(default_factory=list)  # relative dirs (or archives)
    git_hosts: list[GitHost] = field(default_factory=list)  # git over ssh
    git_urls: list[str] = field(default_factory=list)  # git without ssh (https, ...)
    all_pinned: bool = True
    hashed: bool = False
    has_lines: bool = False


def parse_requirements(root: Path, relpath: str) -> RequirementsInfo:
    """Parse root/relpath and its includes; raise UsageError naming file and line on nonsense."""
    root = root.resolve()
    path = (root / relpath).resolve()
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError as exc:
        raise UsageError(f"{relpath}: outside the project ({path})", hint=_OUTSIDE_HINT) from exc
    if not path.is_file():
        raise UsageError(f"{rel}: file not found", hint="create it or choose another file")
    parser = _Parser(root)
    parser.parse_file(rel, constraint=False)
    return parser.info


class _Parser:
    """Walks one file and its includes, accumulating into info.

    Why the constraint flag: a -c file (and what it includes with -c) only limits
    versions. Its lines install nothing, so their names must not count as
    installed (a constrained-but-absent gunicorn is still absent) and they say
    nothing about pinning; the file itself still belongs in the dependency layer.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.info = RequirementsInfo()
        self.seen: set[tuple[str, bool]] = set()

    def parse_file(self, rel: str, constraint: bool) -> None:
        if (rel, constraint) in self.seen:
            return  # includes may form a diamond or a cycle
        self.seen.add((rel, constraint))
        if rel not in self.info.files:
            self.info.files.append(rel)
        path = self.root / rel
        for lineno, line in _logical_lines(path.read_text(encoding="utf-8")):
            self._line(path.parent, Where(rel, lineno), line, constraint)

    def _line(self, base: Path, where: Where, line: str, constraint: bool) -> None:
        parsed = split_line(where, line)
        if parsed.include is not None:
            self._include(base, where, line, parsed.include, parsed.include_constraint)
        elif parsed.requirement:
            self._requirement(base, where, parsed.requirement, parsed.hashed, constraint)

    def _include(self, base: Path, where: Where, line: str, target: str,
                 constraint: bool) -> None:
        path = (base / target).resolve()
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError as exc:
            raise UsageError(f"{where}: `{line}` points outside the project",
                             hint=_OUTSIDE_HINT) from exc
        if not path.is_file():
            state = "which is not a file" if path.exists() else "which does not exist"
            raise UsageError(f"{where}: includes {rel}, {state}",
                             hint="fix the -r/-c line or create the file")
        self.parse_file(rel, constraint)

    def _requirement(self, base: Path, where: Where, text: str, hashed: bool,
                     constraint: bool) -> None:
        info = self.info
        req = classify(base, where, text)
        if req.local is not None:
            local = (base / req.local).resolve()
            try:
                rel = local.relative_to(self.root).as_posix()
            except ValueError as exc:
                raise UsageError(f"{where}: local requirement `{text}` is outside the project",
                                 hint="move it inside the project or publish it to an index",
                                 ) from exc
            if rel not in info.local_paths:
                info.local_paths.append(rel)
        if req.git is not None:
            add_source(req.git, info.git_hosts, info.git_urls)
        if constraint:
            return
        info.has_lines = True
        info.hashed = info.hashed or hashed
        info.all_pinned = info.all_pinned and req.pinned
        if req.name:
            info.names.add(req.name)
            info.names |= implied_by(req.name, req.extras)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments stripped and backslash continuations joined (as pip does)."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buf:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out
