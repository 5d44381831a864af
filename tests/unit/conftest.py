"""Unit tests are pure logic: `shipyard init` never asks the package index here (a test
that needs index facts injects them)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_OFFLINE", "1")
