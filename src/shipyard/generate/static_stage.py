"""Django's collectstatic in a stage of its own, beside the runtime stage (pure text).

Why: collectstatic (with whitenoise, a gzip and a brotli copy of every file) is the
longest step a code change re-runs, and the runtime stage's import check does not need
its output. So `builder` only prepares the code; the runtime stage copies it and runs
the import check while this stage collects the static files; the runtime stage then
takes the files collectstatic wrote — every file newer than a mark set just before it,
paths kept, as the JavaScript build's output is taken (frontend_stage). On a code
change the two run at once instead of one after the other.
"""

from __future__ import annotations

from shipyard.generate import stages

STAGE = "static"
# whitenoise warns at import when the static files are not there yet; they are copied
# after the import check, so the check silences exactly that warning.
NOT_YET_WARNING = "ignore:No directory at:UserWarning"
_MARK = "/static-build/start"  # outside the sources, so never output itself
_OUT = "/static-build/out"


def stage(commands: list[str]) -> str:
    """The stage: commands (collectstatic and what it needs) between the mark and the copy.

    Paths are relative to the builder's working directory (the app's sources), which is
    what the runtime stage copies to /app."""
    steps = [f"mkdir -p {_OUT}", f"touch {_MARK}", *commands,
             f"find . -type f -newer {_MARK} -exec cp --parents -p -t {_OUT} {{}} +"]
    return (
        "# collectstatic, beside the runtime stage's import check; the runtime stage takes\n"
        "# the files it wrote (newer than the mark, paths kept).\n"
        f"FROM {stages.BUILDER} AS {STAGE}\n"
        "RUN " + " \\\n && ".join(steps) + "\n"
    )


RUNTIME_COPY = (
    "# The static files collectstatic wrote (stage `static`), after the import check: the\n"
    "# check does not need them, so on a code change it runs while they are collected.\n"
    f"COPY --from={STAGE} {_OUT}/ /app/\n"
)
