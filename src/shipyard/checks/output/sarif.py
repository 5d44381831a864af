"""SARIF 2.1.0 (OASIS), the format code-scanning UIs read.

Mapping: each rule is a reportingDescriptor (help = rationale + fix); severities map to
levels error/warning/note; a suppressed finding keeps its result with a `suppressions`
entry (inSource for `# shipyard: ignore`, external for the config list) carrying the
reason as justification; parse failures become error notifications and make the
invocation unsuccessful. Paths are relative to %SRCROOT% (the project directory).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from shipyard import __version__
from shipyard.checks.model import Finding, Report, Rule, Severity

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.rationale}\nFix: {rule.fix}",
                 "markdown": f"{rule.rationale}\n\n**Fix:** {rule.fix}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"appliesTo": rule.applies_to, "source": rule.source,
                       "tags": [rule.applies_to]},
    }


def _location(file: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"}}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _fingerprint(item: Finding) -> str:
    raw = f"{item.rule_id}\0{item.file}\0{item.message}".encode()
    return hashlib.sha256(raw).hexdigest()


def _result(item: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": item.rule_id,
        "ruleIndex": index[item.rule_id],
        "level": LEVELS[item.severity],
        "message": {"text": f"{item.message}. Fix: {item.fix}" if item.fix else item.message},
        "locations": [_location(item.file, item.line)],
        "partialFingerprints": {"shipyardFinding/v1": _fingerprint(item)},
    }
    if item.suppressed:
        result["suppressions"] = [{"kind": item.suppression_kind or "external",
                                   "status": "accepted",
                                   "justification": item.suppression_reason or ""}]
    return result


def to_sarif(report: Report) -> dict[str, Any]:
    rules = report.rules_used()
    index = {rule.id: i for i, rule in enumerate(rules)}
    notifications = [{
        "level": "error",
        "message": {"text": f"cannot parse: {failure.message}"},
        "locations": [_location(failure.file, failure.line)],
        "descriptor": {"id": "parse-error"},
    } for failure in report.parse_failures]
    root = Path(report.project_dir).resolve().as_uri() + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "shipyard", "version": __version__,
                                "rules": [_descriptor(r) for r in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root}},
            "invocations": [{"executionSuccessful": not report.parse_failures,
                             "toolExecutionNotifications": notifications}],
            "results": [_result(f, index) for f in report.findings],
            "columnKind": "unicodeCodePoints",
        }],
    }
