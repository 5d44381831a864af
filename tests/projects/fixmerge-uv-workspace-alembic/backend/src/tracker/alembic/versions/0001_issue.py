"""The issue table, seeded with one row."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    table = op.create_table(
        "issue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(80), nullable=False),
    )
    op.bulk_insert(table, [{"label": "migrated at start"}])


def downgrade():
    op.drop_table("issue")
