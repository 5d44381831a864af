"""The FastAPI application: ``notes_api.main:app``.

The module-level ``app`` is what uvicorn imports.  ``create_app`` exists so
tests can build isolated instances with their own settings; nothing touches
the filesystem until the app starts (lifespan), so importing is side-effect free.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from notes_api import __version__
from notes_api.config import Settings
from notes_api.store import NoteStore


class NoteIn(BaseModel):
    """Fields a client sends to create or replace a note."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class NoteOut(NoteIn):
    """A stored note as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime


class Health(BaseModel):
    """Body of ``GET /healthz``."""

    status: str
    version: str


def get_store(request: Request) -> NoteStore:
    """Dependency: the store created by the app's lifespan."""
    store: NoteStore = request.app.state.store
    return store


# Module level (not inside create_app) because FastAPI resolves string
# annotations, which `from __future__ import annotations` produces, in the
# module's globals.
StoreDep = Annotated[NoteStore, Depends(get_store)]


def not_found(note_id: int) -> HTTPException:
    """The 404 every note endpoint raises for an unknown id."""
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"Note {note_id} not found")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; settings default to the environment at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or Settings.from_env()
        store = NoteStore(resolved.database_path)
        store.initialize()
        app.state.settings = resolved
        app.state.store = store
        yield

    app = FastAPI(title="notes-api", version=__version__, lifespan=lifespan)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz(request: Request, response: Response) -> Health:
        """Liveness probe for load balancers and container tests."""
        response.headers["Cache-Control"] = "no-store"
        return Health(status="ok", version=request.app.state.settings.version)

    @app.get("/notes", response_model=list[NoteOut], tags=["notes"])
    def list_notes(store: StoreDep) -> list[NoteOut]:
        """All notes, oldest first."""
        return [NoteOut.model_validate(note) for note in store.list()]

    @app.post("/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED, tags=["notes"])
    def create_note(note: NoteIn, store: StoreDep, response: Response) -> NoteOut:
        """Create a note; the ``Location`` header points at it."""
        created = store.create(note.title, note.body)
        response.headers["Location"] = f"/notes/{created.id}"
        return NoteOut.model_validate(created)

    @app.get("/notes/{note_id}", response_model=NoteOut, tags=["notes"])
    def get_note(note_id: int, store: StoreDep) -> NoteOut:
        """One note by id."""
        found = store.get(note_id)
        if found is None:
            raise not_found(note_id)
        return NoteOut.model_validate(found)

    @app.put("/notes/{note_id}", response_model=NoteOut, tags=["notes"])
    def replace_note(note_id: int, note: NoteIn, store: StoreDep) -> NoteOut:
        """Replace a note's title and body."""
        updated = store.update(note_id, note.title, note.body)
        if updated is None:
            raise not_found(note_id)
        return NoteOut.model_validate(updated)

    @app.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["notes"])
    def delete_note(note_id: int, store: StoreDep) -> Response:
        """Delete a note."""
        if not store.delete(note_id):
            raise not_found(note_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return app


app = create_app()
