"""Scanning on a real database: each answer, nonce replay, exits, undo, manual check-in, races."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, insert, select, update

from services.checkin import operations
from services.checkin.domain import local_date
from services.checkin.models import AuditEntry, Checkin, CheckinList, Scan
from services.checkin.operations import ScanRequest
from shared.db import utcnow
from shared.problems import DomainError
from tests.services.checkin.conftest import KEYRING, nonce, roster_event, token


def scan(session, keys, checkin_list, badge_token, **kwargs) -> dict:
    request = ScanRequest(
        list_id=checkin_list.id,
        nonce=kwargs.pop("nonce", None) or nonce(),
        gate=kwargs.pop("gate", "north"),
        token=badge_token,
        **kwargs,
    )
    return operations.scan(session, keys, request)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_first_scan_is_ok_and_shows_who_it_is(roster, keys, today_list):
    answer = scan(roster, keys, today_list, token(1))
    assert (answer["status"], answer["light"]) == ("ok", "green")
    assert answer["badge"]["full_name_ar"] == "د. يسرى كريم محسن العلاق"
    assert answer["badge"]["category_color"] == "#1f6feb"
    assert "email" not in answer["badge"] and "phone" not in answer["badge"]


def test_second_scan_says_already_checked_in_with_first_time_and_gate(roster, keys, today_list):
    first = scan(roster, keys, today_list, token(1), gate="north")
    second = scan(roster, keys, today_list, token(1), gate="south")
    assert second["status"] == "already_checked_in" and second["light"] == "amber"
    assert second["first_checkin"] == {"at": first["recorded_at"], "gate": "north"}
    assert count(roster, Checkin) == 1


def test_the_same_nonce_replays_the_first_answer_and_records_nothing(roster, keys, today_list):
    first = scan(roster, keys, today_list, token(1), nonce="retry-nonce-1")
    again = scan(roster, keys, today_list, token(1), nonce="retry-nonce-1")
    assert again == first and again["status"] == "ok"
    assert count(roster, Scan) == 1


def test_a_reissued_badge_old_qr_is_revoked(roster, keys, today_list):
    operations.apply_roster_event(roster, roster_event(1, version=2, generation=2))
    assert scan(roster, keys, today_list, token(1, generation=1))["status"] == "revoked"
    assert scan(roster, keys, today_list, token(1, generation=2))["status"] == "ok"


def test_a_cancelled_delegate_is_refused(roster, keys, today_list):
    operations.apply_roster_event(roster, roster_event(2, version=2, status="cancelled"))
    answer = scan(roster, keys, today_list, token(2))
    assert (answer["status"], answer["light"]) == ("cancelled", "red")


def test_a_category_the_session_does_not_admit_is_not_on_this_list(roster, keys, today_list):
    today_list.categories = ["DELEGATE"]
    roster.commit()
    answer = scan(roster, keys, today_list, token(3))
    assert (answer["status"], answer["reason"]) == ("not_on_this_list", "category_not_admitted")


def test_the_day_list_of_another_day_is_not_on_this_list(roster, keys):
    day_list = roster.scalar(select(CheckinList).where(CheckinList.name_en.like("Day 1%")))
    answer = scan(roster, keys, day_list, token(1))
    assert (answer["status"], answer["reason"]) == ("not_on_this_list", "wrong_day")


def test_a_signed_badge_missing_from_the_roster_is_unknown(roster, keys, today_list):
    answer = scan(roster, keys, today_list, token(99))
    assert answer["status"] == "unknown_badge" and answer["badge"] is None


@pytest.mark.parametrize("bad", ["", "HELLO", "A" * 122, "http://example.org/badge"])
def test_garbage_is_invalid_and_shows_nobody(roster, keys, today_list, bad):
    answer = scan(roster, keys, today_list, bad)
    assert (answer["status"], answer["badge"]) == ("invalid", None)


def test_exit_then_entry_tracks_who_is_inside(roster, keys, today_list):
    assert scan(roster, keys, today_list, token(1), direction="exit")["status"] == "not_inside"
    scan(roster, keys, today_list, token(1))
    assert scan(roster, keys, today_list, token(1), direction="exit")["status"] == "ok"
    assert roster.scalar(select(Checkin.inside)) is False
    back = scan(roster, keys, today_list, token(1))
    assert (back["status"], back["reason"]) == ("ok", "re_entry")


def test_undo_lets_the_badge_check_in_again_and_is_audited(roster, keys, today_list):
    scan(roster, keys, today_list, token(1))
    checkin = roster.scalar(select(Checkin))
    operations.undo_checkin(roster, checkin.id, "scanned the wrong badge", "door-1")
    assert scan(roster, keys, today_list, token(1))["status"] == "ok"
    audit = roster.scalar(select(AuditEntry).where(AuditEntry.action == "checkin.undone"))
    assert audit.detail["reason"] == "scanned the wrong badge" and audit.actor == "door-1"


def test_manual_check_in_by_badge_id_follows_the_same_rules(roster, today_list):
    request = ScanRequest(list_id=today_list.id, nonce=nonce(), gate="desk", badge_id=2)
    assert operations.manual_checkin(roster, request, "desk-staff")["status"] == "ok"
    again = ScanRequest(list_id=today_list.id, nonce=nonce(), gate="desk", badge_id=2)
    assert operations.manual_checkin(roster, again, "desk-staff")["status"] == (
        "already_checked_in"
    )
    assert count(roster, AuditEntry) == 2


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_mutations_of_a_valid_token_are_never_ok(roster, keys, today_list, data):
    valid = token(2)
    position = data.draw(st.integers(0, len(valid) - 1))
    replacement = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    mutated = valid[:position] + replacement + valid[position + 1 :]
    if mutated == valid:
        return
    answer = scan(roster, keys, today_list, mutated)
    assert answer["status"] != "ok"


def test_a_token_is_verified_with_the_public_key_alone(roster, today_list):
    public_only = {1: KEYRING.public_keys()[1]}
    assert scan(roster, public_only, today_list, token(1))["status"] == "ok"


def test_a_nonce_reused_for_another_badge_is_refused_not_replayed(roster, keys, today_list):
    scan(roster, keys, today_list, token(1), nonce="shared-nonce-1")
    with pytest.raises(DomainError) as caught:
        scan(roster, keys, today_list, token(2), nonce="shared-nonce-1")
    assert caught.value.code == "nonce_reused"


def test_the_same_nonce_at_another_event_is_a_different_scan(roster, keys, today_list):
    operations.apply_roster_event(roster, roster_event(60, event_id=2))
    other_list = operations.lists_of(roster, 2)[0]
    other_list.day = None
    roster.commit()
    scan(roster, keys, today_list, token(1), nonce="same-nonce-22")
    answer = scan(roster, keys, other_list, token(60, event_id=2), nonce="same-nonce-22")
    assert answer["status"] == "ok" and answer["badge"]["id"] == 60


def _yesterday_list(session) -> CheckinList:
    yesterday = local_date(utcnow() - timedelta(days=1), "Asia/Baghdad")
    checkin_list = CheckinList(
        event_id=1, name_ar="أمس", name_en="Yesterday", day=yesterday, created_at=utcnow()
    )
    session.add(checkin_list)
    session.commit()
    return checkin_list


def test_an_offline_scan_is_judged_and_timed_when_the_badge_was_shown(roster, keys):
    shown = utcnow() - timedelta(hours=23)
    yesterday = _yesterday_list(roster)
    if local_date(shown, "Asia/Baghdad") != yesterday.day:
        pytest.skip("23 hours ago is still today in Baghdad (after 23:00 there)")
    answer = scan(roster, keys, yesterday, token(1), offline=True, scanned_at=shown)
    assert answer["status"] == "ok"
    checkin = roster.scalar(select(Checkin).where(Checkin.badge_id == 1))
    assert checkin.checked_in_at == shown


@pytest.mark.parametrize(
    "offset", [timedelta(hours=-30), timedelta(hours=2)], ids=["too_old", "in_the_future"]
)
def test_an_implausible_offline_time_is_replaced_by_the_arrival_time(
    roster, keys, today_list, offset
):
    answer = scan(roster, keys, today_list, token(1), offline=True, scanned_at=utcnow() + offset)
    assert answer["status"] == "ok"
    checkin = roster.scalar(select(Checkin).where(Checkin.badge_id == 1))
    assert abs(checkin.checked_in_at - utcnow()) < timedelta(minutes=1)


def test_an_online_scan_is_timed_by_the_server(roster, keys, today_list):
    scan(roster, keys, today_list, token(1), scanned_at=utcnow() - timedelta(hours=3))
    checkin = roster.scalar(select(Checkin).where(Checkin.badge_id == 1))
    assert abs(checkin.checked_in_at - utcnow()) < timedelta(minutes=1)


@contextmanager
def meanwhile(factory, *steps):
    """Commit each (statement start, work) step just before the scan's next such statement.

    On PostgreSQL another connection commits the work, as another door or an operator would.
    SQLite's writers take turns (BEGIN IMMEDIATE), so there the scan's own connection commits
    it and carries on in a new transaction: the same stale lookup meets the same constraint.
    """
    engine, pending = factory.kw["bind"], list(steps)

    def hook(connection, cursor, statement, parameters, context, executemany):
        if not pending or not statement.startswith(pending[0][0]):
            return
        work = pending.pop(0)[1]
        if connection.dialect.name == "postgresql":
            with engine.begin() as other:
                work(other)
        else:
            work(connection)
            connection.exec_driver_sql("COMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield pending
    finally:
        event.remove(engine, "before_cursor_execute", hook)


LOOKUP, CHECK_IN, RECORD = "SELECT checkin_lists.id", "INSERT INTO checkins", "INSERT INTO scans"


@pytest.fixture
def committed_list(committing_factory) -> dict:
    """Delegate 1 on the roster and a list for today, committed; the list's row."""
    with committing_factory() as session:
        operations.apply_roster_event(session, roster_event(1))
        session.add(
            CheckinList(
                event_id=1,
                name_ar="اليوم",
                name_en="Today",
                created_at=utcnow(),
                day=local_date(utcnow(), "Asia/Baghdad"),
            )
        )
        session.commit()
        today = select(CheckinList.__table__).where(CheckinList.name_en == "Today")
        return dict(session.execute(today).one()._mapping)


def _delete_list(list_id):
    return lambda connection: connection.execute(
        delete(CheckinList).where(CheckinList.id == list_id)
    )


def _other_door_checks_in(list_id):
    row = {"event_id": 1, "list_id": list_id, "badge_id": 1, "gate": "south", "inside": True}
    row.update(checked_in_at=utcnow(), last_movement_at=utcnow())
    return lambda connection: connection.execute(insert(Checkin.__table__).values(row))


def _committed_scan(factory, list_id: int, badge_token: str, **kwargs) -> dict:
    request = ScanRequest(list_id=list_id, gate="north", token=badge_token, **kwargs)
    with factory() as session:
        return operations.scan(session, KEYRING.public_keys(), request)


def _stored(factory, model) -> int:
    with factory() as session:
        return count(session, model)


@pytest.mark.parametrize(
    "badge_token,statement",
    [(token(1), CHECK_IN), (token(99), RECORD), ("not-a-badge", RECORD)],
    ids=["admitted", "unknown_badge", "invalid"],
)
def test_a_list_deleted_while_a_scan_is_judged_is_not_found_not_a_null_answer(
    committing_factory, committed_list, badge_token, statement
):
    # Its foreign key failed the scan's insert: the admitted badge's was a 500, the refused
    # scan's an answer of None (a 200 with a `null` body), as no scan held its nonce.
    list_id = committed_list["id"]
    steps = [(statement, _delete_list(list_id))]
    with meanwhile(committing_factory, *steps) as pending, pytest.raises(DomainError) as refused:
        _committed_scan(committing_factory, list_id, badge_token, nonce=nonce())
    assert (refused.value.code, refused.value.status, pending) == ("list_not_found", 404, [])
    assert _stored(committing_factory, Checkin) == _stored(committing_factory, Scan) == 0


def test_a_list_deleted_at_every_attempt_is_a_conflict_to_scan_again(
    committing_factory, committed_list
):
    list_id = committed_list["id"]

    def restore(connection):
        connection.execute(insert(CheckinList.__table__).values(committed_list))

    steps = [
        (CHECK_IN, _delete_list(list_id)),
        (LOOKUP, restore),
        (CHECK_IN, _delete_list(list_id)),
    ]
    with meanwhile(committing_factory, *steps) as pending, pytest.raises(DomainError) as refused:
        _committed_scan(committing_factory, list_id, token(1), nonce=nonce())
    assert (refused.value.code, refused.value.status, pending) == ("scan_not_recorded", 409, [])
    assert _stored(committing_factory, Scan) == 0


def test_a_check_in_by_another_door_meanwhile_makes_this_one_already_checked_in(
    committing_factory, committed_list
):
    # The live check-in index (uq_checkins_live) never fails the insert: it is the conflict
    # the check-in's INSERT ... ON CONFLICT DO NOTHING expects.
    steps = [(CHECK_IN, _other_door_checks_in(committed_list["id"]))]
    with meanwhile(committing_factory, *steps) as pending:
        answer = _committed_scan(committing_factory, committed_list["id"], token(1), nonce=nonce())
    assert (answer["status"], answer["first_checkin"]["gate"], pending) == (
        "already_checked_in",
        "south",
        [],
    )


def test_a_check_in_met_then_undone_meanwhile_lets_this_one_in(committing_factory, committed_list):
    # PostgreSQL's read of the check-in met found nothing: `.one()` raised, a 500.

    def undo(connection):
        connection.execute(update(Checkin).values(undone_at=utcnow(), inside=False))

    steps = [(CHECK_IN, _other_door_checks_in(committed_list["id"])), ("SELECT checkins.id", undo)]
    with meanwhile(committing_factory, *steps) as pending:
        answer = _committed_scan(committing_factory, committed_list["id"], token(1), nonce=nonce())
    assert (answer["status"], answer["reason"], pending) == ("ok", None, [])


def test_a_nonce_answered_by_another_request_meanwhile_is_replayed(
    committing_factory, committed_list
):
    list_id = committed_list["id"]
    first = _committed_scan(committing_factory, list_id, token(1), nonce="raced-nonce-1")
    with committing_factory() as session:
        stored = dict(session.execute(select(Scan.__table__)).one()._mapping)
        session.execute(delete(Scan))
        session.commit()
    stored.pop("id")

    def answer_it(connection):
        connection.execute(insert(Scan.__table__).values(stored))

    with meanwhile(committing_factory, (RECORD, answer_it)) as pending:
        again = _committed_scan(committing_factory, list_id, token(1), nonce="raced-nonce-1")
    assert (again, pending) == (first, [])
    assert _stored(committing_factory, Scan) == 1
