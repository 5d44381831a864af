"""Create the entry table and seed one row (the tests look for it)."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    entry = op.create_table(
        "entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
    )
    op.bulk_insert(entry, [{"label": "opening balance"}])


def downgrade() -> None:
    op.drop_table("entry")
