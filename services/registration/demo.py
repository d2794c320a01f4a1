"""The demo event: the Baghdad conference on combating gender-based violence (real agencies)."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration import operations
from services.registration.models import Event
from services.registration.schemas import AgencySchema, CategorySchema, EventSchema
from shared.db import utcnow

DEMO_DIR = Path(__file__).parent / "data" / "wli-gbv-2023"
DEMO_CAPACITY = 400
DEMO_QUOTA = 20
# The conference is past: without a closing time its registration would have closed with it.
DEMO_OPEN_FOR = timedelta(days=365)


def load_demo(session: Session, directory: Path = DEMO_DIR) -> Event:
    """Load the demo event, its categories and agencies once; return it."""
    source = json.loads((directory / "event.json").read_text(encoding="utf-8"))
    existing = session.scalar(select(Event).where(Event.slug == source["slug"]))
    if existing is not None:
        return existing
    event = operations.create_event(session, EventSchema().load(_event_fields(source)))
    for category in source["categories"]:
        data = {**category, "self_registration": category["code"] == "DELEGATE"}
        operations.add_category(session, event, CategorySchema().load(data))
    for row in _agency_rows(directory / "agencies.csv"):
        operations.add_agency(session, event, AgencySchema().load(row))
    return event


def _event_fields(source: dict) -> dict:
    """Map event.json to the event schema; registration stays open for the demo."""
    return {
        "slug": source["slug"],
        "name_ar": source["name_ar"],
        "name_en": source["name_en"],
        "venue_ar": source["venue_ar"],
        "venue_en": source["venue_en"],
        "timezone": source["timezone"],
        "days": source["days"],
        "capacity": DEMO_CAPACITY,
        "registration_closes_at": utcnow() + DEMO_OPEN_FOR,
        "default_language": source["languages"][0],
    }


def _agency_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{**row, "quota": DEMO_QUOTA} for row in csv.DictReader(handle)]
