"""Pure registration rules: the registration window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.registration import domain
from shared.problems import DomainError

DAYS = [date(2026, 3, 2), date(2026, 3, 1)]
BAGHDAD_MIDNIGHT_AFTER = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 3 March 00:00 in Baghdad


def is_open(closes_at, now) -> bool:
    deadline = domain.registration_deadline(closes_at, DAYS, "Asia/Baghdad")
    try:
        domain.check_registration_window(None, deadline, now)
    except DomainError:
        return False
    return True


def test_without_a_closing_time_registration_closes_when_the_last_day_ends_there():
    def open_at(now):
        return is_open(None, now)

    assert open_at(BAGHDAD_MIDNIGHT_AFTER - timedelta(seconds=1))
    assert not open_at(BAGHDAD_MIDNIGHT_AFTER)


def test_a_closing_time_decides_even_after_the_last_day():
    closes = BAGHDAD_MIDNIGHT_AFTER + timedelta(days=2)
    now = BAGHDAD_MIDNIGHT_AFTER + timedelta(days=1)
    assert is_open(closes, now)
    assert domain.registration_deadline(closes, DAYS, "Asia/Baghdad") == closes


def test_the_deadline_is_midnight_after_the_last_day_in_the_events_timezone():
    deadline = domain.registration_deadline(None, DAYS, "America/New_York")
    assert deadline == datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
