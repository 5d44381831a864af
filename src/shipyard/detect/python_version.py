"""Choose the Python version of the base image, and say where the choice came from.

Why a module of its own: the version decides whether the build can work at all
(an app needing 3.13 fails after minutes of installs on a 3.11 base), and the
project states it in several places that tools read differently. Pins name one
version (`--python`, `.python-version` up to the repository root as pyenv and
uv read it, Heroku's `runtime.txt`); `requires-python` (pyproject.toml, uv.lock,
Poetry's `python` dependency) only bounds it. A pin outside the bounds is an
error naming both places; a range alone gets the default when it allows it,
else the lowest known CPython it allows. Static only: files are read, never run.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipyard.errors import UsageError

DEFAULT_PYTHON = "3.11"
# CPython minors with official python:X.Y-slim images that a range may select.
KNOWN_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")

# "3.12", "3.12.4", "cpython-3.12", "cpython@3.12.1" (uv), with an optional comment.
_VERSION_FILE_LINE = re.compile(r"^(?:cpython[-@]?)?(3\.\d+)(?:\.\d+)?(?:[-+.\w]*)$", re.I)
_RUNTIME_TXT = re.compile(r"^python-(3\.\d+)(?:\.\d+)?$")
_VERSION_FLAG = re.compile(r"^(3\.\d+)(?:\.\d+)?$")
_POETRY_CARET_TILDE = re.compile(r"^([\^~])\s*(\d+)(?:\.(\d+))?(?:\.\d+)?$")


def python_image(version: str) -> str:
    """The official image's name for a version: its Debian is bookworm up to 3.12 and
    trixie from 3.13, which the official images use (and which ships those versions)."""
    major, minor = (int(x) for x in version.split(".")[:2])
    debian = "trixie" if (major, minor) >= (3, 13) else "bookworm"
    return f"python:{version}-slim-{debian}"


@dataclass(frozen=True)
class PythonChoice:
    """The chosen X.Y, a human-readable source for `init --dry-run`, and any doubts."""

    version: str
    source: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pin:
    version: str
    source: str  # e.g. ".python-version in ../ (repository root)"


@dataclass
class _Bounds:
    spec: SpecifierSet = field(default_factory=SpecifierSet)
    # (normalized specifier, as written, file): one per requires-python found
    sources: list[tuple[str, str, str]] = field(default_factory=list)

    def allows(self, minor: str) -> bool:
        """Whether some release of minor (3.13.0 … 3.13.x) satisfies every bound."""
        return any(self.spec.contains(f"{minor}.{patch}") for patch in range(50))

    @property
    def text(self) -> str:
        """One phrase per bound: 'requires-python >=3.13 in pyproject.toml and uv.lock'."""
        where: dict[str, tuple[str, list[str]]] = {}
        for key, shown, path in self.sources:
            where.setdefault(key, (shown, []))[1].append(path)
        return " and ".join(f"requires-python {shown} in {' and '.join(paths)}"
                            for shown, paths in where.values())


def choose_python(root: Path, pyproject: dict[str, Any], flag: str | None = None,
                  extra_bounds: Sequence[tuple[str, str]] = (),
                  available: Callable[[str], bool | None] | None = None) -> PythonChoice:
    """The Python X.Y for root's image; raise UsageError when the project contradicts itself.

    extra_bounds: (requires-python, where) learned elsewhere, e.g. a pinned release's
    requirement on the package index. available(X.Y): whether that version's base image
    is at hand (None: unknown); a range then prefers an allowed version that can be built
    here over one that cannot."""
    warnings: list[str] = []
    bounds = _bounds(root, pyproject, warnings)
    for spec, where in extra_bounds:
        _add(bounds, spec, where, warnings)
    pins = _pins(root, flag, warnings)
    if bounds.sources:
        # Heroku's runtime.txt is often left behind (httpbin: python-3.6 next to
        # requires-python >=3.8): a stale one is a warning, not a reason to stop.
        stale = [p for p in pins if p.source == "runtime.txt" and not bounds.allows(p.version)]
        for pin in stale:
            warnings.append(f"runtime.txt pins Python {pin.version}, which {bounds.text}"
                            " excludes: ignored (delete or update runtime.txt)")
        pins = [p for p in pins if p not in stale]
    if pins:
        pin = pins[0]
        for other in pins[1:]:
            if other.version != pin.version and flag is None:
                warnings.append(f"{other.source} says {other.version} but {pin.source} says"
                                f" {pin.version}: using {pin.version}; make them agree")
        if bounds.sources and not bounds.allows(pin.version):
            choices = ", ".join(v for v in KNOWN_PYTHONS if bounds.allows(v)) or "none known"
            raise UsageError(
                f"{pin.source} pins Python {pin.version}, but {bounds.text} excludes it",
                hint=f"make them agree; requires-python allows {choices}" if flag is None
                else f"pass a version requires-python allows: {choices}",
            )
        if pin.version not in KNOWN_PYTHONS:
            warnings.append(f"Python {pin.version} from {pin.source} is not a known CPython"
                            f" release with an official image ({', '.join(KNOWN_PYTHONS)})")
        within = f"; within {bounds.text}" if bounds.sources else ""
        return PythonChoice(pin.version, pin.source + within, tuple(warnings))
    if bounds.sources:
        if bounds.allows(DEFAULT_PYTHON):
            return PythonChoice(DEFAULT_PYTHON, f"the default; {bounds.text} allows it",
                                tuple(warnings))
        allowed = [v for v in KNOWN_PYTHONS if bounds.allows(v)]
        if not allowed:
            raise UsageError(
                f"{bounds.text} allows none of the known Python versions"
                f" ({', '.join(KNOWN_PYTHONS)})",
                hint="pass --python X.Y to choose the base image's version",
            )
        at_hand = [v for v in allowed if available is not None and available(v)]
        if at_hand and at_hand[0] != allowed[0]:
            return PythonChoice(at_hand[0], f"lowest allowed by {bounds.text} whose base image"
                                f" is available here ({allowed[0]}'s is not)", tuple(warnings))
        return PythonChoice(allowed[0], f"lowest allowed by {bounds.text}", tuple(warnings))
    return PythonChoice(DEFAULT_PYTHON,
                        "the default (no --python, .python-version, runtime.txt or"
                        " requires-python)", tuple(warnings))


def repository_root(root: Path) -> Path | None:
    """The nearest directory at or above root that holds .git (a directory, or a file in
    worktrees and submodules); None outside a repository."""
    for directory in (root.resolve(), *root.resolve().parents):
        if (directory / ".git").exists():
            return directory
    return None


def _pins(root: Path, flag: str | None, warnings: list[str]) -> list[_Pin]:
    """Every pin found, strongest first: --python, the nearest .python-version, runtime.txt."""
    pins = []
    if flag is not None:
        match = _VERSION_FLAG.match(flag.strip())
        if not match:
            raise UsageError(f"--python {flag}: not a Python version",
                             hint="pass a version like 3.13")
        pins.append(_Pin(match.group(1), f"--python {flag}"))
    version_file = _nearest(root, ".python-version")
    if version_file is not None:
        where = _describe(root, version_file)
        version = _version_file(version_file)
        if version is None:
            warnings.append(f"{where}: no CPython version like 3.12 in it (ignored)")
        else:
            pins.append(_Pin(version, where))
    runtime = root / "runtime.txt"
    if runtime.is_file():
        text = runtime.read_text(encoding="utf-8", errors="replace").strip()
        match = _RUNTIME_TXT.match(text)
        if match:
            pins.append(_Pin(match.group(1), "runtime.txt"))
        else:
            warnings.append(f"runtime.txt: {text[:40]!r} is not like python-3.12.1 (ignored)")
    return pins


def _version_file(path: Path) -> str | None:
    """The first version line of a pyenv/uv .python-version (comments and blanks skipped)."""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = _VERSION_FILE_LINE.match(line)
            return match.group(1) if match else None
    return None


def _bounds(root: Path, pyproject: dict[str, Any], warnings: list[str]) -> _Bounds:
    bounds = _Bounds()
    project = pyproject.get("project", {})
    if isinstance(project, dict) and "requires-python" in project:
        _add(bounds, str(project["requires-python"]), "pyproject.toml", warnings)
    poetry_python = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get(
        "python")
    if isinstance(poetry_python, str) and "requires-python" not in project:
        _add(bounds, _from_poetry(poetry_python), "pyproject.toml (Poetry)", warnings,
             shown=poetry_python)
    lock = _nearest(root, "uv.lock")
    if lock is not None:
        try:
            data = tomllib.loads(lock.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{_describe(root, lock)}: not valid TOML ({exc})",
                             hint="regenerate it with `uv lock`") from exc
        if "requires-python" in data:
            _add(bounds, str(data["requires-python"]), _describe(root, lock), warnings)
    return bounds


def _add(bounds: _Bounds, text: str, where: str, warnings: list[str],
         shown: str | None = None) -> None:
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        warnings.append(f"{where}: requires-python {shown or text!r} is not a version"
                        " specifier like >=3.12 (ignored)")
        return
    bounds.spec &= spec
    bounds.sources.append((str(spec), shown or text, where))


def _from_poetry(text: str) -> str:
    """Poetry's `python = "^3.12"` / `"~3.12"` as a PEP 440 specifier; others pass through."""
    match = _POETRY_CARET_TILDE.match(text.strip())
    if not match:
        return text
    op, major, minor = match.group(1), int(match.group(2)), match.group(3)
    if op == "^" or minor is None:
        return f">={major}.{minor or 0},<{major + 1}"
    return f">={major}.{minor},<{major}.{int(minor) + 1}"


def _nearest(root: Path, name: str) -> Path | None:
    """name in root or a parent up to the repository root (just root outside a repository)."""
    top = repository_root(root)
    directory = root.resolve()
    while True:
        if (directory / name).is_file():
            return directory / name
        if top is None or directory == top or directory.parent == directory:
            return None
        directory = directory.parent


def _describe(root: Path, path: Path) -> str:
    """`.python-version`, or `.python-version in ../ (repository root)` for a parent's file."""
    if path.parent == root.resolve():
        return path.name
    relative = os.path.relpath(path.parent, root.resolve()) + "/"
    top = repository_root(root)
    return f"{path.name} in {relative}" + (" (repository root)" if path.parent == top else "")
