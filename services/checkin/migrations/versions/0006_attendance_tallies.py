"""attendance tallies per agency, category, gender (and day), counted from the existing data

Revision ID: 0006_attendance_tallies
Revises: 0005_name_keys_recomputed
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0006_attendance_tallies"
down_revision = "0005_name_keys_recomputed"
branch_labels = None
depends_on = None

CELL = ("event_id", "agency_id", "category_code", "gender")
CELLS = """
INSERT INTO attendance_cells
    (event_id, agency_id, category_code, gender, registered, cancelled, attended)
SELECT r.event_id, r.agency_id, r.category_code, r.gender,
    SUM(CASE WHEN r.status = 'active' THEN 1 ELSE 0 END),
    SUM(CASE WHEN r.status = 'active' THEN 0 ELSE 1 END),
    SUM(CASE WHEN r.status = 'active' AND EXISTS (
        SELECT 1 FROM checkins c
        WHERE c.event_id = r.event_id AND c.badge_id = r.badge_id AND c.undone_at IS NULL
    ) THEN 1 ELSE 0 END)
FROM roster r
GROUP BY r.event_id, r.agency_id, r.category_code, r.gender
"""
DAYS = """
INSERT INTO attendance_cell_days
    (event_id, agency_id, category_code, gender, day, attended, first_arrival, last_arrival)
SELECT r.event_id, r.agency_id, r.category_code, r.gender, f.day, COUNT(*), MIN(f.at), MAX(f.at)
FROM roster r
JOIN (
    SELECT c.event_id, c.badge_id, l.day, MIN(c.checked_in_at) AS at
    FROM checkins c JOIN checkin_lists l ON l.id = c.list_id
    WHERE c.undone_at IS NULL AND l.day IS NOT NULL
    GROUP BY c.event_id, c.badge_id, l.day
) f ON f.event_id = r.event_id AND f.badge_id = r.badge_id
WHERE r.status = 'active'
GROUP BY r.event_id, r.agency_id, r.category_code, r.gender, f.day
"""


def _cell_columns() -> list[sa.Column]:
    return [
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "attendance_cells",
        *_cell_columns(),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*CELL, name=op.f("pk_attendance_cells")),
    )
    op.create_table(
        "attendance_cell_days",
        *_cell_columns(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("attended", sa.Integer(), nullable=False),
        sa.Column("first_arrival", UTCDateTime(), nullable=False),
        sa.Column("last_arrival", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*CELL, "day", name=op.f("pk_attendance_cell_days")),
    )
    op.execute(CELLS)
    op.execute(DAYS)


def downgrade() -> None:
    op.drop_table("attendance_cell_days")
    op.drop_table("attendance_cells")
