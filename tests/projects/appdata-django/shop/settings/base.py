# ruff: noqa: PTH100, PTH118, PTH120 - written in the os.path shape real settings use
"""Settings in linkding's shape: the project keeps its SQLite files in <project>/data,
a path fixed here (no env var moves it), and a task queue opens its file on load."""

import os
import sqlite3

BASE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only")
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(BASE_DIR, "static.dist")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(BASE_DIR, "data", "db.sqlite3"),
    }
}
# Like huey's SqliteHuey: the queue file is opened as soon as the settings load.
QUEUE = sqlite3.connect(os.path.join(BASE_DIR, "data", "tasks.sqlite3"))
