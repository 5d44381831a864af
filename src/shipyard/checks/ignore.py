"""Suppressing findings: inline `# shipyard: ignore=RULE reason` comments and the
`[tool.shipyard.check] ignore = [...]` config list.

Why a reason is mandatory: an ignore without one is indistinguishable from "made the
linter shut up"; with one, the next reader knows what was decided and why. An inline
ignore without a reason does not suppress anything and is itself a finding (SY001).

Why suppressed findings are kept (marked, not dropped): SARIF consumers show them as
suppressed with the justification, so an audit can still see every exception.

Placement: the comment goes on the line of the finding (YAML trailing comments) or on
its own line(s) right above it — for a Dockerfile, above the instruction (a finding
about a whole stage sits on its FROM line). `ignore-file=RULE reason` anywhere in a
file covers the whole file, including findings that have no line (.dockerignore).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shipyard.checks.model import RULES, Finding, Rule, Severity, finding, register

register(
    Rule("SY001", "ignore-needs-reason", Severity.ERROR, "check",
         "Every `# shipyard: ignore=RULE` says why.",
         "An exception without a reason cannot be reviewed or revisited.",
         "Write the reason after the rule id: `# shipyard: ignore=DF003 init container "
         "needs root to chown the volume`.", "shipyard"),
    Rule("SY002", "ignore-known-rule", Severity.WARNING, "check",
         "Ignore comments name rules that exist.",
         "A misspelt rule id ignores nothing, so the finding it meant to cover stays.",
         "Use an id from `shipyard check --list-rules`.", "shipyard"),
)

_DIRECTIVE = re.compile(r"#\s*shipyard:\s*ignore(?P<file>-file)?\s*=\s*"
                        r"(?P<rules>[A-Za-z]{2,3}\d{3}(?:\s*,\s*[A-Za-z]{2,3}\d{3})*)"
                        r"(?P<reason>.*)$")
_CODE_COMMENT = re.compile(r"^\s*(#|$)")


@dataclass(frozen=True)
class Directive:
    line: int
    rules: tuple[str, ...]
    reason: str
    whole_file: bool
    target_line: int | None  # the next non-comment line, which a line directive covers


def directives(text: str) -> list[Directive]:
    lines = text.splitlines()
    found: list[Directive] = []
    for index, line in enumerate(lines):
        if "shipyard:" not in line:
            continue
        match = _DIRECTIVE.search(line)
        if not match:
            continue
        rules = tuple(r.strip().upper() for r in match["rules"].split(","))
        reason = match["reason"].strip(" \t-:—")
        target = None
        for later in range(index + 1, len(lines)):
            if not _CODE_COMMENT.match(lines[later]):
                target = later + 1
                break
        found.append(Directive(index + 1, rules, reason, bool(match["file"]), target))
    return found


def apply_ignores(
    findings: Iterable[Finding],
    texts: Mapping[str, str],
    config_ignores: Sequence[str] = (),
    config_source: str = "configuration",
) -> list[Finding]:
    """Mark findings suppressed by the files' directives or the config; add SY001/SY002."""
    by_file = {file: directives(text) for file, text in texts.items()}
    out: list[Finding] = []
    for item in findings:
        out.append(_suppress(item, by_file.get(item.file, []), config_ignores, config_source))
    for file, items in by_file.items():
        for directive in items:
            if not directive.reason:
                out.append(finding("SY001", "ignore comment without a reason (it suppresses "
                                   "nothing)", file, directive.line))
            for rule in directive.rules:
                if rule not in RULES:
                    close = difflib.get_close_matches(rule, list(RULES), n=1)
                    hint = f" — did you mean {close[0]}?" if close else ""
                    out.append(finding("SY002", f"ignore names unknown rule {rule}{hint}",
                                       file, directive.line))
    return out


def _suppress(item: Finding, items: Sequence[Directive], config_ignores: Sequence[str],
              config_source: str) -> Finding:
    if item.rule_id.startswith("SY"):
        return item
    for directive in items:
        if not directive.reason or item.rule_id not in directive.rules:
            continue
        if directive.whole_file or (item.line is not None and item.line in (
                directive.line, directive.target_line)):
            return item.suppress(directive.reason, "inSource")
    if item.rule_id in config_ignores:
        return item.suppress(f"ignored in {config_source}", "external")
    return item
