"""What the builder does to the code after the dependencies (pure text).

Bytecode: compiled at build because the runtime filesystem is read-only; hash-based
pycs (unchecked: the image is immutable) do not depend on file times, so two builds of
one commit give the same files (--verify-repro). Not compiled is what never runs from
/app: test code, a `manage.py` (run as a script, whose bytecode Python never reads) and
the sources of local packages the dependency step installed into the virtualenv (/app
has a copy of their tree, which is never imported).

Build debris: a local package the dependency step builds in place leaves setuptools'
`build/` and `*.egg-info` in its tree (object files included). The context never holds
them (.dockerignore), so whatever is there after the install is debris, and it goes in
the same step, before it can reach a layer that the code copy would carry into /app.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

# Matched (re.search) against each path compileall visits.
_NEVER_RUN = r"tests?/|tests?\.py$|test_[^/]*\.py$|conftest\.py$|manage\.py$"


def _local_dirs(local_paths: Iterable[str]) -> list[str]:
    """The local packages' directories, relative to the app ("." is the app itself)."""
    return [p.strip("/") for p in local_paths if p.strip("/") not in ("", ".")]


def compile_source(local_paths: Iterable[str] = ()) -> str:
    """The compileall command for /src."""
    alternatives = [_NEVER_RUN, *(re.escape(d) + "/" for d in _local_dirs(local_paths))]
    pattern = f"(^|/)({'|'.join(alternatives)})"
    return ("python -m compileall -q -f --invalidation-mode unchecked-hash"
            f" -x {shlex.quote(pattern)} /src")


def remove_build_debris(local_paths: Iterable[str]) -> str:
    """Shell words that delete what building the local packages in place left behind
    ("" when there are none)."""
    debris = [f"{shlex.quote(d)}/{leaf}" for d in _local_dirs(local_paths)
              for leaf in ("build", "*.egg-info", "src/*.egg-info")]
    return f"rm -rf {' '.join(debris)}" if debris else ""
