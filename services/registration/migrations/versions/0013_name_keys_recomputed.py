"""name search keys recomputed: compound names joined (عبد الرحمن), hamza-on-waw and double waw

Revision ID: 0013_name_keys_recomputed
Revises: 0012_outbox_request_id
"""

import sqlalchemy as sa
from alembic import op

from shared.arabic import search_key

revision = "0013_name_keys_recomputed"
down_revision = "0012_outbox_request_id"
branch_labels = None
depends_on = None

registrations = sa.table(
    "registrations",
    sa.column("id", sa.Integer),
    sa.column("full_name_ar", sa.String),
    sa.column("full_name_en", sa.String),
    sa.column("name_key", sa.Text),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(registrations.c.id, registrations.c.full_name_ar, registrations.c.full_name_en)
    ).all()
    for row in rows:
        key = search_key(" ".join(n for n in (row.full_name_ar, row.full_name_en) if n))
        connection.execute(
            registrations.update().where(registrations.c.id == row.id).values(name_key=key)
        )


def downgrade() -> None:
    """The keys of the new rules still find every name the old ones did: nothing to undo."""
