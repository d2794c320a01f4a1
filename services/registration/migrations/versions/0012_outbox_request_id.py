"""outbox rows remember the id of the request that wrote them (carried into the tasks' logs)

Revision ID: 0012_outbox_request_id
Revises: 0011_accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_outbox_request_id"
down_revision = "0011_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
