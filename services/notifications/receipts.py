"""Twilio delivery receipts: the X-Twilio-Signature check and the status they report."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import urlsplit, urlunsplit

# Twilio's message statuses (MessageStatus in receipts) mapped to ours.
RECEIPT_STATUSES = (
    dict.fromkeys(("accepted", "scheduled", "queued", "sending", "sent"), "sent")
    | dict.fromkeys(("delivered", "read"), "delivered")
    | dict.fromkeys(("undelivered", "failed", "canceled"), "failed")
)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL then each name+value by name."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> set[str]:
    """The URL as given, without its port and with the default port (as Twilio's SDKs check)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return {url}
    host = re.sub(r":\d+$", "", parts.netloc)
    return {url} | {urlunsplit(parts._replace(netloc=host + end)) for end in ("", f":{port}")}


def verify_receipt_signature(auth_token: str, url: str, params: dict, signature: str) -> bool:
    """Check a delivery receipt's X-Twilio-Signature in constant time."""
    if not auth_token or not signature:
        return False
    expected = {twilio_signature(auth_token, variant, params) for variant in _url_variants(url)}
    return any(hmac.compare_digest(one.encode(), signature.encode()) for one in expected)


def receipt_status(params: dict[str, str]) -> tuple[str, str, str | None]:
    """Map a Twilio receipt to (message sid, sent/delivered/failed, error code or None)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    raw = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or raw not in RECEIPT_STATUSES:
        raise ValueError(f"not a delivery receipt (sid={sid!r}, status={raw!r})")
    return sid, RECEIPT_STATUSES[raw], params.get("ErrorCode") or None
