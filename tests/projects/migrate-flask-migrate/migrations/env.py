"""Alembic environment for Flask-Migrate: the engine and metadata come from the app."""

from alembic import context
from flask import current_app

database = current_app.extensions["migrate"].db


def run_online() -> None:
    with database.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=database.metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not used here")
run_online()
