"""A Flask app deployed with uWSGI: the shape of Django/Flask apps whose uv.lock pins uwsgi,
which publishes only a source distribution and so is compiled in the builder."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
