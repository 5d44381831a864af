"""Suppression: inline `# shipyard: ignore=RULE reason`, file-wide ignores, the config
list, and the rules about ignores themselves (SY001 reason required, SY002 known rule)."""

from __future__ import annotations

import pytest

from shipyard.checks.ignore import apply_ignores, directives
from shipyard.checks.model import RULES, Finding, finding

DOCKERFILE = """FROM python:3.12-slim
# shipyard: ignore=DF003 the init job must chown the volume
USER root
# shipyard: ignore=DF004
HEALTHCHECK NONE
"""


def f(rule: str, file: str = "Dockerfile", line: int | None = 3) -> Finding:
    return finding(rule, "m", file, line)


# (case id, findings, file texts, config ignores, expected (rule, line, suppressed, reason/None))
Expected = list[tuple[str, int | None, bool, str | None]]
CASES: list[tuple[str, list[Finding], dict[str, str], tuple[str, ...], Expected]] = [
    ("line-above", [f("DF003", line=3)], {"Dockerfile": DOCKERFILE}, (),
     [("DF003", 3, True, "the init job must chown the volume"),
      ("SY001", 4, False, None)]),
    ("no-reason-does-not-suppress", [f("DF004", line=5)], {"Dockerfile": DOCKERFILE}, (),
     [("DF004", 5, False, None), ("SY001", 4, False, None)]),
    ("other-rule-not-suppressed", [f("DF012", line=3)],
     {"Dockerfile": "FROM x:1\n# shipyard: ignore=DF003 why\nUSER root\n"}, (),
     [("DF012", 3, False, None)]),
    ("other-line-not-suppressed", [f("DF003", line=1)],
     {"Dockerfile": "FROM x:1\n# shipyard: ignore=DF003 why\nUSER root\n"}, (),
     [("DF003", 1, False, None)]),
    ("skips-comment-block", [f("DF004", line=4)],
     {"Dockerfile": "# shipyard: ignore=DF004 tested by compose\n# more words\n\nFROM x:1\n"}, (),
     [("DF004", 4, True, "tested by compose")]),
    ("yaml-trailing", [f("CO005", "compose.yaml", 4)],
     {"compose.yaml": "services:\n  web:\n    image: a:${T}\n"
      "    ports: ['80:80']  # shipyard: ignore=CO005 single-tenant host\n"}, (),
     [("CO005", 4, True, "single-tenant host")]),
    ("several-rules", [f("CO001", "compose.yaml", 3), f("CO008", "compose.yaml", 3)],
     {"compose.yaml": "services:\n  # shipyard: ignore=CO001,CO008 a one-off tool\n  web:\n"}, (),
     [("CO001", 3, True, "a one-off tool"), ("CO008", 3, True, "a one-off tool")]),
    ("ignore-file", [f("DI002", ".dockerignore", None)],
     {".dockerignore": "# shipyard: ignore-file=DI002 the context is a subdirectory\n*.pyc\n"}, (),
     [("DI002", None, True, "the context is a subdirectory")]),
    ("line-directive-does-not-cover-file-findings", [f("DI002", ".dockerignore", None)],
     {".dockerignore": "# shipyard: ignore=DI002 why\n*.pyc\n"}, (),
     [("DI002", None, False, None)]),
    ("config", [f("DF012")], {"Dockerfile": "FROM x:1\n"}, ("DF012",),
     [("DF012", 3, True, "ignored in pyproject.toml")]),
    ("unknown-rule", [], {"Dockerfile": "# shipyard: ignore=DF999 typo\nFROM x:1\n"}, (),
     [("SY002", 1, False, None)]),
    ("meta-not-suppressible", [f("SY001", line=2)],
     {"Dockerfile": "FROM x:1\n# shipyard: ignore=SY001 no\n"}, ("SY001",),
     [("SY001", 2, False, None)]),
]


@pytest.mark.parametrize(("findings", "texts", "config", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_ignores(findings: list[Finding], texts: dict[str, str], config: tuple[str, ...],
                 expected: Expected) -> None:
    out = apply_ignores(findings, texts, config, "pyproject.toml")
    got = [(x.rule_id, x.line, x.suppressed,
            x.suppression_reason.split(" [")[0] if x.suppression_reason else None) for x in out]
    assert got == expected
    for item in out:
        if item.suppressed:
            assert item.suppression_kind == ("external" if config else "inSource")


def test_directive_parsing() -> None:
    (one,) = directives("RUN x\n# shipyard:ignore = df010 , DF011 - pinned upstream\n\nRUN y\n")
    assert (one.line, one.rules, one.reason, one.whole_file, one.target_line) == (
        2, ("DF010", "DF011"), "pinned upstream", False, 4)


def test_sy_rules_are_covered() -> None:
    fired = {e[0] for c in CASES for e in c[4]}
    assert {r for r in RULES if r.startswith("SY")} <= fired
    # passing examples: cases without SY findings
    assert any(not any(e[0].startswith("SY") for e in c[4]) for c in CASES)
