"""The generated Dockerfile's build stages: their names, and where helper stages go.

Why the builder is split: `dependencies` ends with the installed virtualenv, so the
runtime stage copies it (and reads the runtime library list, in a stage of its own)
while `builder` is still working on the code (translations, collectstatic, bytecode).
BuildKit runs independent stages at once; one stage would make every later step wait
for all of them.
"""

from __future__ import annotations

DEPENDENCIES = "dependencies"  # compilers, the virtualenv with every dependency
BUILDER = "builder"  # the code: copied, built, compiled to bytecode
RUNTIME_LIBS = "runtime-libs"  # the Debian packages the compiled dependencies link against
UV = "uv"  # pinned uv in /opt/uv, mounted by the steps that call it, copied nowhere
LOCAL_PACKAGES = "local-packages"  # compilers, and local packages built apart (local_builds)
MESSAGES = "messages"  # translations compiled there, when the builder has no msgfmt

_DEPENDENCIES_LINE = f"FROM base AS {DEPENDENCIES}\n"


def insert_helper(dockerfile: str, stage: str) -> str:
    """dockerfile with stage (uv, a dependency list, the JavaScript build: text ending in
    a newline) right before the `dependencies` stage, which it may feed."""
    if _DEPENDENCIES_LINE not in dockerfile:
        raise ValueError("the Dockerfile template has no dependencies stage")
    return dockerfile.replace(_DEPENDENCIES_LINE, stage + "\n" + _DEPENDENCIES_LINE, 1)
