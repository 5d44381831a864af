"""A data directory inside the application tree, fixed in the settings:
`os.path.join(BASE_DIR, "data", "db.sqlite3")`, `BASE_DIR / "data" / "tasks.sqlite3"`.

Why: in the container the application directory is read-only, and no setting moves the
files (no env var is read for them), so the app cannot start — linkding keeps its
database and its task queue in `<project>/data`. The directory's place is known from
the settings file (BASE_DIR counted from `__file__`), so the image makes it a link to
the data volume, the checkout's own copy stays out of the build context (local state),
and build steps that open those files (collectstatic loading the settings) get a scratch
directory that never reaches the image. Static only: regexes, no user code is run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_BASE_NAMES = r"(?:BASE_DIR|base_dir|basedir|BASEDIR|PROJECT_ROOT|ROOT_DIR)"
_JOINED = re.compile(
    r"os\.path\.join\(\s*" + _BASE_NAMES + r"\s*,\s*['\"](?P<dir>[\w.-]+)['\"]\s*,\s*"
    r"['\"][\w.-]+\.(?:sqlite3?|db)['\"]\s*\)")
_DIVIDED = re.compile(
    _BASE_NAMES + r"\s*/\s*['\"](?P<dir>[\w.-]+)['\"]\s*/\s*['\"][\w.-]+\.(?:sqlite3?|db)['\"]")
# BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DIRNAME_BASE = re.compile(r"^" + _BASE_NAMES + r"\s*=\s*(?P<expr>(?:os\.path\.dirname\()+)"
                           r"\s*(?:os\.path\.(?:abspath|realpath)\()?\s*__file__", re.M)
# BASE_DIR = Path(__file__).resolve().parent.parent
_PATH_BASE = re.compile(r"^" + _BASE_NAMES + r"\s*=\s*Path\(\s*__file__\s*\)"
                        r"(?:\.resolve\(\)|\.absolute\(\))?(?P<parents>(?:\.parent)+)", re.M)


@dataclass(frozen=True)
class AppDataDir:
    relative: str  # the directory, relative to the project root ("data")
    where: str  # "bookmarks/settings/base.py:173"


def app_data_dirs(root: Path, texts: dict[Path, str]) -> list[AppDataDir]:
    """Directories under the project that the settings put SQLite files into."""
    found: dict[str, AppDataDir] = {}
    for path, text in texts.items():
        if "sqlite" not in text.lower() and ".db" not in text:
            continue
        base = _base_dir(root, path, text)
        if base is None:
            continue
        for pattern in (_JOINED, _DIVIDED):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                relative = (base / match["dir"]).as_posix()
                found.setdefault(relative, AppDataDir(
                    relative, f"{path.relative_to(root).as_posix()}:{line}"))
    return sorted(found.values(), key=lambda d: d.relative)


def _base_dir(root: Path, path: Path, text: str) -> Path | None:
    """BASE_DIR relative to the project root, when it stays inside the project."""
    match = _DIRNAME_BASE.search(text)
    if match:
        ups = match["expr"].count("dirname")  # the first dirname gives the file's directory
    else:
        found = _PATH_BASE.search(text)
        if not found:
            return None
        ups = found["parents"].count(".parent")
    base = path.parent
    for _ in range(ups - 1):
        base = base.parent
    try:
        return base.relative_to(root)
    except ValueError:
        return None  # BASE_DIR above the project: not a directory of the image


def is_app_data_path(text: str) -> bool:
    """Whether text places a SQLite file in such a directory (for the warnings to skip)."""
    return bool(_JOINED.search(text) or _DIVIDED.search(text))
