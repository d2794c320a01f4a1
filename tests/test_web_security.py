"""Web security of every service: CSRF on unsafe routes, security headers, cookies, body limits.

Routes are walked from each app's url_map, so a new route is covered without editing this file.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shared.access import INFRASTRUCTURE, PUBLIC, SESSION_COOKIE
from shared.badge_tokens import BadgeKeyring
from shared.identity import issue_session, new_token_id
from tests.conftest import rollback_factory
from tests.test_authorization import SECRET, _checkin_app, _notifications_app, _url

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ADMIN_EMAIL = "admin-security@example.org"
PASSWORD = "Tigris-2023-security"
SERVICES = ("registration", "checkin", "notifications")
# Bodies a page of another site can make a browser send without asking (no preflight).
BROWSER_FORMS = (
    {"data": {"action": "cancel", "confirm": "yes"}},
    {"data": {"action": "cancel"}, "content_type": "multipart/form-data"},
    {"data": "action=cancel", "content_type": "text/plain"},
)


def build(name: str, request, keyring, tmp_path, base_url: str = "http://hudoor.test"):
    """(app, factory) of one service on its real database (rolled back after the test)."""
    database = request.getfixturevalue(f"{name}_db")
    factory, close = rollback_factory(database.engine)
    request.addfinalizer(close)
    if name == "registration":
        app = _registration_app(database, keyring, factory, base_url)
    elif name == "checkin":
        app = _checkin_app(database, keyring, factory)
        app.config["SESSION_COOKIE_SECURE"] = base_url.startswith("https://")
    else:
        app = _notifications_app(database, tmp_path, factory)
        app.config["SESSION_COOKIE_SECURE"] = base_url.startswith("https://")
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    return app, factory


def _registration_app(database, keyring, factory, base_url: str):
    from services.registration.app import create_app
    from services.registration.config import RegistrationConfig

    config = RegistrationConfig(
        database_url=database.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        keyring=keyring,
        public_base_url=base_url,
        default_language="ar",
        max_body_bytes=64 * 1024,
    )
    return create_app(config, session_factory=factory)


@pytest.fixture(scope="module")
def keyring():
    return BadgeKeyring.generate(key_id=1)


@pytest.fixture(params=SERVICES)
def service(request, keyring, tmp_path):
    """(name, app, factory) of each service in turn."""
    app, factory = build(request.param, request, keyring, tmp_path)
    return request.param, app, factory


def admin_session(name: str, factory) -> str:
    """A valid session cookie of an unscoped admin (recorded where the service checks records)."""
    if name == "registration":
        from services.registration.tokens import SESSION, create_api_token

        with factory() as session:
            cookie = create_api_token(session, SECRET, label="security", role="admin", kind=SESSION)
            session.commit()
        return cookie
    return issue_session(SECRET, subject="security", role="admin", token_id=new_token_id())


def snapshot(name: str, factory) -> dict:
    """Every row of every table of the service, to tell that a refused request changed nothing."""
    from importlib import import_module

    metadata = import_module(f"services.{name}.models").Base.metadata
    with factory() as session:
        return {
            t.name: sorted(map(repr, session.execute(select(t)))) for t in metadata.tables.values()
        }


def unsafe_routes(app, api: bool):
    """(rule, method) of every unsafe route of the app: its API routes, or its pages."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in INFRASTRUCTURE or rule.rule.startswith("/api/") != api:
            continue
        for method in sorted(rule.methods & UNSAFE):
            yield rule, method


def code_of(response) -> str | None:
    """The error code of a problem document or an error page."""
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        return body.get("code")
    found = re.search(r'data-code="([a-z_]+)"', response.get_data(as_text=True))
    return found.group(1) if found else None


# --- CSRF ----------------------------------------------------------------------------------


def test_forged_form_posts_with_a_session_cookie_are_refused_on_every_page(service):
    name, app, factory = service
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, admin_session(name, factory))
    wrong = []
    for rule, method in unsafe_routes(app, api=False):
        for form in BROWSER_FORMS:
            for token in (None, "forged-token"):
                before = snapshot(name, factory)
                data = form["data"]
                if token and isinstance(data, dict):
                    data = {**data, "csrf_token": token}
                call = getattr(client, method.lower())
                answer = call(_url(rule), **{**form, "data": data}, headers={"Accept": "text/html"})
                if answer.status_code != 403 or snapshot(name, factory) != before:
                    wrong.append((method, rule.rule, form.get("content_type"), answer.status_code))
    assert wrong == [], "\n".join(map(str, wrong))


def test_api_calls_with_only_the_session_cookie_are_refused_without_the_csrf_header(service):
    name, app, factory = service
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, admin_session(name, factory))
    wrong = []
    for rule, method in unsafe_routes(app, api=True):
        if "public" in app.view_functions[rule.endpoint].allowed_roles:
            continue  # the cookie grants nothing there: see the test below
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            before = snapshot(name, factory)
            answer = getattr(client, method.lower())(_url(rule), json={}, headers=headers)
            refused = (answer.status_code, code_of(answer)) == (403, "csrf_failed")
            if not refused or snapshot(name, factory) != before:
                wrong.append((method, rule.rule, headers, answer.status_code, code_of(answer)))
    assert wrong == [], "\n".join(map(str, wrong))


def test_public_api_calls_answer_the_same_with_or_without_a_session_cookie(service):
    name, app, factory = service
    anonymous, signed_in = app.test_client(), app.test_client()
    signed_in.set_cookie(SESSION_COOKIE, admin_session(name, factory))
    for rule, method in unsafe_routes(app, api=True):
        if "public" not in app.view_functions[rule.endpoint].allowed_roles:
            continue
        answers = [getattr(c, method.lower())(_url(rule), json={}) for c in (anonymous, signed_in)]
        assert answers[0].status_code == answers[1].status_code < 500, rule.rule


def test_the_session_csrf_header_is_accepted_on_the_api(service):
    name, app, factory = service
    cookie = admin_session(name, factory)
    from shared.identity import verify_session

    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, cookie)
    csrf = verify_session(SECRET, cookie, 60).csrf
    rule, method = next(
        (r, m)
        for r, m in unsafe_routes(app, api=True)
        if "public" not in app.view_functions[r.endpoint].allowed_roles
    )
    answer = getattr(client, method.lower())(_url(rule), json={}, headers={"X-CSRF-Token": csrf})
    assert code_of(answer) != "csrf_failed"


# --- security headers ----------------------------------------------------------------------


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";") if part.strip())


def assert_secure_headers(response, where: str) -> None:
    csp = csp_directives(response)
    docs = "/api/v1/docs" in where
    for directive in ("script-src", "style-src"):
        assert ("'unsafe-inline'" in csp[directive]) == docs, (where, directive)
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["Referrer-Policy"] == "same-origin", where


def test_every_response_of_every_service_carries_the_security_headers(service):
    name, app, factory = service
    client = app.test_client()
    cookie = admin_session(name, factory)
    extra = ["/no-such-page", "/api/v1/no-such", "/api/v1/openapi.json", "/api/v1/docs"]
    extra += ["/static/shared/hudoor.css", "/healthz"]
    paths = [_url(r) for r in app.url_map.iter_rules() if "GET" in r.methods] + extra
    for path in paths:
        for headers in ({"Accept": "text/html"}, {"Accept": "application/json"}):
            assert_secure_headers(client.get(path, headers=headers), path)
            client.set_cookie(SESSION_COOKIE, cookie)
            assert_secure_headers(client.get(path, headers=headers), path)
            client.delete_cookie(SESSION_COOKIE)
    assert_secure_headers(client.delete("/healthz"), "405")


def test_answers_to_a_signed_in_caller_are_never_stored_by_a_cache(service):
    name, app, factory = service
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, admin_session(name, factory))
    for rule in app.url_map.iter_rules():
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", {PUBLIC})
        if "GET" in rule.methods and PUBLIC not in roles:
            cache = client.get(_url(rule), headers={"Accept": "application/json"}).headers
            assert cache.get("Cache-Control") in ("private, no-store", "no-store"), rule.rule
    static = client.get("/static/shared/hudoor.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_page_style_element_is_admitted_by_this_response_nonce_only(request, keyring, tmp_path):
    from flask import render_template_string

    app, _ = build("registration", request, keyring, tmp_path)
    with app.test_request_context("/"):
        html = render_template_string('<style nonce="{{ csp_nonce() }}"></style>')
        response = app.process_response(app.make_response(html))
    nonce = re.search(r'nonce="([^"]+)"', html).group(1)
    assert csp_directives(response)["style-src"] == f"'self' 'nonce-{nonce}'"


# --- cookies -------------------------------------------------------------------------------


def cookie_flags(response, name: str) -> set[str]:
    """The attributes of a Set-Cookie header of the response, lower-cased."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set")


@pytest.mark.parametrize("base_url", ["http://hudoor.test", "https://hudoor.test"])
@pytest.mark.parametrize("name", SERVICES)
def test_language_cookie_is_http_only_lax_and_secure_on_https(
    request, keyring, tmp_path, name, base_url
):
    app, _ = build(name, request, keyring, tmp_path, base_url)
    flags = cookie_flags(app.test_client().get("/healthz?lang=en"), "lang")
    assert {"httponly", "samesite=lax"} <= flags
    assert ("secure" in flags) == base_url.startswith("https://")


@pytest.mark.parametrize("base_url", ["http://hudoor.test", "https://hudoor.test"])
def test_session_and_form_cookies_are_http_only_lax_and_secure_on_https(
    request, keyring, tmp_path, base_url
):
    from services.registration.demo import load_demo
    from services.registration.operations import Context, accounts

    app, factory = build("registration", request, keyring, tmp_path, base_url)
    with factory() as session:
        load_demo(session)
        data = {"email": ADMIN_EMAIL, "name": "Admin", "role": "admin", "password": PASSWORD}
        accounts.create_account(session, Context(keyring, SECRET, base_url), data, [])
        session.commit()
    client = app.test_client()
    form_page = client.get("/login", base_url=base_url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page.get_data(as_text=True))
    login = {"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    # A browser sends the Referer of its own form posts (Referrer-Policy same-origin).
    referer = {"Referer": f"{base_url}/login"}
    logged_in = client.post("/login", data=login, base_url=base_url, headers=referer)
    assert logged_in.status_code == 303
    secure = base_url.startswith("https://")
    for response, name in ((form_page, "session"), (logged_in, SESSION_COOKIE)):
        flags = cookie_flags(response, name)
        assert {"httponly", "samesite=lax", "path=/"} <= flags, name
        assert ("secure" in flags) == secure, name


# --- body limits ---------------------------------------------------------------------------


def test_every_service_limits_request_bodies(service):
    name, app, factory = service
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    raised = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "upload_limit", None)
    }
    # Only the delegation list uploads (2 MB) read more than MAX_BODY_BYTES.
    assert raised <= {"imports.import_list", "manage_pages.delegation_page"}, name
    cookie = admin_session(name, factory)
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, cookie)
    from shared.identity import verify_session

    headers = {"X-CSRF-Token": verify_session(SECRET, cookie, 60).csrf}
    big = b'{"q": "' + b"x" * (64 * 1024) + b'"}'
    for rule, method in unsafe_routes(app, api=True):
        if rule.endpoint in raised:
            continue
        call = getattr(client, method.lower())
        answer = call(_url(rule), data=big, content_type="application/json", headers=headers)
        assert answer.status_code == 413, (rule.rule, answer.status_code)
        assert_secure_headers(answer, "413")
