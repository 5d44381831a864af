"""SQLite persistence for notes.

Plain ``sqlite3`` keeps the dependency set small.  Each operation opens its
own short-lived connection: FastAPI runs sync endpoints in a thread pool and
sqlite3 connections must not be shared across threads, and opening a local
SQLite file is cheap.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class NoteRecord:
    """A note as stored in the database."""

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


def _now() -> str:
    """Current UTC time in ISO 8601, the storage format for timestamps."""
    return datetime.now(UTC).isoformat()


def _record(row: sqlite3.Row) -> NoteRecord:
    return NoteRecord(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


class NoteStore:
    """CRUD operations on the ``notes`` table of one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Open a connection that commits on success and always closes."""
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def initialize(self) -> None:
        """Create the data directory and schema if they do not exist yet.

        Every server worker runs this at start, at the same moment: switching the journal
        mode can answer "database is locked" at once (SQLite's busy timeout does not cover
        it), so it is retried for a bounded while."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(100):
            try:
                with self._connect() as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05 + random.random() / 10)  # noqa: S311 - jitter, not crypto

    def list(self) -> list[NoteRecord]:
        """All notes, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM notes ORDER BY id").fetchall()
        return [_record(row) for row in rows]

    def get(self, note_id: int) -> NoteRecord | None:
        """One note, or ``None`` if it does not exist."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        return _record(row) if row else None

    def create(self, title: str, body: str) -> NoteRecord:
        """Insert a note and return it with its new id and timestamps."""
        now = _now()
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (title, body, now, now),
            )
            row = conn.execute("SELECT * FROM notes WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _record(row)

    def update(self, note_id: int, title: str, body: str) -> NoteRecord | None:
        """Replace a note's title and body; ``None`` if it does not exist."""
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?",
                (title, body, _now(), note_id),
            )
            if cursor.rowcount == 0:
                return None
            row = conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        return _record(row)

    def delete(self, note_id: int) -> bool:
        """Delete a note; ``False`` if it did not exist."""
        with self._connect() as conn:
            cursor = conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        return cursor.rowcount > 0
