"""A Flask app that only imports on Python >= 3.13 (warnings.deprecated is new in 3.13),
like an app whose pyproject says requires-python = ">=3.13" and means it."""

import platform
from warnings import deprecated

from flask import Flask

app = Flask(__name__)


@deprecated("use /healthz")
def old_status() -> str:
    return "ok"


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "python": platform.python_version()}
