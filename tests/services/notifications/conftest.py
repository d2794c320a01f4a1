"""Fixtures of the notifications tests: a real SMTP server (aiosmtpd) and the SMS stand-in."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.services.notifications.sms_provider import SmsProvider

SMTP_USER, SMTP_PASSWORD = "hudoor", "s3cret/p@ss:word%"


@dataclass
class ReceivedMail:
    """One message as the SMTP server took it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None
    peer: tuple | None = None


@dataclass
class RecordingHandler:
    """Stores what arrives; `refuse` maps a recipient to the reply that refuses it; `delays`
    to the seconds its successive messages wait before the reply to DATA (then the default)."""

    messages: list[ReceivedMail] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    delays: dict[str, list[float]] = field(default_factory=dict)
    default_delay: float = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self._delay(envelope.rcpt_tos))
        login = session.auth_data.login.decode() if session.authenticated else None
        mail = ReceivedMail(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content,
            tls=session.ssl is not None,
            login=login,
            peer=session.peer,
        )
        self.messages.append(mail)
        return "250 Message accepted for delivery"

    def _delay(self, recipients: list[str]) -> float:
        """A slow server's wait before it takes the message (aiosmtpd drops the message of a
        client that hangs up first)."""
        waits = [self.delays[r.lower()].pop(0) for r in recipients if self.delays.get(r.lower())]
        return max(waits, default=self.default_delay)


def _authenticator(server, session, envelope, mechanism, auth_data):
    """Accept only SMTP_USER / SMTP_PASSWORD; anything else gets 535."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1; stop() and start() simulate downtime on the same port."""

    def __init__(self, tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False):
        self.handler = RecordingHandler()
        self.port = free_port()
        self._options: dict = {"server_hostname": "mail.hudoor.test", "ready_timeout": 10}
        if implicit_tls:
            # AUTH over the TLS socket itself: aiosmtpd only knows STARTTLS as "TLS".
            self._options.update(ssl_context=tls_context, auth_require_tls=False)
        elif tls_context:
            self._options.update(tls_context=tls_context, require_starttls=True)
        if tls_context:
            self._options.update(authenticator=_authenticator, auth_required=True)
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.messages

    def refuse(self, address: str, reply: str) -> None:
        """Answer RCPT TO:<address> with `reply` (e.g. "550 5.1.1 No such user")."""
        self.handler.refuse[address.lower()] = reply

    def slow_down(self, default: float, first_replies: dict[str, list[float]]) -> None:
        """Delay every reply to DATA by `default` s; per address, its first replies as given."""
        self.handler.default_delay = default
        self.handler.delays.update({a.lower(): list(d) for a, d in first_replies.items()})

    def url(self, scheme: str = "smtp", credentials: str = "", query: str = "") -> str:
        """A MAIL_URL for this server."""
        userinfo = f"{credentials}@" if credentials else ""
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def start(self) -> SmtpServer:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 / localhost: (certificate path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def server_tls_context(tls_files) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    return context


@pytest.fixture
def make_smtp_server():
    """Start SMTP servers with options; all are stopped after the test."""
    servers: list[SmtpServer] = []

    def make(**options) -> SmtpServer:
        server = SmtpServer(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(make_smtp_server) -> SmtpServer:
    """A plain SMTP server without login."""
    return make_smtp_server()


@pytest.fixture
def sms_provider():
    """The Twilio stand-in, started for one test."""
    provider = SmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def receipt_endpoint():
    """A local webhook that records (headers, form) of each POST."""
    received: list[tuple[dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((dict(self.headers), dict(parse_qsl(body))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notifications/sms/receipts", received
    server.shutdown()
    server.server_close()


from tests.services.notifications.system import make_system, system  # noqa: E402, F401
