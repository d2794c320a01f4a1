"""The check-in service's app factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.checkin import api, audit_api, report_api, views
from services.checkin.config import CheckinConfig
from services.checkin.messages import MESSAGES
from services.checkin.metrics import scans_by_status
from services.checkin.operations import token_revoked
from services.checkin.retention import purge
from shared.celery_app import init_celery
from shared.db import create_db_engine, make_sessionmaker, migrate
from shared.i18n import Catalog
from shared.limits import init_limits
from shared.metrics import add_metric_source
from shared.retention import register_purge_command
from shared.web import HudoorApi, api_settings, cookie_settings, init_web

MIGRATIONS = Path(__file__).parent / "migrations"
CATALOG = Catalog(MESSAGES)


def create_app(config: CheckinConfig | None = None, session_factory=None) -> Flask:
    """Build the check-in app from its config (read from the environment by default)."""
    config = config or CheckinConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        DEFAULT_LANGUAGE=config.default_language,
        **cookie_settings(config.public_base_url),
        **api_settings("Hudoor check-in"),
    )
    factory = session_factory or make_sessionmaker(create_db_engine(config.database_url))
    app.extensions["checkin_config"] = config
    app.config["TOKEN_REVOKED"] = _revoked
    init_web(app, CATALOG, factory)
    init_celery(app, "checkin", config.redis_url)
    init_limits(app, config.redis_url, config.limits)
    add_metric_source(app, scans_by_status)
    register_purge_command(app, factory, purge)
    rest = HudoorApi(app)
    rest.register_blueprint(api.blp)
    rest.register_blueprint(report_api.blp)
    rest.register_blueprint(audit_api.blp)
    app.register_blueprint(views.pages)
    _register_cli(app, factory)
    return app


def _revoked(session, token_id: str) -> bool:
    """A revoked door device, or a bearer token revoked in registration."""
    return token_revoked(session, token_id)


def _register_cli(app: Flask, factory) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade():
        """Apply the check-in database migrations."""
        migrate(factory.kw["bind"], MIGRATIONS)

    @app.cli.command("rebuild-roster")
    def rebuild_roster_command():
        """Rebuild an event's roster from a snapshot (JSON on stdin, from registration)."""
        import json
        import sys

        import click

        from services.checkin.operations import rebuild_from_snapshot

        snapshot = json.load(sys.stdin)
        with factory() as session:
            count = rebuild_from_snapshot(session, snapshot)
        click.echo(f"roster of event {snapshot['event_id']} rebuilt: {count} badges")
