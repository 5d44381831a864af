"""Write generated files without ever losing a user's edit.

Each owned file carries a stamp line with the checksum of its body as Shipyard
wrote it. On a re-run: a file whose body still matches its stamp was not
edited and may be updated; a file that differs from its stamp (or has none)
belongs to the user and is only replaced with --force, after showing a diff.
All checks happen before the first write, and each write is atomic, so a
refused or failed run leaves no half-written project behind.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
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
    CONFLICT = "conflict"  # the user's file; needs --force
    OVERWRITE = "overwrite"  # conflict, forced


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


def plan(root: Path, files: list[GeneratedFile], force: bool = False) -> list[Planned]:
    return [_plan_one(root, f, force) for f in files]


def _plan_one(root: Path, file: GeneratedFile, force: bool) -> Planned:
    path = root / file.path
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
    reason = "edited since shipyard wrote it" if digest else "not written by shipyard"
    return Planned(file, Action.OVERWRITE if force else Action.CONFLICT, final, diff, reason)


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
    writes = [p for p in planned if p.action not in (Action.UNCHANGED,)]
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
