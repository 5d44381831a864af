"""A FastAPI app that hands work to Celery; the broker is configured in worker.py only."""

from fastapi import FastAPI
from worker import add

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/sums")
def enqueue(a: int, b: int) -> dict[str, str]:
    return {"id": add.delay(a, b).id}
