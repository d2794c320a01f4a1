"""A real HTTP server on 127.0.0.1 standing in for Twilio's Programmable Messaging API.

It speaks the Messages.json shape (Basic auth, form-encoded To/From/Body, 201 + JSON, Twilio error
bodies), records what it receives, fails on demand, and posts signed delivery receipts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature, written here independently of the code under test."""
    payload = url + "".join(key + params[key] for key in sorted(params))
    mac = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def send_receipt(
    webhook_url: str,
    sid: str,
    status: str,
    auth_token: str,
    error_code: str | None = None,
    **extra: str,
) -> int:
    """POST a signed, form-encoded delivery receipt as Twilio does; return the HTTP status."""
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    params.update(ApiVersion="2010-04-01", **extra)
    if error_code:
        params["ErrorCode"] = error_code
    request = urllib.request.Request(
        webhook_url,
        data=urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature(auth_token, webhook_url, params)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class SmsProvider:
    """The stand-in server; `messages` holds each accepted request's form fields."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-auth-token"):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.messages: list[dict[str, str]] = []
        self.requests = 0
        self._failures: list[int] = []
        self._codes: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, sender: str = "+9647700000000", token: str | None = None) -> str:
        """An SMS_URL for this server (http is accepted on loopback)."""
        credentials = f"{self.account_sid}:{quote(token or self.auth_token, safe='')}"
        query = urlencode({"from": sender})
        return f"http://{credentials}@127.0.0.1:{self.port}{self.path}?{query}"

    def start(self) -> SmsProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status` (429 or 5xx: Twilio's bodies)."""
        with self._lock:
            self._failures.extend([status] * count)

    def fail_with_code(self, to_number: str, code: int, status: int = 400) -> None:
        """Refuse every message to `to_number` with a Twilio error code (21211, 21610, ...)."""
        with self._lock:
            self._codes[to_number] = (status, code)

    def answer(self, form: dict[str, str], authorized: bool, path: str) -> tuple[int, dict]:
        """Decide the status and JSON body for one request."""
        with self._lock:
            self.requests += 1
            if path != self.path:
                return _error(404, 20404)
            if not authorized:
                return _error(401, 20003)
            if self._failures:
                status = self._failures.pop(0)
                return _error(status, 20429 if status == 429 else 20500)
            if form.get("To") in self._codes:
                return _error(*self._codes[form["To"]])
            if not form.get("To"):
                return _error(400, 21604)
            if not form.get("Body"):
                return _error(400, 21602)
            self.messages.append(form)
            return 201, self._created(form)

    def _created(self, form: dict[str, str]) -> dict:
        """The JSON Twilio answers for a queued message."""
        sid = "SM" + uuid.uuid4().hex
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": formatdate(usegmt=True),
            "error_code": None,
            "error_message": None,
            "uri": f"{self.path[:-5]}/{sid}.json",
        }


def _error(status: int, code: int) -> tuple[int, dict]:
    """A Twilio error body."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    message = ERROR_MESSAGES.get(code, "Error")
    return status, {"code": code, "message": message, "more_info": more_info, "status": status}


def _handler(provider: SmsProvider) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `provider`."""
    expected = "Basic " + base64.b64encode(
        f"{provider.account_sid}:{provider.auth_token}".encode()
    ).decode("ascii")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            fields = parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
            form = {key: values[0] for key, values in fields.items()}
            given = self.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            authorized = hmac.compare_digest(given, expected.encode())
            status, body = provider.answer(form, authorized, self.path)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):
            pass

    return Handler
