"""e-mail addresses stored with a Unicode domain rewritten in ASCII (punycode), as lookups now use

Revision ID: 0016_email_addresses_in_ascii
Revises: 0015_outbox_settled
"""

import logging
from collections import Counter

import sqlalchemy as sa
from alembic import op

# Today's rule, not a copy: a later change to normalise_email changes what this migration writes.
# Acceptable here, as the rule it pins is the one every lookup uses from this revision on.
from shared.contact import ContactError, normalise_email

revision = "0016_email_addresses_in_ascii"
down_revision = "0015_outbox_settled"
branch_labels = None
depends_on = None

BATCH = 500
log = logging.getLogger(__name__)

# Where the unique index on each table's address covers both the row rewritten (me) and another row.
COVERED = {
    "registrations": "me.event_id = other.event_id"
    " AND me.status = 'active' AND other.status = 'active'",
    "accounts": "1 = 1",
    "invitations": "me.agency_id = other.agency_id"
    " AND me.accepted_at IS NULL AND me.revoked_at IS NULL"
    " AND other.accepted_at IS NULL AND other.revoked_at IS NULL",
}


def _non_ascii_rows(connection, table: str):
    """Yield the (id, email) rows of table whose address holds a non-ASCII character."""
    query = sa.text(f"SELECT id, email FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}")
    after = 0
    while rows := connection.execute(query, {"after": after}).all():
        yield from (row for row in rows if row.email and not row.email.isascii())
        after = rows[-1].id


def _ascii_form(email: str) -> str | None:
    """The address as normalise_email returns it now, or None if it refuses it."""
    try:
        return normalise_email(email)
    except ContactError:
        return None


def _taken(connection, table: str, row_id: int, email: str) -> bool:
    """Whether another row the table's unique index covers along with this one has email."""
    query = sa.text(
        f"SELECT 1 FROM {table} me JOIN {table} other ON other.id <> me.id"
        f" AND other.email = :email WHERE me.id = :id AND {COVERED[table]}"
    )
    return connection.execute(query, {"id": row_id, "email": email}).first() is not None


def _rewrite(connection, table: str) -> Counter:
    """Rewrite table's non-ASCII addresses; count those left as stored, by why."""
    update = sa.text(f"UPDATE {table} SET email = :email WHERE id = :id")
    left = Counter()
    for row in _non_ascii_rows(connection, table):
        email = _ascii_form(row.email)
        if email is None:
            left["refused"] += 1
        elif _taken(connection, table, row.id, email):
            left["taken"] += 1
        else:
            connection.execute(update, {"id": row.id, "email": email})
    return left


def upgrade() -> None:
    connection = op.get_bind()
    for table in COVERED:
        if left := _rewrite(connection, table):
            log.warning(
                "%s: e-mail addresses left as stored: %d that normalise_email refuses, "
                "%d whose ASCII form another row already has (unique index)",
                table,
                left["refused"],
                left["taken"],
            )


def downgrade() -> None:
    """The ASCII form is the same mailbox: addresses are not converted back."""
