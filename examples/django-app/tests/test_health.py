"""Tests for GET /healthz."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connections
from django.test import Client
from pytest_django import Settings

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_ok(client: Client, settings: Settings) -> None:
    """A working database gives 200 with the configured version."""
    settings.APP_VERSION = "1.2.3"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": "1.2.3"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_accepts_any_host(client: Client) -> None:
    """Probes address the container by IP; the default ALLOWED_HOSTS=* accepts that."""
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200


def test_healthz_503_when_query_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any database error turns into 503 with ``database: error``."""

    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("simulated outage")

    monkeypatch.setattr(connections["default"], "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "error"


def _healthz_in_subprocess(env_overrides: dict[str, str], tmp_path: Path) -> tuple[int, dict[str, str]]:
    """Call /healthz in a fresh process configured only through the environment."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guestbook.settings",
        "DJANGO_STATIC_ROOT": str(tmp_path),
        **env_overrides,
    }
    env.pop("DATABASE_URL", None)
    script = (
        "import json, django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz')\n"
        "print(json.dumps([r.status_code, r.json()]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def test_healthz_503_when_data_dir_missing(tmp_path: Path) -> None:
    """A missing data volume (SQLite cannot open its file) is reported as unhealthy."""
    status, body = _healthz_in_subprocess({"DJANGO_DATA_DIR": str(tmp_path / "missing")}, tmp_path)
    assert status == 503
    assert body == {"status": "error", "database": "error", "version": "dev"}


def test_healthz_200_with_real_sqlite_file(tmp_path: Path) -> None:
    """With an existing data dir the real settings produce a healthy app."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    status, body = _healthz_in_subprocess({"DJANGO_DATA_DIR": str(data_dir), "APP_VERSION": "9.9.9"}, tmp_path)
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "version": "9.9.9"}
    assert (data_dir / "db.sqlite3").exists()
