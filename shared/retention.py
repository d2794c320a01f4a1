"""Personal-data retention: each service anonymises what it holds of events long over.

`flask --app services.<service>.wsgi purge-personal-data [--older-than-days N] [--dry-run]`
runs the service's own purge on events whose last day is more than N days ago (RETENTION_DAYS,
default 180). Figures by agency, day, category and gender stay; names, contacts, job titles,
search keys, messages and links go. Running it again changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import env_int
from shared.db import utcnow

# The value left in a required text column whose personal value was removed.
PURGED = "[purged]"
DEFAULT_RETENTION_DAYS = 180
# purge(session, cutoff) anonymises events whose last day is before `cutoff` (also the day before
# which any dated personal record may go) and returns the rows changed, by table.
Purge = Callable[[Session, date], dict[str, int]]


def clear_audit_details(session: Session, audit_entry, events: list[int]) -> int:
    """Keep who did what and when in an audit log; drop the details (reasons, search terms)."""
    rows = session.scalars(select(audit_entry).where(audit_entry.event_id.in_(events))).all()
    changed = [row for row in rows if row.detail]
    for row in changed:
        row.detail = {}
    session.flush()
    return len(changed)


def retention_days(environ: Mapping[str, str] = os.environ) -> int:
    """RETENTION_DAYS: how long after an event's last day its personal data is kept."""
    return env_int("RETENTION_DAYS", DEFAULT_RETENTION_DAYS, environ)


def cutoff(older_than_days: int, today: date | None = None) -> date:
    """Events whose last day is before this day are past retention."""
    return (today or utcnow().date()) - timedelta(days=older_than_days)


def expired(last_days: Iterable[tuple[int, date | str | None]], before: date) -> list[int]:
    """Ids of the events whose last day (a date or ISO text) is before `before`."""
    found = []
    for event_id, last_day in last_days:
        day = date.fromisoformat(last_day) if isinstance(last_day, str) else last_day
        if day is not None and day < before:
            found.append(event_id)
    return sorted(found)


def register_purge_command(app: Flask, factory, purge: Purge) -> None:
    """Add `purge-personal-data` to the app's commands."""

    @app.cli.command("purge-personal-data")
    @click.option("--older-than-days", type=click.IntRange(min=0), default=None)
    @click.option("--dry-run", is_flag=True, help="Count what would change; change nothing.")
    def purge_personal_data(older_than_days, dry_run):
        """Anonymise the delegates of events whose last day is older than the retention period."""
        days = retention_days() if older_than_days is None else older_than_days
        with factory() as session:
            counts = purge(session, cutoff(days))
            if dry_run:
                session.rollback()
            else:
                session.commit()
        verb = "would change" if dry_run else "changed"
        for table, count in sorted(counts.items()):
            click.echo(f"{table}: {verb} {count}")
