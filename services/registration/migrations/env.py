"""Alembic environment of the registration service (run through shared.db.migrate)."""

from alembic import context

from services.registration import print_models  # noqa: F401  (the print log shares the metadata)
from services.registration.models import Base
from shared.db import run_migrations

run_migrations(context, Base.metadata)
