"""Check-in's audit log API: organizers read who viewed people or exported, newest first."""

from __future__ import annotations

import pytest

from tests.services.checkin.conftest import EVENT_ID, bearer
from tests.services.checkin.generated_event import generate

URL = f"/api/v1/events/{EVENT_ID}"
AUDIT = f"{URL}/audit"


@pytest.fixture
def world(session):
    return generate(session)


def _views(client, world) -> None:
    day = world.days[0].isoformat()
    client.get(f"{URL}/no-shows?agency=AG01&day={day}", headers=bearer("organizer"))
    client.get(f"{URL}/inside", headers=bearer("viewer"))
    client.get(f"{URL}/attendance.csv?by=agency", headers=bearer("viewer"))


def _read(client, query: str = "") -> list[dict]:
    answer = client.get(AUDIT + query, headers=bearer("organizer"))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_log_lists_who_viewed_and_exported_newest_first(client, world):
    _views(client, world)
    entries = [(e["actor"], e["action"]) for e in _read(client, "?action=report.inside_now")]
    assert entries == [("test-viewer", "report.inside_now")]
    reports = [e for e in _read(client) if e["action"].startswith("report.")]
    assert [e["action"] for e in reports] == [
        "report.export",
        "report.inside_now",
        "report.no_shows",
    ]
    assert reports[-1]["detail"]["agency"] == "AG01"


def test_the_log_pages_back_from_an_entry(client, world):
    _views(client, world)
    newest = _read(client, "?limit=1")
    older = _read(client, f"?limit=2&before={newest[0]['id']}")
    assert [e["id"] for e in newest + older] == [e["id"] for e in _read(client)[:3]]


@pytest.mark.parametrize("query, field", [("?limit=501", "limit"), ("?badge=-1", "badge")])
def test_a_bad_query_names_the_field(client, query, field):
    answer = client.get(AUDIT + query, headers=bearer("organizer"))
    assert answer.status_code == 422 and field in str(answer.get_json())


def test_an_organizer_of_another_event_cannot_read_it(client, world):
    answer = client.get(AUDIT, headers=bearer("organizer", events=(EVENT_ID + 1,)))
    assert answer.status_code == 403
