"""Turns a logged delivery into a rendered message handed to the configured sender."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from services.notifications import compose
from services.notifications.config import NotificationsConfig
from services.notifications.models import Delivery
from services.notifications.rate_limit import RateLimiter
from services.notifications.senders import mail_sender_from_url, sms_sender_from_url

RECEIPTS_PATH = "/notifications/webhooks/sms"


@dataclass
class Dispatcher:
    """Senders and the SMS rate limiter of one process, created on first use."""

    config: NotificationsConfig

    @property
    def stuck_after(self) -> float:
        """Seconds after which a queued or sending delivery counts as lost."""
        return float(os.environ.get("NOTIFICATIONS_STUCK_AFTER_SECONDS", "600"))

    @cached_property
    def mail(self):
        return mail_sender_from_url(self.config.mail_url, self.config.var_dir)

    @cached_property
    def sms(self):
        return sms_sender_from_url(self.config.sms_url, self.config.var_dir)

    @cached_property
    def limiter(self) -> RateLimiter:
        return RateLimiter(self.config.redis_url, "sms", self.config.sms_per_second)

    def deliver(self, delivery: Delivery) -> str | None:
        """Render and send one delivery; return the provider's id for it."""
        if delivery.channel == "email":
            message = compose.render_email(
                delivery.kind,
                delivery.payload,
                sender=self.config.mail_from,
                message_id=_message_id(delivery),
                extra=delivery.extra,
            )
            return self.mail.send(message)
        body = compose.render_sms(delivery.kind, delivery.payload, delivery.extra)
        callback = f"{self.config.public_base_url}{RECEIPTS_PATH}" if self.config.sms_url else None
        return self.sms.send(delivery.recipient, body, status_callback=callback)


def _message_id(delivery: Delivery) -> str:
    """A stable Message-ID per delivery, so a rare duplicate send is recognisable as one."""
    return f"{delivery.idempotency_key.replace(':', '.')}"
