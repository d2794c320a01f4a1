"""The notifications HTTP API and the SMS receipt webhook, on a real database and a real Redis.

The app is built per test on a rollback session factory; the send tasks it queues land in the
run's Redis, where `sends` reads them back (nothing consumes them here) and clears them.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from services.notifications import operations
from services.notifications.app import create_app
from services.notifications.config import NotificationsConfig
from services.notifications.dispatch import RECEIPTS_PATH
from services.notifications.models import STATUSES, Delivery
from services.notifications.schemas import DeliverySchema
from shared.identity import issue_api_token, new_token_id
from tests.conftest import rollback_factory
from tests.services.notifications.payloads import account_message, delegate_event
from tests.services.notifications.sms_provider import signature

SECRET = "notifications-api-test-secret-0123456789-abcdef"
BASE_URL = "http://hudoor.test"
RECEIPTS_URL = BASE_URL + RECEIPTS_PATH
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
PROBLEM = "application/problem+json"
DELIVERIES = "/api/v1/deliveries"
STALE = timedelta(minutes=10)
FIELDS = set(DeliverySchema().fields)
ARABIC_ONE_OF = "يجب أن تكون إحدى القيم: queued|sending|sent|delivered|failed."
ENGLISH_ONE_OF = "Must be one of: queued|sending|sent|delivered|failed."


def broadcasts(event_id: int = 1) -> str:
    return f"/api/v1/events/{event_id}/broadcasts"


def message(**overrides) -> dict:
    """A valid broadcast body; override or drop (None) any field."""
    body = {
        "subject_ar": "تغيير موعد الجلسة الافتتاحية",
        "subject_en": "Opening session moved",
        "body_ar": "تبدأ الجلسة الافتتاحية الساعة العاشرة صباحاً.",
        "body_en": "The opening session starts at 10:00.",
    } | overrides
    return {key: value for key, value in body.items() if value is not None}


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def session_factory(notifications_db):
    factory, close = rollback_factory(notifications_db.engine)
    yield factory
    close()


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def make_app(tmp_path, redis_url, session_factory):
    """Build the notifications app on this test's rollback factory."""

    def make(*, sms_url: str | None = None, redis: str = redis_url):
        config = NotificationsConfig(
            database_url="sqlite://",  # unused: the session factory is given
            redis_url=redis,
            secret_key=SECRET,
            default_language="ar",
            public_base_url=BASE_URL,
            var_dir=tmp_path / "var",
            mail_url=None,
            mail_from="Hudoor <no-reply@hudoor.invalid>",
            sms_url=sms_url,
            sms_per_second=100.0,
        )
        app = create_app(config, session_factory=session_factory)
        # Unexpected errors answer the app's 500 problem, as in production.
        app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sends(app):
    """Read (and remove) the send tasks queued in Redis: their delivery ids, oldest first."""
    celery = app.extensions["celery"]

    def drain() -> list[int]:
        ids = []
        with celery.connection_for_read() as connection:
            redis = connection.default_channel.client  # applies the run's key prefix
            while (raw := redis.rpop("notifications")) is not None:
                task = json.loads(raw)
                assert task["headers"]["task"] == "notifications.send_delivery"
                args, kwargs, _ = json.loads(base64.b64decode(task["body"]))
                assert kwargs == {}
                ids.extend(args)
        return ids

    drain()
    yield drain
    drain()


def bearer(role: str = "admin", events=None) -> dict:
    token = issue_api_token(
        SECRET, subject=f"test-{role}", role=role, events=events, token_id=new_token_id()
    )
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer("admin")


def problem(response, status: int) -> dict:
    """Assert a problem+json answer with `status` and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == f"urn:hudoor:problem:{body['code']}"
    assert body["title"]
    return body


def field_errors(body: dict) -> dict[str, tuple[str, str]]:
    """{field: (code, message)} of a validation problem."""
    return {error["field"]: (error["code"], error["message"]) for error in body["errors"]}


def fetch(session, delivery_id: int) -> Delivery:
    """The delivery as the database holds it now (the app commits on its own session)."""
    session.expire_all()
    return session.get(Delivery, delivery_id)


def count(session) -> int:
    """How many deliveries are logged now."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Delivery))


def record(session, **overrides) -> list[int]:
    """Record a delegate event as the worker would; return the ids it logged to send."""
    return operations.record_delegate_event(session, delegate_event(**overrides))


def mark_sent(session, delivery_id: int, provider_id: str) -> None:
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.finish_attempt(session, delivery, provider_id)


def mark_failed(session, delivery_id: int, error: str) -> None:
    delivery = operations.start_attempt(session, delivery_id, STALE)
    operations.fail_attempt(session, delivery, error, final=True)


@pytest.fixture
def log(session):
    """A small delivery log over two events; names map to ids, oldest first."""
    e1_email, e1_sms = record(session, badge_id=11, channel="both")
    mark_sent(session, e1_sms, "SM-e1")
    [e1_cancelled] = record(
        session,
        topic="delegate.cancelled",
        badge_id=12,
        version=2,
        status="cancelled",
        channel="email",
        email="hana@example.org",
        language="en",
    )
    mark_failed(session, e1_cancelled, "recipient_refused: 550 5.1.1 no such user")
    [e2_email] = record(session, badge_id=21, event_id=2, channel="email", email="b@example.org")
    return SimpleNamespace(
        e1_email=e1_email, e1_sms=e1_sms, e1_cancelled=e1_cancelled, e2_email=e2_email
    )


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()]


# --- listing -------------------------------------------------------------------------------------


def test_list_returns_the_log_newest_first_with_every_delivery_field(client, session, log):
    response = client.get(DELIVERIES, headers=ADMIN)
    assert ids_of(response) == [log.e2_email, log.e1_cancelled, log.e1_sms, log.e1_email]
    items = response.get_json()
    assert all(set(item) == FIELDS for item in items)
    assert len(FIELDS) == 15
    by_id = {item["id"]: item for item in items}
    sms = by_id[log.e1_sms]
    row = fetch(session, log.e1_sms)
    assert {k: v for k, v in sms.items() if not k.endswith("_at")} == {
        "id": log.e1_sms,
        "event_id": 1,
        "badge_id": 11,
        "kind": "confirmation",
        "channel": "sms",
        "recipient": "+9647701234567",
        "language": "ar",
        "status": "sent",
        "attempts": 1,
        "last_error": None,
        "provider_id": "SM-e1",
    }
    assert datetime.fromisoformat(sms["created_at"]) == row.created_at
    assert datetime.fromisoformat(sms["updated_at"]) == row.updated_at
    assert datetime.fromisoformat(sms["sent_at"]) == row.sent_at
    assert datetime.fromisoformat(sms["sent_at"]).utcoffset() == timedelta(0)
    assert sms["delivered_at"] is None
    failed = by_id[log.e1_cancelled]
    assert (failed["kind"], failed["status"], failed["attempts"], failed["language"]) == (
        "cancellation",
        "failed",
        1,
        "en",
    )
    assert failed["last_error"] == "recipient_refused: 550 5.1.1 no such user"
    assert (failed["recipient"], failed["sent_at"], failed["provider_id"]) == (
        "hana@example.org",
        None,
        None,
    )
    queued = by_id[log.e2_email]
    assert (queued["event_id"], queued["status"], queued["attempts"]) == (2, "queued", 0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"event_id": 1}, ["e1_cancelled", "e1_sms", "e1_email"]),
        ({"event_id": 2}, ["e2_email"]),
        ({"event_id": 3}, []),
        ({"status": "sent"}, ["e1_sms"]),
        ({"status": "failed"}, ["e1_cancelled"]),
        ({"status": "queued"}, ["e2_email", "e1_email"]),
        ({"status": "delivered"}, []),
        ({"channel": "sms"}, ["e1_sms"]),
        ({"channel": "email"}, ["e2_email", "e1_cancelled", "e1_email"]),
        ({"kind": "cancellation"}, ["e1_cancelled"]),
        ({"kind": "confirmation"}, ["e2_email", "e1_sms", "e1_email"]),
        ({"badge_id": 11}, ["e1_sms", "e1_email"]),
        ({"badge_id": 99}, []),
        ({"event_id": 1, "channel": "email"}, ["e1_cancelled", "e1_email"]),
        ({"event_id": 1, "status": "queued", "kind": "confirmation"}, ["e1_email"]),
    ],
)
def test_list_filters_combine(client, log, query, expected):
    response = client.get(f"{DELIVERIES}?{urlencode(query)}", headers=ADMIN)
    assert ids_of(response) == [getattr(log, name) for name in expected]


def test_list_pages_with_before_id_and_limit(client, log):
    newest_first = [log.e2_email, log.e1_cancelled, log.e1_sms, log.e1_email]
    first = ids_of(client.get(f"{DELIVERIES}?limit=2", headers=ADMIN))
    assert first == newest_first[:2]
    second = ids_of(client.get(f"{DELIVERIES}?limit=2&before_id={first[-1]}", headers=ADMIN))
    assert second == newest_first[2:]
    assert ids_of(client.get(f"{DELIVERIES}?limit=2&before_id={second[-1]}", headers=ADMIN)) == []
    assert ids_of(client.get(f"{DELIVERIES}?limit=1&before_id=1", headers=ADMIN)) == []
    filtered = client.get(f"{DELIVERIES}?event_id=1&limit=1&before_id={log.e1_sms}", headers=ADMIN)
    assert ids_of(filtered) == [log.e1_email]


def test_list_limit_bounds_are_inclusive(client, session):
    ids = []
    for badge in range(3):
        ids += record(session, badge_id=100 + badge, channel="email", email=f"d{badge}@x.org")
    assert ids_of(client.get(f"{DELIVERIES}?limit=1", headers=ADMIN)) == ids[-1:]
    assert ids_of(client.get(f"{DELIVERIES}?limit=500", headers=ADMIN)) == ids[::-1]
    assert ids_of(client.get(DELIVERIES, headers=ADMIN)) == ids[::-1]  # default 100


@pytest.mark.parametrize(
    ("query", "field", "code", "arabic", "english"),
    [
        ("status=bogus", "status", "one_of", ARABIC_ONE_OF, ENGLISH_ONE_OF),
        (
            "channel=fax",
            "channel",
            "one_of",
            "يجب أن تكون إحدى القيم: email|sms.",
            "Must be one of: email|sms.",
        ),
        ("limit=501", "limit", "too_large", "يجب ألا تزيد القيمة عن 500.", "Must be at most 500."),
        (
            "event_id=abc",
            "event_id",
            "not_integer",
            "يجب أن تكون القيمة عدداً صحيحاً.",
            "Must be a whole number.",
        ),
        ("badge_id=0", "badge_id", "too_small", "يجب ألا تقل القيمة عن 1.", "Must be at least 1."),
        (
            "before_id=-3",
            "before_id",
            "too_small",
            "يجب ألا تقل القيمة عن 1.",
            "Must be at least 1.",
        ),
        ("kind=" + "k" * 33, "kind", "too_long", "الحد الأقصى 32 حرفاً.", "At most 32 characters."),
    ],
)
def test_invalid_filters_are_422_with_field_errors_in_arabic_then_english(
    client, log, query, field, code, arabic, english
):
    body = problem(client.get(f"{DELIVERIES}?{query}", headers=ADMIN), 422)
    assert body["code"] == "validation_failed"
    assert body["title"] == "بعض الحقول غير صالحة."
    assert field_errors(body) == {field: (code, arabic)}
    headers = {**ADMIN, "Accept-Language": "en"}
    body = problem(client.get(f"{DELIVERIES}?{query}", headers=headers), 422)
    assert body["title"] == "Some fields are invalid."
    assert field_errors(body) == {field: (code, english)}


def test_limit_zero_is_refused(client, log):
    body = problem(client.get(f"{DELIVERIES}?limit=0", headers=ADMIN), 422)
    assert list(field_errors(body)) == ["limit"]


def test_limit_zero_is_reported_as_too_small(client, log):
    body = problem(client.get(f"{DELIVERIES}?limit=0", headers=ADMIN), 422)
    assert field_errors(body) == {"limit": ("too_small", "يجب ألا تقل القيمة عن 1.")}


def test_lang_parameter_picks_english_and_is_not_a_filter(client, log):
    body = problem(client.get(f"{DELIVERIES}?status=bogus&lang=en", headers=ADMIN), 422)
    assert field_errors(body) == {"status": ("one_of", ENGLISH_ONE_OF)}
    assert ids_of(client.get(f"{DELIVERIES}?lang=en&channel=sms", headers=ADMIN)) == [log.e1_sms]


@pytest.mark.parametrize("query", ["stauts=failed", "page=2", "event=1"])
def test_unknown_query_parameter_is_422(client, log, query):
    body = problem(client.get(f"{DELIVERIES}?{query}", headers=ADMIN), 422)
    field = query.partition("=")[0]
    assert field_errors(body) == {field: ("unknown_field", "حقل غير معروف.")}
    english = client.get(f"{DELIVERIES}?{query}", headers={**ADMIN, "Accept-Language": "en"})
    body = problem(english, 422)
    assert field_errors(body) == {field: ("unknown_field", "Unknown field.")}


# --- auth ----------------------------------------------------------------------------------------

ENDPOINTS = {
    "list": ("get", lambda log: DELIVERIES, None),
    "read": ("get", lambda log: f"{DELIVERIES}/{log.e1_email}", None),
    "resend": ("post", lambda log: f"{DELIVERIES}/{log.e1_email}/resend", None),
    "broadcast": ("post", lambda log: broadcasts(1), message()),
}


def call(client, endpoint: str, log, headers: dict):
    method, path, body = ENDPOINTS[endpoint]
    return getattr(client, method)(path(log), headers=headers, json=body)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer hdr_not-a-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {
            "Authorization": "Bearer "
            + issue_api_token("another-secret-" * 4, subject="x", role="admin", token_id="t")
        },
    ],
    ids=["none", "empty", "garbage", "basic", "other-secret"],
)
def test_without_a_valid_token_every_endpoint_is_401(
    client, session, sends, log, endpoint, headers
):
    before = count(session)
    body = problem(call(client, endpoint, log, headers), 401)
    assert (body["code"], body["title"]) == ("unauthorized", "يلزم تسجيل الدخول.")
    assert count(session) == before and sends() == []


def test_an_expired_token_is_401(client, log, monkeypatch):
    issued = int(datetime.now().timestamp()) - 91 * 86400  # the API accepts 90 days
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
    old = bearer("admin")
    monkeypatch.undo()
    assert problem(client.get(DELIVERIES, headers=old), 401)["code"] == "unauthorized"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("role", ["viewer", "focal_point", "device", "delegate"])
def test_roles_other_than_admin_and_organizer_are_403(client, session, sends, log, endpoint, role):
    before = count(session)
    body = problem(call(client, endpoint, log, bearer(role)), 403)
    assert (body["code"], body["title"]) == ("forbidden", "غير مسموح لك بهذا الإجراء.")
    assert count(session) == before and sends() == []


def test_an_organizer_of_event_2_cannot_list_event_1(client, log):
    organizer = bearer("organizer", events=[2])
    body = problem(client.get(DELIVERIES, headers=organizer), 403)
    assert [e["field"] for e in body["errors"]] == ["event_id"]
    problem(client.get(f"{DELIVERIES}?event_id=1", headers=organizer), 403)
    problem(client.get(f"{DELIVERIES}?event_id=1&channel=sms", headers=organizer), 403)
    assert ids_of(client.get(f"{DELIVERIES}?event_id=2", headers=organizer)) == [log.e2_email]


def test_an_organizer_of_event_2_cannot_read_or_resend_event_1(client, session, sends, log):
    organizer = bearer("organizer", events=[2])
    before = count(session)
    for delivery_id in (log.e1_email, log.e1_cancelled):
        problem(client.get(f"{DELIVERIES}/{delivery_id}", headers=organizer), 403)
        problem(client.post(f"{DELIVERIES}/{delivery_id}/resend", headers=organizer), 403)
    assert count(session) == before and sends() == []
    assert client.get(f"{DELIVERIES}/{log.e2_email}", headers=organizer).status_code == 200
    assert client.post(f"{DELIVERIES}/{log.e2_email}/resend", headers=organizer).status_code == 202


def test_an_organizer_of_event_2_cannot_broadcast_to_event_1(client, session, sends):
    record(session, badge_id=5, channel="email")
    before = count(session)
    organizer = bearer("organizer", events=[2])
    problem(client.post(broadcasts(1), headers=organizer, json=message()), 403)
    assert count(session) == before and sends() == []


def test_an_organizer_of_several_events_lists_each_of_them(client, log):
    organizer = bearer("organizer", events=[1, 2])
    assert ids_of(client.get(f"{DELIVERIES}?event_id=2", headers=organizer)) == [log.e2_email]
    assert len(ids_of(client.get(f"{DELIVERIES}?event_id=1", headers=organizer))) == 3
    # A scoped token must name one of its events: no mixed listing across them.
    problem(client.get(DELIVERIES, headers=organizer), 403)


@pytest.mark.parametrize("role", ["admin", "organizer"])
def test_unscoped_admin_and_organizer_reach_every_event(client, log, role):
    headers = bearer(role)
    assert len(ids_of(client.get(DELIVERIES, headers=headers))) == 4
    assert client.get(f"{DELIVERIES}/{log.e1_email}", headers=headers).status_code == 200
    assert client.get(f"{DELIVERIES}/{log.e2_email}", headers=headers).status_code == 200
    assert client.post(f"{DELIVERIES}/{log.e1_email}/resend", headers=headers).status_code == 202


# --- read one ------------------------------------------------------------------------------------


def test_read_returns_one_delivery(client, log):
    response = client.get(f"{DELIVERIES}/{log.e1_cancelled}", headers=ADMIN)
    assert response.status_code == 200
    listed = client.get(f"{DELIVERIES}?kind=cancellation", headers=ADMIN).get_json()
    assert response.get_json() == listed[0]
    assert response.get_json()["last_error"] == "recipient_refused: 550 5.1.1 no such user"


def test_read_unknown_delivery_is_a_404_problem_in_the_request_language(client, log):
    missing = log.e2_email + 1000
    body = problem(client.get(f"{DELIVERIES}/{missing}", headers=ADMIN), 404)
    assert (body["code"], body["title"]) == ("delivery_not_found", "لا توجد رسالة بهذا الرقم.")
    english = client.get(f"{DELIVERIES}/{missing}", headers={**ADMIN, "Accept-Language": "en"})
    assert problem(english, 404)["title"] == "No such delivery."


def test_read_with_a_non_integer_id_is_not_found(client):
    assert client.get(f"{DELIVERIES}/abc", headers=ADMIN).status_code == 404
    assert client.get(f"{DELIVERIES}/-1", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"{DELIVERIES}/{10**20}",
        f"{DELIVERIES}?event_id={10**20}",
        f"{DELIVERIES}?before_id={10**20}",
        f"{DELIVERIES}?badge_id={10**20}",
    ],
    ids=["read", "event_id", "before_id", "badge_id"],
)
def test_ids_beyond_64_bits_are_a_client_error(client, log, path):
    response = client.get(path, headers=ADMIN)
    assert response.status_code in (400, 404, 422), response.get_data(as_text=True)
    assert response.mimetype == PROBLEM


# --- resend --------------------------------------------------------------------------------------


def test_resend_logs_a_new_queued_delivery_and_queues_it(client, session, sends, log):
    original = fetch(session, log.e1_cancelled)
    response = client.post(f"{DELIVERIES}/{log.e1_cancelled}/resend", headers=ADMIN)
    assert response.status_code == 202
    copy = response.get_json()
    assert set(copy) == FIELDS
    assert copy["id"] not in (log.e1_email, log.e1_sms, log.e1_cancelled, log.e2_email)
    assert {k: copy[k] for k in ("event_id", "badge_id", "kind", "channel", "recipient")} == {
        "event_id": 1,
        "badge_id": 12,
        "kind": "cancellation",
        "channel": "email",
        "recipient": "hana@example.org",
    }
    assert (copy["language"], copy["status"], copy["attempts"]) == ("en", "queued", 0)
    assert (copy["last_error"], copy["provider_id"], copy["sent_at"]) == (None, None, None)
    stored = fetch(session, copy["id"])
    assert stored.idempotency_key == f"{original.idempotency_key}:resend:1"
    assert stored.payload == original.payload
    assert sends() == [copy["id"]]
    # The original keeps its history.
    assert fetch(session, log.e1_cancelled).status == "failed"


def test_resending_twice_numbers_the_copies(client, session, sends, log):
    key = fetch(session, log.e1_sms).idempotency_key
    first = client.post(f"{DELIVERIES}/{log.e1_sms}/resend", headers=ADMIN).get_json()
    second = client.post(f"{DELIVERIES}/{log.e1_sms}/resend", headers=ADMIN).get_json()
    assert first["id"] != second["id"]
    assert fetch(session, first["id"]).idempotency_key == f"{key}:resend:1"
    assert fetch(session, second["id"]).idempotency_key == f"{key}:resend:2"
    assert (first["channel"], second["status"]) == ("sms", "queued")
    assert sends() == [first["id"], second["id"]]
    listed = ids_of(client.get(f"{DELIVERIES}?badge_id=11&channel=sms", headers=ADMIN))
    assert listed == [second["id"], first["id"], log.e1_sms]


def test_resend_of_a_broadcast_keeps_its_message(client, session, sends):
    record(session, badge_id=5, channel="email")
    sends()
    result = client.post(broadcasts(1), headers=ADMIN, json=message()).get_json()
    [broadcast_id] = sends()
    copy = client.post(f"{DELIVERIES}/{broadcast_id}/resend", headers=ADMIN).get_json()
    assert copy["kind"] == "broadcast"
    assert fetch(session, copy["id"]).extra == {"id": result["id"], **message()}
    assert sends() == [copy["id"]]


def test_resend_of_an_unknown_delivery_is_404(client, session, sends, log):
    before = count(session)
    body = problem(client.post(f"{DELIVERIES}/{log.e2_email + 1000}/resend", headers=ADMIN), 404)
    assert body["code"] == "delivery_not_found"
    assert count(session) == before and sends() == []


def test_resend_accepts_only_post(client, log):
    response = client.get(f"{DELIVERIES}/{log.e1_email}/resend", headers=ADMIN)
    assert problem(response, 405)["code"] == "method_not_allowed"


# --- broadcasts ----------------------------------------------------------------------------------


@pytest.fixture
def recipients(session):
    """Active delegates of event 1 in two agencies and categories, one cancelled, one elsewhere."""
    people = [
        dict(badge_id=101, agency="IWED", category="DELEGATE", channel="both", email="a@x.org"),
        dict(badge_id=102, agency="IWED", category="SPEAKER", channel="email", email="b@x.org"),
        dict(
            badge_id=103, agency="MOE", category="DELEGATE", channel="sms", phone="+9647700000103"
        ),
        dict(
            badge_id=104,
            agency="MOE",
            category="DELEGATE",
            channel="both",
            email="d@x.org",
            phone=None,
        ),
        dict(badge_id=106, agency="MOE", category="SPEAKER", channel="sms", phone=None),
    ]
    for person in people:
        record(session, **person)
    record(
        session,
        topic="delegate.cancelled",
        version=2,
        status="cancelled",
        badge_id=105,
        agency="IWED",
        category="DELEGATE",
        channel="both",
        email="e@x.org",
    )
    record(session, badge_id=201, event_id=2, agency="IWED", channel="email", email="f@x.org")
    return {
        101: ["a@x.org", "+9647701234567"],
        102: ["b@x.org"],
        103: ["+9647700000103"],
        104: ["d@x.org"],
    }


@pytest.mark.parametrize(
    ("audience", "badges"),
    [
        ({}, [101, 102, 103, 104]),
        ({"agency": "IWED"}, [101, 102]),
        ({"agency": "MOE"}, [103, 104]),
        ({"category": "DELEGATE"}, [101, 103, 104]),
        ({"category": "SPEAKER"}, [102]),
        ({"agency": "MOE", "category": "DELEGATE"}, [103, 104]),
        ({"agency": "IWED", "category": "SPEAKER"}, [102]),
        ({"agency": "NOPE"}, []),
    ],
)
def test_broadcast_queues_one_message_per_active_recipient_and_channel(
    client, session, sends, recipients, audience, badges
):
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=message(audience=audience))
    assert response.status_code == 202, response.get_data(as_text=True)
    result = response.get_json()
    assert set(result) == {"id", "queued"}
    assert len(result["id"]) == 32 and int(result["id"], 16) >= 0
    expected = sorted(to for badge in badges for to in recipients[badge])
    assert result["queued"] == len(expected)
    queued = sends()
    assert len(queued) == result["queued"]
    logged = [fetch(session, delivery_id) for delivery_id in queued]
    assert sorted(d.recipient for d in logged) == expected
    assert {(d.kind, d.status, d.event_id) for d in logged} <= {("broadcast", "queued", 1)}
    assert all(d.extra == {"id": result["id"], **message()} for d in logged)
    assert {d.badge_id for d in logged} == set(badges)


def test_a_broadcast_sent_twice_is_two_messages(client, sends, recipients):
    sends()
    first = client.post(broadcasts(1), headers=ADMIN, json=message()).get_json()
    second = client.post(broadcasts(1), headers=ADMIN, json=message()).get_json()
    assert first["id"] != second["id"]
    assert first["queued"] == second["queued"] == 5
    assert len(set(sends())) == 10


def test_an_organizer_of_the_event_may_broadcast(client, sends, recipients):
    sends()
    organizer = bearer("organizer", events=[1])
    response = client.post(broadcasts(1), headers=organizer, json=message())
    assert response.status_code == 202 and response.get_json()["queued"] == 5
    assert len(sends()) == 5


def test_broadcast_to_an_event_without_recipients_queues_nothing(client, sends, recipients):
    sends()
    response = client.post(broadcasts(3), headers=ADMIN, json=message())
    assert (response.status_code, response.get_json()["queued"]) == (202, 0)
    assert sends() == []


def test_broadcast_bodies_of_exactly_the_maximum_length_are_accepted(client, sends, recipients):
    # By e-mail only: as an SMS such a text would be refused (below).
    body = message(
        subject_ar="ع" * 200,
        subject_en="s" * 200,
        body_ar="ن" * 2000,
        body_en="b" * 2000,
        audience={"category": "SPEAKER"},
    )
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    assert response.status_code == 202, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "field", "code", "arabic"),
    [
        (message(subject_ar=None), "subject_ar", "required", "هذا الحقل مطلوب."),
        (message(body_en=None), "body_en", "required", "هذا الحقل مطلوب."),
        (message(body_ar="ن" * 2001), "body_ar", "too_long", "الحد الأقصى 2000 حرفاً."),
        (message(body_en="b" * 2001), "body_en", "too_long", "الحد الأقصى 2000 حرفاً."),
        (message(subject_en="s" * 201), "subject_en", "too_long", "الحد الأقصى 200 حرفاً."),
        (message(priority="high"), "priority", "unknown_field", "حقل غير معروف."),
        (message(subject_ar=42), "subject_ar", "not_string", "يجب أن تكون القيمة نصاً."),
        (message(subject_ar=None) | {"subject_ar": None}, "subject_ar", "null", None),
        (
            message(audience={"agency": "IWED", "region": "north"}),
            "audience.region",
            "unknown_field",
            "حقل غير معروف.",
        ),
        (message(audience={"agency": "A" * 33}), "audience.agency", "too_long", None),
        (message(audience="IWED"), "audience", "invalid_type", None),
    ],
)
def test_invalid_broadcasts_are_422_and_log_nothing(
    client, session, sends, recipients, body, field, code, arabic
):
    before = count(session)
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    errors = field_errors(problem(response, 422))
    assert list(errors) == [field]
    assert errors[field][0] == code
    if arabic:
        assert errors[field][1] == arabic
    assert count(session) == before and sends() == []


def test_broadcast_errors_are_in_english_when_asked(client, recipients):
    headers = {**ADMIN, "Accept-Language": "en-GB,en;q=0.9,ar;q=0.5"}
    response = client.post(broadcasts(1), headers=headers, json=message(subject_ar=None))
    body = problem(response, 422)
    assert body["title"] == "Some fields are invalid."
    assert field_errors(body) == {"subject_ar": ("required", "This field is required.")}


@pytest.mark.parametrize("raw", ["[]", "null", '"hello"', "42", "{}"])
def test_broadcast_body_that_is_not_a_message_is_422(client, recipients, raw):
    response = client.post(broadcasts(1), headers=ADMIN, data=raw, content_type="application/json")
    assert problem(response, 422)["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("subject_ar=x&subject_en=x&body_ar=x&body_en=x", "application/x-www-form-urlencoded"),
        (json.dumps(message()), "text/plain"),
        (json.dumps(message()), "application/xml"),
    ],
)
def test_broadcast_in_another_content_type_is_415(
    client, session, sends, recipients, data, content_type
):
    before = count(session)
    response = client.post(broadcasts(1), headers=ADMIN, data=data, content_type=content_type)
    body = problem(response, 415)
    assert (body["code"], body["title"]) == (
        "unsupported_media_type",
        "أرسل محتوى الطلب بصيغة application/json.",
    )
    assert count(session) == before and sends() == []


def test_broadcast_with_malformed_json_is_400(client, recipients):
    response = client.post(
        broadcasts(1), headers=ADMIN, data='{"subject_ar": "x",', content_type="application/json"
    )
    assert problem(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_subject_is_refused_as_required(client, session, sends, recipients, blank):
    sends()
    response = client.post(broadcasts(1), headers=ADMIN, json=message(subject_ar=blank))
    errors = field_errors(problem(response, 422))
    assert errors["subject_ar"][0] in ("required", "too_short")


@pytest.mark.parametrize("audience", [{"agency": ""}, {"category": ""}])
def test_an_empty_audience_filter_is_refused_not_widened_to_everyone(
    client, session, sends, recipients, audience
):
    sends()
    before = count(session)
    response = client.post(broadcasts(1), headers=ADMIN, json=message(audience=audience))
    problem(response, 422)
    assert count(session) == before and sends() == []


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ar", "هذه الرسالة تحتاج 3 أجزاء"), ("en", "As an SMS this message takes 3 parts")],
)
def test_a_broadcast_whose_sms_exceeds_two_parts_is_refused_and_logs_nothing(
    client, session, sends, recipients, lang, text
):
    sends()
    before = count(session)
    long_ar = "تبدأ الجلسة الافتتاحية في القاعة الكبرى الساعة العاشرة صباحاً. " * 2  # + the link
    response = client.post(
        broadcasts(1), headers={**ADMIN, "Accept-Language": lang}, json=message(body_ar=long_ar)
    )
    [error] = problem(response, 422)["errors"]
    assert (error["field"], error["code"]) == ("message.sms", "sms_too_long")
    assert error["message"].startswith(text) and "body_ar" in error["message"]
    assert count(session) == before and sends() == []


def test_a_long_broadcast_is_accepted_when_nobody_in_the_audience_gets_sms(
    client, sends, recipients
):
    long_ar = "تبدأ الجلسة الافتتاحية في القاعة الكبرى الساعة العاشرة صباحاً. " * 2
    body = message(body_ar=long_ar, audience={"category": "SPEAKER"})
    response = client.post(broadcasts(1), headers=ADMIN, json=body)
    assert (response.status_code, response.get_json()["queued"]) == (202, 1)


# --- account messages (password reset, invitation): the link is a credential ----------------------


@pytest.fixture
def account_deliveries(session):
    """An invitation for event 1 and a password reset (no event), as the worker logs them."""
    [invitation] = operations.record_account_message(session, account_message("invitation"))
    [reset] = operations.record_account_message(session, account_message("password_reset"))
    return SimpleNamespace(invitation=invitation, reset=reset)


def test_listings_and_reads_show_account_messages_without_their_link(client, account_deliveries):
    organizer = bearer("organizer", events=[1])
    responses = [
        client.get(DELIVERIES, headers=ADMIN),
        client.get(f"{DELIVERIES}?event_id=1", headers=organizer),
        client.get(f"{DELIVERIES}?kind=password_reset", headers=ADMIN),
        client.get(f"{DELIVERIES}/{account_deliveries.invitation}", headers=organizer),
        client.get(f"{DELIVERIES}/{account_deliveries.reset}", headers=ADMIN),
    ]
    assert [r.status_code for r in responses] == [200] * 5
    for response in responses:
        assert "Secret_" not in response.get_data(as_text=True)
    listed = {item["kind"]: item for item in responses[0].get_json()}
    assert set(listed["invitation"]) == FIELDS
    assert (listed["password_reset"]["event_id"], listed["password_reset"]["badge_id"]) == (0, 0)
    assert ids_of(responses[1]) == [account_deliveries.invitation]


def test_an_organizer_of_an_event_cannot_read_password_resets(client, account_deliveries):
    organizer = bearer("organizer", events=[1])
    problem(client.get(f"{DELIVERIES}/{account_deliveries.reset}", headers=organizer), 403)


@pytest.mark.parametrize(
    ("lang", "start"),
    [("ar", "لا يُعاد إرسال رسائل استعادة كلمة المرور"), ("en", "Password reset and invitation")],
)
def test_account_messages_are_never_resent(client, session, sends, account_deliveries, lang, start):
    sends()
    before = count(session)
    for delivery_id in (account_deliveries.invitation, account_deliveries.reset):
        response = client.post(
            f"{DELIVERIES}/{delivery_id}/resend", headers={**ADMIN, "Accept-Language": lang}
        )
        body = problem(response, 409)
        assert body["code"] == "account_message_not_resendable"
        assert body["title"].startswith(start)
    assert count(session) == before and sends() == []


# --- the broker down after the commit ------------------------------------------------------------


@pytest.mark.parametrize("action", ["resend", "broadcast"])
def test_with_the_broker_down_logged_messages_are_accepted_for_the_sweep(
    make_app, session, recipients, action
):
    client = make_app(redis=UNREACHABLE_REDIS).test_client()
    before = count(session)
    if action == "resend":
        [delivery_id] = record(session, badge_id=7, channel="email")
        before += 1
        response = client.post(f"{DELIVERIES}/{delivery_id}/resend", headers=ADMIN)
        logged = 1
    else:
        response = client.post(broadcasts(1), headers=ADMIN, json=message())
        logged = 5
    # Logged and committed whatever the answer: the sweep will send them.
    assert count(session) == before + logged
    assert response.status_code == 202, response.get_data(as_text=True)


# --- SMS receipts --------------------------------------------------------------------------------


@pytest.fixture
def sms_app(make_app, sms_provider):
    return make_app(sms_url=sms_provider.url())


@pytest.fixture
def sent_sms(session):
    """An SMS the provider accepted, with sid SM-receipt-1."""
    [delivery_id] = record(session, badge_id=31, channel="sms")
    mark_sent(session, delivery_id, "SM-receipt-1")
    return delivery_id


def receipt(status: str, sid: str = "SM-receipt-1", **extra) -> dict[str, str]:
    """A Twilio status callback's form fields."""
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    return params | {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", **extra}


def post_receipt(client, params: dict, token: str, url: str = RECEIPTS_URL):
    headers = {"X-Twilio-Signature": signature(token, url, params)}
    return client.post("/webhooks/sms", data=params, headers=headers)


def test_a_delivered_receipt_marks_the_sms_delivered(sms_app, sms_provider, session, sent_sms):
    client = sms_app.test_client()
    response = post_receipt(client, receipt("delivered"), sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (200, {"status": "applied"})
    delivery = fetch(session, sent_sms)
    assert (delivery.status, delivery.last_error) == ("delivered", None)
    assert delivery.delivered_at is not None and delivery.delivered_at >= delivery.sent_at
    shown = client.get(f"{DELIVERIES}/{sent_sms}", headers=ADMIN).get_json()
    assert shown["status"] == "delivered"
    assert datetime.fromisoformat(shown["delivered_at"]) == delivery.delivered_at


def test_a_failed_receipt_keeps_the_provider_error_code(sms_app, sms_provider, session, sent_sms):
    params = receipt("undelivered", ErrorCode="30003")
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert response.status_code == 200
    delivery = fetch(session, sent_sms)
    assert delivery.status == "failed"
    assert delivery.last_error == "provider receipt: 30003"
    assert delivery.delivered_at is None


def test_a_failed_receipt_without_a_code_says_failed(sms_app, sms_provider, session, sent_sms):
    response = post_receipt(sms_app.test_client(), receipt("failed"), sms_provider.auth_token)
    assert response.status_code == 200
    assert fetch(session, sent_sms).last_error == "provider receipt: failed"


def test_a_late_receipt_never_downgrades_a_delivered_sms(sms_app, sms_provider, session, sent_sms):
    client = sms_app.test_client()
    assert post_receipt(client, receipt("delivered"), sms_provider.auth_token).status_code == 200
    delivered_at = fetch(session, sent_sms).delivered_at
    for late in ("sent", "queued", "failed"):
        assert post_receipt(client, receipt(late), sms_provider.auth_token).status_code == 200
    delivery = fetch(session, sent_sms)
    assert (delivery.status, delivery.delivered_at, delivery.last_error) == (
        "delivered",
        delivered_at,
        None,
    )


def test_an_intermediate_receipt_leaves_a_sent_sms_sent(sms_app, sms_provider, session, sent_sms):
    response = post_receipt(sms_app.test_client(), receipt("sent"), sms_provider.auth_token)
    assert response.status_code == 200
    assert fetch(session, sent_sms).status == "sent"


@pytest.mark.parametrize(
    "forge",
    ["wrong-token", "tampered", "other-url", "missing"],
)
def test_a_forged_receipt_is_403_and_changes_nothing(
    sms_app, sms_provider, session, sent_sms, forge
):
    params = receipt("failed", ErrorCode="30007")
    token, url = sms_provider.auth_token, RECEIPTS_URL
    if forge == "wrong-token":
        token = "not-the-auth-token"
    elif forge == "other-url":
        url = "https://evil.example.org" + RECEIPTS_PATH
    headers = {"X-Twilio-Signature": signature(token, url, params)}
    if forge == "tampered":
        params = params | {"MessageStatus": "delivered", "SmsStatus": "delivered"}
    elif forge == "missing":
        headers = {}
    response = sms_app.test_client().post("/webhooks/sms", data=params, headers=headers)
    assert (response.status_code, response.get_json()) == (403, {"status": "forbidden"})
    assert fetch(session, sent_sms).status == "sent"


@pytest.mark.parametrize(
    "params",
    [
        {"MessageStatus": "delivered", "AccountSid": "AC1"},
        receipt("delivered", sid=""),
        receipt("teleported"),
        {"MessageSid": "SM-receipt-1"},
    ],
    ids=["no-sid", "empty-sid", "unknown-status", "no-status"],
)
def test_a_signed_receipt_that_is_not_a_receipt_is_400(
    sms_app, sms_provider, session, sent_sms, params
):
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (400, {"status": "malformed receipt"})
    assert fetch(session, sent_sms).status == "sent"


def test_a_receipt_for_an_unknown_sid_is_404(sms_app, sms_provider, sent_sms, session):
    params = receipt("delivered", sid="SM-nobody")
    response = post_receipt(sms_app.test_client(), params, sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (404, {"status": "unknown message"})
    assert fetch(session, sent_sms).status == "sent"


def test_legacy_sms_fields_alone_are_a_receipt(sms_app, sms_provider, session, sent_sms):
    params = {"SmsSid": "SM-receipt-1", "SmsStatus": "delivered"}
    assert post_receipt(sms_app.test_client(), params, sms_provider.auth_token).status_code == 200
    assert fetch(session, sent_sms).status == "delivered"


def test_receipts_are_refused_with_the_file_sms_backend(client, sms_provider, session, sent_sms):
    # `client` is built with sms_url=None: there is no auth token to check a signature with.
    response = post_receipt(client, receipt("delivered"), sms_provider.auth_token)
    assert (response.status_code, response.get_json()) == (403, {"status": "forbidden"})
    assert fetch(session, sent_sms).status == "sent"


# --- OpenAPI and health --------------------------------------------------------------------------


def test_openapi_lists_the_api_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["info"]["title"] == "Hudoor notifications"
    paths = spec["paths"]
    assert set(paths) == {
        "/api/v1/deliveries",
        "/api/v1/deliveries/{delivery_id}",
        "/api/v1/deliveries/{delivery_id}/resend",
        "/api/v1/events/{event_id}/broadcasts",
    }
    assert set(paths["/api/v1/deliveries"]) >= {"get"}
    listed = {p["name"] for p in paths["/api/v1/deliveries"]["get"]["parameters"]}
    assert listed == {"event_id", "status", "channel", "kind", "badge_id", "before_id", "limit"}
    assert "202" in paths["/api/v1/deliveries/{delivery_id}/resend"]["post"]["responses"]
    assert "202" in paths["/api/v1/events/{event_id}/broadcasts"]["post"]["responses"]
    assert "/webhooks/sms" not in paths


def test_healthz_is_200_without_a_token(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


# --- fuzz ----------------------------------------------------------------------------------------

ALLOWED = {200, 202, 400, 403, 404, 415, 422}
FILTERS = ["event_id", "status", "channel", "kind", "badge_id", "before_id", "limit"]
# Within 64 bits: larger integers are refused by the routes and schemas (tested above).
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
query_values = st.one_of(
    int64.map(str),
    st.sampled_from([*STATUSES, "email", "sms", "confirmation", "broadcast", "", "1", "500"]),
    st.text(max_size=20),
)
query_pairs = st.lists(
    st.tuples(st.sampled_from([*FILTERS, "lang"]) | st.text(max_size=8), query_values),
    max_size=6,
)
json_values = st.recursive(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
BROADCAST_FIELDS = ["subject_ar", "subject_en", "body_ar", "body_en", "audience"]
audiences = st.dictionaries(
    st.sampled_from(["agency", "category", "region"]),
    st.sampled_from(["IWED", "MOE", "DELEGATE", "SPEAKER", ""]) | json_values,
    max_size=3,
)
broadcast_bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(BROADCAST_FIELDS) | st.text(max_size=10), json_values),
    st.fixed_dictionaries(
        {name: st.text(min_size=1, max_size=210) for name in BROADCAST_FIELDS[:4]},
        optional={"audience": audiences},
    ),
)


def assert_handled(response) -> None:
    assert response.status_code in ALLOWED, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM
        assert response.get_json()["code"]


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(pairs=[("event_id", "1"), ("limit", "0")])
@example(pairs=[("kind", "a\x00b")])
@given(pairs=query_pairs)
def test_fuzzed_delivery_queries_never_cause_a_server_error(client, log, pairs):
    response = client.get(f"{DELIVERIES}?{urlencode(pairs)}", headers=bearer("organizer"))
    assert_handled(response)
    if response.status_code == 200:
        assert all(set(item) == FIELDS for item in response.get_json())


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(body=message(audience={"agency": "MOE"}))
@example(body=message(subject_en="\x00"))
@given(body=broadcast_bodies)
def test_fuzzed_broadcast_bodies_never_cause_a_server_error(client, sends, recipients, body):
    organizer = bearer("organizer", events=[1])
    response = client.post(broadcasts(1), headers=organizer, json=body)
    assert_handled(response)
    if response.status_code == 202:
        assert set(response.get_json()) == {"id", "queued"}
    sends()
