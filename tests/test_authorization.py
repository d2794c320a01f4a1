"""Every route of every service, called with every role: allowed exactly where the table says.

A route added without a declared policy, or whose policy differs from this table, fails here:
changing who may do what is a deliberate edit of EXPECTED.
"""

from __future__ import annotations

import re
import uuid

import pytest

from shared.access import INFRASTRUCTURE
from shared.badge_tokens import BadgeKeyring
from shared.identity import ROLES, issue_api_token
from tests.conftest import rollback_factory

SECRET = "authorization-matrix-secret-0123456789abcdef"
ANONYMOUS = "anonymous"
PUBLIC = {ANONYMOUS, *ROLES}
HOLDERS = {"admin", "organizer", "focal_point", "viewer"}
MANAGE = {"admin", "organizer"}
DELEGATION = {*MANAGE, "focal_point"}
REPORTS = {*MANAGE, "viewer", "focal_point"}
DOOR = {*MANAGE, "device"}

EXPECTED: dict[str, dict[str, set[str]]] = {
    "registration": {
        "pages.home": PUBLIC,
        "pages.register": PUBLIC,
        "pages.register_for_agency": PUBLIC,
        "pages.badge": PUBLIC,
        "pages.badge_png": PUBLIC,
        "pages.badge_svg": PUBLIC,
        "account_pages.login": PUBLIC,
        "account_pages.forgot_password": PUBLIC,
        "account_pages.reset_password": PUBLIC,
        "account_pages.invitation": PUBLIC,
        "account_pages.account": HOLDERS,
        "account_pages.logout": HOLDERS,
        "manage_pages.home": HOLDERS,
        "manage_pages.event_page": MANAGE,
        "manage_pages.delegation_page": DELEGATION,
        "print_pages.event_badges": MANAGE,
        "print_pages.agency_badges": DELEGATION,
        "api.list_open_events": PUBLIC,
        "api.read_event": PUBLIC,
        "api.list_agencies": PUBLIC,
        "api.list_categories": PUBLIC,
        "api.register": PUBLIC,
        "api.badge_keys": PUBLIC,
        "api.create_event": MANAGE,
        "api.create_agency": MANAGE,
        "api.update_agency": MANAGE,
        "api.agency_link": MANAGE,
        "api.revoke_agency_link": MANAGE,
        "api.create_category": MANAGE,
        "api.read_registration": DELEGATION,
        "api.badge_png": DELEGATION,
        "api.badge_svg": DELEGATION,
        "api.cancel": DELEGATION,
        "api.reissue": DELEGATION,
        "delegation_api.read_delegation": DELEGATION,
        "audit_api.audit_log": MANAGE,
        "delegation_api.register_for_agency": DELEGATION,
        "delegation_api.substitute": DELEGATION,
        "imports.import_list": DELEGATION,
        "imports.template": PUBLIC,
        "printing.badge_pdf": MANAGE,
        "printing.print_badges": MANAGE,
        "printing.print_log": MANAGE,
        "printing.read_print": MANAGE,
        "printing.print_file": MANAGE,
        "accounts_api.create_token_with_password": PUBLIC,
        "accounts_api.request_password_reset": PUBLIC,
        "accounts_api.reset_password": PUBLIC,
        "accounts_api.accept_invitation": PUBLIC,
        "accounts_api.read_own_account": HOLDERS,
        "accounts_api.list_own_tokens": HOLDERS,
        "accounts_api.create_own_token": HOLDERS,
        "accounts_api.revoke_own_token": HOLDERS,
        "accounts_api.list_accounts": {"admin"},
        "accounts_api.create_account": {"admin"},
        "accounts_api.disable_account": {"admin"},
        "accounts_api.replace_scopes": {"admin"},
        "accounts_api.withdraw_invitation": MANAGE,
        "accounts_api.invite_focal_point": MANAGE,
        "accounts_api.list_invitations": MANAGE,
    },
    "checkin": {
        "pages.scanner": PUBLIC,
        "api.badge_keys": PUBLIC,
        "api.scan": DOOR,
        "api.manual_checkin": DOOR,
        "api.search": DOOR,
        "api.lists": DOOR,
        "api.counts": {*DOOR, "viewer"},
        "api.undo": MANAGE,
        "api.add_list": MANAGE,
        "api.list_devices": MANAGE,
        "api.create_device": MANAGE,
        "api.revoke_device": MANAGE,
        "api.device_me": {"device"},
        "reports.attendance_report": REPORTS,
        "reports.arrivals": REPORTS,
        "reports.export": REPORTS,
        "reports.inside": REPORTS,
        "reports.no_shows": REPORTS,
        "reports.inside_count": REPORTS,
        "pages.dashboard": REPORTS,
        "pages.devices": MANAGE,
        "audit.audit_log": MANAGE,
    },
    "notifications": {
        "webhooks.sms_receipt": PUBLIC,
        "api.list_deliveries": MANAGE,
        "api.read_delivery": MANAGE,
        "api.resend": MANAGE,
        "api.broadcast": MANAGE,
    },
}
SAMPLE_VALUES = {"kind": "csv", "filename": "hudoor.css"}


@pytest.fixture(scope="module")
def keyring():
    return BadgeKeyring.generate(key_id=1)


def _registration_app(registration_db, keyring, factory):
    from services.registration.app import create_app
    from services.registration.config import RegistrationConfig

    config = RegistrationConfig(
        database_url=registration_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        keyring=keyring,
        public_base_url="http://hudoor.test",
        default_language="ar",
        max_body_bytes=64 * 1024,
    )
    return create_app(config, session_factory=factory)


def _checkin_app(checkin_db, keyring, factory):
    from services.checkin.app import create_app
    from services.checkin.config import CheckinConfig

    config = CheckinConfig(
        database_url=checkin_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        default_language="ar",
        public_key_document=keyring.public_key_document(),
    )
    return create_app(config, session_factory=factory)


def _notifications_app(notifications_db, tmp_path, factory):
    from services.notifications.app import create_app
    from services.notifications.config import NotificationsConfig

    config = NotificationsConfig(
        database_url=notifications_db.url,
        redis_url="redis://127.0.0.1:1/0",
        secret_key=SECRET,
        default_language="ar",
        public_base_url="http://hudoor.test",
        var_dir=tmp_path,
        mail_url=None,
        mail_from="hudoor@example.org",
        sms_url=None,
        sms_per_second=1.0,
    )
    return create_app(config, session_factory=factory)


@pytest.fixture(params=sorted(EXPECTED))
def service(request, keyring, tmp_path):
    """(name, app, make_headers) for one service, on its real database, rolled back after."""
    name = request.param
    database = request.getfixturevalue(f"{name}_db")
    factory, close = rollback_factory(database.engine)
    build = {"registration": _registration_app, "checkin": _checkin_app}
    app = (
        build[name](database, keyring, factory)
        if name in build
        else _notifications_app(database, tmp_path, factory)
    )
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False)
    yield name, app, _header_maker(name, factory)
    close()


def _header_maker(name: str, factory):
    """Headers of a fresh token per request (a request may revoke its own, e.g. log out)."""

    def headers(role: str) -> dict:
        base = {"Accept": "application/json"}
        if role == ANONYMOUS:
            return base
        # Unscoped (and a focal point for every agency id) so only the role can refuse.
        agencies = list(range(1, 200)) if role == "focal_point" else None
        if name == "registration":
            token = _recorded_token(factory, role, agencies)
        else:
            token = issue_api_token(
                SECRET,
                subject="matrix",
                role=role,
                token_id=uuid.uuid4().hex[:16],
                agencies=agencies,
            )
        return base | {"Authorization": f"Bearer {token}"}

    return headers


def _recorded_token(factory, role: str, agencies) -> str:
    from services.registration.tokens import create_api_token

    with factory() as session:
        token = create_api_token(session, SECRET, label="matrix", role=role, agency_ids=agencies)
        session.commit()
    return token


def _url(rule) -> str:
    """The rule's path with sample values for its variables."""

    def sample(match: re.Match) -> str:
        converter, _, variable = match.group(1).rpartition(":")
        if variable in SAMPLE_VALUES:
            return SAMPLE_VALUES[variable]
        return "1" if converter.startswith(("int", "id")) else "SAMPLE"

    return re.sub(r"<([^>]+)>", sample, rule.rule)


def _refused_by_policy(response) -> bool:
    """A 401 `unauthorized` or 403 `forbidden` (problem or error page), or off to log in."""
    if response.status_code in (302, 303):
        return response.headers["Location"].startswith("/login?next=")
    body = response.get_json(silent=True)
    code = (body.get("code") if isinstance(body, dict) else None) or _page_code(
        response.get_data(as_text=True)
    )
    return (response.status_code, code) in ((401, "unauthorized"), (403, "forbidden"))


def _page_code(html: str) -> str | None:
    found = re.search(r'data-code="([a-z_]+)"', html)
    return found.group(1) if found else None


def test_every_route_declares_a_policy_listed_in_the_table(service):
    name, app, _ = service
    declared = {
        rule.endpoint: app.view_functions[rule.endpoint].allowed_roles
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in INFRASTRUCTURE
    }
    assert set(declared) == set(EXPECTED[name])


def test_every_role_is_allowed_or_refused_as_the_table_says(service):
    name, app, headers = service
    client = app.test_client()
    wrong = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in INFRASTRUCTURE:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in sorted({ANONYMOUS, *ROLES}):
                kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
                call = getattr(client, method.lower())
                response = call(_url(rule), headers=headers(role), **kwargs)
                allowed = role in EXPECTED[name].get(rule.endpoint, set())
                if allowed == _refused_by_policy(response) or response.status_code >= 500:
                    wrong.append((method, rule.rule, role, response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))
