"""Fault drill: PostgreSQL stopped and started again while registrations and door scans flow.

Registration and check-in run under gunicorn against a private PostgreSQL cluster (the machine's
own is shared: never stopped). Client threads keep registering delegates and scanning badges
while the cluster is stopped (`-m fast`, then `-m immediate`: a crash) and started again.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from runner.redis_server import EmbeddedRedis
from services.checkin.models import Checkin, Scan
from services.registration.idempotency import IN_PROGRESS
from services.registration.models import (
    ACTIVE,
    Agency,
    Event,
    IdempotencyRecord,
    OutboxMessage,
    Registration,
)
from tests.fault_drill_load import Answer, Load, Traffic, send
from tests.fault_drill_site import ROSTER_SIZE, DrillSite, open_site
from tests.postgres_cluster import unavailable_reason
from tests.worker_process import wait_until

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 3  # the load goes on this long against a stopped database
RECOVERY_SECONDS = 30  # the same processes must answer successfully within this
MODES = {"fast": (1, range(1, 601)), "immediate": (100_000, range(601, ROSTER_SIZE + 1))}


@dataclass
class Drill:
    """What happened during one outage, and what the database held before clients retried."""

    mode: str
    answers: list[Answer]
    restarted_at: float
    recovered_at: float
    found_before_retry: dict[str, tuple[int, int]] = field(default_factory=dict)
    retries: list[tuple[Answer, Answer, Answer]] = field(default_factory=list)

    def of(self, kind: str, status: int | None = None) -> list[Answer]:
        return [
            a
            for a in self.answers
            if a.request.kind == kind and (status is None or a.status == status)
        ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The private cluster, its own Redis and both services, for the module's drills."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("pg-drill")
    redis = EmbeddedRedis(directory / "redis").start()
    site = open_site(directory, redis.url)
    yield site
    site.stop()
    redis.stop()


@pytest.fixture(scope="module", params=list(MODES))
def drill(request, site) -> Drill:
    """Run the load, stop PostgreSQL in this mode, start it again, then retry what got 503."""
    first_delegate, badges = MODES[request.param]
    traffic = Traffic(site, first_delegate, badges)
    with Load([traffic.registration] * 2 + [traffic.scan] * 2) as load:
        wait_until(lambda: load.both_succeed_since(0, 3), 60, message="load before the outage")
        site.cluster.stop(request.param)
        time.sleep(OUTAGE_SECONDS)
        site.cluster.start()
        restarted_at = time.monotonic()
        wait_until(lambda: load.both_succeed_since(restarted_at), 60, message="recovery")
        recovered_at = time.monotonic()
    drill = Drill(request.param, load.answers, restarted_at, recovered_at)
    drill.found_before_retry = _registrations_found(site, drill.of("registration", 503))
    drill.retries = [(a, send(a.request), send(a.request)) for a in load.answers if a.status == 503]
    return drill


def _registrations_found(site: DrillSite, answers: list[Answer]) -> dict[str, tuple[int, int]]:
    """Per e-mail: how many registrations and outbox rows about them the database holds."""
    found = {}
    with site.registration_sessions() as session:
        for answer in answers:
            email = answer.request.body["email"]
            ids = list(session.scalars(select(Registration.id).where(Registration.email == email)))
            outbox = select(func.count()).where(OutboxMessage.badge_id.in_(ids))
            found[email] = (len(ids), session.scalar(outbox) if ids else 0)
    return found


def test_every_answer_during_the_outage_is_success_or_503_with_retry_after(drill):
    """Never a 500, a hang or a reset: success, or 503 problem+json telling when to retry."""
    errors = [(a.request.kind, a.error) for a in drill.answers if a.error]
    assert not errors, errors[:5]
    unclean = [
        (a.request.kind, a.status, a.headers.get("content-type"), a.body)
        for a in drill.answers
        if not (a.succeeded or a.clean_unavailable)
    ]
    assert not unclean, unclean[:5]
    for kind in ("registration", "scan"):
        assert drill.of(kind, 503), f"no {kind} met the outage: the drill proved nothing"


def test_the_same_server_processes_answer_again_soon_after_the_restart(drill, site):
    """No restart needed: the processes that saw the outage serve again within the bound."""
    assert drill.recovered_at - drill.restarted_at < RECOVERY_SECONDS
    for server in (site.registration, site.checkin):
        assert server.process.poll() is None
        assert server.worker_boots() == 1, f"{server.service}: gunicorn restarted its worker"
        assert server.status_of("/readyz") == 200


def test_a_registration_is_whole_or_absent_and_seat_counters_match(drill, site):
    """201: stored with its outbox row; 503: all or nothing; retried: exactly one; seats add up."""
    with site.registration_sessions() as session:
        for answer in drill.of("registration", 201):
            registration = session.get(Registration, answer.body["id"])
            assert registration.email == answer.request.body["email"]
            assert _topics(session, registration.id) == ["delegate.registered"]
    assert set(drill.found_before_retry.values()) <= {(0, 0), (1, 1)}
    for _first, retry, again in _retries(drill, "registration"):
        assert retry.status == again.status == 201, (retry.body, again.body)
        assert retry.body["id"] == again.body["id"]
    with site.registration_sessions() as session:
        _assert_one_registration_per_delegate(session, drill)
        _assert_seat_counters_match(session)
        pending = select(func.count()).where(IdempotencyRecord.status_code == IN_PROGRESS)
        assert session.scalar(pending) == 0


def _topics(session, registration_id: int) -> list[str]:
    query = select(OutboxMessage.topic).where(OutboxMessage.badge_id == registration_id)
    return list(session.scalars(query))


def _retries(drill: Drill, kind: str) -> list[tuple[Answer, Answer, Answer]]:
    return [retry for retry in drill.retries if retry[0].request.kind == kind]


def _assert_one_registration_per_delegate(session, drill: Drill) -> None:
    emails = {a.request.body["email"] for a in drill.of("registration")}
    query = (
        select(Registration.email, func.count())
        .where(Registration.email.in_(emails))
        .group_by(Registration.email)
    )
    counts = dict(session.execute(query).all())
    assert set(counts) == emails, "a delegate whose request was answered is missing"
    assert set(counts.values()) == {1}, {e: n for e, n in counts.items() if n != 1}
    without_outbox = select(Registration.id).where(
        ~Registration.id.in_(select(OutboxMessage.badge_id))
    )
    assert list(session.scalars(without_outbox)) == []


def _assert_seat_counters_match(session) -> None:
    active = Registration.status == ACTIVE
    for event in session.scalars(select(Event)):
        count = select(func.count()).where(Registration.event_id == event.id, active)
        assert event.registered_count == session.scalar(count), event.slug
    for agency in session.scalars(select(Agency)):
        count = select(func.count()).where(Registration.agency_id == agency.id, active)
        assert agency.registered_count == session.scalar(count), agency.code


def test_a_scan_is_stored_once_and_a_resent_nonce_gets_one_answer(drill, site):
    """Every answered nonce stored once with its answer; one `ok` and one check-in per badge."""
    for _first, retry, again in _retries(drill, "scan"):
        assert retry.status == again.status == 200, (retry.body, again.body)
        assert retry.body == again.body
    final = _final_scan_answers(drill)
    with site.checkin_sessions() as session:
        stored = _stored_scans(session, list(final))
        assert {nonce: status for nonce, (status, _) in stored.items()} == {
            nonce: answer.body["status"] for nonce, answer in final.items()
        }
        assert set(Counter(count for _, count in stored.values())) == {1}
        badges = {_badge(a) for a in final.values()}
        checkins = _live_checkins(session, site.list_id, badges)
    assert checkins == dict.fromkeys(badges, 1)
    oks = Counter(_badge(a) for a in final.values() if a.body["status"] == "ok")
    assert oks == dict.fromkeys(badges, 1)


def _final_scan_answers(drill: Drill) -> dict[str, Answer]:
    """Each nonce's answer: the first, or for one that got 503 the answer to its retry."""
    final = {a.request.key: a for a in drill.of("scan", 200)}
    final.update({first.request.key: retry for first, retry, _ in _retries(drill, "scan")})
    assert {a.body["status"] for a in final.values()} <= {"ok", "already_checked_in"}
    return final


def _badge(answer: Answer) -> int:
    return answer.body["badge"]["id"]


def _stored_scans(session, nonces: list[str]) -> dict[str, tuple[str, int]]:
    """Per nonce: the stored status and how many rows carry that nonce."""
    query = (
        select(Scan.nonce, func.min(Scan.status), func.count())
        .where(Scan.nonce.in_(nonces))
        .group_by(Scan.nonce)
    )
    return {nonce: (status, count) for nonce, status, count in session.execute(query)}


def _live_checkins(session, list_id: int, badges: set[int]) -> dict[int, int]:
    query = (
        select(Checkin.badge_id, func.count())
        .where(
            Checkin.list_id == list_id, Checkin.badge_id.in_(badges), Checkin.undone_at.is_(None)
        )
        .group_by(Checkin.badge_id)
    )
    return dict(session.execute(query).all())
