# ruff: noqa: PTH100, PTH118, PTH120
# (os.path on purpose: the shape of the apps this fixture reproduces)
"""Settings whose folders default to places next to the code, computed from __file__
(the shape of CTFd's config: a cache one level up, logs and uploads in the package)."""

import os
from pathlib import Path


class Config:
    CACHE_DIR = os.path.join(os.path.dirname(__file__), os.pardir, ".data", "filesystem_cache")
    LOG_FOLDER = os.environ.get("LOG_FOLDER") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "logs")
    UPLOAD_FOLDER = Path(__file__).resolve().parent / "uploads"
