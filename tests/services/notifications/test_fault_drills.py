"""Fault drills: Redis down or restarted while delegates register and badges are scanned; the
worker killed mid-batch; a slow SMTP server. Nothing lost."""

from __future__ import annotations

import email
import email.policy
from collections import Counter

import pytest

from runner.redis_server import EmbeddedRedis
from shared.db import make_sessionmaker
from tests.services.notifications.door_flow import Door, Flow, live_checkins, roster_badges
from tests.worker_process import wait_until


@pytest.fixture
def own_redis(tmp_path):
    """A Redis this test may stop and start (the machine's own is shared: never stop it)."""
    server = EmbeddedRedis(tmp_path / "own-redis").start()
    yield server
    server.stop()


def confirmations(system) -> Counter:
    """How many distinct confirmations (by Message-ID) each recipient got."""
    seen = {(rcpt, _message_id(mail)) for mail in system.smtp.messages for rcpt in mail.rcpt_tos}
    return Counter(rcpt for rcpt, _ in seen)


def _message_id(mail) -> str:
    return email.message_from_bytes(mail.content, policy=email.policy.default)["Message-ID"]


def test_redis_down_while_delegates_register_every_confirmation_arrives_once(
    make_system, own_redis
):
    system = make_system(own_redis.url)
    own_redis.stop()
    registered = [system.register(n) for n in range(20)]
    assert len({r["id"] for r in registered}) == 20
    own_redis.start()
    expected = {f"delegate{n}@example.org" for n in range(20)}
    wait_until(lambda: set(confirmations(system)) == expected, 90, message="all confirmations")
    assert set(confirmations(system).values()) == {1}


def test_worker_killed_mid_batch_every_delegate_gets_exactly_one_confirmation(system):
    for n in range(200):
        system.register(n)
    wait_until(lambda: len(system.smtp.messages) >= 40, 60, message="a part of the batch sent")
    system.worker.kill()
    sent_before_restart = len(system.smtp.messages)
    assert sent_before_restart < 200, "the batch finished before the kill; drill proves nothing"
    system.worker.start()
    expected = {f"delegate{n}@example.org" for n in range(200)}
    wait_until(lambda: set(confirmations(system)) == expected, 120, message="all 200 delivered")
    counts = confirmations(system)
    assert sorted(set(counts.values())) == [1], {r: c for r, c in counts.items() if c > 1}
    # A delivery the killed worker had claimed is recorded once the stuck-claim sweep retries it.
    wait_until(
        lambda: all(d.status == "sent" for d in system.deliveries()),
        60,
        message="every delivery recorded as sent",
    )
    # SMTP cannot be made exactly-once: a message the server accepted just before the kill, but
    # not yet recorded as sent, goes again with the same Message-ID (mail clients merge those).
    # At most one such message per pool process.
    resent = len(system.smtp.messages) - 200
    assert resent <= system.worker.concurrency


def test_redis_restarted_mid_flow_doors_answer_and_the_outbox_catches_up(
    make_system, own_redis, checkin_db
):
    """Redis stopped and started while delegates register and badges are scanned: scans keep
    being answered, and every registration reaches its delegate once and the door roster."""
    system = make_system(own_redis.url)
    system.register(0)
    door = Door.open(system)
    with Flow(system, door) as flow:
        wait_until(lambda: len(flow.registered) >= 10, 60, message="registrations before")
        own_redis.stop()
        during = len(flow.registered)
        wait_until(lambda: len(flow.registered) >= during + 15, 60, message="while Redis is down")
        own_redis.start()
        wait_until(lambda: len(flow.registered) >= during + 30, 60, message="after the restart")
    expected = flow.emails() | {"delegate0@example.org"}

    def all_confirmed() -> bool:
        # kombu 5.7's consumer can die of the lost connection ("Unrecoverable error:
        # AttributeError: 'NoneType' object has no attribute 'hostname'"), even seconds later;
        # compose's `restart: unless-stopped` starts it again, and so does this.
        system.worker.revive()
        return set(confirmations(system)) == expected

    wait_until(all_confirmed, 120, message="all confirmations")
    assert set(confirmations(system).values()) == {1}
    _assert_every_badge_reaches_the_door(door, flow, make_sessionmaker(checkin_db.engine))
    wait_until(lambda: _all_sent(system), 60, message="every delivery recorded as sent")


def _assert_every_badge_reaches_the_door(door, flow, checkin_sessions) -> None:
    """On the roster, each badge scans `ok` once: at once, or again after the outbox caught up."""
    assert {code for _, code, _ in flow.scans} == {200}
    ids = {r["id"] for r in flow.registered}
    _wait_for_roster(ids, checkin_sessions)
    ok = {badge for badge, _, answer in flow.scans if answer["status"] == "ok"}
    missed = [r for r in flow.registered if r["id"] not in ok]
    assert {a["status"] for b, _, a in flow.scans if b not in ok} <= {"unknown_badge"}
    assert {door.scan(r["badge"]["token"])[1]["status"] for r in missed} <= {"ok"}
    assert live_checkins(checkin_sessions, door.list_id) == dict.fromkeys(ids, 1)


def _wait_for_roster(ids: set[int], checkin_sessions, timeout: float = 120) -> None:
    try:
        wait_until(lambda: ids <= roster_badges(checkin_sessions), timeout)
    except AssertionError:
        missing = sorted(ids - roster_badges(checkin_sessions))
        raise AssertionError(f"not on the roster after {timeout} s: {missing}") from None


def _all_sent(system) -> bool:
    return all(d.status == "sent" for d in system.deliveries())


SMTP_TIMEOUT = 2  # MAIL_URL ?timeout= of the slow-server drill's worker
SLOW_REPLY, STALLED_REPLY = 0.5, 5.0  # seconds before the server answers DATA


def test_a_slow_smtp_server_gets_every_confirmation_once_and_never_holds_the_worker(
    make_system, redis_url
):
    """Every reply to DATA is slow and every third delegate's first one outlasts the worker's
    SMTP timeout: the worker gives up on it, retries, and every confirmation ends sent, once."""
    system = make_system(redis_url, mail_query=f"timeout={SMTP_TIMEOUT}")
    stalled = {f"delegate{n}@example.org" for n in range(0, 18, 3)}
    system.smtp.slow_down(SLOW_REPLY, {address: [STALLED_REPLY] for address in stalled})
    for n in range(18):
        system.register(n)
    expected = {f"delegate{n}@example.org" for n in range(18)}
    wait_until(lambda: set(confirmations(system)) == expected, 120, message="all confirmations")
    assert set(confirmations(system).values()) == {1}
    wait_until(lambda: _all_sent(system), 60, message="every delivery recorded as sent")
    retried = {d.recipient for d in system.deliveries() if d.attempts >= 2}
    assert stalled <= retried, "the worker waited out a stalled reply instead of timing out"
