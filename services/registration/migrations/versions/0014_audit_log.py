"""audit log: who viewed or changed which delegates' data, and when

Revision ID: 0014_audit_log
Revises: 0013_name_keys_recomputed
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0014_audit_log"
down_revision = "0013_name_keys_recomputed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_audit_log_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_event_id_id", "audit_log", ["event_id", "id"], unique=False)
    op.create_index(
        op.f("ix_audit_log_registration_id"), "audit_log", ["registration_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_registration_id"), table_name="audit_log")
    op.drop_index("ix_audit_log_event_id_id", table_name="audit_log")
    op.drop_table("audit_log")
