"""Runtime configuration, read from environment variables only.

Values are read when the app starts (not at import time), so tests and
process managers can set the environment right before starting the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from notes_api import __version__


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its environment."""

    data_dir: Path
    version: str

    @property
    def database_path(self) -> Path:
        """The SQLite file lives in the data directory (a volume in containers)."""
        return self.data_dir / "notes.sqlite3"

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ``NOTES_DATA_DIR`` (default ``./var``) and ``APP_VERSION``.

        ``APP_VERSION`` lets a deployment report its build identifier; without
        it the installed package version is reported.
        """
        return cls(
            data_dir=Path(os.environ.get("NOTES_DATA_DIR") or "var"),
            version=os.environ.get("APP_VERSION") or __version__,
        )


def server_address() -> tuple[str, int]:
    """Return the ``(host, port)`` to listen on from ``HOST``/``PORT`` (default 0.0.0.0:8000)."""
    host = os.environ.get("HOST") or "0.0.0.0"  # noqa: S104 - containers must listen on all interfaces
    raw_port = os.environ.get("PORT") or "8000"
    try:
        port = int(raw_port)
    except ValueError as exc:
        raise ValueError(f"PORT must be an integer, got {raw_port!r}") from exc
    if not 0 < port < 65536:
        raise ValueError(f"PORT must be between 1 and 65535, got {port}")
    return host, port
