"""Alembic environment of the registration service (run through shared.db.migrate)."""

from alembic import context

from services.registration.models import Base  # imports every table of the service
from shared.db import run_migrations

run_migrations(context, Base.metadata)
