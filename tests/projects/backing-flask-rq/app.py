"""A web app that hands work to an RQ worker through Redis (fixture for issue 17).

POST /jobs?seconds=N enqueues `tasks.record`; GET /jobs/TOKEN says which container
started and finished it. REDIS_URL is required: there is no useful default.
"""

import os
import secrets

from flask import Flask, jsonify, request
from rq import Queue

from redis import Redis

REDIS_URL = os.environ["REDIS_URL"]

app = Flask(__name__)


def _redis() -> Redis:
    return Redis.from_url(REDIS_URL)


@app.get("/healthz")
def healthz():
    _redis().ping()
    return "ok"


@app.post("/jobs")
def enqueue():
    token = secrets.token_hex(8)
    seconds = float(request.args.get("seconds", "0"))
    Queue("jobs", connection=_redis()).enqueue("tasks.record", token, seconds)
    return jsonify(token=token), 202


@app.get("/jobs/<token>")
def status(token: str):
    store = _redis()
    started, done = store.get(f"started:{token}"), store.get(f"done:{token}")
    return jsonify(started=started and started.decode(), done=done and done.decode())
