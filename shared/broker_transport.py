"""Kombu's Redis transport, keeping one Redis client per connection pool instead of one per use.

Kombu 5.7's Redis channel builds a new `redis.Redis` (with its ~170 response callbacks) for
each command it is not handed a client for: twice per task, to mark it unacked and to ack it.
A client on a pool is safe to share between threads (each command takes a connection from the
pool), so each channel keeps one per pool; after a fork kombu replaces the pool, and with it
the client.
"""

from __future__ import annotations

from contextlib import contextmanager

from celery.app.amqp import AMQP
from kombu import Connection
from kombu.transport import redis


class RedisChannel(redis.Channel):
    """A Redis channel whose commands without a client of their own share one client."""

    _shared: tuple | None = None  # (pool, client on that pool)

    @contextmanager
    def conn_or_acquire(self, client=None):
        """Yield the given client, else the channel's client on its current pool."""
        yield client if client else self._client_on_pool()

    def _client_on_pool(self):
        pool = self.pool
        if self._shared is None or self._shared[0] is not pool:
            self._shared = (pool, self._create_client())
        return self._shared[1]


class RedisTransport(redis.Transport):
    """Kombu's Redis transport with RedisChannel."""

    Channel = RedisChannel


class BrokerConnection(Connection):
    """A kombu connection that uses RedisTransport where kombu would use its Redis transport."""

    def get_transport_cls(self):
        """The transport class of the URL's scheme, RedisTransport for redis ones."""
        transport = super().get_transport_cls()
        return RedisTransport if transport is redis.Transport else transport


class BrokerAMQP(AMQP):
    """Celery's messaging setup, connecting through BrokerConnection."""

    Connection = BrokerConnection
