"""A tiny tracker: / lists the rows the migration seeded, /healthz answers ok."""

import http.server
import json
import os
import signal
import sys

import psycopg2  # the compiled dependency: the app cannot start without it
import sqlalchemy as sa

from tracker.database import engine


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = {"status": "ok", "libpq": psycopg2.__libpq_version__}
        else:
            with engine.connect() as connection:
                rows = connection.execute(sa.text("SELECT label FROM issue ORDER BY id"))
                body = {"issues": [row.label for row in rows]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)


def run():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8000"))
    # In a container, listening on every interface is the point.
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104
    server.serve_forever()
