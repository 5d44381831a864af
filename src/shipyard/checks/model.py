"""The data `shipyard check` works with: severities, rules, findings, parse failures, reports.

Why plain frozen dataclasses: rule functions are pure (input model → findings), the
outputs (text, JSON, SARIF, GitLab) only read these objects, and tests compare them
as tables. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

AppliesTo = Literal["final", "builder", "all stages", "compose", "dockerignore", "deploy",
                    "ci", "image", "check"]


class Severity(enum.IntEnum):
    """Ordered so `>=` reads as "at least as bad as" (the --fail-on threshold)."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use error, warning or info") from None


@dataclass(frozen=True)
class Rule:
    """One check: what it is called, how bad a hit is, why it exists, how to fix it."""

    id: str
    name: str  # kebab-case, for SARIF `name` and humans
    severity: Severity
    applies_to: AppliesTo
    summary: str  # one line: what the rule wants
    rationale: str  # why (cites the seed checklist item where there is one)
    fix: str  # what to change, in general terms; a finding may be more specific
    source: str = ""  # where the rule comes from: "seed 004 #12", "seed 000", ...


RULES: dict[str, Rule] = {}
"""Every rule, by id. Filled by the rules_* modules at import (see `register`)."""


def register(*rules: Rule) -> None:
    """Add rules to the registry; an id may only be registered once (a typo guard)."""
    for rule in rules:
        if rule.id in RULES and RULES[rule.id] != rule:
            raise ValueError(f"rule id {rule.id} registered twice")
        RULES[rule.id] = rule


@dataclass(frozen=True)
class Finding:
    """One rule hit at one place. `file` is relative to the project directory (POSIX)."""

    rule_id: str
    severity: Severity
    message: str
    file: str
    line: int | None = None
    fix: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None
    suppression_kind: Literal["inSource", "external"] | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    def suppress(self, reason: str, kind: Literal["inSource", "external"]) -> Finding:
        return replace(self, suppressed=True, suppression_reason=reason, suppression_kind=kind)

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.rule_id, self.message)


def finding(rule_id: str, message: str, file: str, line: int | None = None,
            fix: str | None = None) -> Finding:
    """A finding with the rule's severity and (unless given) the rule's general fix."""
    rule = RULES[rule_id]
    return Finding(rule_id, rule.severity, message, file, line,
                   fix if fix is not None else rule.fix)


@dataclass(frozen=True)
class ParseFailure:
    """A file that could not be read or parsed: never a silent pass (exit code 2)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_PARSE_ERROR = 2


@dataclass(frozen=True)
class Report:
    """The result of one `check`: every finding (suppressed ones included), parse failures,
    and what was looked at."""

    project_dir: str
    findings: tuple[Finding, ...] = ()
    parse_failures: tuple[ParseFailure, ...] = ()
    files: tuple[str, ...] = ()
    image: str | None = None
    fail_on: Severity = Severity.ERROR
    notes: tuple[str, ...] = field(default=())

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.suppressed)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed)

    def counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for item in self.active:
            counts[item.severity.label] += 1
        counts["suppressed"] = len(self.suppressed)
        counts["parse_failures"] = len(self.parse_failures)
        return counts

    def exit_code(self, fail_on: Severity | None = None) -> int:
        """2 when a file could not be parsed, 1 when a finding is at/above the threshold."""
        if self.parse_failures:
            return EXIT_PARSE_ERROR
        threshold = fail_on if fail_on is not None else self.fail_on
        if any(f.severity >= threshold for f in self.active):
            return EXIT_FINDINGS
        return EXIT_OK

    def rules_used(self) -> list[Rule]:
        """The rules that produced a finding, in id order (SARIF lists these)."""
        ids = sorted({f.rule_id for f in self.findings})
        return [RULES[i] for i in ids]


def sorted_findings(items: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(items, key=Finding.sort_key))
