"""notes-api: a tiny notes CRUD service built on FastAPI and SQLite."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("notes-api")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
