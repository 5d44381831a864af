"""Shared fixtures for the guestbook tests.

The production settings use WhiteNoise's manifest storage, which needs
``collectstatic`` to have run; most tests are about views, not static files,
so they get Django's plain storage and an empty, existing STATIC_ROOT instead.
``test_static.py`` restores the real storage explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_django import Settings

from entries.models import Entry

PLAIN_STATIC_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Settings, tmp_path: Path) -> None:
    """Render ``{% static %}`` without a manifest and give WhiteNoise a real directory."""
    static_root = tmp_path / "static.dist"
    static_root.mkdir()
    settings.STATIC_ROOT = static_root
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PLAIN_STATIC_STORAGE}


@pytest.fixture
def make_entry(db: None) -> Callable[..., Entry]:
    """Factory for saved entries, so tests state only the fields they care about."""

    def _make(name: str = "Ada", message: str = "Hello there") -> Entry:
        return Entry.objects.create(name=name, message=message)

    return _make
