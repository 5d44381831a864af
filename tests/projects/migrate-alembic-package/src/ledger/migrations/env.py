"""Alembic environment: the engine comes from the installed package."""

from alembic import context
from ledger.database import engine

with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
