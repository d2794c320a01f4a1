"""Alembic environment of the checkin service (run through shared.db.migrate)."""

from alembic import context

from services.checkin.models import Base
from shared.db import run_migrations

run_migrations(context, Base.metadata)
