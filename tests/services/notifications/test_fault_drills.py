"""Fault drills: Redis down while delegates register; the worker killed mid-batch. Nothing lost."""

from __future__ import annotations

import email
import email.policy
from collections import Counter

import pytest

from runner.redis_server import EmbeddedRedis
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
