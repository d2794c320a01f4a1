"""Generated registration bodies: every answer a handled status, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.registration.models import Registration
from tests.services.registration.api.calls import PROBLEM, REGISTER, field_codes, problem
from tests.services.registration.conftest import delegate, row_count

# --- fuzz ----------------------------------------------------------------------------------------

ALLOWED = {201, 400, 409, 413, 415, 422}
FIELDS = [*delegate(), "category", "unknown"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values, max_size=12),
)


def assert_handled(response) -> None:
    assert response.status_code in ALLOWED, response.get_data(as_text=True)
    if response.status_code != 201:
        assert response.mimetype == PROBLEM
        assert response.get_json()["code"]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=bodies)
def test_fuzzed_json_bodies_never_cause_a_server_error(web, demo_event, body):
    assert_handled(web.post(REGISTER, json=body))


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_raw_bodies_never_cause_a_server_error(web, demo_event, raw):
    assert_handled(web.post(REGISTER, data=raw, content_type="application/json"))


_field_values = st.one_of(
    json_values.filter(lambda v: "\x00" not in json.dumps(v)),
    st.sampled_from(["female", "IWED", "MOE", "DELEGATE", "sms", "en", True, "0781 234 5678"]),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(changes={})
@given(changes=st.dictionaries(st.sampled_from(FIELDS), _field_values | st.just(None), max_size=4))
def test_fuzzed_variations_of_a_valid_payload_never_cause_a_server_error(web, demo_event, changes):
    payload = {**delegate(), **changes}
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_handled(web.post(REGISTER, json=payload))


# --- What the fuzzing found ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"full_name_en": "\ud800"}, "full_name_en"),
        ({"job_title": "Director x\udfffy"}, "job_title"),
        ({"agency": "\udc00"}, "agency"),
        ({"\ud83d": 1}, "\ufffd"),
    ],
)
def test_lone_surrogates_are_refused_by_name_and_nothing_is_written(
    web, session, demo_event, changes, field
):
    # JSON's "\ud800" is no text a database or a UTF-8 answer can hold: each was a 500.
    before = row_count(session, Registration)
    raw = json.dumps(delegate(**changes)).encode()  # ASCII escapes, as a JSON client sends them
    response = web.post(f"{REGISTER}?lang=en", data=raw, content_type="application/json")
    assert field_codes(problem(response, 422)) == {field: "invalid_characters"}
    assert (
        response.get_json()["errors"][0]["message"] == "Contains characters that are not allowed."
    )
    assert row_count(session, Registration) == before


def test_audit_query_parameters_it_does_not_know_are_refused_by_name(web, demo_event, auth):
    # They were dropped without a word (?limt=5 listed 100 entries).
    response = web.get("/api/v1/events/wli-gbv-2023/audit?limt=5", headers=auth)
    assert field_codes(problem(response, 422)) == {"limt": "unknown_field"}
