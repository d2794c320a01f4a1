"""The notifications service's app factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.notifications import api, webhooks
from services.notifications.config import NotificationsConfig
from services.notifications.dispatch import Dispatcher
from services.notifications.messages import MESSAGES
from services.notifications.metrics import deliveries_by_status
from services.notifications.models import RevokedToken
from services.notifications.retention import purge
from shared.celery_app import init_celery
from shared.db import create_db_engine, make_sessionmaker
from shared.i18n import Catalog
from shared.limits import init_limits
from shared.metrics import add_metric_source
from shared.retention import register_purge_command
from shared.revocations import is_revoked
from shared.web import HudoorApi, api_settings, cookie_settings, init_web

MIGRATIONS = Path(__file__).parent / "migrations"
CATALOG = Catalog(MESSAGES)


def create_app(config: NotificationsConfig | None = None, session_factory=None) -> Flask:
    """Build the notifications app (API, webhooks, and the context of its Celery tasks)."""
    config = config or NotificationsConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        DEFAULT_LANGUAGE=config.default_language,
        **cookie_settings(config.public_base_url),
        **api_settings("Hudoor notifications"),
    )
    factory = session_factory or make_sessionmaker(create_db_engine(config.database_url))
    app.extensions["notifications"] = Dispatcher(config)
    app.config["TOKEN_REVOKED"] = lambda session, token_id: is_revoked(
        session, RevokedToken, token_id
    )
    init_web(app, CATALOG, factory)
    init_celery(app, "notifications", config.redis_url)
    init_limits(app, config.redis_url, config.limits)
    add_metric_source(app, deliveries_by_status)
    register_purge_command(app, factory, purge)
    HudoorApi(app).register_blueprint(api.blp)
    app.register_blueprint(webhooks.webhooks)
    _register_cli(app, factory)
    return app


def _register_cli(app: Flask, factory) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade():
        """Apply the notifications database migrations."""
        from shared.db import migrate

        migrate(factory.kw["bind"], MIGRATIONS)
