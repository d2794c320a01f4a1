"""Flask plumbing every service shares: language, errors, security headers, sessions."""

from __future__ import annotations

import gc
import json
import secrets
from pathlib import Path

from flask import Blueprint, Flask, g, jsonify, render_template, request
from flask_smorest import Api
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from shared.db import is_unavailable
from shared.i18n import Catalog, direction, negotiate
from shared.openapi import ProblemDocs
from shared.problems import PROBLEM_MEDIA_TYPE, DomainError, flatten_messages, problem_body
from shared.routing import DatabaseId

HERE = Path(__file__).parent
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}
# Answers holding personal data: never kept by a browser or a proxy.
PRIVATE = {"Cache-Control": "private, no-store"}
shared_blueprint = Blueprint(
    "hudoor",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/shared",
)


class HudoorApi(ProblemDocs, Api):
    """flask-smorest Api whose errors are RFC 9457 problem documents."""

    def handle_http_exception(self, error):
        """Render any HTTP error raised in the app."""
        return render_http_error(error)


def init_web(app: Flask, catalog: Catalog, factory: sessionmaker[Session]) -> None:
    """Install language negotiation, error rendering, headers and the request DB session."""
    app.extensions["hudoor_catalog"] = catalog
    app.json.ensure_ascii = False
    app.extensions["hudoor_sessions"] = factory
    app.url_map.converters["id"] = DatabaseId  # before any route of the service is added
    app.register_blueprint(shared_blueprint)
    # Imported here: the access module reads this module's request session.
    from shared.access import current_identity, enforce_policy

    app.before_request(_negotiate_language)
    app.before_request(_apply_upload_limit)  # first: the policy's CSRF check may read a form
    app.before_request(enforce_policy)
    app.before_request(_require_json_body)
    app.after_request(_security_headers)
    app.teardown_appcontext(_close_session)
    app.register_error_handler(DomainError, render_domain_error)
    app.register_error_handler(DBAPIError, _render_database_error)
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    _init_operations(app)
    app.jinja_env.globals.update(t=translate, lang=lambda: g.get("lang", "ar"))
    app.jinja_env.globals.update(direction=lambda: direction(g.get("lang", "ar")))
    app.jinja_env.globals.update(localized=localized, identity=current_identity)
    app.jinja_env.globals.update(csp_nonce=csp_nonce)


def cookie_settings(public_base_url: str) -> dict:
    """Flask's cookie settings: HttpOnly, SameSite=Lax, and Secure when the site is https."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_base_url.startswith("https://"),
    }


def csp_nonce() -> str:
    """This response's nonce for a page's own <style> element (style attributes are refused)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _init_operations(app: Flask) -> None:
    """Request ids and JSON request logs, /readyz and /metrics (shared/logs, health, metrics)."""
    from shared.health import init_readiness
    from shared.logs import init_request_logging
    from shared.metrics import init_metrics

    init_request_logging(
        app, app.import_name.split(".")[-2] if "." in app.import_name else "hudoor"
    )
    init_readiness(app)
    init_metrics(app)


def localized(obj, name: str) -> str:
    """Return `obj.<name>_ar` or `obj.<name>_en` for the request's language, else the other."""
    lang = g.get("lang", "ar")
    other = "en" if lang == "ar" else "ar"
    if isinstance(obj, dict):
        return obj.get(f"{name}_{lang}") or obj.get(f"{name}_{other}") or ""
    return getattr(obj, f"{name}_{lang}", None) or getattr(obj, f"{name}_{other}", None) or ""


def db_session() -> Session:
    """Return this request's database session, opened on first use."""
    session = g.get("db_session")  # one lookup through the `g` proxy: called often
    if session is None:
        from flask import current_app

        session = g.db_session = current_app.extensions["hudoor_sessions"]()
    return session


def translate(code: str, **params) -> str:
    """Translate a catalogue code into the request's language."""
    from flask import current_app

    return current_app.extensions["hudoor_catalog"].text(code, g.get("lang", "ar"), **params)


def messages_by_field(items) -> dict[str, list[str]]:
    """Field errors as a page shows them: each field's messages in the request's language."""
    errors: dict[str, list[str]] = {}
    for item in items:
        errors.setdefault(item.field, []).append(translate(item.code, **item.params))
    return errors


def is_api_request() -> bool:
    """Tell whether the request targets a JSON API route."""
    return request.path.startswith("/api/")


def problem_response(status: int, code: str, fields=(), headers=None, **params):
    """Build a problem+json response in the request's language."""
    from flask import current_app

    catalog = current_app.extensions["hudoor_catalog"]
    body = problem_body(catalog, g.get("lang", "ar"), status, code, fields, **params)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    response.headers.update(headers or {})
    return response


def render_domain_error(error: DomainError):
    """Render a refused rule as a problem document or an error page."""
    if is_api_request():
        return problem_response(error.status, error.code, error.fields, **error.params)
    return _error_page(error.status, error.code, error.params)


def render_http_error(error: HTTPException):
    """Render an HTTP error (including webargs validation errors)."""
    status = error.code or 500
    if status >= 500 and status != 503:
        return _internal_error(error)
    code = CODE_BY_STATUS.get(status, "bad_request")
    headers = dict(error.get_headers(request.environ)[1:]) if status in (405, 429) else {}
    headers.update(getattr(error, "data", {}).get("headers") or {})
    messages = getattr(error, "data", {}).get("messages")
    fields = _fields_from_webargs(messages) if messages else []
    if fields and fields[0].code == "invalid_json":
        code, fields = "invalid_json", []
    if not is_api_request():
        return (*_error_page(status, code, {}), headers)
    return problem_response(status, code, fields, headers)


def _fields_from_webargs(messages: dict):
    """Flatten webargs messages ({location: {field: [...]}}) without the location level."""
    fields = []
    for value in messages.values():
        fields.extend(flatten_messages(value))
    return fields


def _internal_error(error):
    """Log an unexpected error and answer 500 without details."""
    from flask import current_app

    current_app.logger.error("internal error: %r", getattr(error, "original_exception", error))
    if is_api_request():
        return problem_response(500, "internal_error")
    return _error_page(500, "internal_error", {})


def _render_database_error(error: DBAPIError):
    """Answer 503 with a retry hint when the database is unreachable; 400 for data it refuses."""
    if isinstance(error, DataError):  # input the database cannot store (e.g. NUL in text)
        return render_domain_error(DomainError("bad_request", kind="bad_request"))
    if not is_unavailable(error):
        raise error
    headers = {"Retry-After": "5"}
    if is_api_request():
        return problem_response(503, "service_unavailable", headers=headers)
    return _error_page(503, "service_unavailable", {}), 503, headers


def _error_page(status: int, code: str, params: dict):
    """Render the HTML error page."""
    message = translate(code, **params)
    html = render_template("error.html", status=status, code=code, message=message)
    return html, status


def _negotiate_language():
    """Pick the request's language and remember an explicit choice."""
    from flask import current_app

    default = current_app.config.get("DEFAULT_LANGUAGE", "ar")
    explicit = request.args.get("lang")
    g.lang = negotiate(
        explicit, request.cookies.get("lang"), request.headers.get("Accept-Language"), default
    )
    g.lang_explicit = explicit == g.lang


def accepts_upload(max_bytes: int):
    """Declare that a view takes a multipart file upload of up to `max_bytes` (not JSON)."""

    def decorate(view):
        view.upload_limit = max_bytes
        return view

    return decorate


def _upload_limit() -> int | None:
    """The upload limit declared by this request's view, if it takes uploads."""
    from flask import current_app

    return getattr(current_app.view_functions.get(request.endpoint), "upload_limit", None)


def _apply_upload_limit():
    """Let a view that takes uploads (API or page) read bodies up to its own limit."""
    limit = _upload_limit()
    if limit is not None:
        request.max_content_length = limit


def _require_json_body():
    """Refuse API bodies that are not JSON, before any parsing (uploads check their own)."""
    if not is_api_request() or request.method not in BODY_METHODS or _upload_limit():
        return None
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return None
    if request.mimetype != "application/json":
        return problem_response(415, "unsupported_media_type")
    try:
        json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # includes JSONDecodeError and over-long integers
        return problem_response(400, "invalid_json")
    return None


def _security_headers(response):
    """Add security headers and remember the chosen language."""
    from flask import current_app

    if g.get("lang_explicit"):
        secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
        response.set_cookie(
            "lang", g.lang, max_age=365 * 86400, samesite="Lax", httponly=True, secure=secure
        )
    response.headers.setdefault("Content-Security-Policy", _content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same origin only: private links never leave the site, and Flask-WTF's check over https
    # (WTF_CSRF_SSL_STRICT) needs the Referer of our own form posts: "no-referrer" broke them all.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if g.get("identity") is not None and request.endpoint != "static":
        # Answers to staff and devices hold delegates' data.
        response.headers.setdefault("Cache-Control", PRIVATE["Cache-Control"])
    return response


def _content_security_policy() -> str:
    """Scripts and styles from files of this site only; the vendored API docs need inline ones."""
    if request.path.startswith("/api/v1/docs"):
        script = style = "'self' 'unsafe-inline'"
    else:
        script = "'self'"
        style = "'self'" + (f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else "")
    return (
        f"default-src 'self'; script-src {script}; style-src {style}; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )


def _close_session(_exc):
    """Close (and so roll back anything uncommitted in) the request's session."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def api_settings(title: str, version: str = "v1") -> dict:
    """Return flask-smorest settings serving OpenAPI and vendored docs under /api/v1/."""
    return {
        "API_TITLE": title,
        "API_VERSION": version,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Relative, so it works under any mount prefix (SCRIPT_NAME).
        "OPENAPI_SWAGGER_UI_URL": "../../static/shared/vendor/swagger-ui/",
    }


def freeze_startup_heap() -> None:
    """Exempt what startup built (modules, the app, its schemas) from full cyclic-GC passes."""
    # A full collection walks every tracked object: with the services' imports that is ~140 ms,
    # landing in about one report request of 50 (bench.attendance p99 198 -> 56 ms frozen).
    # What startup builds lives as long as the process, so skipping it loses nothing.
    gc.collect()
    gc.freeze()
