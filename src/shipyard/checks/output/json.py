"""Shipyard's JSON report: every finding (suppressed ones flagged), parse failures, counts."""

from __future__ import annotations

from typing import Any

from shipyard import __version__
from shipyard.checks.model import Finding, Report, Rule

SCHEMA_VERSION = 1


def rule_dict(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "severity": rule.severity.label,
            "applies_to": rule.applies_to, "summary": rule.summary,
            "rationale": rule.rationale, "fix": rule.fix, "source": rule.source}


def finding_dict(item: Finding) -> dict[str, Any]:
    return {"rule_id": item.rule_id, "severity": item.severity.label, "message": item.message,
            "file": item.file, "line": item.line, "fix": item.fix,
            "suppressed": item.suppressed, "suppression_reason": item.suppression_reason}


def to_json(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "shipyard", "version": __version__},
        "project_dir": report.project_dir,
        "image": report.image,
        "fail_on": report.fail_on.label,
        "exit_code": report.exit_code(),
        "summary": report.counts(),
        "files": list(report.files),
        "findings": [finding_dict(f) for f in report.findings],
        "parse_failures": [{"file": p.file, "line": p.line, "message": p.message}
                           for p in report.parse_failures],
        "rules": {r.id: rule_dict(r) for r in report.rules_used()},
    }
