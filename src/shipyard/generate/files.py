"""Write generated files without ever losing a user's edit.

Each owned file carries a stamp line with the checksum of its body as Shipyard
wrote it. On a re-run: a file whose body still matches its stamp was not
edited and may be updated; a file that differs from its stamp (or has none)
belongs to the user. Nothing of the user's is lost without consent:
- a file Shipyard wrote and the user edited is replaced only with --force (or
  when named with --replace);
- a file Shipyard never wrote (no stamp) is replaced only when named with
  --replace — --force alone does not touch it;
- a file named with --skip is left exactly as it is (or not created);
- a file with a merger (.dockerignore) is never replaced: the user's text is kept
  and what Shipyard needs is merged into it.
All checks happen before the first write, and each write is atomic, so a
refused or failed run leaves no half-written project behind.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from shipyard.errors import UsageError
from shipyard.generate.render import GeneratedFile

STAMP_PREFIX = "# shipyard-init: "
STAMP_SUFFIX = " (edit freely: a changed file is never overwritten without --force)"


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"  # ours, unedited, content changed
    UNCHANGED = "unchanged"
    APPEND = "append"  # lines added to a user file
    MERGE = "merge"  # what Shipyard needs merged into a user file
    CONFLICT = "conflict"  # the user's file; needs --skip or --replace (--force if edited)
    OVERWRITE = "overwrite"  # conflict, forced or named with --replace
    SKIP = "keep"  # named with --skip: left as it is


# A merger turns the user's current text into (merged text, one-line summary).
Merger = Callable[[str], tuple[str, str]]
NOT_OURS = "not written by shipyard"
EDITED = "edited since shipyard wrote it"


@dataclass(frozen=True)
class Planned:
    file: GeneratedFile
    action: Action
    final: str  # the exact text that would be written
    diff: str = ""
    reason: str = ""


def stamp(content: str) -> str:
    """content with a checksum stamp line (after a shebang, if any).

    A shebang with nothing after it gets a newline so the stamp has a line of
    its own; the stamp line then goes without one, which tells unstamp() that
    this newline was ours and the body ends right after the shebang.
    """
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    line = f"{STAMP_PREFIX}sha256={digest}{STAMP_SUFFIX}\n"
    if content.startswith("#!"):
        first, newline, rest = content.partition("\n")
        if not newline:
            return f"{first}\n{line[:-1]}"
        return f"{first}\n{line}{rest}"
    return line + content


def unstamp(text: str) -> tuple[str, str | None]:
    """(body, digest) of a stamped file; digest is None when there is no stamp.

    Lines are split on \\n only, as stamp() joins them (str.splitlines would also
    split on \\r, form feeds and the like inside a line).
    """
    first, newline, rest = text.partition("\n")
    if first.startswith(STAMP_PREFIX):
        return rest, _digest_of(first)
    second, second_newline, tail = rest.partition("\n")
    if newline and second.startswith(STAMP_PREFIX):
        body = f"{first}\n{tail}" if second_newline else first
        return body, _digest_of(second)
    return text, None


def _digest_of(stamp_line: str) -> str:
    words = stamp_line[len(STAMP_PREFIX):].split()
    return words[0].removeprefix("sha256=") if words else ""  # a mangled stamp matches nothing


def plan(root: Path, files: list[GeneratedFile], force: bool = False, *,
         skip: Collection[str] = (), replace: Collection[str] = (),
         mergers: Mapping[str, Merger] | None = None) -> list[Planned]:
    """What would happen to each file. force replaces files Shipyard wrote that were
    edited since; replace names files to replace whoever wrote them; skip names files
    to leave alone; mergers (by path) merge into a user's file instead of replacing."""
    choices = _Choices(force, frozenset(skip), frozenset(replace), mergers or {})
    return [_plan_one(root, f, choices) for f in files]


@dataclass(frozen=True)
class _Choices:
    force: bool
    skip: frozenset[str]
    replace: frozenset[str]
    mergers: Mapping[str, Merger]


def _plan_one(root: Path, file: GeneratedFile, choices: _Choices) -> Planned:
    path = root / file.path
    if file.path in choices.skip:
        current = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return Planned(file, Action.SKIP, current,
                       reason="yours, kept" if path.exists() else "not written")
    if file.strategy == "lines":
        return _plan_lines(path, file)
    final = stamp(file.content)
    if not path.exists():
        return Planned(file, Action.CREATE, final)
    current = path.read_text(encoding="utf-8", errors="replace")
    if current == final:
        return Planned(file, Action.UNCHANGED, final)
    body, digest = unstamp(current)
    diff = "".join(difflib.unified_diff(
        current.splitlines(keepends=True), final.splitlines(keepends=True),
        fromfile=f"{file.path} (yours)", tofile=f"{file.path} (shipyard)"))
    if digest is not None and hashlib.sha256(body.encode()).hexdigest()[:16] == digest:
        return Planned(file, Action.UPDATE, final, diff)
    reason = EDITED if digest else NOT_OURS
    merger = choices.mergers.get(file.path)
    if merger is not None:
        merged, summary = merger(current)
        if merged == current:
            return Planned(file, Action.UNCHANGED, current, reason=summary)
        return Planned(file, Action.MERGE, merged, _diff(file.path, current, merged), summary)
    replace = file.path in choices.replace or (choices.force and digest is not None)
    return Planned(file, Action.OVERWRITE if replace else Action.CONFLICT, final, diff, reason)


def _diff(name: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"{name} (yours)", tofile=f"{name} (merged)"))


def conflict_hint(conflicts: list[Planned]) -> str:
    """Exactly which flags resolve these conflicts, for the one-line error."""
    names = [p.file.path for p in conflicts]
    keep = " ".join(f"--skip {n}" for n in names)
    take = " ".join(f"--replace {n}" for n in names)
    hint = f"rerun with {keep} to keep yours, or with {take} to take shipyard's (see the diff)"
    if all(p.reason == EDITED for p in conflicts):
        hint += "; --force replaces every file you edited since shipyard wrote it"
    return hint


def _plan_lines(path: Path, file: GeneratedFile) -> Planned:
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in current.splitlines()}
    missing = [line for line in file.content.splitlines() if line.strip() not in present]
    if not missing:
        return Planned(file, Action.UNCHANGED, current)
    sep = "" if not current or current.endswith("\n") else "\n"
    final = current + sep + "".join(f"{line}\n" for line in missing)
    return Planned(file, Action.APPEND if current else Action.CREATE, final,
                   "".join(f"+{line}\n" for line in missing))


def apply(root: Path, planned: list[Planned]) -> None:
    """Write every planned change, or nothing at all if any file is a conflict."""
    conflicts = [p for p in planned if p.action is Action.CONFLICT]
    if conflicts:
        names = ", ".join(p.file.path for p in conflicts)
        raise UsageError(
            f"{names}: {conflicts[0].reason}; not overwritten",
            hint="review the diff (shipyard init --dry-run) and rerun with --force to replace",
        )
    writes = [p for p in planned if p.action not in (Action.UNCHANGED, Action.SKIP)]
    staged: list[tuple[Path, Path]] = []
    try:
        for item in writes:
            target = root / item.file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(item.final)
            Path(name).chmod(item.file.mode)
            staged.append((Path(name), target))
        for staged_path, target in staged:
            staged_path.replace(target)
    finally:
        for staged_path, _ in staged:
            staged_path.unlink(missing_ok=True)
