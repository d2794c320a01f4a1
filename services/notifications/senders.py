"""Email and SMS senders chosen by MAIL_URL / SMS_URL, with transient/permanent error classes.

SMS speaks the Twilio Programmable Messaging API (POST .../Messages.json, HTTP Basic auth,
form-encoded To/From/Body, JSON answers, signed delivery-receipt webhooks): it is the most widely
used SMS HTTP API and many providers and gateways emulate it, so one client covers most choices.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from http.client import HTTPException
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from services.notifications.smtp_sessions import SmtpSessions

log = logging.getLogger(__name__)

# Accepted URL parameters and the pattern each value must match.
FLAG, SECONDS, TEXT = r"[01]", r"0*[1-9]\d{0,3}(\.\d+)?", r".+"
MAIL_PARAMS = {"starttls": FLAG, "verify": FLAG, "timeout": SECONDS}
SMS_PARAMS = {"from": TEXT, "messaging_service_sid": TEXT, "timeout": SECONDS}
NETWORK_ERRORS = {
    ConnectionRefusedError: "connection_refused",
    ConnectionResetError: "connection_reset",
    TimeoutError: "timeout",
    socket.gaierror: "dns_error",
}


class SendError(Exception):
    """A message could not be handed over; `transient` says whether retrying can help."""

    def __init__(self, reason: str, detail: str, *, transient: bool, retry_after=None):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.transient = reason, detail, transient
        self.retry_after: float | None = retry_after


def _network_error(error: BaseException) -> SendError:
    """Classify a socket-level failure: transient, but for a failed certificate check."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return SendError("tls_verify_failed", str(error), transient=False)
    for kind, reason in NETWORK_ERRORS.items():
        if isinstance(error, kind):
            return SendError(reason, str(error) or reason, transient=True)
    return SendError("network_error", f"{type(error).__name__}: {error}", transient=True)


def _is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where cleartext credentials stay on the box."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_url(url: str, variable: str, schemes: tuple[str, ...], params: dict[str, str]):
    """Split a URL and its query; errors name the variable and never echo the URL (secrets)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ValueError(f"{variable} is not a valid URL (check the host and port)") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{variable} must be a {' or '.join(schemes)} URL with a host")
    query = parse_qs(parts.query, keep_blank_values=True)
    for key, values in query.items():
        if key not in params or len(values) != 1 or not re.fullmatch(params[key], values[0]):
            raise ValueError(f"{variable} parameter {key!r} is unknown, repeated or invalid")
    return parts, {key: values[0] for key, values in query.items()}


def _ensure_message_id(message: EmailMessage) -> str:
    """Return the Message-ID, adding one (on the From domain) when the composer set none."""
    if message["Message-ID"] is None:
        domain = parseaddr(str(message.get("From", "")))[1].rpartition("@")[2]
        message["Message-ID"] = make_msgid(domain=domain or "hudoor.invalid")
    return str(message["Message-ID"])


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    """Write directory/name through a temporary file, so readers never see a partial file."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, directory / name)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise SendError("file_error", f"cannot write: {error}", transient=True) from None


def _timestamp() -> str:
    """A UTC timestamp that sorts lexically and is safe in file names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


class FileMailSender:
    """The embedded default: each message becomes an .eml file (wire format) a mail client opens."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> str:
        """Write the message and return its Message-ID."""
        message_id = _ensure_message_id(message)
        safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<> "))[:120]
        # CRLF line ends: the exact bytes an SMTP server would receive.
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        _write_atomically(self.directory, f"{_timestamp()}-{safe_id}.eml", data)
        return message_id


class SmtpMailSender:
    """Sends over SMTP: plain, STARTTLS (`?starttls=1`) or implicit TLS (smtps://)."""

    def __init__(self, url: str):
        parts, query = _parse_url(url, "MAIL_URL", ("smtp", "smtps"), MAIL_PARAMS)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls") == "1"
        if self.implicit_tls and self.starttls:
            raise ValueError("MAIL_URL: smtps:// is TLS already; drop ?starttls=1")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587 if self.starttls else 25)
        self.timeout = float(query.get("timeout", "30"))
        self.verify_tls = query.get("verify") != "0"
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password or "")
        if not (self.username or "").isascii() or not self._password.isascii():
            raise ValueError("MAIL_URL login must be ASCII (smtplib sends AUTH in ASCII only)")
        if self.username and not (self.implicit_tls or self.starttls or _is_loopback(self.host)):
            raise ValueError("MAIL_URL sends a password in clear; add ?starttls=1 or use smtps://")
        self._sessions = SmtpSessions(self._open)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, message: EmailMessage) -> str:
        """Hand the message to the server and return its Message-ID."""
        message_id = _ensure_message_id(message)
        if not any(message.get_all(header) for header in ("To", "Cc", "Bcc")):
            raise SendError("no_recipients", "the message has no recipients", transient=False)
        try:
            self._deliver(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(error.recipients) from None
        except smtplib.SMTPResponseException as error:
            raise _smtp_response(error) from None
        except smtplib.SMTPServerDisconnected as error:
            # smtplib reports a read timeout as a disconnection caused by the timeout.
            reason = "timeout" if isinstance(error.__context__, TimeoutError) else "disconnected"
            raise SendError(reason, str(error) or reason, transient=True) from None
        except smtplib.SMTPException as error:
            # Setup mismatches: no STARTTLS, no AUTH, no SMTPUTF8, no common AUTH mechanism.
            raise SendError("smtp_unsupported", str(error), transient=False) from None
        except OSError as error:
            raise _network_error(error) from None
        return message_id

    def _deliver(self, message: EmailMessage) -> None:
        """Send on this thread's kept connection (a new one each message cost ~2 ms and RTTs)."""
        refused = self._sessions.send(message)
        if refused:
            # Some recipients took it: retrying would duplicate it for them.
            # Counted, not named: addresses are personal data (the delivery log has them).
            log.warning("SMTP server refused %d of the recipients", len(refused))

    def _open(self) -> smtplib.SMTP:
        """Connect, secure and log in; close the socket when any step fails."""
        # The constructors connect, and close the socket themselves when that fails.
        where = {"host": self.host, "port": self.port, "local_hostname": _local_hostname()}
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(**where, timeout=self.timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(**where, timeout=self.timeout)
        try:
            if self.starttls:
                # Raises SMTPNotSupportedError rather than carrying on in clear.
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        """Close this thread's kept connection."""
        self._sessions.close()


@functools.cache
def _local_hostname() -> str:
    """The EHLO name, looked up once (socket.getfqdn can take seconds without reverse DNS)."""
    return socket.getfqdn()


def _reply_text(reply: bytes | str) -> str:
    """Decode an SMTP reply for error details."""
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))[:300]


def _smtp_response(error: smtplib.SMTPResponseException) -> SendError:
    """Classify an SMTP reply code: 4xx transient, 5xx permanent (535: bad login)."""
    code, text = error.smtp_code, _reply_text(error.smtp_error)
    if 400 <= code < 500:
        return SendError(f"smtp_{code}", text, transient=True)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SendError("auth_failed", f"{code} {text}", transient=False)
    if isinstance(error, smtplib.SMTPSenderRefused):
        return SendError("sender_refused", f"{code} {text}", transient=False)
    return SendError(f"smtp_{code}", text, transient=False)


def _refused(recipients: dict[str, tuple[int, bytes]]) -> SendError:
    """Every recipient was refused: transient only when all refusals were 4xx."""
    codes = {code for code, _ in recipients.values()}
    detail = "; ".join(
        f"{to}: {code} {_reply_text(text)}" for to, (code, text) in recipients.items()
    )
    if codes and all(400 <= code < 500 for code in codes):
        return SendError(f"smtp_{max(codes)}", detail, transient=True)
    return SendError("recipient_refused", detail or "no recipients", transient=False)


class FileSmsSender:
    """The embedded default: each SMS becomes a JSON file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        """Write the message and return its generated id."""
        message_id = f"file-{uuid.uuid4().hex}"
        record = {"id": message_id, "to": to, "body": body, "status_callback": status_callback}
        record["created_at"] = datetime.now(UTC).isoformat()
        data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
        _write_atomically(self.directory, f"{_timestamp()}-{message_id}.json", data)
        return message_id


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: following one would replay the Authorization header elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpSmsSender:
    """Sends through a Twilio-compatible Messages.json endpoint."""

    def __init__(self, url: str):
        parts, query = _parse_url(url, "SMS_URL", ("https", "http"), SMS_PARAMS)
        if not parts.username or not parts.password or not parts.path.strip("/"):
            raise ValueError("SMS_URL must look like https://SID:TOKEN@host/.../Messages.json")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("SMS_URL must use https:// (http:// only for a loopback gateway)")
        if ("from" in query) == ("messaging_service_sid" in query):
            raise ValueError("SMS_URL needs exactly one of ?from= or ?messaging_service_sid=")
        self.account_sid, self._auth_token = unquote(parts.username), unquote(parts.password)
        netloc = parts.netloc.rpartition("@")[2]
        self.endpoint = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.sender = {"From": query["from"]} if "from" in query else {}
        self.sender = self.sender or {"MessagingServiceSid": query["messaging_service_sid"]}
        self.timeout = float(query.get("timeout", "15"))
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        """POST the message and return the provider's message sid."""
        form = {"To": to, **self.sender, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        credentials = base64.b64encode(f"{self.account_sid}:{self._auth_token}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
        data = urlencode(form).encode()
        request = urllib.request.Request(self.endpoint, data, headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return _sid(response.status, response.read(1 << 20))
        except urllib.error.HTTPError as error:
            raise self._scrub(_http_error(error)) from None
        except urllib.error.URLError as error:
            reason = error.reason if isinstance(error.reason, BaseException) else error
            raise self._scrub(_network_error(reason)) from None
        except (HTTPException, OSError) as error:
            raise self._scrub(_network_error(error)) from None

    def _scrub(self, error: SendError) -> SendError:
        """Make sure no error text carries the auth token."""
        error.detail = error.detail.replace(self._auth_token, "***")
        error.args = (f"{error.reason}: {error.detail}",)
        return error


def _sid(status: int, payload: bytes) -> str:
    """Return the sid of an accepted message."""
    with suppress(ValueError, TypeError, KeyError):
        sid = json.loads(payload)["sid"]
        if isinstance(sid, str) and sid:
            return sid
    # It may have been queued all the same: a retry could send it twice, so no retry.
    raise SendError("bad_response", f"HTTP {status} without a message sid", transient=False)


def _http_error(error: urllib.error.HTTPError) -> SendError:
    """Classify a non-2xx answer: 408/429/5xx transient; other 4xx permanent, by Twilio code."""
    answer = {}
    with suppress(OSError, HTTPException, ValueError):
        answer = json.loads(error.read(1 << 16))
    answer = answer if isinstance(answer, dict) else {}
    detail = str(answer.get("message") or error.reason or "")[:300]
    if error.code in (408, 429) or error.code >= 500:
        retry_after = error.headers.get("Retry-After", "")
        seconds = float(retry_after) if re.fullmatch(r"\d{1,6}", retry_after) else None
        return SendError(f"http_{error.code}", detail, transient=True, retry_after=seconds)
    code = answer.get("code")
    reason = f"sms_{code}" if isinstance(code, int) else f"http_{error.code}"
    return SendError(reason, detail, transient=False)


def mail_sender_from_url(url: str | None, var_dir: Path) -> FileMailSender | SmtpMailSender:
    """The sender for MAIL_URL; unset means .eml files under var/mail/."""
    url = (url or "").strip()
    return SmtpMailSender(url) if url else FileMailSender(Path(var_dir) / "mail")


def sms_sender_from_url(url: str | None, var_dir: Path) -> FileSmsSender | HttpSmsSender:
    """The sender for SMS_URL; unset means JSON files under var/sms/."""
    url = (url or "").strip()
    return HttpSmsSender(url) if url else FileSmsSender(Path(var_dir) / "sms")


def sms_auth_token(url: str | None) -> str | None:
    """The auth token in SMS_URL, for checking receipt signatures; None for the file backend."""
    url = (url or "").strip()
    return HttpSmsSender(url)._auth_token if url else None
