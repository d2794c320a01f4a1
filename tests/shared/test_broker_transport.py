"""The broker's Redis channel shares one client per pool, on a real Redis."""

import uuid

from shared.broker_transport import RedisChannel, RedisTransport
from shared.celery_app import celery_app


def test_celery_connections_use_the_redis_transport_with_the_shared_client(redis_url):
    with celery_app(redis_url).connection_for_write() as connection:
        assert isinstance(connection.transport, RedisTransport)
        assert isinstance(connection.default_channel, RedisChannel)


def test_messages_are_sent_held_unacked_and_acked_through_one_client_per_pool(redis_url):
    with celery_app(redis_url).connection_for_write() as connection:
        queue = connection.SimpleQueue(f"broker-transport-test-{uuid.uuid4().hex}")
        channel = queue.channel
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        client, tag = channel._client_on_pool(), message.delivery_tag
        assert client.hget(channel.unacked_key, tag)  # held as unacked until acked
        message.ack()
        assert client.hget(channel.unacked_key, tag) is None
        assert message.payload == {"n": 1} and channel._client_on_pool() is client
        with channel.conn_or_acquire() as used:
            assert used is client
        channel._after_fork()  # a forked child gets a new pool, and a client on it
        assert channel._client_on_pool() is not client
        assert channel._client_on_pool().connection_pool is channel.pool
        queue.put({"n": 2})
        again = queue.get(timeout=5)
        again.ack()
        assert again.payload == {"n": 2}
        queue.queue.delete()
        queue.close()


def test_twenty_messages_delivered_and_acked_build_at_most_one_client(redis_url):
    # Kombu's own channel built one per unacked record and one per ack: 40 here.
    with celery_app(redis_url).connection_for_write() as connection:
        queue = connection.SimpleQueue(f"broker-transport-test-{uuid.uuid4().hex}")
        channel, built = queue.channel, []
        create = channel._create_client
        channel._create_client = lambda *a, **kw: built.append(1) or create(*a, **kw)
        try:
            for n in range(20):
                queue.put({"n": n})
            for _ in range(20):
                queue.get(timeout=5).ack()
            assert len(built) <= 1
        finally:
            queue.queue.delete()
            queue.close()
