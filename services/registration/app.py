"""The registration service's app factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFError, CSRFProtect

from services.registration import api, cli, views
from services.registration.config import RegistrationConfig
from services.registration.messages import MESSAGES
from services.registration.operations import Context
from services.registration.tokens import token_revoked
from shared.db import create_db_engine, make_sessionmaker
from shared.i18n import Catalog
from shared.problems import DomainError
from shared.web import HudoorApi, api_settings, init_web, render_domain_error

MIGRATIONS = Path(__file__).parent / "migrations"
CATALOG = Catalog(MESSAGES)


def create_app(config: RegistrationConfig | None = None, session_factory=None) -> Flask:
    """Build the registration app from its config (read from the environment by default)."""
    config = config or RegistrationConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        DEFAULT_LANGUAGE=config.default_language,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.public_base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        **api_settings("Hudoor registration"),
    )
    factory = session_factory or make_sessionmaker(create_db_engine(config.database_url))
    app.extensions["registration_config"] = config
    app.extensions["registration_context"] = Context(
        config.keyring, config.secret_key, config.public_base_url
    )
    app.config["TOKEN_REVOKED"] = lambda token_id: token_revoked(factory, token_id)
    init_web(app, CATALOG, factory)
    _install_blueprints(app)
    cli.register(app, factory)
    return app


def _install_blueprints(app: Flask) -> None:
    """Mount the API (bearer tokens, no CSRF) and the pages (forms with CSRF)."""
    csrf = CSRFProtect(app)
    rest = HudoorApi(app)
    rest.register_blueprint(api.blp)
    csrf.exempt(api.blp)
    app.register_blueprint(views.pages)
    app.register_error_handler(CSRFError, _csrf_failed)


def _csrf_failed(_error: CSRFError):
    """A form posted without a valid CSRF token: ask the user to reload."""
    return render_domain_error(DomainError("csrf_failed", kind="forbidden"))
