"""Serves a page that loads the bundle `npm run build` writes into static/."""

from pathlib import Path

from flask import Flask

BUNDLE = Path(__file__).parent / "static" / "bundle.js"
if not BUNDLE.is_file():  # the page is useless without it: fail at import, not per request
    raise RuntimeError(f"{BUNDLE} is missing: run `npm run build` first")

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return '<!doctype html><title>shop</title><script src="/static/bundle.js"></script>'


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
