"""accounts, their scopes, focal-point invitations; tokens and sessions belong to accounts

Revision ID: 0011_accounts
Revises: 0010_print_jobs
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0011_accounts"
down_revision = "0010_print_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", shared.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_table(
        "account_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"],
            name=op.f("fk_account_scopes_account_id_accounts"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"],
            name=op.f("fk_account_scopes_agency_id_agencies"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_account_scopes_event_id_events"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_scopes")),
        sa.UniqueConstraint(
            "account_id", "event_id", "agency_id",
            name=op.f("uq_account_scopes_account_id_event_id_agency_id"),
        ),
    )
    op.create_index(
        op.f("ix_account_scopes_event_id"), "account_scopes", ["event_id"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invitations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"],
            name=op.f("fk_invitations_agency_id_agencies"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_invitations_event_id_events"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_event_id"), "invitations", ["event_id"], unique=False)
    op.create_index(
        "uq_invitations_pending",
        "invitations",
        ["agency_id", "email"],
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
        sqlite_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency_ids", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="api")
        )
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", shared.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_tokens_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_account_id_accounts"), "accounts", ["account_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_tokens_account_id_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_tokens_account_id"))
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("account_id")
        batch_op.drop_column("kind")
        batch_op.drop_column("agency_ids")
    op.drop_index("uq_invitations_pending", table_name="invitations")
    op.drop_index(op.f("ix_invitations_event_id"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index(op.f("ix_account_scopes_event_id"), table_name="account_scopes")
    op.drop_table("account_scopes")
    op.drop_table("accounts")
