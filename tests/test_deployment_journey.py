"""The whole compose project, run natively, and one delegate's way through it via the proxy.

The migration step runs to completion, then the web services under gunicorn, every Celery worker
and beat start with their compose commands and environments, nginx in front, on this run's
databases and Redis and a local SMTP server. Then, only through the proxy: an admin made with the
`create-admin` CLI sets up an event and an organizer; a delegate registers; the confirmation
e-mail arrives with the badge QR; a door device scans it twice; the organizer's report counts it.
"""

from __future__ import annotations

import contextlib
import datetime
import email
import email.policy
import io
import json
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from PIL import Image

from shared.badge_tokens import BadgeKeyring
from tests.conftest import RUN_ID, ServiceDatabase
from tests.deployment.processes import NO_NGINX
from tests.deployment.spec import ENV_SETTINGS, SERVICES
from tests.deployment.stack import (
    LONG_RUNNING_HUDOOR,
    MACHINE,
    PROFILED,
    PROXY,
    STEPS,
    Stack,
)
from tests.qr_codes import read_qr_codes
from tests.services.notifications.conftest import SmtpServer

ADMIN, ORGANIZER = "admin@example.org", "organizer@example.org"
DELEGATE = "duha.e2e@example.org"
PASSWORD = "e2e-password-0123"
TIMEZONE = "Asia/Baghdad"
EVENT, AGENCY = "e2e-forum", "UNW"
PREFIX = f"hudoor-e2e-{RUN_ID}"
STARTUP_SECONDS, JOURNEY_SECONDS = 150, 120
DATABASES = ("registration", "checkin", "notifications")


def test_every_compose_service_is_run_natively_or_provided_by_the_machine():
    run_here = {*STEPS, *LONG_RUNNING_HUDOOR, PROXY}
    assert run_here.isdisjoint(MACHINE) and run_here.isdisjoint(PROFILED)
    assert run_here | set(MACHINE) | set(PROFILED) == set(SERVICES)


@contextlib.contextmanager
def diagnosed(stack: Stack) -> Iterator[None]:
    """On any failure, print the end of every process's log (pytest shows it with the failure)."""
    try:
        yield
    except BaseException:
        print(stack.tails())
        raise


@pytest.fixture
def databases(tmp_path) -> Iterator[dict[str, str]]:
    """A fresh database per service: PostgreSQL schemas when the suite has a server, else files."""
    made = {name: ServiceDatabase(f"e2e_{name}", tmp_path) for name in DATABASES}
    yield {f"{name.upper()}_DATABASE_URL": made[name].url for name in made}
    for database in made.values():
        database.drop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def deployment_dotenv(databases: dict, redis_url: str, mail_url: str, base_url: str) -> dict:
    """A .env as .env.example says to write it, pointing at this run's servers."""
    keyring = BadgeKeyring.generate(key_id=1)
    kept = {k: v for k, v in ENV_SETTINGS.items() if "${" not in v and "redis://redis" not in v}
    return kept | {
        **databases,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BADGE_SIGNING_KEYS": keyring.to_spec(),
        "BADGE_PUBLIC_KEYS": json.dumps(keyring.public_key_document()),
        "REDIS_URL": redis_url,
        "MAIL_URL": mail_url,
        "PUBLIC_BASE_URL": base_url,
        "RATE_LIMIT_KEY_PREFIX": f"{PREFIX}-limits",
    }


def forget_redis_keys(redis_url: str) -> None:
    """Delete this run's keys (Celery's queues and the rate limits) from the shared Redis."""
    client = redis.Redis.from_url(redis_url.replace("redis+socket://", "unix://", 1))
    for key in client.scan_iter(f"{PREFIX}*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture
def stack(tmp_path, databases, smtp, redis_url) -> Iterator[Stack]:
    """Every process of the compose file, started in compose's order, stopped after the test."""
    if shutil.which("nginx") is None:
        pytest.skip(NO_NGINX)
    # Celery's keys under this run's prefix: runs sharing one Redis never take each other's tasks.
    stack = Stack(tmp_path / "compose", {}, {"CELERY_KEY_PREFIX": f"{PREFIX}:"})
    stack.dotenv.update(deployment_dotenv(databases, redis_url, smtp.url(), stack.url))
    try:
        with diagnosed(stack):
            deadline = time.monotonic() + STARTUP_SECONDS
            for step in STEPS:
                stack.run(step, deadline)
            for service in LONG_RUNNING_HUDOOR:
                stack.start(service)
            stack.start_proxy()
            stack.wait_until_ready(deadline)
        yield stack
    finally:
        stack.stop()
        forget_redis_keys(redis_url)


# --- The journey's steps, each through the proxy only --------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expect(response: httpx.Response, status: int) -> dict:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, f"{response.request.url}: {response.text[:500]}"
    return response.json()


def until(deadline: float, what: str, attempt):
    """Call `attempt` until it returns something truthy, at most until `deadline`."""
    while True:
        found = attempt()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def token_for(http: httpx.Client, address: str) -> str:
    body = {"email": address, "password": PASSWORD, "label": "e2e"}
    return expect(http.post("/api/v1/auth/tokens", json=body), 201)["token"]


def event_days() -> list[str]:
    """Yesterday, today and tomorrow where the event is: today stays inside it at any hour."""
    today = datetime.datetime.now(ZoneInfo(TIMEZONE)).date()
    return [(today + datetime.timedelta(days=n)).isoformat() for n in (-1, 0, 1)]


def set_up_event(stack: Stack, http: httpx.Client, deadline: float) -> tuple[str, dict]:
    """Admin (README's create-admin, in migrate's environment) creates event, agency, organizer."""
    command = ["flask", "--app", "services.registration.wsgi", "create-admin", "--email", ADMIN]
    stack.run(STEPS[0], deadline, argv=command, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    admin = bearer(token_for(http, ADMIN))
    event = expect(http.post("/api/v1/events", json=new_event(), headers=admin), 201)
    agency = {"code": AGENCY, "name_ar": "هيئة الأمم المتحدة للمرأة", "name_en": "UN Women"}
    category = {"code": "DELEGATE", "name_ar": "مشارك", "name_en": "Delegate"}
    category |= {"color": "#0b7a75", "self_registration": True}
    for path, body in (("agencies", agency | {"quota": 5}), ("categories", category)):
        expect(http.post(f"/api/v1/events/{EVENT}/{path}", json=body, headers=admin), 201)
    account = {"email": ORGANIZER, "name": "Organizer", "role": "organizer", "password": PASSWORD}
    account["scopes"] = [{"event": EVENT}]
    expect(http.post("/api/v1/accounts", json=account, headers=admin), 201)
    return token_for(http, ORGANIZER), event


def new_event() -> dict:
    names = {"name_ar": "منتدى الاختبار", "name_en": "Test forum"}
    venue = {"venue_ar": "بغداد", "venue_en": "Baghdad"}
    return {"slug": EVENT, **names, **venue, "timezone": TIMEZONE, "days": event_days()}


def register_delegate(http: httpx.Client) -> tuple[dict, str]:
    """A delegate registers through the public API; returns the registration and request id."""
    delegate = {"full_name_ar": "ضحى الجبوري", "full_name_en": "Duha Al-Jubouri"}
    delegate |= {"agency": AGENCY, "email": DELEGATE, "gender": "female", "consent": True}
    response = http.post(f"/api/v1/events/{EVENT}/registrations", json=delegate)
    # nginx's $request_id, once: the service answers with the id it was given.
    (request_id,) = response.headers.get_list("X-Request-ID")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    return expect(response, 201), request_id


def badge_from_mail(smtp: SmtpServer, deadline: float) -> str:
    """The token in the QR of the badge attached to the delegate's confirmation e-mail."""
    mail = until(deadline, "the confirmation e-mail", lambda: mails_to(smtp, DELEGATE))[0]
    png = next(p for p in mail.iter_attachments() if p.get_filename() == "badge.png")
    (code,) = read_qr_codes(Image.open(io.BytesIO(png.get_content())))
    return code.text


def mails_to(smtp: SmtpServer, address: str) -> list:
    return [
        email.message_from_bytes(m.content, policy=email.policy.default)
        for m in list(smtp.messages)
        if address in m.rcpt_tos
    ]


def enrol_door(http: httpx.Client, organizer: str, event_id: int, deadline: float) -> dict:
    """Enrol a door device once check-in has the event (it arrives through the outbox)."""
    url = f"/checkin/api/v1/events/{event_id}/devices"
    body = {"gate": "main", "name": "Main door"}

    def enrolled():
        response = http.post(url, json=body, headers=bearer(organizer))
        return expect(response, 201) if response.status_code != 404 else None

    return bearer(until(deadline, "the event in check-in", enrolled)["token"])


def todays_list(http: httpx.Client, device: dict, event_id: int) -> int:
    today = datetime.datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    lists = expect(http.get(f"/checkin/api/v1/events/{event_id}/lists", headers=device), 200)
    return next(item["id"] for item in lists if item["day"] == today)


def wait_for_roster(http, device: dict, event_id: int, badge_id: int, deadline: float) -> None:
    """Wait until the delegate is on check-in's roster (fed by the check-in worker)."""
    url = f"/checkin/api/v1/events/{event_id}/search"

    def listed():
        found = expect(http.post(url, json={"q": DELEGATE}, headers=device), 200)
        return any(entry["id"] == badge_id for entry in found)

    until(deadline, "the delegate on check-in's roster", listed)


def scan(http: httpx.Client, device: dict, token: str, list_id: int) -> str:
    body = {"token": token, "list_id": list_id, "nonce": uuid.uuid4().hex}
    return expect(http.post("/checkin/api/v1/scans", json=body, headers=device), 200)["status"]


def attended_by_agency(http: httpx.Client, organizer: str, event_id: int) -> dict[str, int]:
    url = f"/checkin/api/v1/events/{event_id}/attendance?by=agency"
    report = expect(http.get(url, headers=bearer(organizer)), 200)
    return {row["agency"]["code"]: row["attended"] for row in report["rows"]}


def task_log_entries(stack: Stack, service: str, request_id: str) -> list[dict]:
    """A worker's JSON log entries about tasks finished under `request_id`."""
    lines = stack.log_entries(service).splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("request_id") == request_id and "task" in e]


def tasks_logged(stack: Stack, request_id: str, deadline: float) -> set[str]:
    """Tasks the workers logged as finished under the registration's request id."""

    def finished():
        entries = task_log_entries(stack, "worker", request_id)
        entries += task_log_entries(stack, "checkin-worker", request_id)
        names = {e["task"] for e in entries if "finished" in e["message"]}
        return names if {n.split(".")[0] for n in names} >= {"notifications", "checkin"} else None

    return until(deadline, "the tasks logged under the request id", finished)


@pytest.mark.slow
def test_delegate_registered_through_the_proxy_gets_a_badge_that_the_door_admits_once(stack, smtp):
    deadline = time.monotonic() + JOURNEY_SECONDS
    with diagnosed(stack), httpx.Client(base_url=stack.url, timeout=15) as http:
        organizer, event = set_up_event(stack, http, deadline)
        registration, request_id = register_delegate(http)
        token = badge_from_mail(smtp, deadline)
        assert token == registration["badge"]["token"]
        door = enrol_door(http, organizer, event["id"], deadline)
        door_list = todays_list(http, door, event["id"])
        wait_for_roster(http, door, event["id"], registration["badge"]["id"], deadline)
        assert scan(http, door, token, door_list) == "ok"
        assert scan(http, door, token, door_list) == "already_checked_in"
        assert attended_by_agency(http, organizer, event["id"]) == {AGENCY: 1}
        tasks = tasks_logged(stack, request_id, deadline)
        assert all(task.split(".")[0] in ("notifications", "checkin") for task in tasks)
