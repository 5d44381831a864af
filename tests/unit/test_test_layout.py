"""Test modules are imported by basename (no packages under tests/): two files with one
name in tests/unit and tests/integration make the whole run stop at collection, which a
unit-only run never shows. This keeps the names apart."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_unit_and_integration_test_modules_have_distinct_names() -> None:
    unit = {p.name for p in (TESTS / "unit").glob("test_*.py")}
    integration = {p.name for p in (TESTS / "integration").glob("test_*.py")}
    assert sorted(unit & integration) == []
