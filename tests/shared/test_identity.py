"""Bearer tokens and signed links verify only when untouched, unexpired and for their purpose."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.identity import (
    InvalidCredential,
    issue_api_token,
    issue_session,
    sign_link,
    verify_api_token,
    verify_link,
    verify_session,
)

SECRET = "s" * 40


def _token(**kwargs):
    claims = {"subject": "amal", "role": "organizer", "events": [3], "token_id": "t1"} | kwargs
    return issue_api_token(SECRET, **claims)


def test_token_round_trips_role_and_event_scope():
    identity = verify_api_token(SECRET, _token(), max_age=60)
    assert (identity.role, identity.events, identity.token_id) == ("organizer", (3,), "t1")
    assert identity.may_act_on(3) and not identity.may_act_on(4)


def test_unscoped_token_may_act_on_every_event():
    assert verify_api_token(SECRET, _token(events=None), max_age=60).may_act_on(99)


def test_token_signed_with_another_secret_is_refused():
    with pytest.raises(InvalidCredential) as caught:
        verify_api_token("x" * 40, _token(), max_age=60)
    assert caught.value.code == "bad_signature"


def test_expired_token_is_refused():
    token = _token()
    time.sleep(1.1)
    with pytest.raises(InvalidCredential) as caught:
        verify_api_token(SECRET, token, max_age=0)
    assert caught.value.code == "expired"


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError):
        _token(role="superuser")


@given(st.text(max_size=300))
def test_arbitrary_text_is_never_accepted_as_a_token(text):
    with pytest.raises(InvalidCredential):
        verify_api_token(SECRET, text, max_age=60)


def test_link_for_one_purpose_does_not_open_another():
    link = sign_link(SECRET, "delegate", 1, "abc")
    assert verify_link(SECRET, "delegate", link) == ["1", "abc"]
    assert len(link) < 45  # short enough for an SMS
    with pytest.raises(InvalidCredential):
        verify_link(SECRET, "agency", link)


@given(st.text(max_size=600))
def test_arbitrary_text_is_never_accepted_as_a_link(text):
    with pytest.raises(InvalidCredential):
        verify_link(SECRET, "delegate", text)


def test_focal_point_token_carries_its_agencies():
    identity = verify_api_token(SECRET, _token(role="focal_point", agencies=[7]), max_age=60)
    assert identity.may_act_for_agency(7) and not identity.may_act_for_agency(8)


def test_focal_point_token_without_agencies_acts_for_none():
    identity = verify_api_token(SECRET, _token(role="focal_point"), max_age=60)
    assert identity.agencies == () and not identity.may_act_for_agency(1)


def test_organizer_token_acts_for_every_agency_of_its_events():
    assert verify_api_token(SECRET, _token(), max_age=60).may_act_for_agency(42)


def test_session_cookie_round_trips_claims_with_a_csrf_secret():
    cookie = issue_session(SECRET, subject="a:1", role="viewer", events=[3], token_id="s1")
    identity = verify_session(SECRET, cookie, max_age=60)
    assert (identity.role, identity.events, identity.token_id) == ("viewer", (3,), "s1")
    assert identity.csrf and len(identity.csrf) == 32


def test_session_cookie_is_not_a_bearer_token_and_back():
    cookie = issue_session(SECRET, subject="a:1", role="admin", token_id="s1")
    with pytest.raises(InvalidCredential):
        verify_api_token(SECRET, "hdr_" + cookie, max_age=60)
    with pytest.raises(InvalidCredential):
        verify_session(SECRET, _token().removeprefix("hdr_"), max_age=60)


def test_token_scoped_to_no_event_acts_on_none():
    assert not verify_api_token(SECRET, _token(events=[]), max_age=60).may_act_on(1)
