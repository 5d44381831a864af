"""Tests for the ``notes-api`` console script."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from notes_api import __version__, cli


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the package version and exits 0."""
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"notes-api {__version__}"
    assert __version__ == "1.0.0"


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Capture uvicorn.run's arguments instead of starting a server."""
    captured: dict[str, Any] = {}

    def _run(app: str, **kwargs: Any) -> None:
        captured["app"] = app
        captured.update(kwargs)

    monkeypatch.setattr(uvicorn, "run", _run)
    return captured


def test_defaults(monkeypatch: pytest.MonkeyPatch, fake_run: dict[str, Any]) -> None:
    """Without configuration the server listens on 0.0.0.0:8000."""
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    cli.main([])
    assert fake_run["app"] == "notes_api.main:app"
    assert (fake_run["host"], fake_run["port"]) == ("0.0.0.0", 8000)  # noqa: S104


def test_host_and_port_from_env(monkeypatch: pytest.MonkeyPatch, fake_run: dict[str, Any]) -> None:
    """HOST and PORT configure the listener."""
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "9123")
    cli.main([])
    assert (fake_run["host"], fake_run["port"]) == ("127.0.0.1", 9123)


def test_flags_override_env(monkeypatch: pytest.MonkeyPatch, fake_run: dict[str, Any]) -> None:
    """Command-line flags win over the environment."""
    monkeypatch.setenv("PORT", "9123")
    cli.main(["--host", "::1", "--port", "9999"])
    assert (fake_run["host"], fake_run["port"]) == ("::1", 9999)


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_bad_port_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, fake_run: dict[str, Any], port: str) -> None:
    """An invalid PORT fails with exit status 2 instead of a traceback."""
    monkeypatch.setenv("PORT", port)
    with pytest.raises(SystemExit) as excinfo:
        cli.main([])
    assert excinfo.value.code == 2
    assert fake_run == {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(shutil.which("notes-api", path=str(Path(sys.executable).parent)) is None, reason="not installed")
def test_console_script_serves_healthz(tmp_path: Path) -> None:
    """The installed script starts a real uvicorn that answers /healthz."""
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "NOTES_DATA_DIR": str(tmp_path), "APP_VERSION": "e2e"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "notes-api")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body: dict[str, str] = {}
        for _ in range(80):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                    body = json.load(response)
                break
            except OSError:
                time.sleep(0.25)
        assert body == {"status": "ok", "version": "e2e"}
        assert (tmp_path / "notes.sqlite3").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
