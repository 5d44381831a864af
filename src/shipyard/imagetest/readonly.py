"""Why an app failed on the read-only root: the path it tried to write, and the fix.

Why from the log: the writable probe (runtime.writes) runs as the image's user, so a
write into the image's own root-owned files (a venv, /app) fails there too — with
EACCES instead of EROFS — and `docker diff` shows nothing. The path is in the
error message either way (`OSError: [Errno 30] Read-only file system: '/opt/venv/var'`),
and the traceback around it often says whose path it is (Flask's instance folder,
a SQLite database), which decides the fix. Pure functions over log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Python's OSError text, coreutils' and Node's variants of the same two errors. A path
# may be relative (to the container's working directory): microblog's `logs`.
_PATTERNS = (
    re.compile(r"\[Errno (?P<errno>30|13)\] [^:']+: '(?P<path>[^']+)'"),
    re.compile(r"cannot (?:create|touch|open)[^']*'(?P<path>[^']+)': "
               r"(?P<text>Read-only file system|Permission denied)"),
    re.compile(r"(?P<code>EROFS|EACCES)[^']*'(?P<path>[^']+)'"),
)
_LOG_NAME = re.compile(r"(?:^|[/._-])logs?(?:$|[/._-])", re.I)
_SITE_PACKAGES_FRAME = re.compile(
    r'File "(?P<prefix>/[^"]+?)/lib/python[\d.]+/site-packages/(?P<package>\w+)/')
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".db-journal", ".db-wal", "-journal", "-wal")
_SQLITE_ERRORS = ("attempt to write a readonly database", "unable to open database file")


@dataclass(frozen=True)
class FailedWrite:
    path: str
    read_only: bool
    """EROFS (the read-only root); False: EACCES (the path belongs to root, not the app)."""

    @property
    def shown(self) -> str:
        return self.path if self.path.startswith("/") else (
            f"{self.path} (relative to the working directory)")

    @property
    def error(self) -> str:
        return "Read-only file system" if self.read_only else "Permission denied"


def failed_writes(lines: Iterable[str], writable: Sequence[str] = ()) -> list[FailedWrite]:
    """Each path the log says could not be written, once, in order; paths inside the
    writable mounts are left out (a failure there is not the read-only root's)."""
    found: dict[str, FailedWrite] = {}
    for line in lines:
        for pattern in _PATTERNS:
            match = pattern.search(line)
            if not match:
                continue
            groups = match.groupdict()
            read_only = (groups.get("errno") == "30" or groups.get("code") == "EROFS"
                         or groups.get("text") == "Read-only file system")
            path = match["path"].rstrip("/") or match["path"]
            if path not in found and not _under(path, writable):
                found[path] = FailedWrite(path, read_only)
            break
    return list(found.values())


def fix_for(write: FailedWrite, log: Sequence[str], volumes: Sequence[str]) -> str:
    """The fix for one failed write, naming the framework's own setting when the log
    shows whose path it is."""
    text = "\n".join(log)
    volume = volumes[0] if volumes else "/data"
    if "instance_path" in text or re.search(r"/var/[^/]+-instance\b", write.path) or \
            write.path.endswith("/var") or write.path.rsplit("/", 1)[-1] == "instance":
        folder = _instance_folder(log) or write.path
        return (f"it is Flask's instance folder, app.instance_path ({folder}): pass "
                f"instance_path= to Flask() from an env var set to a directory on the volume "
                f"({volume}), or mount a volume at {folder} (compose.yaml and "
                "[tool.shipyard.test] volumes); `shipyard init` links it to the data volume "
                "when it sees the app use it")
    if _LOG_NAME.search(write.path.rsplit("/", 1)[-1]):
        return ("it is a log file or directory: log to stdout/stderr instead (apps often have"
                " a switch for it, e.g. an env var like LOG_TO_STDOUT), so `docker logs` and the"
                " logging driver get the lines")
    if write.path.endswith(_SQLITE_SUFFIXES):
        return (f"it is a SQLite database: set the app's database path/URL (its env var or "
                f"setting) to a file on the volume ({volume})")
    where = ("inside the virtualenv, next to the installed code" if write.path.startswith(
        "/opt/venv/") else "in the image's own files")
    return (f"the path is {where}: make it configurable (an env var or the framework's "
            f"setting) and point it at the volume ({volume}) for data or /tmp for scratch "
            f"files, or mount a volume at {write.path if write.path.startswith('/') else 'it'}")


def _instance_folder(log: Sequence[str]) -> str | None:
    """<venv>/var/<package>-instance, from the traceback frame that used instance_path
    (Flask names the folder after the app's import name; its package is the best guess)."""
    package = None
    for line in log:
        frame = _SITE_PACKAGES_FRAME.search(line)
        if frame:
            package = frame
        elif "instance_path" in line and package:
            return f"{package['prefix']}/var/{package['package']}-instance"
    return None


def explain(log: Sequence[str], writable: Sequence[str], volumes: Sequence[str]) -> str:
    """One clause for a failed check's reason ('' when the log shows no failed write)."""
    writes = failed_writes(log, writable)
    if writes:
        first = writes[0]
        more = f" (and {len(writes) - 1} more path(s))" if len(writes) > 1 else ""
        return (f" — it tried to write {first.shown}{more} ({first.error}) outside tmpfs and "
                f"volumes ({', '.join(writable)}), and the root filesystem is read-only: "
                f"{fix_for(first, log, volumes)}")
    lowered = "\n".join(log).lower()
    if any(error in lowered for error in _SQLITE_ERRORS):
        volume = volumes[0] if volumes else "/data"
        return (" — SQLite could not write its database file, which is on the read-only root:"
                f" set the app's database path/URL to a file on the volume ({volume})")
    return ""


def refused_writes(log: Sequence[str], writable: Sequence[str],
                   volumes: Sequence[str]) -> tuple[str, list[str]] | None:
    """(reason, details) when the writable probe's log shows writes refused even there."""
    refused = failed_writes(log, writable)
    if not refused:
        return None
    first = refused[0]
    more = f" and {len(refused) - 1} more path(s)" if len(refused) > 1 else ""
    return (f"the app tried to write {first.shown}{more} outside tmpfs and volumes "
            f"({', '.join(writable)}); even the writable probe refused it ({first.error}: the "
            "image's files belong to root, not the app's user) and production's read-only "
            f"root will too: {fix_for(first, log, volumes)}",
            [f"{w.error}: {w.path}" for w in refused[:50]])


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)
