"""Seat and uniqueness invariants hold under concurrent registrations (real commits)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from services.registration import operations
from services.registration.demo import load_demo
from services.registration.models import Agency, Event, Registration
from services.registration.schemas import RegistrationSchema
from shared.db import transaction
from shared.problems import DomainError
from tests.services.registration.conftest import delegate, nth_delegate

ATTEMPTS = 40


def _fire(factory, ctx, payloads) -> list[str]:
    """Register every payload at once, each on its own connection; return outcomes."""
    barrier = threading.Barrier(len(payloads))
    schema = RegistrationSchema()

    def attempt(payload):
        barrier.wait()
        try:
            with transaction(factory) as session:
                event = operations.get_event(session, "wli-gbv-2023")
                operations.register_delegate(session, ctx, event, schema.load(payload))
            return "ok"
        except DomainError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(attempt, payloads))


def _prepare(factory, quota: int, already: int, ctx) -> None:
    """Load the demo event with IWED's quota `quota` of which `already` seats are taken."""
    with transaction(factory) as session:
        event = load_demo(session)
        session.execute(select(Agency).where(Agency.code == "IWED")).scalar_one().quota = quota
        for n in range(already):
            operations.register_delegate(
                session, ctx, event, RegistrationSchema().load(nth_delegate(1000 + n))
            )


def _counts(factory) -> tuple[int, int, int]:
    with factory() as session:
        agency = session.execute(select(Agency).where(Agency.code == "IWED")).scalar_one()
        active = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.agency_id == agency.id, Registration.status == "active")
        )
        event = session.execute(select(Event)).scalar_one()
        return agency.registered_count, active, event.registered_count


def test_nearly_full_agency_admits_exactly_its_remaining_seats(committed_factory, ctx):
    _prepare(committed_factory, quota=10, already=7, ctx=ctx)
    outcomes = _fire(committed_factory, ctx, [nth_delegate(n) for n in range(ATTEMPTS)])
    assert outcomes.count("ok") == 3
    assert outcomes.count("quota_full") == ATTEMPTS - 3
    assert _counts(committed_factory) == (10, 10, 10)


def test_full_event_admits_exactly_its_capacity(committed_factory, ctx):
    _prepare(committed_factory, quota=100, already=0, ctx=ctx)
    with transaction(committed_factory) as session:
        session.execute(select(Event)).scalar_one().capacity = 5
    outcomes = _fire(committed_factory, ctx, [nth_delegate(n) for n in range(ATTEMPTS)])
    assert outcomes.count("ok") == 5
    assert set(outcomes) == {"ok", "event_full"}


def test_same_person_registering_concurrently_is_admitted_once(committed_factory, ctx):
    _prepare(committed_factory, quota=100, already=0, ctx=ctx)
    payloads = [delegate(full_name_en=f"Same person {n}") for n in range(16)]
    outcomes = _fire(committed_factory, ctx, payloads)
    assert outcomes.count("ok") == 1
    assert outcomes.count("duplicate_person") == 15
    assert _counts(committed_factory)[:2] == (1, 1)
