"""Machine-readable renderings of a Report, as plain dicts (the CLI serialises them).

json: Shipyard's own shape (everything, stable keys); sarif: SARIF 2.1.0 for code-scanning
UIs (suppressed findings included, marked with their justification); gitlab: GitLab's
code-quality report (a list of issues; suppressed findings left out, parse failures in
as blockers so a broken file is never a clean report).
"""

from shipyard.checks.output.gitlab import to_gitlab
from shipyard.checks.output.json import to_json
from shipyard.checks.output.sarif import to_sarif

__all__ = ["to_gitlab", "to_json", "to_sarif"]
