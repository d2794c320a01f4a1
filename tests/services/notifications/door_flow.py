"""Registrations and door scans flowing in threads through a System, for the fault drills."""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select

from services.checkin.models import Checkin, RosterEntry
from shared.identity import issue_api_token
from tests.services.notifications.system import SECRET, System
from tests.worker_process import wait_until

PAUSE = 0.05  # between two requests of one thread


@dataclass
class Door:
    """A check-in list open on any day, and an organizer's token to scan at it."""

    system: System
    list_id: int
    headers: dict

    @classmethod
    def open(cls, system: System) -> Door:
        """Create the list once registration's event has reached check-in (it needs the event)."""
        token = issue_api_token(SECRET, subject="drill", role="organizer", token_id="t-drill")
        headers = {"Authorization": f"Bearer {token}"}
        event_id = system.registration.get("/api/v1/events/wli-gbv-2023").get_json()["id"]
        lists = f"/api/v1/events/{event_id}/lists"
        wait_until(lambda: system.checkin.get(lists, headers=headers).status_code == 200, 60)
        any_day = {"name_ar": "كل الأيام", "name_en": "Any day"}
        created = system.checkin.post(lists, headers=headers, json=any_day)
        assert created.status_code == 201, created.get_json()
        return cls(system, created.get_json()["id"], headers)

    def scan(self, token: str) -> tuple[int, dict]:
        """Scan a badge with a new nonce; return the status code and the answer."""
        body = {"token": token, "list_id": self.list_id, "nonce": uuid.uuid4().hex}
        response = self.system.checkin.post("/api/v1/scans", json=body, headers=self.headers)
        return response.status_code, response.get_json()


@dataclass
class Flow:
    """One thread registers delegates n, n+1, ...; another scans each new badge once."""

    system: System
    door: Door
    first: int = 100
    registered: list[dict] = field(default_factory=list)
    scans: list[tuple[int, int, dict]] = field(default_factory=list)  # (badge, code, answer)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Flow:
        self._threads = [threading.Thread(target=t) for t in (self._register, self._scan)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(60)

    def _register(self) -> None:
        for n in itertools.count(self.first):
            if self._stopping.wait(PAUSE):
                return
            self.registered.append(self.system.register(n))

    def _scan(self) -> None:
        scanned = 0
        while not self._stopping.wait(PAUSE):
            for registration in self.registered[scanned:]:
                code, answer = self.door.scan(registration["badge"]["token"])
                self.scans.append((registration["id"], code, answer))
                scanned += 1

    def emails(self) -> set[str]:
        return {r["email"] for r in self.registered}


def roster_badges(factory) -> set[int]:
    """The badge ids on check-in's roster."""
    with factory() as session:
        return set(session.scalars(select(RosterEntry.badge_id)))


def live_checkins(factory, list_id: int) -> dict[int, int]:
    """How many live check-ins each badge has on the list."""
    query = (
        select(Checkin.badge_id, func.count())
        .where(Checkin.list_id == list_id, Checkin.undone_at.is_(None))
        .group_by(Checkin.badge_id)
    )
    with factory() as session:
        return dict(session.execute(query).all())
