"""Read one logical line of a pip requirements file the way pip does.

Why pip's rules and not a regex per form: pip splits a line into the
requirement (tokens up to the first one starting with `-`) and options, which
it parses with optparse. So `-rbase.txt`, `-r base.txt`, `--requirement=base.txt`
and `--editable=./x` are all the same thing to pip, and a form we did not
expect must not be dropped silently (a file missing from the dependency layer
breaks the build) or rejected (init would refuse a valid project).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from shipyard.detect.vcs import GitSource, egg_name, git_source, is_git_url
from shipyard.errors import UsageError

# The options that name another file or a requirement; every other option
# (--index-url, --hash, --pre, ...) does not change the build plan.
_OPTIONS = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint",
            "--constraint": "constraint", "-e": "editable", "--editable": "editable"}
_ARCHIVES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_OTHER_VCS = ("hg+", "svn+", "bzr+")


@dataclass(frozen=True)
class Where:
    """file:line, as every message about a line starts."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Line:
    """What one line asks for: another file, a requirement, or (neither) only options."""

    requirement: str = ""
    hashed: bool = False
    include: str | None = None
    include_constraint: bool = False


@dataclass(frozen=True)
class Classified:
    """One requirement: what it installs and where from."""

    name: str | None = None  # canonical; None when only the build would know
    pinned: bool = True
    local: str | None = None  # a path relative to the file that names it
    git: GitSource | None = None
    extras: frozenset[str] = frozenset()


def split_line(where: Where, line: str) -> Line:
    """Split like pip's break_args_options + optparse, for the options that matter."""
    tokens = line.split(" ")
    first_option = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    requirement = " ".join(tokens[:first_option]).strip()
    try:
        options = shlex.split(" ".join(tokens[first_option:]))
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split the options of `{line}` ({exc})",
                         hint="fix the quoting on that line") from exc
    found = _option_values(where, options)
    hashed = any(o == "--hash" or o.startswith("--hash=") for o in options)
    if requirement:
        return Line(requirement, hashed)
    # pip's precedence when a line carries several: an editable is the line's
    # requirement; else the first -r; else the first -c.
    if found["editable"]:
        return Line(found["editable"][0], hashed)
    if found["requirement"]:
        return Line(include=found["requirement"][0])
    if found["constraint"]:
        return Line(include=found["constraint"][0], include_constraint=True)
    return Line()


def _option_values(where: Where, options: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"requirement": [], "constraint": [], "editable": []}
    index = 0
    while index < len(options):
        token = options[index]
        index += 1
        if token.startswith("--"):
            flag, has_value, value = token.partition("=")
        else:
            # optparse short options take the rest of the token (`-rbase.txt`);
            # `-r=x` therefore names the file "=x", exactly as pip reads it.
            flag, value = token[:2], token[2:]
            has_value = "=" if value else ""
        kind = _OPTIONS.get(flag)
        if kind is None:
            continue
        if not has_value:
            if index >= len(options):
                raise UsageError(f"{where}: `{flag}` needs a value",
                                 hint=f"write `{flag} VALUE` on that line")
            value = options[index]
            index += 1
        found[kind].append(value)
    return found


def classify(base: Path, where: Where, text: str) -> Classified:
    """Name, pinning and source of one requirement (a name, a path, or a URL)."""
    local = _local_path(base, text)
    if local is not None:
        return Classified(local=local)
    target = text.split()[0]
    if is_git_url(target):
        source = git_source(target)
        return Classified(egg_name(target), source.ref is not None, git=source)
    if target.startswith(_OTHER_VCS):
        raise UsageError(f"{where}: `{text}` needs Mercurial, Subversion or Bazaar",
                         hint="the build image has only git: publish the package or use git")
    scheme = _URL.match(target)
    if scheme and scheme["scheme"] in ("http", "https", "ftp", "file"):
        return Classified(egg_name(target))  # an archive URL: a fixed file
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        hint = "fix the line (see pip's requirements file format)"
        if "/" in text:
            hint = f"no directory {text.split()[0]} exists: fix the path or the line"
        raise UsageError(f"{where}: cannot parse requirement `{text}`", hint=hint) from exc
    name = canonicalize_name(req.name)
    if req.url is not None and is_git_url(req.url):
        source = git_source(req.url)
        return Classified(name, source.ref is not None, git=source)
    return Classified(name, req.url is not None or _exact(req), extras=frozenset(req.extras))


def _exact(req: Requirement) -> bool:
    """One exact version: `==1.2.3` or `===x`, but not the wildcard range `==1.*`."""
    return any(s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
               for s in req.specifier)


def _local_path(base: Path, text: str) -> str | None:
    """The path, if pip reads text as a local directory or archive (pip's _get_url_from_path)."""
    if text.startswith("file:"):
        return _strip_extras(text.removeprefix("file:"))
    if _URL.match(text) or is_git_url(text):
        return None
    path = _strip_extras(text.split(";", 1)[0].strip())
    if path.startswith((".", "/")):
        return path
    if "/" not in path:
        return None
    before_at, at, _ = text.partition("@")
    if at and "/" not in before_at and not before_at.startswith("."):
        return None  # `name @ https://…/x.whl` is a PEP 508 URL, not a path
    if (base / path).is_dir() or path.endswith(_ARCHIVES):
        return path
    return None


def _strip_extras(path: str) -> str:
    return path.split("[", 1)[0] if path.endswith("]") else path
