"""Parse pip requirements files far enough to plan a Docker build.

We need: every file involved (for the cache-friendly COPY), whether all lines
are pinned or hashed (how precise the source is), local path requirements
(directories that belong in the dependency layer), private git URLs (need an
ssh mount and a pinned host key), and the distribution names (framework and
server detection). We do not resolve anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.errors import UsageError

_GIT_SSH = re.compile(r"git\+ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^/:]+)(?::(?P<port>\d+))?/")
_GIT_SCP = re.compile(r"git\+(?P<user>[^@/]+)@(?P<host>[^:/]+):")


@dataclass(frozen=True)
class GitHost:
    """A git server reached over ssh during the build (its key must be pinned)."""

    host: str
    port: int = 22
    user: str = "git"

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


@dataclass
class RequirementsInfo:
    """What a requirements file (and its -r/-c includes) declares."""

    files: list[str] = field(default_factory=list)  # relative to project root
    names: set[str] = field(default_factory=set)  # canonical distribution names
    local_paths: list[str] = field(default_factory=list)  # relative dirs
    git_hosts: list[GitHost] = field(default_factory=list)
    all_pinned: bool = True
    hashed: bool = False
    has_lines: bool = False


def parse_requirements(root: Path, relpath: str) -> RequirementsInfo:
    """Parse root/relpath and its includes; raise UsageError naming file and line on nonsense."""
    info = RequirementsInfo()
    _parse_into(root, relpath, info, seen=set())
    return info


def _parse_into(root: Path, relpath: str, info: RequirementsInfo, seen: set[str]) -> None:
    path = (root / relpath).resolve()
    key = str(path)
    if key in seen:
        return
    seen.add(key)
    try:
        rel = path.relative_to(root.resolve()).as_posix()
    except ValueError as exc:
        raise UsageError(
            f"{relpath}: includes a file outside the project ({path})",
            hint="a Docker build can only see files inside the project directory",
        ) from exc
    if not path.is_file():
        raise UsageError(f"{rel}: file not found", hint="fix the -r/-c include or create it")
    info.files.append(rel)
    for lineno, line in _logical_lines(path.read_text(encoding="utf-8")):
        _parse_line(root, path.parent, rel, lineno, line, info, seen)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments stripped and backslash continuations joined."""
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


def _parse_line(
    root: Path, base: Path, rel: str, lineno: int, line: str, info: RequirementsInfo,
    seen: set[str],
) -> None:
    for flag in ("-r", "--requirement", "-c", "--constraint"):
        if line == flag or line.startswith((flag + " ", flag + "=")):
            target = line[len(flag):].lstrip(" =")
            inc = (base / target).resolve()
            try:
                inc_rel = inc.relative_to(root.resolve()).as_posix()
            except ValueError as exc:
                raise UsageError(
                    f"{rel}:{lineno}: `{line}` points outside the project",
                    hint="a Docker build can only see files inside the project directory",
                ) from exc
            _parse_into(root, inc_rel, info, seen)
            return
    if line.startswith("-e ") or line.startswith("--editable"):
        line = line.split(None, 1)[1] if " " in line else ""
    if line.startswith("-"):
        return  # global options (--index-url, --find-links, ...) don't change the plan
    info.has_lines = True
    if "--hash" in line:
        info.hashed = True
        line = line.split("--hash", 1)[0].strip()
    git = _git_host(line)
    if git is not None:
        if git not in info.git_hosts:
            info.git_hosts.append(git)
        info.all_pinned = info.all_pinned and "@" in line.split("://", 1)[-1].split("/", 1)[-1]
        name = _name_of_url_requirement(line)
        if name:
            info.names.add(name)
        return
    if line.startswith((".", "/")) or line.startswith("file:"):
        local = (base / line.removeprefix("file:").split("[", 1)[0]).resolve()
        try:
            info.local_paths.append(local.relative_to(root.resolve()).as_posix())
        except ValueError as exc:
            raise UsageError(
                f"{rel}:{lineno}: local requirement `{line}` is outside the project",
                hint="move it inside the project or publish it to an index",
            ) from exc
        return
    try:
        req = Requirement(line)
    except InvalidRequirement as exc:
        raise UsageError(
            f"{rel}:{lineno}: cannot parse requirement `{line}`",
            hint="fix the line (see pip's requirements file format)",
        ) from exc
    info.names.add(canonicalize_name(req.name))
    pinned = req.url is not None or any(s.operator in ("==", "===") for s in req.specifier)
    info.all_pinned = info.all_pinned and pinned


def _git_host(line: str) -> GitHost | None:
    match = _GIT_SSH.search(line)
    if match:
        return GitHost(match["host"], int(match["port"] or 22), match["user"] or "git")
    match = _GIT_SCP.search(line)
    if match:
        return GitHost(match["host"], 22, match["user"])
    return None


def _name_of_url_requirement(line: str) -> str | None:
    if " @ " in line:
        return canonicalize_name(line.split(" @ ", 1)[0].split("[", 1)[0].strip())
    match = re.search(r"#egg=([A-Za-z0-9_.-]+)", line)
    return canonicalize_name(match.group(1)) if match else None
