"""The job: record which container started and finished it (a slow job shows draining)."""

import os
import socket
import time

from redis import Redis


def record(token: str, seconds: float = 0.0) -> None:
    store = Redis.from_url(os.environ["REDIS_URL"])
    store.set(f"started:{token}", socket.gethostname())
    time.sleep(seconds)
    store.set(f"done:{token}", socket.gethostname())
