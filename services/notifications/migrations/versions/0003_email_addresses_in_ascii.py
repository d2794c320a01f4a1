"""recipients' e-mail addresses with a Unicode domain rewritten in ASCII (punycode)

The replica's address is compared with the one in each new delegate event (a differing one gets
the former-address notice), so it must be in the form registration now sends. The delivery log
keeps the address each message went to: history, never looked up by address, left alone.

Revision ID: 0003_email_addresses_in_ascii
Revises: 0002
"""

import logging

import sqlalchemy as sa
from alembic import op

# Today's rule, not a copy: a later change to normalise_email changes what this migration writes.
# Acceptable here, as the rule it pins is the one registration applies from this revision on.
from shared.contact import ContactError, normalise_email

revision = "0003_email_addresses_in_ascii"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 500
log = logging.getLogger(__name__)

ROWS = sa.text(
    "SELECT badge_id, payload FROM recipients WHERE badge_id > :after"
    f" ORDER BY badge_id LIMIT {BATCH}"
).columns(badge_id=sa.Integer, payload=sa.JSON)
UPDATE = sa.text("UPDATE recipients SET payload = :payload WHERE badge_id = :badge_id").bindparams(
    sa.bindparam("payload", type_=sa.JSON)
)


def _non_ascii_rows(connection):
    """Yield the (badge_id, payload) recipients whose address holds a non-ASCII character."""
    after = 0
    while rows := connection.execute(ROWS, {"after": after}).all():
        yield from (row for row in rows if not (_email(row.payload) or "").isascii())
        after = rows[-1].badge_id


def _email(payload: dict) -> str | None:
    """The delegate's address in a replicated delegate event."""
    return payload.get("delegate", {}).get("email")


def upgrade() -> None:
    connection = op.get_bind()
    refused = 0
    for row in _non_ascii_rows(connection):
        try:
            email = normalise_email(_email(row.payload))
        except ContactError:
            refused += 1
            continue
        payload = row.payload | {"delegate": row.payload["delegate"] | {"email": email}}
        connection.execute(UPDATE, {"badge_id": row.badge_id, "payload": payload})
    if refused:
        log.warning(
            "recipients: %d e-mail address(es) that normalise_email refuses left as stored", refused
        )


def downgrade() -> None:
    """The ASCII form is the same mailbox: addresses are not converted back."""
