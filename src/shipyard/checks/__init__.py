"""`shipyard check`: audit a project's packaging (Dockerfiles, compose files, .dockerignore,
CI files, a deploy key line and optionally a built image) against the image checklist of
seed 004 and the compose/deploy conventions of seed 000.

Why a rule registry: every finding must say which rule fired, how bad it is, why the
rule exists and what to change, in four output formats. Keeping rules as data (an id,
a severity, a rationale, a fix, the scope it applies to) lets the formats, the docs and
the tests all read one table.
"""

from shipyard.checks.model import RULES, Finding, ParseFailure, Report, Rule, Severity
from shipyard.checks.run import check

__all__ = ["RULES", "Finding", "ParseFailure", "Report", "Rule", "Severity", "check"]
