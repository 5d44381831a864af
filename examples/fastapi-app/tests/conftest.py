"""Fixtures: every test gets its own app instance and SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notes_api.config import Settings
from notes_api.main import create_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh temporary data directory."""
    return Settings(data_dir=tmp_path / "data", version="test-1")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A TestClient used as a context manager so the lifespan (schema setup) runs."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client
