"""Scans and manual check-ins: one answer per nonce, one live check-in per badge per list."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
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
from services.checkin.operations import tallies
from shared.db import utcnow
from shared.problems import DomainError

# A door offline longer than this is judged by arrival time (its clock may be wrong too).
OFFLINE_HORIZON = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
CHECKINS, SCANS = Checkin.__table__, Scan.__table__
_LIST, _EVENT, _ROSTER = CheckinList.__table__, EventInfo.__table__, RosterEntry.__table__
BADGE = (
    "badge_id",
    "generation",
    "status",
    "full_name_ar",
    "full_name_en",
    "agency_code",
    "agency_name_ar",
    "agency_name_en",
    "category_code",
    "category_name_ar",
    "category_name_en",
    "category_color",
    "agency_id",  # with category_code, the badge's tally cell
    "gender",
)
RECORD = insert(SCANS)
_LIVE = (
    CHECKINS.c.list_id == bindparam("on_list"),
    CHECKINS.c.badge_id == bindparam("of_badge"),
    CHECKINS.c.undone_at.is_(None),
)
# INSERT unless the badge already has a live check-in on the list (no savepoint needed).
ENTER = {
    "postgresql": postgresql.insert(CHECKINS).on_conflict_do_nothing().returning(CHECKINS.c.id),
    "sqlite": sqlite.insert(CHECKINS).on_conflict_do_nothing().returning(CHECKINS.c.id),
}
LIVE = select(CHECKINS.c.id, CHECKINS.c.checked_in_at, CHECKINS.c.gate, CHECKINS.c.inside)
LIVE = LIVE.where(*_LIVE).with_for_update()
REENTER = (
    update(CHECKINS)
    .where(CHECKINS.c.id == bindparam("checkin_id"))
    .values(inside=True, last_movement_at=bindparam("now"))
)
LEAVE = (
    update(CHECKINS)
    .where(*_LIVE, CHECKINS.c.inside.is_(True))
    .values(inside=False, last_movement_at=bindparam("now"))
)
_BADGE_ROW = (_ROSTER.c.badge_id == bindparam("badge_id"), _ROSTER.c.event_id == _LIST.c.event_id)
# The badge's row is held (FOR UPDATE) until the scan commits, so its status and tally cell are
# final, as tallies.count_checkin needs. A lock cannot reach the nullable side of an outer join
# on PostgreSQL, hence the LATERAL subquery; SQLite's writers take turns anyway.
HELD_BADGE = (
    select(*(_ROSTER.c[name] for name in BADGE))
    .where(*_BADGE_ROW)
    .with_for_update()
    .lateral("badge")
)


def _lookup_statement(badge, joined_on):
    """Everything a scan reads before it writes, in one statement: list, timezone, nonce, badge."""
    return (
        select(
            _LIST.c.id.label("list_id"),
            _LIST.c.event_id,
            _LIST.c.day,
            _LIST.c.categories,
            _EVENT.c.timezone,
            SCANS.c.answer,
            SCANS.c.request_hash,
            *(badge.c[name] for name in BADGE),
        )
        .join(_EVENT, _EVENT.c.id == _LIST.c.event_id)
        .outerjoin(
            SCANS,
            and_(SCANS.c.event_id == _LIST.c.event_id, SCANS.c.nonce == bindparam("nonce")),
        )
        .outerjoin(badge, joined_on)
        .where(_LIST.c.id == bindparam("list_id"))
    )


LOOKUP_HELD = _lookup_statement(HELD_BADGE, true())
LOOKUP = {"postgresql": LOOKUP_HELD, "sqlite": _lookup_statement(_ROSTER, and_(*_BADGE_ROW))}


class _Overtaken(Exception):
    """Another transaction changed what a scan read before it could write."""


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
    claims, refusal = _verified(request, public_keys)
    for _attempt in range(2):
        try:
            return _judged(session, request, claims, refusal, event_scope)
        except (IntegrityError, _Overtaken):
            # Another transaction changed what the scan read (the nonce answered, the list
            # deleted): judged afresh, the scan is replayed, refused or answered as it now stands.
            session.rollback()
    raise DomainError("scan_not_recorded", kind="conflict")


def _judged(session: Session, request: ScanRequest, claims, refusal, event_scope) -> dict:
    """Look up, judge, move and record one scan in the session's transaction, then commit."""
    badge_id = claims.badge_id if claims else request.badge_id
    # Core statements on the session's connection: the ORM layer would add its CPU to each.
    connection = session.connection()
    found = _lookup(connection, request, badge_id, event_scope)
    replay = _replayed(found, request)
    if replay is not None:
        return replay
    if claims is not None and claims.event_id != found.event_id:
        refusal = domain.ScanRefused(domain.INVALID, "other_event")
    now = utcnow()
    at = scan_moment(request, now)
    entry, outcome = None, {}
    try:
        if refusal is not None:
            raise refusal
        entry = found if found.badge_id is not None else None
        generation = claims.generation if claims else None
        domain.admit(generation, entry, found, domain.local_date(at, found.timezone))
        outcome = _move(connection, found, entry, request, at)
    except domain.ScanRefused as refused:
        outcome = {"status": refused.code, "reason": refused.reason}
    answer = _answer(outcome, entry, request, now)
    return _record(session, found, entry, request, answer, now)


def _verified(request: ScanRequest, public_keys: Mapping):
    """The token's claims (signature checked, public key only), or why it is refused."""
    if request.token is None:
        return None, None
    try:
        return domain.verify(request.token, public_keys), None
    except domain.ScanRefused as refused:
        return None, refused


def _lookup(connection: Connection, request: ScanRequest, badge_id: int | None, event_scope):
    """In one round trip: the list, its event's timezone, the nonce's answer, the badge (held)."""
    keys = {"list_id": request.list_id, "nonce": request.nonce, "badge_id": badge_id or 0}
    lookup = LOOKUP[connection.dialect.name]
    found = connection.execute(lookup, keys).first()
    if badge_id and found is not None and found.badge_id is None and lookup is LOOKUP_HELD:
        # Its row lock waited for a roster rebuild, which deleted the row it had seen: the
        # rebuilt row (if any) is visible to a new statement. Unknown badges only pay for it.
        found = connection.execute(lookup, keys).first()
    if found is None or (event_scope is not None and found.event_id not in event_scope):
        raise DomainError("list_not_found", kind="not_found", field="list_id")
    return found


def _replayed(found, request: ScanRequest) -> dict | None:
    """The stored answer to this nonce; a nonce reused for another scan is refused."""
    if found.request_hash is None:
        return None
    if found.request_hash != _fingerprint(request):
        raise DomainError("nonce_reused", kind="conflict", field="nonce")
    return found.answer


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


def _move(connection: Connection, found, entry, request, now) -> dict:
    """Record the entry or exit, letting the database decide who was first."""
    keys = {"on_list": found.list_id, "of_badge": entry.badge_id, "now": now}
    if request.direction == ENTRY:
        return _enter(connection, found, keys, request.gate)
    if connection.execute(LEAVE, keys).rowcount == 0:
        raise domain.ScanRefused(domain.NOT_INSIDE)
    return {"status": domain.OK}


def _enter(connection: Connection, found, keys: dict, gate: str) -> dict:
    """First entry inserts the check-in; a later one is a re-entry or already checked in."""
    row = {
        "event_id": found.event_id,
        "list_id": keys["on_list"],
        "badge_id": keys["of_badge"],
        "gate": gate,
        "checked_in_at": keys["now"],
        "inside": True,
        "last_movement_at": keys["now"],
    }
    if connection.execute(ENTER[connection.dialect.name], row).first() is not None:
        tallies.count_checkin(connection, _arrival(found, keys))
        return {"status": domain.OK}
    first = connection.execute(LIVE, keys).first()
    if first is None:  # the check-in it met was undone since (PostgreSQL reads anew)
        raise _Overtaken
    if not first.inside:
        connection.execute(REENTER, {"checkin_id": first.id, "now": keys["now"]})
        return {"status": domain.OK, "reason": "re_entry"}
    return {
        "status": domain.ALREADY_CHECKED_IN,
        "first": {"at": first.checked_in_at.isoformat(), "gate": first.gate},
    }


def _arrival(found, keys: dict) -> tallies.Arrival:
    """A new check-in as the tallies count it, in the cell of the badge's held roster row."""
    return tallies.Arrival(
        found.event_id,
        found.list_id,
        keys["of_badge"],
        found.day,
        keys["now"],
        (found.event_id, found.agency_id, found.category_code, found.gender),
    )


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


def _record(session, found, entry, request, answer, now) -> dict:
    """Store the scan with its answer (a nonce that raced us in breaks the unique constraint)."""
    scan_row = {
        "nonce": request.nonce,
        "request_hash": _fingerprint(request),
        "event_id": found.event_id,
        "list_id": found.list_id,
        "badge_id": entry.badge_id if entry else None,
        "direction": request.direction,
        "status": answer["status"],
        "gate": request.gate,
        "device_id": request.device_id,
        "offline": request.offline,
        "scanned_at": request.scanned_at or now,
        "recorded_at": now,
        "answer": answer,
    }
    session.connection().execute(RECORD, scan_row)
    session.commit()
    return answer


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
    # Taken before the change, so a first check-in of the badge elsewhere counts after it.
    tallies.hold_badge(session, checkin.event_id, checkin.badge_id)
    checkin.undone_at, checkin.undo_reason, checkin.inside = utcnow(), reason, False
    session.flush()
    tallies.refresh_badge(session, checkin.badge_id)
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
