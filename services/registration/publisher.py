"""Publish committed outbox rows from a background thread: requests never wait on the broker."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.registration.operations import outbox

log = logging.getLogger(__name__)
# relay(session, ids) publishes those rows if still pending; it may raise.
Relay = Callable[[Session, list[int]], object]
BATCH = outbox.PENDING_LIMIT
LINGER_SECONDS = 0.05
EXIT_DRAIN_SECONDS = 3.0


class OutboxPublisher:
    """A queue of committed outbox ids, relayed in batches by one daemon thread per process."""

    def __init__(self, factory: sessionmaker[Session], relay: Relay):
        self._factory = factory
        self._relay = relay
        self._queue: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self._unfinished = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def in_background(self) -> bool:
        """Whether ids go to the thread; else they are relayed in the caller's thread."""
        # A factory bound to one connection (tests' rolled-back sessions) cannot be shared
        # with another thread: relay inline there, exactly as the background thread would.
        return isinstance(self._factory.kw.get("bind"), Engine)

    def submit(self, ids: Iterable[int]) -> None:
        """Publish these committed rows soon; a failure leaves them to the periodic sweep."""
        ids = list(ids)
        if not self.in_background:
            self._relay_safely(ids)
            return
        with self._changed:
            self._unfinished += 1
            self._start_if_needed()
        self._queue.put(ids)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far was relayed (or failed); tell whether it was."""
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, timeout)

    def _start_if_needed(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()
        # On a graceful exit, publish what is queued rather than leave it to the sweep.
        atexit.register(self.drain, EXIT_DRAIN_SECONDS)

    def _run(self) -> None:
        while True:
            batches = [self._queue.get()]
            # A relay transaction costs about as much as three messages: wait for company.
            deadline = time.monotonic() + LINGER_SECONDS
            while sum(map(len, batches)) < BATCH:
                try:
                    batches.append(self._queue.get(timeout=max(0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._relay_safely([i for batch in batches for i in batch])
            with self._changed:
                self._unfinished -= len(batches)
                self._changed.notify_all()

    def _relay_safely(self, ids: list[int]) -> None:
        """Relay in a session of its own; never raise (the sweep retries what is left)."""
        try:
            with self._factory() as session:
                self._relay(session, ids)
        except Exception:
            log.warning("outbox: publishing after commit failed; the sweep retries", exc_info=True)
