"""A Flask app that only imports on Python >= 3.14 (annotationlib is new in 3.14)."""

import platform

from annotationlib import Format, get_annotations
from flask import Flask
from pyinfo import compiled_for

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    hints = get_annotations(healthz, format=Format.STRING)
    return {"status": "ok", "python": platform.python_version(),
            "compiled_for": compiled_for(), "returns": hints["return"]}
