"""Tests for the flask-app example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import app as app_module
from app import create_app

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
GIT_LINE = "greetings @ git+ssh://git@git.example.com/acme/private-lib.git@v1.0.0"


@pytest.fixture
def client() -> FlaskClient:
    """A test client for a fresh app instance."""
    flask_app = create_app()
    flask_app.testing = True
    return flask_app.test_client()


def test_module_exposes_wsgi_app() -> None:
    """gunicorn's ``app:app`` must resolve to a Flask application."""
    assert app_module.app.wsgi_app is not None
    assert app_module.app.name == "app"


def test_healthz(client: FlaskClient) -> None:
    """The probe answers 200 with exactly ``{"status": "ok"}``."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/hello/Ada", "Hello, Ada!"),
        ("/hello/Zo%C3%AB", "Hello, Zoë!"),
        ("/hello/%20Grace%20", "Hello, Grace!"),
    ],
)
def test_hello_uses_greetings(client: FlaskClient, path: str, expected: str) -> None:
    """/hello/<name> returns the private library's greeting as text."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == expected


def test_unknown_route_is_404(client: FlaskClient) -> None:
    """Only the documented routes exist."""
    assert client.get("/hello/").status_code == 404
    assert client.post("/healthz").status_code == 405


def test_requirements_git_line_is_rewritable() -> None:
    """The private dependency stays on one line in the exact form tests rewrite."""
    lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    assert lines.count(GIT_LINE) == 1
    assert sum("git@git.example.com/acme/private-lib.git" in line for line in lines) == 1


def test_other_requirements_are_pinned() -> None:
    """Everything except the git dependency is pinned exactly."""
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line == GIT_LINE:
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.]+", line), line
