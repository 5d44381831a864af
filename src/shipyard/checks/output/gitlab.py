"""GitLab code-quality report (the Code Climate issue subset GitLab reads): a JSON list of
{description, check_name, fingerprint, severity, location.path, location.lines.begin}.

Suppressed findings are left out (the format has no notion of suppression); parse
failures are included as `blocker` issues so a merge request never shows a clean
report for a file that was not checked.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shipyard.checks.model import Report, Severity

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def _fingerprint(*parts: object) -> str:
    return hashlib.md5("\0".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def to_gitlab(report: Report) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for item in report.active:
        base = _fingerprint(item.rule_id, item.file, item.message)
        seen[base] = seen.get(base, 0) + 1  # identical findings stay distinct
        issues.append({
            "description": f"{item.rule_id}: {item.message}",
            "check_name": item.rule_id,
            "fingerprint": base if seen[base] == 1 else _fingerprint(base, seen[base]),
            "severity": SEVERITIES[item.severity],
            "location": {"path": item.file, "lines": {"begin": item.line or 1}},
            "content": {"body": item.fix},
            "categories": ["Security" if item.severity is Severity.ERROR else "Style"],
        })
    for failure in report.parse_failures:
        issues.append({
            "description": f"cannot parse: {failure.message}",
            "check_name": "parse-error",
            "fingerprint": _fingerprint("parse-error", failure.file, failure.message),
            "severity": "blocker",
            "location": {"path": failure.file, "lines": {"begin": failure.line or 1}},
        })
    return issues
