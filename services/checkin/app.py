"""The check-in service's app factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.checkin.config import CheckinConfig
from shared.db import create_db_engine, make_sessionmaker
from shared.i18n import Catalog
from shared.web import HudoorApi, api_settings, init_web

MIGRATIONS = Path(__file__).parent / "migrations"
CATALOG = Catalog()


def create_app(config: CheckinConfig | None = None, session_factory=None) -> Flask:
    """Build the check-in app from its config (read from the environment by default)."""
    config = config or CheckinConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        DEFAULT_LANGUAGE=config.default_language,
        **api_settings("Hudoor check-in"),
    )
    factory = session_factory or make_sessionmaker(create_db_engine(config.database_url))
    init_web(app, CATALOG, factory)
    HudoorApi(app)
    return app
