"""The registration service's app factory."""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Flask, g
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import event

from services.registration import (
    account_views,
    accounts_api,
    api,
    audit_api,
    cli,
    delegation_api,
    imports_api,
    manage_views,
    print_views,
    printing_api,
    tasks,
    views,
)
from services.registration.account_messages import ACCOUNT_MESSAGES
from services.registration.config import RegistrationConfig
from services.registration.messages import MESSAGES
from services.registration.metrics import outbox_depth
from services.registration.operations import Context
from services.registration.publisher import OutboxPublisher
from services.registration.retention import purge
from services.registration.tokens import token_revoked
from shared.celery_app import init_celery
from shared.db import create_db_engine, make_sessionmaker
from shared.i18n import Catalog
from shared.limits import init_limits
from shared.metrics import add_metric_source
from shared.problems import DomainError
from shared.retention import register_purge_command
from shared.web import HudoorApi, api_settings, cookie_settings, init_web, render_domain_error

MIGRATIONS = Path(__file__).parent / "migrations"
CATALOG = Catalog(MESSAGES, ACCOUNT_MESSAGES)


def create_app(config: RegistrationConfig | None = None, session_factory=None) -> Flask:
    """Build the registration app from its config (read from the environment by default)."""
    config = config or RegistrationConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        DEFAULT_LANGUAGE=config.default_language,
        **cookie_settings(config.public_base_url),
        WTF_CSRF_TIME_LIMIT=None,
        **api_settings("Hudoor registration"),
    )
    factory = session_factory or make_sessionmaker(create_db_engine(config.database_url))
    app.extensions["registration_config"] = config
    app.extensions["registration_context"] = Context(
        config.keyring, config.secret_key, config.public_base_url
    )
    app.config["TOKEN_REVOKED"] = token_revoked
    init_web(app, CATALOG, factory)
    init_celery(app, "registration", config.redis_url)
    init_limits(app, config.redis_url, config.limits)
    add_metric_source(app, outbox_depth)
    register_purge_command(app, factory, purge)
    _publish_outbox_after_commit(app, factory)
    _install_blueprints(app)
    cli.register(app, factory)
    return app


def _publish_outbox_after_commit(app: Flask, factory) -> None:
    """After a request commits outbox rows, publish them soon (the sweep is the safety net)."""
    publisher = OutboxPublisher(factory, _relay_with(app.extensions["celery"]))
    app.extensions["outbox_publisher"] = publisher

    @event.listens_for(factory, "after_commit")
    def _committed(session):
        pending = session.info.pop("outbox_pending", [])
        session.info.setdefault("outbox_committed", []).extend(pending)

    @event.listens_for(factory, "after_soft_rollback")
    def _rolled_back(session, _previous):
        session.info.pop("outbox_pending", None)

    @app.after_request
    def _publish(response):
        session = g.get("db_session")
        ids = session.info.pop("outbox_committed", None) if session is not None else None
        if ids:
            publisher.submit(ids)
        return response


def _relay_with(celery):
    """Return the publisher's relay: given rows, on one producer of the app's broker."""
    return functools.partial(tasks.relay_rows, celery)


def _install_blueprints(app: Flask) -> None:
    """Mount the API (bearer tokens, no CSRF) and the pages (forms with CSRF)."""
    csrf = CSRFProtect(app)
    rest = HudoorApi(app)
    rest.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    rest.register_blueprint(printing_api.blp)
    csrf.exempt(printing_api.blp)
    rest.register_blueprint(imports_api.blp)
    csrf.exempt(imports_api.blp)
    for blueprint in (accounts_api.blp, audit_api.blp, delegation_api.blp):
        rest.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.register_blueprint(views.pages)
    app.register_blueprint(account_views.account_pages)
    app.register_blueprint(manage_views.manage_pages)
    app.register_blueprint(print_views.print_pages)
    app.register_error_handler(CSRFError, _csrf_failed)


def _csrf_failed(_error: CSRFError):
    """A form posted without a valid CSRF token: ask the user to reload."""
    return render_domain_error(DomainError("csrf_failed", kind="forbidden"))
