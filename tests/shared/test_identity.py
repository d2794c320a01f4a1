"""Bearer tokens and signed links verify only when untouched, unexpired and for their purpose."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from shared.identity import (
    InvalidCredential,
    is_token_id,
    issue_api_token,
    issue_session,
    new_token_id,
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


# --- Fuzzing: whatever arrives, a credential is an Identity or InvalidCredential ---------------

# Any code point, lone surrogates included (a JSON body's "\ud800" decodes to one).
HOSTILE_TEXT = st.lists(
    st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=80
).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)
CLAIMS = st.fixed_dictionaries(
    {"sub": JSON_VALUES, "role": st.sampled_from(["admin", "focal_point", "x"]) | JSON_VALUES},
    optional={"ev": JSON_VALUES, "ag": JSON_VALUES, "jti": JSON_VALUES, "csrf": JSON_VALUES},
)


def _signed(claims, salt: str) -> str:
    return URLSafeTimedSerializer(SECRET, salt=salt).dumps(claims)


def _well_formed(identity) -> bool:
    scopes = (identity.events, identity.agencies)
    return all(s is None or all(type(i) is int for i in s) for s in scopes) and (
        identity.csrf is None or isinstance(identity.csrf, str)
    )


@given(HOSTILE_TEXT)
def test_any_text_after_the_token_prefix_is_refused_as_a_credential(text):
    with pytest.raises(InvalidCredential):
        verify_api_token(SECRET, "hdr_" + text, max_age=60)


@given(HOSTILE_TEXT)
def test_any_text_is_refused_as_a_session_cookie(text):
    with pytest.raises(InvalidCredential):
        verify_session(SECRET, text, max_age=60)


@given(HOSTILE_TEXT)
def test_any_text_is_refused_as_a_link_of_any_purpose(text):
    with pytest.raises(InvalidCredential):
        verify_link(SECRET, "delegate", text)


@given(CLAIMS | JSON_VALUES)
def test_signed_claims_of_any_shape_give_a_well_formed_identity_or_are_malformed(claims):
    for verify, token in (
        (verify_api_token, "hdr_" + _signed(claims, "api-token")),
        (verify_session, _signed(claims, "session")),
    ):
        try:
            identity = verify(SECRET, token, max_age=60)
        except InvalidCredential as error:
            assert error.code == "malformed"
        else:
            assert _well_formed(identity)


@pytest.mark.parametrize("text", ["hdr_\ud800", "hdr_abc\udfff.def"])
def test_a_lone_surrogate_in_a_token_is_malformed_not_an_encoding_crash(text):
    with pytest.raises(InvalidCredential, match="malformed"):
        verify_api_token(SECRET, text, max_age=60)
    with pytest.raises(InvalidCredential, match="malformed"):
        verify_session(SECRET, text[4:], max_age=60)


@pytest.mark.parametrize(
    "scope, csrf", [([float("inf")], None), ("123", None), ({"1": 1}, None), (None, 5)]
)
def test_signed_scopes_that_are_not_lists_of_ids_are_malformed(scope, csrf):
    claims = {"sub": "x", "role": "admin", "ev": scope, "jti": "t", "csrf": csrf}
    with pytest.raises(InvalidCredential, match="malformed"):
        verify_session(SECRET, _signed(claims, "session"), max_age=60)


@pytest.mark.parametrize(
    "text,valid",
    [
        ("Zk3_-q9AbCdEfGhI", True),
        ("0123456789abcdef", True),
        ("", False),
        ("a\x00b", False),
        ("a/b", False),
        ("x" * 65, False),
        ("حضور", False),
    ],
)
def test_only_url_safe_text_can_be_a_token_id(text, valid):
    assert is_token_id(text) is valid
    assert is_token_id(new_token_id())
