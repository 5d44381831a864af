"""`shipyard test IMAGE`: check a built image before it is pushed (seed 004, "Testing Built
Images" and the checklist).

Why a package of small modules: each group of checks needs a different view of the
image — its config (metadata.py, pure), every layer's files (content.py, from
`docker save`), a running container (runtime.py) — and the pure parts are tested as
tables without an engine. run.py puts them in order and returns a Report (model.py);
junit.py renders it for CI.
"""

from shipyard.image.results import CheckResult, Report

__all__ = ["CheckResult", "Report"]
