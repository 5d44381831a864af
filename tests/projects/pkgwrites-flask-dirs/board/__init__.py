"""A notice board: notes are uploaded as files and indexed in SQLite, page renders are
cached on disk, and every post goes to an audit log (a file in the log folder when it
can be written, and stdout)."""

import contextlib
import hashlib
import logging
import sqlite3
import sys
from pathlib import Path

from flask import Flask, jsonify, request


def create_app():
    app = Flask(__name__)
    app.config.from_object("board.config.Config")
    cache, logs, uploads = (Path(app.config[key]) for key in (
        "CACHE_DIR", "LOG_FOLDER", "UPLOAD_FOLDER"))
    for folder in (cache, logs, uploads):
        if not folder.exists():
            folder.mkdir(parents=True)  # at import: wsgi.py builds the app
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # at import, like CTFd's create_all()
        db.execute("CREATE TABLE IF NOT EXISTS notes (name TEXT PRIMARY KEY)")
    audit = logging.getLogger("board.audit")
    audit.setLevel(logging.INFO)
    with contextlib.suppress(OSError):  # a read-only log folder: stdout only
        audit.addHandler(logging.FileHandler(logs / "posts.log"))
    audit.addHandler(logging.StreamHandler(sys.stdout))

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.post("/notes/<name>")
    def post(name):
        (uploads / name).write_bytes(request.get_data())
        with sqlite3.connect(database) as db:
            db.execute("INSERT OR REPLACE INTO notes VALUES (?)", (name,))
        audit.info("posted %s", name)
        return jsonify(stored=name), 201

    @app.get("/notes/<name>")
    def show(name):
        cached = cache / hashlib.sha256(name.encode()).hexdigest()
        if not cached.exists():
            cached.write_text((uploads / name).read_text().upper())
        return jsonify(note=cached.read_text())

    return app
