"""Tests for the HTTP API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notes_api import __version__
from notes_api.config import Settings
from notes_api.main import app, create_app


def test_healthz(client: TestClient) -> None:
    """The probe answers 200 with the configured version."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "test-1"}
    assert response.headers["cache-control"] == "no-store"


def test_module_app_reads_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``notes_api.main:app`` takes NOTES_DATA_DIR and APP_VERSION at start-up."""
    monkeypatch.setenv("NOTES_DATA_DIR", str(tmp_path / "volume"))
    monkeypatch.delenv("APP_VERSION", raising=False)
    with TestClient(app) as test_client:
        assert test_client.get("/healthz").json() == {"status": "ok", "version": __version__}
        test_client.post("/notes", json={"title": "persisted"})
    assert (tmp_path / "volume" / "notes.sqlite3").exists()


def test_default_data_dir_is_var(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without NOTES_DATA_DIR the database goes to ./var."""
    monkeypatch.delenv("NOTES_DATA_DIR", raising=False)
    monkeypatch.setenv("APP_VERSION", "from-env")
    settings = Settings.from_env()
    assert settings.database_path == Path("var") / "notes.sqlite3"
    assert settings.version == "from-env"


def test_crud_roundtrip(client: TestClient) -> None:
    """Create, read, list, replace and delete a note."""
    assert client.get("/notes").json() == []

    created = client.post("/notes", json={"title": "Shopping", "body": "milk"})
    assert created.status_code == 201
    note = created.json()
    assert note["title"] == "Shopping"
    assert note["body"] == "milk"
    assert created.headers["location"] == f"/notes/{note['id']}"

    assert client.get(f"/notes/{note['id']}").json() == note
    assert client.get("/notes").json() == [note]

    replaced = client.put(f"/notes/{note['id']}", json={"title": "Shopping", "body": "oat milk"})
    assert replaced.status_code == 200
    assert replaced.json()["body"] == "oat milk"
    assert replaced.json()["created_at"] == note["created_at"]
    assert replaced.json()["updated_at"] >= note["updated_at"]

    assert client.delete(f"/notes/{note['id']}").status_code == 204
    assert client.get(f"/notes/{note['id']}").status_code == 404
    assert client.get("/notes").json() == []


def test_notes_listed_in_creation_order(client: TestClient) -> None:
    """Listing is deterministic: oldest first."""
    for title in ("a", "b", "c"):
        client.post("/notes", json={"title": title})
    assert [n["title"] for n in client.get("/notes").json()] == ["a", "b", "c"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_missing_note_is_404(client: TestClient, method: str) -> None:
    """Unknown ids give 404 with a message for every verb."""
    kwargs = {"json": {"title": "x"}} if method == "put" else {}
    response = getattr(client, method)("/notes/999", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"detail": "Note 999 not found"}


@pytest.mark.parametrize("payload", [{}, {"title": ""}, {"title": "x" * 201}, {"title": 5}])
def test_invalid_note_is_422(client: TestClient, payload: dict[str, object]) -> None:
    """Validation errors are rejected before touching the database."""
    assert client.post("/notes", json=payload).status_code == 422
    assert client.get("/notes").json() == []


def test_data_survives_restart(settings: Settings) -> None:
    """Notes live in the SQLite file, not in process memory."""
    with TestClient(create_app(settings)) as first:
        first.post("/notes", json={"title": "durable"})
    with TestClient(create_app(settings)) as second:
        assert [n["title"] for n in second.get("/notes").json()] == ["durable"]


def test_openapi_schema(client: TestClient) -> None:
    """The generated OpenAPI document names the service and its version."""
    schema = client.get("/openapi.json").json()
    assert schema["info"] == {"title": "notes-api", "version": __version__}
    assert "/notes/{note_id}" in schema["paths"]
