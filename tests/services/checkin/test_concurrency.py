"""Two doors scanning one badge at the same moment: exactly one ok, enforced by the database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import func, select

from services.checkin import operations
from services.checkin.domain import local_date
from services.checkin.models import Checkin, CheckinList, Scan
from services.checkin.operations import ScanRequest
from shared.db import transaction, utcnow
from tests.services.checkin.conftest import KEYRING, nonce, roster_event, token

DOORS = 32


def test_32_parallel_scans_of_one_badge_give_exactly_one_ok(committing_factory):
    list_id = _prepare(committing_factory)
    barrier = threading.Barrier(DOORS)

    def door(number: int) -> str:
        barrier.wait()
        with committing_factory() as session:
            request = ScanRequest(
                list_id=list_id, nonce=nonce(), gate=f"gate-{number}", token=token(1)
            )
            return operations.scan(session, KEYRING.public_keys(), request)["status"]

    with ThreadPoolExecutor(max_workers=DOORS) as pool:
        statuses = list(pool.map(door, range(DOORS)))
    assert statuses.count("ok") == 1
    assert statuses.count("already_checked_in") == DOORS - 1
    with committing_factory() as session:
        assert session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert session.scalar(select(func.count()).select_from(Scan)) == DOORS


def _prepare(factory) -> int:
    with factory() as session:
        operations.apply_roster_event(session, roster_event(1))
    with transaction(factory) as session:
        today: date = local_date(utcnow(), "Asia/Baghdad")
        checkin_list = CheckinList(
            event_id=1,
            name_ar="اليوم",
            name_en="Today",
            day=today,
            categories=None,
            created_at=utcnow(),
        )
        session.add(checkin_list)
        session.flush()
        return checkin_list.id
