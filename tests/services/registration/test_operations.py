"""Registration use cases on a real database: seats, uniqueness, window, outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.registration import operations
from services.registration.models import Agency, Event, OutboxMessage, Registration
from services.registration.schemas import RegistrationSchema
from shared.arabic import matches
from shared.contracts import DelegateEventSchema
from shared.db import utcnow
from shared.problems import DomainError
from tests.services.registration.conftest import delegate, nth_delegate

schema = RegistrationSchema()


def register(session, ctx, event, payload, **kwargs):
    registration = operations.register_delegate(session, ctx, event, schema.load(payload), **kwargs)
    session.commit()
    return registration


def refused(session, ctx, event, payload, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        register(session, ctx, event, payload, **kwargs)
    session.rollback()
    return caught.value


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_registration_takes_a_seat_of_event_and_agency(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    assert registration.status == "active"
    assert registration.phone == "+9647701234567"
    assert registration.agency.registered_count == 1
    assert session.get(Event, demo_event.id).registered_count == 1


def test_arabic_name_is_kept_as_typed_with_a_search_key(session, ctx, demo_event):
    name = "إسْراء  عبد الرحمن"
    registration = register(session, ctx, demo_event, delegate(full_name_ar=name))
    assert registration.full_name_ar == name
    assert matches("اسراء", registration.name_key)
    assert matches("إسراء عبدالرحمن", registration.name_key)  # written joined or apart


def test_full_agency_quota_refuses_and_writes_nothing(session, ctx, demo_event):
    agency = operations.get_agency(session, demo_event, "IWED")
    operations.update_agency(session, agency, {"quota": 1})
    register(session, ctx, demo_event, nth_delegate(1))
    before = (count(session, Registration), count(session, OutboxMessage))
    error = refused(session, ctx, demo_event, nth_delegate(2))
    assert (error.code, error.status, error.fields[0].field) == ("quota_full", 409, "agency")
    assert (count(session, Registration), count(session, OutboxMessage)) == before
    assert session.get(Event, demo_event.id).registered_count == 1


def test_full_event_refuses_even_when_agency_has_room(session, ctx, demo_event):
    session.get(Event, demo_event.id).capacity = 1
    session.commit()
    register(session, ctx, demo_event, nth_delegate(1))
    error = refused(session, ctx, demo_event, nth_delegate(2, agency="MOE"))
    assert error.code == "event_full"
    assert operations.get_agency(session, demo_event, "MOE").registered_count == 0


@pytest.mark.parametrize(
    "other",
    [
        {"email": "YUSRA@Example.org", "phone": "0780 000 0000"},
        {"email": "other@example.org", "phone": "+964 770 123 4567"},
    ],
    ids=["same email", "same phone"],
)
def test_same_person_twice_is_refused_without_saying_which_contact_matched(
    session, ctx, demo_event, other
):
    register(session, ctx, demo_event, delegate())
    error = refused(session, ctx, demo_event, delegate(**other))
    assert error.code == "duplicate_person"
    assert [(f.field, f.code) for f in error.fields] == [
        ("email", "duplicate_contact"),
        ("phone", "duplicate_contact"),
    ]


def test_a_full_agency_answers_full_whether_or_not_the_person_is_registered(
    session, ctx, demo_event
):
    # Else "already registered" for one address and "full" for another tells them apart.
    register(session, ctx, demo_event, delegate())
    operations.get_agency(session, demo_event, "IWED").quota = 1
    session.commit()
    registered_person = refused(session, ctx, demo_event, delegate(phone="0780 000 0000"))
    stranger = refused(session, ctx, demo_event, nth_delegate(3))
    assert registered_person.code == stranger.code == "quota_full"


def test_cancelled_person_may_register_again(session, ctx, demo_event):
    first = register(session, ctx, demo_event, delegate())
    operations.cancel_registration(session, ctx, first)
    session.commit()
    again = register(session, ctx, demo_event, delegate())
    assert again.id != first.id


def test_registration_before_opening_is_refused(session, ctx, demo_event):
    session.get(Event, demo_event.id).registration_opens_at = utcnow() + timedelta(days=1)
    session.commit()
    assert refused(session, ctx, demo_event, delegate()).code == "registration_not_open"


def test_registration_after_closing_is_refused_but_organizers_may_register(
    session, ctx, demo_event
):
    session.get(Event, demo_event.id).registration_closes_at = utcnow() - timedelta(hours=1)
    session.commit()
    assert refused(session, ctx, demo_event, delegate()).code == "registration_closed"
    assert register(session, ctx, demo_event, delegate(), privileged=True).status == "active"


def test_unknown_agency_is_a_field_error(session, ctx, demo_event):
    error = refused(session, ctx, demo_event, delegate(agency="NOPE"))
    assert (error.code, error.fields[0].field) == ("unknown_agency", "agency")


def test_speaker_category_needs_an_organizer(session, ctx, demo_event):
    error = refused(session, ctx, demo_event, delegate(category="SPEAKER"))
    assert error.code == "category_not_allowed"
    registration = register(session, ctx, demo_event, delegate(category="SPEAKER"), privileged=True)
    assert registration.category.code == "SPEAKER"


def test_sms_channel_needs_a_phone(session, ctx, demo_event):
    # The schema says so too; the use case holds the rule for callers that skip it.
    data = schema.load(delegate(channel="email", phone=None)) | {"channel": "sms"}
    with pytest.raises(DomainError) as caught:
        operations.register_delegate(session, ctx, demo_event, data)
    error = caught.value
    assert (error.code, error.fields[0].field) == ("phone_required_for_channel", "phone")


def test_focal_point_agency_overrides_the_payload(session, ctx, demo_event):
    agency = operations.get_agency(session, demo_event, "MOE")
    registration = register(session, ctx, demo_event, delegate(agency="IWED"), agency=agency)
    assert registration.agency.code == "MOE"


def test_cancel_frees_the_seat_and_cannot_happen_twice(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    operations.cancel_registration(session, ctx, registration, "changed plans")
    session.commit()
    assert registration.status == "cancelled"
    assert session.get(Agency, registration.agency_id).registered_count == 0
    with pytest.raises(DomainError) as caught:
        operations.cancel_registration(session, ctx, registration)
    assert caught.value.code == "already_cancelled"


def test_reissue_bumps_the_generation_and_changes_the_token(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    old_token = ctx.badge_token(registration)
    operations.reissue_badge(session, ctx, registration, "lost badge")
    session.commit()
    assert registration.badge_generation == 2
    assert ctx.badge_token(registration) != old_token


def test_update_contact_renormalises_and_checks_duplicates(session, ctx, demo_event):
    first = register(session, ctx, demo_event, nth_delegate(1))
    second = register(session, ctx, demo_event, nth_delegate(2))
    operations.update_contact(session, ctx, first, {"phone": "+9647811111111"})
    session.commit()
    assert first.version == 2
    with pytest.raises(DomainError) as caught:
        operations.update_contact(session, ctx, second, {"email": first.email})
    assert caught.value.fields[0].field == "email"


def test_every_change_writes_a_contract_valid_outbox_event(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    operations.update_contact(session, ctx, registration, {"language": "en"})
    operations.reissue_badge(session, ctx, registration, "lost")
    operations.cancel_registration(session, ctx, registration, "no longer attending")
    session.commit()
    query = select(OutboxMessage).where(OutboxMessage.topic != "event.changed")
    messages = session.scalars(query.order_by(OutboxMessage.id)).all()
    assert [m.topic for m in messages] == [
        "delegate.registered",
        "delegate.updated",
        "badge.reissued",
        "delegate.cancelled",
    ]
    assert [m.payload["delegate"]["version"] for m in messages] == [1, 2, 3, 4]
    for message in messages:
        assert DelegateEventSchema().validate(message.payload) == {}
        assert message.published_at is None


def test_outbox_event_carries_what_consumers_need(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    query = select(OutboxMessage).where(OutboxMessage.topic == "delegate.registered")
    payload = session.scalar(query).payload
    assert payload["badge_token"] == ctx.badge_token(registration)
    assert payload["self_service_url"] == ctx.delegate_link(registration)
    assert payload["event"]["timezone"] == "Asia/Baghdad"
    assert payload["event"]["days"] == ["2023-02-12"]
    assert payload["delegate"]["agency"]["name_ar"].startswith("دائرة تمكين المرأة")
    assert payload["delegate"]["category"]["color"] == "#1f6feb"
    assert payload["delegate"]["email"] == "yusra@example.org"


def test_delegate_link_resolves_and_is_revoked_by_a_new_nonce(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    token = ctx.delegate_link(registration).rsplit("/", 1)[-1]
    assert operations.resolve_delegate_link(session, ctx.secret_key, token) is registration
    registration.link_nonce = operations.new_nonce()
    with pytest.raises(DomainError):
        operations.resolve_delegate_link(session, ctx.secret_key, token)


def test_agency_link_is_revocable(session, ctx, demo_event):
    agency = operations.get_agency(session, demo_event, "WLI")
    token = ctx.agency_link(agency, demo_event).rsplit("/", 1)[-1]
    assert operations.resolve_agency_link(session, ctx.secret_key, demo_event, token) is agency
    operations.revoke_agency_link(session, agency)
    with pytest.raises(DomainError) as caught:
        operations.resolve_agency_link(session, ctx.secret_key, demo_event, token)
    assert caught.value.code == "link_invalid"


def test_quota_cannot_drop_below_registrations(session, ctx, demo_event):
    register(session, ctx, demo_event, nth_delegate(1))
    agency = operations.get_agency(session, demo_event, "IWED")
    with pytest.raises(DomainError) as caught:
        operations.update_agency(session, agency, {"quota": 0})
    assert caught.value.code == "quota_below_registered"


def _link_token(ctx, registration) -> str:
    return ctx.delegate_link(registration).rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "change",
    [{"email": "yusra.k@example.org"}, {"phone": "+9647812345678"}, {"email": None}],
    ids=["email", "phone", "email-removed"],
)
def test_a_new_address_renews_the_private_link_and_the_badge(session, ctx, demo_event, change):
    registration = register(session, ctx, demo_event, delegate(channel="both"))
    old_link, old_badge = _link_token(ctx, registration), ctx.badge_token(registration)
    operations.update_contact(session, ctx, registration, change | {"channel": "sms"})
    session.commit()
    with pytest.raises(DomainError) as caught:
        operations.resolve_delegate_link(session, ctx.secret_key, old_link)
    assert caught.value.code == "link_invalid"
    new_link = _link_token(ctx, registration)
    assert operations.resolve_delegate_link(session, ctx.secret_key, new_link) is registration
    assert registration.badge_generation == 2 and ctx.badge_token(registration) != old_badge


def test_the_update_event_sends_the_new_link_and_badge_to_the_new_address(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    operations.update_contact(session, ctx, registration, {"email": "yusra.k@example.org"})
    session.commit()
    query = select(OutboxMessage).where(OutboxMessage.topic == "delegate.updated")
    payload = session.scalar(query).payload
    assert DelegateEventSchema().validate(payload) == {}
    assert payload["reason"] == "contact_changed"
    assert payload["delegate"]["email"] == "yusra.k@example.org"
    assert payload["self_service_url"] == ctx.delegate_link(registration)
    assert payload["badge_token"] == ctx.badge_token(registration)


def test_unchanged_addresses_keep_the_private_link_and_the_badge(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    link = _link_token(ctx, registration)
    same = {"email": registration.email, "phone": registration.phone}
    operations.update_contact(session, ctx, registration, same | {"channel": "both"})
    operations.update_contact(session, ctx, registration, {"language": "en"})
    session.commit()
    assert operations.resolve_delegate_link(session, ctx.secret_key, link) is registration
    assert (registration.badge_generation, registration.version) == (1, 3)
    query = select(OutboxMessage.payload).where(OutboxMessage.topic == "delegate.updated")
    assert [p["reason"] for p in session.scalars(query)] == [None, None]


def test_a_refused_new_address_changes_nothing(session, ctx, demo_event):
    first = register(session, ctx, demo_event, nth_delegate(1))
    second = register(session, ctx, demo_event, nth_delegate(2))
    link, messages = _link_token(ctx, second), count(session, OutboxMessage)
    with pytest.raises(DomainError):
        operations.update_contact(session, ctx, second, {"phone": first.phone})
    with pytest.raises(DomainError):
        operations.update_contact(session, ctx, second, {"email": None, "channel": "email"})
    session.rollback()
    assert operations.resolve_delegate_link(session, ctx.secret_key, link) is second
    assert (second.badge_generation, second.version) == (1, 1)
    assert count(session, OutboxMessage) == messages


def test_reissue_also_replaces_the_private_link(session, ctx, demo_event):
    registration = register(session, ctx, demo_event, delegate())
    old_link = ctx.delegate_link(registration).rsplit("/", 1)[-1]
    operations.reissue_badge(session, ctx, registration, "lost with its confirmation")
    session.commit()
    with pytest.raises(DomainError):
        operations.resolve_delegate_link(session, ctx.secret_key, old_link)
    new_link = ctx.delegate_link(registration).rsplit("/", 1)[-1]
    assert operations.resolve_delegate_link(session, ctx.secret_key, new_link) is registration
