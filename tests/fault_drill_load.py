"""Client threads of the PostgreSQL drill: registrations and door scans, every answer kept."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fault_drill_site import EVENT_ID, DrillSite
from tests.services.notifications.system import AGENCIES

REGISTER = "/api/v1/events/wli-gbv-2023/registrations"
SCAN = "/api/v1/scans"
TIMEOUT = 20  # an answer slower than this counts as a hang
PAUSE = 0.02  # between two requests of one client thread (a 503 comes back at once)
SUCCESS = {"registration": 201, "scan": 200}


@dataclass(frozen=True)
class Request:
    """One POST a client sends (again, unchanged, when it retries)."""

    kind: str  # "registration" or "scan"
    key: str  # the Idempotency-Key or the scan's nonce
    port: int
    path: str
    body: dict
    headers: dict


@dataclass
class Answer:
    """What came back (or the error instead) and when the request left."""

    request: Request
    sent_at: float
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: dict | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS[self.request.kind]

    @property
    def clean_unavailable(self) -> bool:
        """503 problem+json with a Retry-After: the client knows to come back later."""
        return (
            self.status == 503
            and self.headers.get("content-type", "").startswith("application/problem+json")
            and self.headers.get("retry-after", "").isdigit()
            and (self.body or {}).get("status") == 503
        )


def send(request: Request) -> Answer:
    """POST the request on a new connection; a timeout or reset is kept as the error."""
    answer = Answer(request, time.monotonic())
    connection = http.client.HTTPConnection("127.0.0.1", request.port, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json", **request.headers}
    try:
        connection.request("POST", request.path, json.dumps(request.body), headers)
        response = connection.getresponse()
        raw = response.read()
        answer.status = response.status
        answer.headers = {name.lower(): value for name, value in response.getheaders()}
        answer.body = json.loads(raw) if raw else None
    except (OSError, http.client.HTTPException, ValueError) as error:
        answer.error = f"{type(error).__name__}: {error}"
    finally:
        connection.close()
    return answer


class Traffic:
    """A new delegate for each registration; the next badge of a range for each scan."""

    def __init__(self, site: DrillSite, first_delegate: int, badges: range):
        self.site = site
        self._delegates = itertools.count(first_delegate)
        self._badges = itertools.cycle(badges)
        self._lock = threading.Lock()

    def registration(self) -> Request:
        with self._lock:
            n = next(self._delegates)
        body = {
            "full_name_ar": f"مشاركة التمرين {n}",
            "full_name_en": f"Drill delegate {n}",
            "agency": AGENCIES[n % len(AGENCIES)],
            "email": delegate_email(n),
            "phone": f"+96477{n:08d}",
            "gender": "female",
            "channel": "email",
            "consent": True,
        }
        key = uuid.uuid4().hex
        port = self.site.registration.port
        return Request("registration", key, port, REGISTER, body, {"Idempotency-Key": key})

    def scan(self) -> Request:
        with self._lock:
            badge = next(self._badges)
        body = {
            "token": self.site.keyring.sign(EVENT_ID, badge, 1),
            "list_id": self.site.list_id,
            "nonce": uuid.uuid4().hex,
        }
        headers = {"Authorization": f"Bearer {self.site.device_token}"}
        return Request("scan", body["nonce"], self.site.checkin.port, SCAN, body, headers)


def delegate_email(n: int) -> str:
    return f"drill-{n}@example.org"


class Load:
    """Client threads sending requests back to back until stopped; every answer is kept."""

    def __init__(self, makers: list[Callable[[], Request]]):
        self.answers: list[Answer] = []
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(m,)) for m in makers]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(TIMEOUT + 10)

    def _loop(self, make: Callable[[], Request]) -> None:
        while not self._stopping.is_set():
            self.answers.append(send(make()))
            self._stopping.wait(PAUSE)

    def succeeded_since(self, moment: float, kind: str) -> int:
        """How many requests of a kind sent after `moment` succeeded."""
        return sum(
            1
            for a in list(self.answers)
            if a.request.kind == kind and a.sent_at >= moment and a.succeeded
        )

    def both_succeed_since(self, moment: float, at_least: int = 1) -> bool:
        return all(self.succeeded_since(moment, kind) >= at_least for kind in SUCCESS)
