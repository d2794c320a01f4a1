"""event set-up (agencies, categories) for attendance reports; report indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_ar', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=False),
    sa.Column('sector', sa.String(length=32), nullable=False),
    sa.Column('governorate', sa.String(length=64), nullable=True),
    sa.Column('quota', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies'))
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agencies_event_id'), ['event_id'], unique=False)

    op.create_table('categories',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_ar', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('color', sa.String(length=7), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'code', name=op.f('pk_categories'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('setup_sequence', sa.Integer(), nullable=True))

    with op.batch_alter_table('roster', schema=None) as batch_op:
        batch_op.create_index('ix_roster_event_report', ['event_id', 'agency_id', 'category_code', 'gender', 'status', 'badge_id'], unique=False)

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_live_report', ['event_id', 'badge_id', 'list_id', 'checked_in_at'], unique=False, postgresql_where=sa.text('undone_at IS NULL'), sqlite_where=sa.text('undone_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_live_report', postgresql_where=sa.text('undone_at IS NULL'), sqlite_where=sa.text('undone_at IS NULL'))

    with op.batch_alter_table('roster', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_event_report')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('setup_sequence')

    op.drop_table('categories')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agencies_event_id'))

    op.drop_table('agencies')
