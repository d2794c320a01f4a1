"""outbox rows are settled once every consumer confirmed them (or the relay gave up)

Revision ID: 0015_outbox_settled
Revises: 0014_audit_log
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0015_outbox_settled"
down_revision = "0014_audit_log"
branch_labels = None
depends_on = None

UNSETTLED = "published_at IS NOT NULL AND settled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("settled_at", shared.db.UTCDateTime(), nullable=True))
    # Messages published before receipts existed are taken as delivered: nothing to re-send.
    op.execute("UPDATE outbox SET settled_at = published_at WHERE published_at IS NOT NULL")
    op.create_index(
        "ix_outbox_unsettled",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text(UNSETTLED),
        sqlite_where=sa.text(UNSETTLED),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unsettled", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("settled_at")
