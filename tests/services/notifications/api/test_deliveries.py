"""GET /api/v1/deliveries (filters, paging, validation), reading one delivery, and resending it."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest

from tests.services.notifications.api.calls import (
    ADMIN,
    DELIVERIES,
    FIELDS,
    PROBLEM,
    broadcasts,
    field_errors,
    ids_of,
    message,
    problem,
)
from tests.services.notifications.api.delivery_log import count, fetch, record

ARABIC_ONE_OF = "يجب أن تكون إحدى القيم: queued|sending|sent|delivered|failed."
ENGLISH_ONE_OF = "Must be one of: queued|sending|sent|delivered|failed."


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
