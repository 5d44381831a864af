"""Docker's .dockerignore semantics: which paths a build context leaves out.

Shared by `init` (merging into a user's file, then proving what the merged file lets
in) and `check` (is .git, .env, a key excluded?). Why not pathspec: it implements
.gitignore, which differs where it matters here — a gitignore `*.pem` matches at any
depth (Docker's only at the root), and gitignore cannot re-include a file below an
excluded directory (Docker can: `*` then `!src` is the usual allow-list). So this
follows moby/patternmatcher, which BuildKit uses, rule for rule:

- reading: a line starting with `#` is a comment (only in column 0: ` #x` is a
  pattern), lines are trimmed, `!` re-includes, each pattern is `filepath.Clean`ed and
  loses a leading `/`;
- a pattern is Go's filepath.Match plus `**` (any number of directories, even none);
- a path is matched, and so is each of its parent directories (excluding `docs`
  excludes `docs/a.md`), and the last matching pattern wins.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import Enum


class InvalidPattern(ValueError):
    """A pattern BuildKit would refuse (and with it, the whole build context)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"  # `foo/**`: everything below foo/
    SUFFIX = "suffix"  # `**/foo`: foo at any depth
    REGEXP = "regexp"


_ESCAPED = frozenset(".+()|{}$")


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading `!`
    reinclude: bool  # a `!` line
    line: int
    kind: _Kind
    regex: re.Pattern[str] | None

    def matches(self, path: str) -> bool:
        if self.kind is _Kind.EXACT:
            return path == self.text
        if self.kind is _Kind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is _Kind.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def clean(path: str) -> str:
    """Go's filepath.Clean for slash paths (posixpath keeps a leading `//`; Go does not)."""
    return posixpath.normpath(re.sub(r"^/+", "/", path)) if path else "."


def _compile(text: str, reinclude: bool, line: int) -> Pattern:
    """Translate one cleaned pattern the way patternmatcher does (including its quirks:
    `**` at the start makes a suffix match, `foo**` a prefix match)."""
    regex, kind, i, n = "^", _Kind.EXACT, 0, len(text)
    first = True
    while i < n:
        char = text[i]
        if char == "*" and i + 1 < n and text[i + 1] == "*":
            i += 1
            if i + 1 < n and text[i + 1] == "/":
                i += 1
            if i + 1 >= n:
                if kind is _Kind.EXACT:
                    kind = _Kind.PREFIX
                else:
                    regex += ".*"
                    kind = _Kind.REGEXP
            else:
                regex += "(.*/)?"
                kind = _Kind.REGEXP
            if first:
                kind = _Kind.SUFFIX
        elif char == "*":
            regex += "[^/]*"
            kind = _Kind.REGEXP
        elif char == "?":
            regex += "[^/]"
            kind = _Kind.REGEXP
        elif char in _ESCAPED:
            regex += "\\" + char
        elif char == "\\":
            if i + 1 < n:
                i += 1
                regex += "\\" + text[i]
                kind = _Kind.REGEXP
            else:
                regex += "\\\\"
        elif char in "[]":
            regex += char
            kind = _Kind.REGEXP
        else:
            regex += char
        i += 1
        first = False
    compiled = None
    if kind is _Kind.REGEXP:
        try:
            compiled = re.compile(regex + "$")
        except re.error as exc:
            raise InvalidPattern(f"invalid pattern {text!r}: {exc.msg}", line) from None
    return Pattern(text, reinclude, line, kind, compiled)


def parse(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore, in order (InvalidPattern for a bad one)."""
    patterns = []
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        reinclude = line.startswith("!")
        body = line[1:].strip() if reinclude else line
        if not body:
            raise InvalidPattern('illegal exclusion pattern: "!"', number)
        body = clean(body)
        if len(body) > 1 and body.startswith("/"):
            body = body[1:]
        patterns.append(_compile(body, reinclude, number))
    return patterns


class DockerIgnore:
    """A parsed .dockerignore: `excludes(path)` answers as BuildKit would."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.patterns = parse(text)

    def excludes(self, path: str) -> bool:
        """True when `path` (relative, POSIX) is left out of the build context."""
        path = clean(path.strip("/"))
        parents = path.split("/")[:-1]
        prefixes = ["/".join(parents[: n + 1]) for n in range(len(parents))]
        excluded = False
        for pattern in self.patterns:
            if pattern.reinclude != excluded:
                continue  # cannot change the outcome (patternmatcher skips these too)
            if pattern.matches(path) or any(pattern.matches(p) for p in prefixes):
                excluded = not pattern.reinclude
        return excluded

    @property
    def is_allow_list(self) -> bool:
        """Starts by excluding everything (`*`, `**`, `/*`) and lets things back with `!`."""
        if not self.patterns or self.patterns[0].reinclude:
            return False
        first = self.patterns[0]
        return (first.matches("any-name") and first.matches(".hidden")
                and any(p.reinclude for p in self.patterns[1:]))
