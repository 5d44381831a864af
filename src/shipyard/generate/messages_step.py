"""Django translations compiled before the code is copied (issue 12, code-only rebuilds).

Why: `manage.py compilemessages` after `COPY . .` starts Django and re-runs on every
code change although the translations did not change. What it does is run
`msgfmt --check-format` on each .po file, which needs neither settings nor code: so
the builder copies only the directories holding .po files and compiles them there,
before `COPY . .`. A code change leaves that layer cached; a changed .po re-runs it.
The .mo files in those directories are kept out of the build context (.dockerignore),
so a stale compiled file in a checkout cannot overwrite the fresh one. Detection
finds the directories (shipyard.detect.django.locale_dirs).
"""

from __future__ import annotations

import shlex


def messages_step(dirs: list[str]) -> str:
    """COPY lines and the msgfmt RUN (what compilemessages runs, per .po file)."""
    if not dirs:
        return ""
    copies = "".join(f"COPY {shlex.quote(d)} {shlex.quote(d)}\n" for d in dirs)
    return (
        "# Translations compile before the code is copied: a code change leaves this cached.\n"
        f"{copies}"
        f"RUN find {' '.join(shlex.quote(d) for d in dirs)} -name '*.po' -exec sh -c"
        " 'for po; do msgfmt --check-format -o \"${po%.po}.mo\" \"$po\" || exit 1; done'"
        " sh {} +\n"
    )


def ignore_lines(dirs: list[str]) -> str:
    """.dockerignore lines: compiled translations come from the build, never the context."""
    return "".join(f"{d}/**/*.mo\n" for d in dirs)
