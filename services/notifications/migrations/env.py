"""Alembic environment of the notifications service (run through shared.db.migrate)."""

from alembic import context

from services.notifications.models import Base
from shared.db import run_migrations

run_migrations(context, Base.metadata)
