"""roster name search keys recomputed with the joined compound names and hamza rules

Revision ID: 0005_name_keys_recomputed
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from shared.arabic import search_key

revision = "0005_name_keys_recomputed"
down_revision = "0004"
branch_labels = None
depends_on = None

roster = sa.table(
    "roster",
    sa.column("badge_id", sa.Integer),
    sa.column("full_name_ar", sa.String),
    sa.column("full_name_en", sa.String),
    sa.column("name_key", sa.Text),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(roster.c.badge_id, roster.c.full_name_ar, roster.c.full_name_en)
    ).all()
    for row in rows:
        key = search_key(" ".join(n for n in (row.full_name_ar, row.full_name_en) if n))
        connection.execute(roster.update().where(roster.c.badge_id == row.badge_id).values(name_key=key))


def downgrade() -> None:
    """The keys of the new rules still find every name the old ones did: nothing to undo."""
