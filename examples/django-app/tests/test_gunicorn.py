"""End-to-end: the WSGI app under a real gunicorn, as the container runs it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    """GET a URL and return status and body, treating HTTP errors as responses."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


GUNICORN = shutil.which("gunicorn", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(GUNICORN is None, reason="gunicorn is not installed next to this Python")
def test_gunicorn_serves_migrated_app(tmp_path: Path) -> None:
    """migrate + collectstatic + gunicorn, all configured by environment variables."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))},
        "DJANGO_SETTINGS_MODULE": "guestbook.settings",
        "DJANGO_DATA_DIR": str(data_dir),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static.dist"),
        "APP_VERSION": "e2e",
    }
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([*manage, *command], cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=120)

    port = _free_port()
    assert GUNICORN is not None
    server = subprocess.Popen(
        [GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "1", "guestbook.wsgi:application"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status, body = 0, b""
        for _ in range(60):
            try:
                status, body = _get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.25)
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "database": "ok", "version": "e2e"}

        status, page = _get(f"{base}/")
        assert status == 200
        css_path = next(
            part.split('"')[0] for part in page.decode().split('href="')[1:] if part.startswith("/static/entries/site.")
        )
        status, css = _get(f"{base}{css_path}")
        assert status == 200
        assert b"--accent" in css
    finally:
        server.terminate()
        server.wait(timeout=30)
