"""Retention: an event past the period keeps its figures and loses every personal value."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from services.registration.models import Base, Registration
from tests.services.registration.api.calls import create_event_with_delegates
from tests.services.registration.conftest import delegate

OLD = (
    "د. يسرى كريم محسن العلاق",
    "Yusra",
    "Director General",
    "yusra@example.org",
    "+9647701234567",
)
RECENT = ("سلمى الجديدة", "Salma Recent", "Adviser", "salma@example.org", "+9647709876543")


def _everything(session) -> str:
    """Every row of every table of the service, as text."""
    rows = []
    for table in Base.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in session.execute(select(table))]
    return "\n".join(rows).replace("\\\\u", "\\u")


def _register_recent(client, auth) -> None:
    create_event_with_delegates(client, auth)
    payload = delegate(
        full_name_ar=RECENT[0],
        full_name_en=RECENT[1],
        job_title=RECENT[2],
        email=RECENT[3],
        phone=RECENT[4],
        agency="UNW",
    )
    response = client.post("/api/v1/events/erbil-forum-2030/registrations", json=payload)
    assert response.status_code == 201, response.get_json()


def _purge(app, *options) -> str:
    result = app.test_cli_runner().invoke(args=["purge-personal-data", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_purge_leaves_no_personal_value_of_an_old_event_and_spares_a_recent_one(
    app, client, auth, session, registered
):
    _register_recent(client, auth)
    before = _everything(session)
    assert all(value in before for value in OLD + RECENT)

    assert "registrations: would change 1" in _purge(app, "--dry-run")
    assert _everything(session) == before

    assert "registrations: changed 1" in _purge(app, "--older-than-days", "180")
    session.expire_all()
    after = _everything(session)
    assert [value for value in OLD if value in after] == []
    assert all(value in after for value in RECENT)
    row = session.get(Registration, registered.id)
    figures = (row.event_id, row.agency_id, row.category_id, row.gender, row.status)
    assert figures == (
        registered.event_id,
        registered.agency_id,
        registered.category_id,
        "female",
        "active",
    )

    assert "registrations: changed 0" in _purge(app)
    assert _everything(session) == after


def test_a_purged_delegates_private_link_no_longer_opens_the_badge(app, client, ctx, registered):
    path = urlsplit(ctx.delegate_link(registered)).path
    assert client.get(path).status_code == 200
    _purge(app)
    assert client.get(path).status_code == 404
