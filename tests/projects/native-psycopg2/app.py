"""A Flask app that talks to PostgreSQL through psycopg2, which publishes no Linux wheels:
pip builds it from source against libpq, and the running image needs libpq5."""

import psycopg2
from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "libpq": str(psycopg2.__libpq_version__)}
