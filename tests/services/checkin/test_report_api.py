"""The attendance API: the same numbers as the query layer, for the roles allowed to see them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.checkin.models import AuditEntry, EventInfo
from services.checkin.operations import attendance
from services.checkin.report_schemas import AttendanceSchema, report_document
from shared.identity import issue_api_token, issue_session
from tests.services.checkin.conftest import EVENT_ID, SECRET, bearer
from tests.services.checkin.generated_event import generate
from tests.services.checkin.test_attendance import BREAKDOWNS

URL = f"/api/v1/events/{EVENT_ID}"


@pytest.fixture
def world(session):
    return generate(session)


def focal_point(*agencies: int) -> dict:
    token = issue_api_token(
        SECRET,
        subject="focal@example.org",
        role="focal_point",
        events=[EVENT_ID],
        token_id=uuid.uuid4().hex[:12],
        agencies=list(agencies),
    )
    return {"Authorization": f"Bearer {token}"}


def test_the_api_gives_the_query_layer_s_numbers(client, session, world):
    body = client.get(f"{URL}/attendance?by=agency,day", headers=bearer("viewer")).get_json()
    scope = attendance.Scope(session.get(EventInfo, EVENT_ID))
    expected = attendance.report(session, scope, ("agency", "day"))
    assert body["by"] == ["agency", "day"]
    assert len(body["rows"]) == len(expected["rows"]) == 12 * 3
    for sent, row in zip(body["rows"], expected["rows"], strict=True):
        assert (sent["agency"]["code"], sent["day"]) == (row["agency"]["code"], row["day"])
        assert sent["attended"] == row["attended"] and sent["quota"] == row["quota"]
        if row["first_arrival"]:
            assert sent["first_arrival"] == row["first_arrival"].isoformat()
            assert sent["first_arrival"].endswith("+03:00")
    assert body["totals"]["registered"] == expected["totals"]["registered"]


@pytest.mark.parametrize("by", BREAKDOWNS, ids=",".join)
def test_the_report_document_is_what_its_schema_dumps(session, world, by):
    for agencies in (None, (101, 103)):
        scope = attendance.Scope(session.get(EventInfo, EVENT_ID), agencies)
        report = attendance.report(session, scope, by)
        assert report_document(report) == AttendanceSchema().dump(report)


@pytest.mark.parametrize("role", ["admin", "organizer", "viewer"])
def test_organizer_roles_see_every_agency(client, world, role):
    response = client.get(f"{URL}/attendance", headers=bearer(role))
    assert response.status_code == 200
    assert len(response.get_json()["rows"]) == 12


@pytest.mark.parametrize("role", ["device", "delegate"])
def test_devices_and_delegates_see_no_report(client, world, role):
    for path in ("attendance", "no-shows", "inside", "attendance.xlsx", "arrivals?day=2023-02-12"):
        assert client.get(f"{URL}/{path}", headers=bearer(role)).status_code == 403


def test_nobody_and_other_events_see_nothing(client, world):
    assert client.get(f"{URL}/attendance").status_code == 401
    assert client.get(f"{URL}/attendance", headers=bearer("organizer", [2])).status_code == 403


def test_a_focal_point_sees_only_their_agency_s_figures(client, session, world):
    body = client.get(f"{URL}/attendance?by=agency,gender", headers=focal_point(103)).get_json()
    assert {row["agency"]["id"] for row in body["rows"]} == {103}
    mine = [p for p in world.people if p.agency_id == 103 and p.status == "active"]
    assert body["totals"]["registered"] == len(mine)
    assert client.get(f"{URL}/attendance", headers=focal_point()).get_json()["rows"] == []
    people = client.get(f"{URL}/no-shows", headers=focal_point(103)).get_json()
    assert {p["agency_code"] for p in people} <= {"AG03"}
    assert client.get(f"{URL}/no-shows?agency=AG04", headers=focal_point(103)).status_code == 403


def test_no_shows_show_contact_only_to_organizers_and_every_view_is_audited(client, session, world):
    path = f"{URL}/no-shows?agency=AG01&day={world.days[0].isoformat()}"
    organizer = client.get(path, headers=bearer("organizer"))
    viewer = client.get(path, headers=bearer("viewer"))
    assert organizer.get_json() and all(p["email"] for p in organizer.get_json())
    assert [set(p) & {"email", "phone"} for p in viewer.get_json()] == [set()] * len(
        viewer.get_json()
    )
    client.get(f"{URL}/inside", headers=bearer("viewer"))
    query = select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)
    audit = [row for row in session.execute(query) if row.action.startswith("report.")]
    assert [(a.actor, a.action) for a in audit] == [
        ("test-organizer", "report.no_shows"),
        ("test-viewer", "report.no_shows"),
        ("test-viewer", "report.inside_now"),
    ]
    assert audit[0].detail["agency"] == "AG01"
    assert audit[0].detail["people"] == len(organizer.get_json())


def test_a_bad_breakdown_or_agency_is_refused_with_a_code(client, world):
    refused = client.get(f"{URL}/attendance?by=agency,colour", headers=bearer("viewer"))
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "invalid_breakdown"
    missing = client.get(f"{URL}/no-shows?agency=NOPE", headers=bearer("viewer"))
    assert missing.status_code == 404


def test_a_browser_session_reads_the_api_too(client, world):
    cookie = issue_session(SECRET, subject="organizer@example.org", role="organizer", token_id="s1")
    client.set_cookie("hudoor_session", cookie)
    assert client.get(f"{URL}/attendance?by=day").status_code == 200


def test_arrivals_come_per_bucket_in_event_time(client, world):
    day = world.days[0].isoformat()
    series = client.get(f"{URL}/arrivals?day={day}&minutes=60", headers=bearer("viewer"))
    body = series.get_json()
    assert body[-1]["cumulative"] == sum(1 for (_, d) in world.arrived if d == world.days[0])
    assert body[0]["at"].endswith(":00:00+03:00")
