"""The door desk: search the roster, lists, devices and live counts."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from services.checkin.models import (
    AuditEntry,
    Checkin,
    CheckinList,
    Device,
    RevokedToken,
    RosterEntry,
    Scan,
)
from shared.arabic import search_key
from shared.contact import ContactError, normalise_email, phone_search_variants
from shared.db import utcnow
from shared.identity import is_token_id
from shared.problems import DomainError

SEARCH_LIMIT = 25
MIN_NAME_LETTERS = 3


def search(session: Session, event_id: int, query: str) -> list[RosterEntry]:
    """Find delegates by name (Arabic-aware), full phone (any format) or e-mail, or agency code."""
    # A door device may find a delegate but not walk the roster: a name needs a word of 3
    # letters or more, the rest must be given in full.
    text = query.strip()
    if not text:
        return []
    condition, in_full = _condition(text)
    base = select(RosterEntry).where(RosterEntry.event_id == event_id, condition)
    found = list(session.scalars(base.order_by(RosterEntry.name_key).limit(SEARCH_LIMIT)))
    if not found and not in_full:
        raise DomainError("search_too_short", field="q", min=MIN_NAME_LETTERS)
    return found


def _condition(text: str):
    """What to look for, and whether a query that finds nobody was searchable (else too short)."""
    contact = _by_contact(text) if ("@" in text or _digits(text) >= 7) else None
    if contact is not None:
        return contact, True
    agency = RosterEntry.agency_code == text.upper()
    name = None if "@" in text else _by_name(text)  # a partial e-mail address is no name
    # Too short for a name: only an agency code, exactly, is an answer.
    return (agency, False) if name is None else (or_(name, agency), True)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _by_contact(text: str):
    """The one e-mail address or phone number asked for; None for neither in full."""
    if "@" in text:
        try:
            return func.lower(RosterEntry.email) == normalise_email(text)
        except ContactError:
            return None
    phone = phone_search_variants(text)
    return RosterEntry.phone == phone if phone else None


def _by_name(text: str):
    """Every word of the name's search key, if one word has MIN_NAME_LETTERS letters or more."""
    key = search_key(text)  # marks and tatweel are gone: they do not count
    # One long word, not letters summed over words: "a a a" would find every name with an "a".
    if not any(sum(ch.isalpha() for ch in word) >= MIN_NAME_LETTERS for word in key.split()):
        return None
    return and_(*(RosterEntry.name_key.contains(t, autoescape=True) for t in key.split()))


def lists_of(session: Session, event_id: int) -> list[CheckinList]:
    """An event's check-in lists, by day then name."""
    query = select(CheckinList).where(CheckinList.event_id == event_id)
    return list(session.scalars(query.order_by(CheckinList.day, CheckinList.id)))


def add_list(session: Session, event_id: int, data: dict) -> CheckinList:
    """Add a session or hall list admitting chosen categories."""
    checkin_list = CheckinList(event_id=event_id, created_at=utcnow(), **data)
    session.add(checkin_list)
    session.commit()
    return checkin_list


def create_device(session: Session, event_id: int, gate: str, name: str, actor: str) -> Device:
    """Enrol a door device for an event and gate (its token is issued by the caller)."""
    device = Device(
        id=secrets.token_hex(8), event_id=event_id, gate=gate, name=name, created_at=utcnow()
    )
    session.add(device)
    _audit(session, event_id, actor, "device.created", {"device": device.id, "gate": gate})
    session.commit()
    return device


def devices_of(session: Session, event_id: int) -> list[Device]:
    """An event's door devices, those still working first, newest first."""
    query = select(Device).where(Device.event_id == event_id)
    order = (Device.revoked_at.is_not(None), Device.created_at.desc(), Device.id)
    return list(session.scalars(query.order_by(*order)))


def device_activity(session: Session, event_id: int) -> dict[str, tuple[int, datetime]]:
    """Per door device of an event: how many scans it sent and when the last was recorded."""
    query = (
        select(Scan.device_id, func.count(), func.max(Scan.recorded_at))
        .where(Scan.event_id == event_id, Scan.device_id.is_not(None))
        .group_by(Scan.device_id)
    )
    return {device: (count, last) for device, count, last in session.execute(query)}


def revoke_device(session: Session, device_id: str, actor: str, event_scope=None) -> Device:
    """Revoke a device: its token stops working at once."""
    device = session.get(Device, device_id) if is_token_id(device_id) else None
    if device is None or (event_scope is not None and device.event_id not in event_scope):
        raise DomainError("device_not_found", kind="not_found")
    device.revoked_at = device.revoked_at or utcnow()
    _audit(session, device.event_id, actor, "device.revoked", {"device": device.id})
    session.commit()
    return device


_DEVICES, _REVOKED = Device.__table__, RevokedToken.__table__
_DEVICE = select(_DEVICES.c.gate).where(_DEVICES.c.id == bindparam("token_id"))
# One round trip per request: is the token a revoked device's, or revoked in registration?
# Core columns, not ORM attributes: the ORM layer would add its CPU cost to every request.
TOKEN_STATE = select(
    _DEVICE.scalar_subquery().label("gate"),
    _DEVICE.with_only_columns(_DEVICES.c.revoked_at).scalar_subquery().label("revoked_at"),
    exists().where(_REVOKED.c.token_id == bindparam("token_id")).label("revoked"),
)


def token_revoked(session: Session, token_id: str) -> bool:
    """A revoked door device or a token revoked in registration."""
    found = session.execute(TOKEN_STATE, {"token_id": token_id}).one()
    if found.gate is not None:  # a device: the scan in this request needs its gate
        session.info.setdefault("device_gates", {})[token_id] = found.gate
    return found.revoked_at is not None or bool(found.revoked)


def device_gate(session: Session, device_id: str) -> str | None:
    """The gate a device was enrolled for (a gate never changes), None for no such device."""
    known = session.info.get("device_gates", {})
    if device_id in known:
        return known[device_id]
    return session.scalar(select(Device.gate).where(Device.id == device_id))


def _audit(session: Session, event_id: int, actor: str, action: str, detail: dict) -> None:
    session.add(
        AuditEntry(
            event_id=event_id, actor=actor, action=action, badge_id=None, detail=detail, at=utcnow()
        )
    )


def live_counts(session: Session, event_id: int, now: datetime | None = None) -> list[dict]:
    """Per list and gate: checked in so far, inside now, checked in during the last 15 minutes."""
    recent = (now or utcnow()) - timedelta(minutes=15)
    query = (
        select(
            Checkin.list_id,
            Checkin.gate,
            func.count(),
            func.sum(_as_int(Checkin.inside)),
            func.sum(_as_int(Checkin.checked_in_at >= recent)),
        )
        .where(Checkin.event_id == event_id, Checkin.undone_at.is_(None))
        .group_by(Checkin.list_id, Checkin.gate)
        .order_by(Checkin.list_id, Checkin.gate)
    )
    return [
        {
            "list_id": row[0],
            "gate": row[1],
            "checked_in": row[2],
            "inside": row[3] or 0,
            "last_15_minutes": row[4] or 0,
        }
        for row in session.execute(query)
    ]


def _as_int(condition):
    from sqlalchemy import Integer, case

    return case((condition, 1), else_=0).cast(Integer)
