import sqlalchemy as sa
from fastapi import FastAPI

from ledger.database import engine

app = FastAPI()


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/")
def entries() -> dict[str, list[str]]:
    """Reads the table the migration created (and the row it seeded)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT label FROM entry ORDER BY id"))
        return {"entries": [row.label for row in rows]}
