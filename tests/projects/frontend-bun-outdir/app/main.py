"""Serves the single-page app that frontend/'s build writes into app/frontend/."""

from pathlib import Path

from flask import Flask, send_from_directory

FRONTEND = Path(__file__).parent / "frontend"
if not (FRONTEND / "index.html").is_file():
    raise RuntimeError(f"Frontend directory {FRONTEND} does not exist: build frontend/ first")

app = Flask(__name__)


@app.get("/")
def index():  # type: ignore[no-untyped-def]
    return send_from_directory(FRONTEND, "index.html")


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
