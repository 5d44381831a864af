"""Create the notice table and seed one row (the tests look for it)."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    notice = op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
    )
    op.bulk_insert(notice, [{"text": "migrated at start"}])


def downgrade() -> None:
    op.drop_table("notice")
