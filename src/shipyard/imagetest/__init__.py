"""`shipyard test IMAGE`: check a built image before it is pushed (seed 004, "Testing Built
Images" and the checklist).

Why a package of small modules: each group of checks needs a different view of the
image — its config (shipyard.image.metadata, pure, shared with `check --image`), every
layer's files (content.py, structure.py, from `docker save`), a running container
(runtime.py runs it, verdicts.py judges it) — and the pure parts are tested as tables
without an engine. run.py puts them in order and returns a Report (shipyard.image.results);
junit.py renders it for CI.
"""

from shipyard.image.results import CheckResult
from shipyard.imagetest.report import Report

__all__ = ["CheckResult", "Report"]
