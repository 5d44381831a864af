"""Settings are read from the environment only; these check the parsing rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from guestbook.settings import env_bool, env_list

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("on", True), ("0", False), ("false", False), ("", False)],
)
def test_env_bool(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    """Common spellings of true/false are accepted, case-insensitively."""
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_env_bool_default_and_typo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset uses the default; an unknown value fails loudly instead of guessing."""
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env_bool("SOME_FLAG", True) is True
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured):
        env_bool("SOME_FLAG", False)


def test_env_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comma lists ignore whitespace and empty items."""
    monkeypatch.setenv("HOSTS", " a.example , b.example,, ")
    assert env_list("HOSTS", "*") == ["a.example", "b.example"]
    monkeypatch.delenv("HOSTS")
    assert env_list("HOSTS", "*") == ["*"]


def _settings_in_subprocess(env_overrides: dict[str, str]) -> dict[str, object]:
    """Import the settings module in a clean process with the given environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "APP_VERSION"))}
    env.update(env_overrides)
    script = (
        "import json\n"
        "from guestbook import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'engine': db['ENGINE'],\n"
        "  'name': str(db['NAME']), 'static_root': str(s.STATIC_ROOT), 'version': s.APP_VERSION,\n"
        "  'https': s.HTTPS, 'log_level': s.LOG_LEVEL}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_defaults_need_no_configuration() -> None:
    """With no environment at all the app runs with safe, documented defaults."""
    values = _settings_in_subprocess({})
    assert values == {
        "debug": False,
        "hosts": ["*"],
        "engine": "django.db.backends.sqlite3",
        "name": str(BASE_DIR / "var" / "db.sqlite3"),
        "static_root": str(BASE_DIR / "static.dist"),
        "version": "dev",
        "https": False,
        "log_level": "INFO",
    }


def test_environment_overrides() -> None:
    """Every documented variable is honoured, including DATABASE_URL for PostgreSQL."""
    values = _settings_in_subprocess(
        {
            "DJANGO_DEBUG": "1",
            "DJANGO_ALLOWED_HOSTS": "guestbook.example,localhost",
            "DATABASE_URL": "postgres://guest:secret@db.internal:5432/guestbook",
            "DJANGO_STATIC_ROOT": "/srv/static",
            "APP_VERSION": "2.0.0",
            "DJANGO_HTTPS": "yes",
            "DJANGO_LOG_LEVEL": "debug",
        }
    )
    assert values == {
        "debug": True,
        "hosts": ["guestbook.example", "localhost"],
        "engine": "django.db.backends.postgresql",
        "name": "guestbook",
        "static_root": "/srv/static",
        "version": "2.0.0",
        "https": True,
        "log_level": "DEBUG",
    }


def test_psycopg_binary_is_importable() -> None:
    """PostgreSQL support comes from the psycopg binary wheel, not a compiled build."""
    import psycopg

    assert psycopg.pq.__impl__ == "binary"
