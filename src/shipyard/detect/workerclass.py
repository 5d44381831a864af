"""The gunicorn worker class an app's entry module asks for by monkey-patching.

Why: a wsgi.py that runs `gevent.monkey.patch_all()` (CTFd's, unless FLASK_RUN_FROM_CLI
is set) is written for gevent workers: under gunicorn's default sync worker the patch
lands after gunicorn has imported socket, ssl and threading (gevent warns that this
"may lead to errors", and blocking calls meant to yield do not), and its own
Dockerfile runs `--worker-class gevent`. Gunicorn's gevent worker patches before it
loads the app, so the app's own call is then a harmless repeat. Same for eventlet.

Static only: regexes over the entry module, no user code is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# (worker class, the distribution it needs, what the source calls)
_PATCHES = (
    ("gevent", "gevent", re.compile(
        r"^[ \t]*(?:gevent\.)?monkey\.patch_all\(", re.M), re.compile(r"\bgevent\b")),
    ("eventlet", "eventlet", re.compile(
        r"^[ \t]*(?:eventlet\.)?monkey_patch\(", re.M), re.compile(r"\beventlet\b")),
)


@dataclass(frozen=True)
class WorkerClass:
    name: str  # gunicorn's --worker-class
    where: str  # "wsgi.py:7", for init's report


def detect_worker_class(root: Path, module: str,
                        dependency_names: set[str]) -> WorkerClass | None:
    """The worker class the module's monkey-patching needs, when its library is installed."""
    path = _module_file(root, module)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    for name, distribution, call, library in _PATCHES:
        match = call.search(text)
        if match and library.search(text) and distribution in dependency_names:
            line = text.count("\n", 0, match.start()) + 1
            return WorkerClass(name, f"{path.relative_to(root).as_posix()}:{line}")
    return None


def _module_file(root: Path, module: str) -> Path | None:
    for base in (root, root / "src"):
        for candidate in (base / f"{module.replace('.', '/')}.py",
                          base / module.replace(".", "/") / "__init__.py"):
            if module and candidate.is_file():
                return candidate
    return None
