"""Each service's Alembic history builds exactly the schema its models describe."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


@pytest.mark.parametrize("service", ["registration", "notifications", "checkin"])
def test_migrations_match_the_models(service, request):
    database = request.getfixturevalue(f"{service}_db")
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
