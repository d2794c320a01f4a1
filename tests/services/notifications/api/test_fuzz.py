"""Generated queries and broadcast bodies: every answer a handled status, never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.notifications.models import STATUSES
from tests.services.notifications.api.calls import (
    DELIVERIES,
    FIELDS,
    PROBLEM,
    bearer,
    broadcasts,
    message,
    problem,
)
from tests.services.notifications.api.delivery_log import count

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


# --- What the fuzzing found ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"subject_ar": "\ud800"}, "subject_ar"),
        ({"body_en": "x\udfffy"}, "body_en"),
        ({"audience": {"agency": "\udc00"}}, "audience.agency"),
    ],
)
def test_lone_surrogates_are_refused_by_name_and_nothing_is_queued(
    client, session, sends, recipients, changes, field
):
    # Accepted (202) and queued: the sends would then fail on text no e-mail or SMS can carry.
    before = count(session)
    raw = json.dumps(message(**changes)).encode()  # ASCII escapes, as a JSON client sends them
    response = client.post(
        broadcasts(1),
        headers=bearer("organizer", events=[1]),
        data=raw,
        content_type="application/json",
    )
    body = problem(response, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, "invalid_characters")]
    assert (count(session), sends()) == (before, [])


def test_refused_characters_are_explained_not_named_by_their_code(client, recipients):
    # The message of `invalid_characters` was only in registration's catalogue.
    organizer = bearer("organizer", events=[1])
    response = client.post(
        f"{broadcasts(1)}?lang=en", headers=organizer, json=message(subject_en="a\x00")
    )
    [error] = problem(response, 422)["errors"]
    assert error["message"] == "Contains characters that are not allowed."
