"""Settings whose DEBUG switch defaults to on when its env var is unset:
`DEBUG = envbool("DEBUG", "True")`, `DEBUG = env.bool("DJANGO_DEBUG", default=True)`.

Why: such an image runs in debug mode unless every deployment remembers to set the
variable — tracebacks and settings shown to any visitor. A production image is the
place to turn it off: init sets the variable to "False" in the image's ENV (the value
every usual reader accepts), and a deployment can still set it. Static only.
"""

from __future__ import annotations

import re
from pathlib import Path

_DEBUG_DEFAULT_ON = re.compile(
    r"^DEBUG\s*=\s*[\w.]+\(\s*['\"](?P<var>\w*DEBUG\w*)['\"]\s*,\s*(?:default\s*=\s*)?"
    r"(?:True|['\"](?:True|true|1|yes|on)['\"])\s*[,)]", re.MULTILINE)


def debug_on_by_default(root: Path, files: list[str]) -> tuple[str, str] | None:
    """(variable, file:line) of a DEBUG read whose default turns debug on, or None."""
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = _DEBUG_DEFAULT_ON.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            return match["var"], f"{rel}:{line}"
    return None
