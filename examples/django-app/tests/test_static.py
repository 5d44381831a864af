"""Static files: collectstatic with the production storage, served by WhiteNoise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from pytest_django import Settings


@pytest.mark.django_db
def test_collectstatic_and_whitenoise(settings: Settings, tmp_path: Path) -> None:
    """Hashed, compressed files are collected and served without any web server but Django."""
    production_storage = {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }
    # The autouse fixture in conftest.py swapped in plain storage; restore the real one.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": production_storage}
    settings.STATIC_ROOT = tmp_path / "collected"

    call_command("collectstatic", interactive=False, verbosity=0)

    css = list((tmp_path / "collected" / "entries").glob("site.*.css"))
    assert len(css) == 1, css
    assert (tmp_path / "collected" / "staticfiles.json").exists()
    assert css[0].with_name(css[0].name + ".gz").exists()

    # A new client builds a new middleware stack, so WhiteNoise sees the files.
    client = Client()
    page = client.get("/").content.decode()
    match = re.search(r'href="(/static/entries/site\.[0-9a-f]+\.css)"', page)
    assert match is not None, "page should link the hashed stylesheet"
    response = client.get(match.group(1))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "immutable" in response["Cache-Control"]


def test_production_settings_use_whitenoise_manifest() -> None:
    """Guard against the test override leaking into what the image ships."""
    from guestbook import settings as guestbook_settings

    assert guestbook_settings.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in django_settings.MIDDLEWARE
