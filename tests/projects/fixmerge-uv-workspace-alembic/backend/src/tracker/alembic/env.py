"""Alembic environment: the database URL comes from the environment (tracker.database)."""

from alembic import context
from tracker.database import engine

with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
