"""Scans and manual check-ins: one answer per nonce, one live check-in per badge per list."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.checkin import domain
from services.checkin.models import (
    ENTRY,
    AuditEntry,
    Checkin,
    CheckinList,
    EventInfo,
    RosterEntry,
    Scan,
)
from shared.db import utcnow
from shared.problems import DomainError

# A door offline longer than this is judged by arrival time (its clock may be wrong too).
OFFLINE_HORIZON = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ScanRequest:
    """What a door sends: a token (or, manually, a badge id), the list, gate and nonce."""

    list_id: int
    nonce: str
    gate: str
    direction: str = ENTRY
    token: str | None = None
    badge_id: int | None = None
    device_id: str | None = None
    scanned_at: datetime | None = None
    offline: bool = False


def scan(session: Session, public_keys: Mapping, request: ScanRequest, event_scope=None) -> dict:
    """Answer a scan once; the same nonce again replays the first answer and records nothing."""
    checkin_list = get_list(session, request.list_id, event_scope)
    replay = _answer_for(session, checkin_list.event_id, request)
    if replay is not None:
        return replay
    now = utcnow()
    at = scan_moment(request, now)
    entry, outcome = None, {}
    try:
        entry = _admitted_entry(session, public_keys, request, checkin_list, at)
        outcome = _move(session, checkin_list, entry, request, at)
    except domain.ScanRefused as refusal:
        outcome = {"status": refusal.code, "reason": refusal.reason}
    answer = _answer(outcome, entry, request, now)
    return _record(session, checkin_list, entry, request, answer, now)


def scan_moment(request: ScanRequest, now: datetime) -> datetime:
    """When the badge was shown: an offline scan's own time if plausible, else now."""
    at = request.scanned_at
    if not request.offline or at is None or not now - OFFLINE_HORIZON <= at <= now + CLOCK_SKEW:
        return now
    return min(at, now)


def get_list(session: Session, list_id: int, event_scope=None) -> CheckinList:
    """Find a check-in list the caller may use."""
    checkin_list = session.get(CheckinList, list_id)
    if checkin_list is None or (
        event_scope is not None and checkin_list.event_id not in event_scope
    ):
        raise DomainError("list_not_found", kind="not_found", field="list_id")
    return checkin_list


def _admitted_entry(session, public_keys, request, checkin_list, now) -> RosterEntry | None:
    """Verify the token (public key only) and the roster; raise ScanRefused if not admitted."""
    generation, badge_id = None, request.badge_id
    if request.token is not None:
        claims = domain.read_token(request.token, public_keys, checkin_list.event_id)
        generation, badge_id = claims.generation, claims.badge_id
    entry = session.get(RosterEntry, badge_id) if badge_id else None
    if entry is not None and entry.event_id != checkin_list.event_id:
        entry = None
    event = session.get(EventInfo, checkin_list.event_id)
    domain.admit(generation, entry, checkin_list, domain.local_date(now, event.timezone))
    return entry


def _move(session, checkin_list, entry, request, now) -> dict:
    """Record the entry or exit, letting the database decide who was first."""
    if request.direction == ENTRY:
        return _enter(session, checkin_list, entry, request.gate, now)
    left = session.execute(
        update(Checkin)
        .where(*_live(checkin_list.id, entry.badge_id), Checkin.inside.is_(True))
        .values(inside=False, last_movement_at=now)
    )
    if left.rowcount == 0:
        raise domain.ScanRefused(domain.NOT_INSIDE)
    return {"status": domain.OK}


def _enter(session, checkin_list, entry, gate, now) -> dict:
    """First entry inserts the check-in; a later one is a re-entry or already checked in."""
    try:
        with session.begin_nested():
            session.add(
                Checkin(
                    event_id=checkin_list.event_id,
                    list_id=checkin_list.id,
                    badge_id=entry.badge_id,
                    gate=gate,
                    checked_in_at=now,
                    inside=True,
                    last_movement_at=now,
                )
            )
        return {"status": domain.OK}
    except IntegrityError:
        pass
    back = session.execute(
        update(Checkin)
        .where(*_live(checkin_list.id, entry.badge_id), Checkin.inside.is_(False))
        .values(inside=True, last_movement_at=now)
    )
    if back.rowcount == 1:
        return {"status": domain.OK, "reason": "re_entry"}
    first = session.scalar(select(Checkin).where(*_live(checkin_list.id, entry.badge_id)))
    return {
        "status": domain.ALREADY_CHECKED_IN,
        "first": {"at": first.checked_in_at.isoformat(), "gate": first.gate},
    }


def _live(list_id: int, badge_id: int):
    return (Checkin.list_id == list_id, Checkin.badge_id == badge_id, Checkin.undone_at.is_(None))


def _answer(outcome: dict, entry: RosterEntry | None, request: ScanRequest, now) -> dict:
    """What the door shows: status, light, and the badge holder if the roster knows them."""
    status = outcome["status"]
    show = entry is not None and status not in (domain.INVALID, domain.UNKNOWN_BADGE)
    return {
        "status": status,
        "light": domain.light(status),
        "reason": outcome.get("reason"),
        "first_checkin": outcome.get("first"),
        "badge": badge_view(entry) if show else None,
        "direction": request.direction,
        "gate": request.gate,
        "offline": request.offline,
        "recorded_at": now.isoformat(),
    }


def badge_view(entry: RosterEntry) -> dict:
    """The badge holder as door staff see them: names, agency, category (no contact details)."""
    return {
        "id": entry.badge_id,
        "full_name_ar": entry.full_name_ar,
        "full_name_en": entry.full_name_en,
        "agency_code": entry.agency_code,
        "agency_name_ar": entry.agency_name_ar,
        "agency_name_en": entry.agency_name_en,
        "category_code": entry.category_code,
        "category_name_ar": entry.category_name_ar,
        "category_name_en": entry.category_name_en,
        "category_color": entry.category_color,
    }


def _record(session, checkin_list, entry, request, answer, now) -> dict:
    """Store the scan with its answer; a nonce that raced us in returns the stored answer."""
    scan_row = Scan(
        nonce=request.nonce,
        request_hash=_fingerprint(request),
        event_id=checkin_list.event_id,
        list_id=checkin_list.id,
        badge_id=entry.badge_id if entry else None,
        direction=request.direction,
        status=answer["status"],
        gate=request.gate,
        device_id=request.device_id,
        offline=request.offline,
        scanned_at=request.scanned_at or now,
        recorded_at=now,
        answer=answer,
    )
    session.add(scan_row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _answer_for(session, checkin_list.event_id, request)
    return answer


def _answer_for(session: Session, event_id: int, request: ScanRequest) -> dict | None:
    """The stored answer to this nonce at this event; a nonce reused for another scan is refused."""
    stored = session.execute(
        select(Scan.answer, Scan.request_hash).where(
            Scan.event_id == event_id, Scan.nonce == request.nonce
        )
    ).first()
    session.rollback()
    if stored is None:
        return None
    if stored.request_hash != _fingerprint(request):
        raise DomainError("nonce_reused", kind="conflict", field="nonce")
    return stored.answer


def _fingerprint(request: ScanRequest) -> str:
    """A digest of what a scan asks, to tell a retry from a different scan with the same nonce."""
    asked = f"{request.token or ''}|{request.badge_id or ''}|{request.list_id}|{request.direction}"
    return hashlib.sha256(asked.encode()).hexdigest()


def undo_checkin(
    session: Session, checkin_id: int, reason: str, actor: str, event_scope=None
) -> Checkin:
    """Undo a mistaken check-in with a reason; the badge may check in again; audited."""
    checkin = session.get(Checkin, checkin_id)
    if checkin is None or (event_scope is not None and checkin.event_id not in event_scope):
        raise DomainError("checkin_not_found", kind="not_found")
    if checkin.undone_at is not None:
        raise DomainError("checkin_already_undone", kind="conflict")
    checkin.undone_at, checkin.undo_reason, checkin.inside = utcnow(), reason, False
    session.add(
        AuditEntry(
            event_id=checkin.event_id,
            actor=actor,
            action="checkin.undone",
            badge_id=checkin.badge_id,
            detail={"checkin_id": checkin.id, "reason": reason},
            at=utcnow(),
        )
    )
    session.commit()
    return checkin


def manual_checkin(session: Session, request: ScanRequest, actor: str, event_scope=None) -> dict:
    """Check in a badge found by search (no QR), with the same rules as a scan; audited."""
    answer = scan(session, {}, request, event_scope)
    if answer.get("badge"):
        session.add(
            AuditEntry(
                event_id=get_list(session, request.list_id).event_id,
                actor=actor,
                action="checkin.manual",
                badge_id=answer["badge"]["id"],
                detail={"status": answer["status"], "nonce": request.nonce},
                at=utcnow(),
            )
        )
        session.commit()
    return answer
