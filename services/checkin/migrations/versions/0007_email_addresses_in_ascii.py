"""roster e-mail addresses with a Unicode domain rewritten in ASCII (punycode), as the desk searches

Revision ID: 0007_email_addresses_in_ascii
Revises: 0006_attendance_tallies
"""

import logging

import sqlalchemy as sa
from alembic import op

# Today's rule, not a copy: a later change to normalise_email changes what this migration writes.
# Acceptable here, as the rule it pins is the one every lookup uses from this revision on.
from shared.contact import ContactError, normalise_email

revision = "0007_email_addresses_in_ascii"
down_revision = "0006_attendance_tallies"
branch_labels = None
depends_on = None

BATCH = 500
log = logging.getLogger(__name__)

ROWS = sa.text(
    f"SELECT badge_id, email FROM roster WHERE badge_id > :after ORDER BY badge_id LIMIT {BATCH}"
)
UPDATE = sa.text("UPDATE roster SET email = :email WHERE badge_id = :badge_id")


def _non_ascii_rows(connection):
    """Yield the (badge_id, email) roster rows whose address holds a non-ASCII character."""
    after = 0
    while rows := connection.execute(ROWS, {"after": after}).all():
        yield from (row for row in rows if row.email and not row.email.isascii())
        after = rows[-1].badge_id


def upgrade() -> None:
    # The roster's email index is not unique: every address normalise_email accepts is rewritten.
    connection = op.get_bind()
    refused = 0
    for row in _non_ascii_rows(connection):
        try:
            email = normalise_email(row.email)
        except ContactError:
            refused += 1
            continue
        connection.execute(UPDATE, {"badge_id": row.badge_id, "email": email})
    if refused:
        log.warning(
            "roster: %d e-mail address(es) that normalise_email refuses left as stored", refused
        )


def downgrade() -> None:
    """The ASCII form is the same mailbox: addresses are not converted back."""
