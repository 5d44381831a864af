"""The flask-app example: a WSGI app that depends on a private git package.

gunicorn serves it as ``app:app``.  ``create_app`` is the usual Flask factory
so tests can build fresh instances; the module-level ``app`` is what WSGI
servers import.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from greetings import greet


def create_app() -> Flask:
    """Build the Flask application with its two routes."""
    flask_app = Flask(__name__)

    @flask_app.get("/healthz")
    def healthz() -> Response:
        """Liveness probe: the process is up and the private library imported."""
        response = jsonify(status="ok")
        response.headers["Cache-Control"] = "no-store"
        return response

    @flask_app.get("/hello/<name>")
    def hello(name: str) -> Response:
        """Greet ``name`` as plain text, using the private ``greetings`` library."""
        return Response(greet(name), mimetype="text/plain")

    return flask_app


app = create_app()
