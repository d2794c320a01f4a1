"""Retention: check-in keeps an old event's attendance figures and drops its personal values."""

from __future__ import annotations

from sqlalchemy import func, select

from services.checkin import operations
from services.checkin.models import Base, Checkin, RosterEntry, Scan
from services.checkin.retention import purge
from shared.retention import cutoff
from tests.services.checkin.conftest import roster_event
from tests.services.checkin.test_scanning import scan, token

OLD = ("يسرى كريم", "Yusra", "d1@example.org", "+9647700000001")
RECENT = ("سلمى الجديدة", "Salma Recent", "salma@example.org", "+9647709876543")


def _everything(session) -> str:
    rows = []
    for table in Base.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in session.execute(select(table))]
    return "\n".join(rows)


def _recent(session) -> None:
    payload = roster_event(
        50,
        event_id=2,
        days=("2999-01-01",),
        name_ar=RECENT[0],
        name_en=RECENT[1],
        email=RECENT[2],
        phone=RECENT[3],
    )
    operations.apply_roster_event(session, payload)
    session.commit()


def test_purge_drops_names_from_roster_and_scans_and_keeps_the_figures(roster, keys, today_list):
    session = roster
    _recent(session)
    assert scan(session, keys, today_list, token(1))["status"] == "ok"
    checkins = session.scalar(select(func.count()).select_from(Checkin))
    before = _everything(session)
    assert all(value in before for value in OLD + RECENT)

    counts = purge(session, cutoff(180))
    session.commit()
    assert counts["roster"] == 3 and counts["scans"] == 1
    session.expire_all()
    after = _everything(session)
    assert [value for value in OLD if value in after] == []
    assert all(value in after for value in RECENT)
    assert session.scalar(select(func.count()).select_from(Checkin)) == checkins
    assert session.scalars(select(Scan.status)).all() == ["ok"]
    entry = session.get(RosterEntry, 1)
    assert (entry.agency_code, entry.category_code, entry.gender) == ("IWED", "DELEGATE", "female")

    assert set(purge(session, cutoff(180)).values()) == {0}
