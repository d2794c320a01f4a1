"""Door device enrolment: a new device's token and the scanner link a phone enrols with."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flask import current_app, url_for

from services.checkin import operations
from services.checkin.models import Device
from shared import qr
from shared.identity import issue_api_token
from shared.web import db_session


@dataclass(frozen=True)
class Enrolment:
    """A device just enrolled, with its token: shown once, never stored."""

    device: Device
    token: str
    url: str
    qr_png: bytes

    @property
    def qr_data_url(self) -> str:
        """The QR as a data: URL, for an <img> or a JSON answer."""
        return "data:image/png;base64," + base64.b64encode(self.qr_png).decode()


def enrol_device(event_id: int, gate: str, name: str, actor: str) -> Enrolment:
    """Create a door device for an event and gate and issue its token."""
    device = operations.create_device(db_session(), event_id, gate, name, actor)
    token = issue_api_token(
        current_app.extensions["checkin_config"].secret_key,
        subject=f"device:{device.id}",
        role="device",
        events=[event_id],
        token_id=device.id,
    )
    # The token rides in the fragment, which browsers never send to a server or a Referer.
    url = url_for("pages.scanner", _external=True) + f"#token={token}"
    return Enrolment(device, token, url, qr.qr_text_png(url))
