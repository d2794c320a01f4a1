"""One SMTP connection per thread of a worker process, kept open across messages."""

from __future__ import annotations

import os
import smtplib
import threading
from collections.abc import Callable
from contextlib import suppress
from email.message import EmailMessage

# A server closes idle connections (or restarts): such a failure means "open a new one".
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError)


def timed_out(error: BaseException) -> bool:
    """A reply the server was too slow to give: not a connection dropped while idle.

    The server may have taken the message, and a slow server is slow on a new connection too:
    the delivery's retry (with backoff) decides, not an immediate second send.
    """
    # smtplib reports a read timeout as a disconnection caused by the timeout.
    return isinstance(error.__context__, TimeoutError)


class SmtpSessions:
    """Sends each message on this thread's open connection, opening one when there is none."""

    def __init__(self, connect: Callable[[], smtplib.SMTP]):
        self._connect = connect
        self._local = threading.local()

    def send(self, message: EmailMessage) -> dict:
        """Send the message; if a kept connection dropped, send once more on a new one."""
        smtp, reused = self._take()
        try:
            return self._send_on(smtp, message)
        except DROPPED as error:
            if not reused or timed_out(error):
                raise
        # Most likely closed while idle, before this message: once more on a new connection
        # (at worst a duplicate with the same Message-ID, as after any retry).
        return self._send_on(self._take()[0], message)

    def _send_on(self, smtp: smtplib.SMTP, message: EmailMessage) -> dict:
        """Send on a connection; any failure closes it (its state is unknown)."""
        try:
            return smtp.send_message(message)
        except BaseException:
            self.close()
            raise

    def _take(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's connection and whether it was used before; a new one if none."""
        smtp = getattr(self._local, "smtp", None)
        # A connection inherited through fork() belongs to the parent: never share its socket.
        if smtp is not None and self._local.pid == os.getpid():
            return smtp, True
        self._local.smtp, self._local.pid = self._connect(), os.getpid()
        return self._local.smtp, False

    def close(self) -> None:
        """Say goodbye on this thread's connection, if any, and forget it."""
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is None or self._local.pid != os.getpid():
            return
        with suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()
