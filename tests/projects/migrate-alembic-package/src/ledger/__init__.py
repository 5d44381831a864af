"""A ledger API whose schema Alembic owns."""
