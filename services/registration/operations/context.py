"""What use cases need besides the session: keys, secrets, base URL, clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.registration.models import Agency, Event, Registration
from shared.badge_tokens import BadgeKeyring
from shared.db import utcnow
from shared.identity import sign_link


@dataclass(frozen=True)
class Context:
    """What use cases need besides the session: keys, secrets, base URL, clock."""

    keyring: BadgeKeyring
    secret_key: str
    public_base_url: str
    clock: Callable[[], datetime] = field(default=utcnow)

    def badge_token(self, registration: Registration) -> str:
        """Return the signed badge token (QR payload) of a registration."""
        r = registration
        return self.keyring.sign(r.event_id, r.id, r.badge_generation)

    def delegate_link(self, registration: Registration) -> str:
        """Return the delegate's private self-service URL."""
        token = sign_link(self.secret_key, "delegate", registration.id, registration.link_nonce)
        return f"{self.public_base_url}/r/{token}"

    def agency_link(self, agency: Agency, event: Event) -> str:
        """Return the agency focal point's private registration URL."""
        token = sign_link(self.secret_key, "agency", agency.id, agency.link_nonce)
        return f"{self.public_base_url}/e/{event.slug}/register/{token}"


def new_nonce() -> str:
    """Return a fresh nonce for a revocable link."""
    return secrets.token_urlsafe(9)
