"""The door's rules, one test per answer code (pure functions)."""

from datetime import date
from types import SimpleNamespace

import pytest

from services.checkin import domain
from tests.services.checkin.conftest import EVENT_ID, KEYRING, token

TODAY = date(2023, 2, 12)


def entry(**overrides):
    return SimpleNamespace(
        **{"generation": 1, "status": "active", "category_code": "DELEGATE", **overrides}
    )


def day_list(**overrides):
    return SimpleNamespace(**{"day": TODAY, "categories": None, **overrides})


def refusal(generation, the_entry, the_list) -> str:
    with pytest.raises(domain.ScanRefused) as caught:
        domain.admit(generation, the_entry, the_list, TODAY)
    return caught.value.code


def test_a_current_badge_on_its_day_is_admitted():
    domain.admit(1, entry(), day_list(), TODAY)


def test_an_older_generation_is_revoked():
    assert refusal(1, entry(generation=2), day_list()) == domain.REVOKED


def test_a_cancelled_registration_is_refused():
    assert refusal(1, entry(status="cancelled"), day_list()) == domain.CANCELLED


def test_a_badge_not_in_the_roster_is_unknown():
    assert refusal(1, None, day_list()) == domain.UNKNOWN_BADGE


def test_a_newer_generation_than_the_roster_is_unknown_until_the_roster_catches_up():
    assert refusal(2, entry(generation=1), day_list()) == domain.UNKNOWN_BADGE


def test_another_day_is_not_on_this_list():
    assert refusal(1, entry(), day_list(day=date(2023, 2, 13))) == domain.NOT_ON_THIS_LIST


def test_a_category_the_list_does_not_admit_is_not_on_this_list():
    the_list = day_list(categories=["SPEAKER"])
    assert refusal(1, entry(category_code="PRESS"), the_list) == domain.NOT_ON_THIS_LIST


def test_a_manual_check_in_skips_the_generation_check():
    domain.admit(None, entry(generation=5), day_list(), TODAY)


def test_a_token_of_another_event_is_invalid():
    with pytest.raises(domain.ScanRefused) as caught:
        domain.read_token(token(1, event_id=EVENT_ID + 1), KEYRING.public_keys(), EVENT_ID)
    assert (caught.value.code, caught.value.reason) == (domain.INVALID, "other_event")


def test_a_token_signed_with_another_key_is_invalid():
    from shared.badge_tokens import BadgeKeyring

    forged = BadgeKeyring.generate(key_id=1).sign(EVENT_ID, 1, 1)
    with pytest.raises(domain.ScanRefused) as caught:
        domain.read_token(forged, KEYRING.public_keys(), EVENT_ID)
    assert (caught.value.code, caught.value.reason) == (domain.INVALID, "bad_signature")


def test_lights_are_green_amber_or_red():
    assert [domain.light(s) for s in (domain.OK, domain.ALREADY_CHECKED_IN, domain.REVOKED)] == [
        "green",
        "amber",
        "red",
    ]
