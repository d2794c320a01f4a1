"""The PostgreSQL drill's site: a private cluster, registration and check-in under gunicorn."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update

from services.checkin.app import MIGRATIONS as CHECKIN_MIGRATIONS
from services.checkin.models import CheckinList
from services.checkin.operations import rebuild_roster
from services.registration.app import MIGRATIONS as REGISTRATION_MIGRATIONS
from services.registration.demo import load_demo
from services.registration.models import Agency, Event
from shared.badge_tokens import BadgeKeyring
from shared.db import create_db_engine, make_sessionmaker, migrate, transaction, utcnow
from shared.identity import issue_api_token
from tests.postgres_cluster import PrivateCluster, free_port
from tests.services.notifications.payloads import delegate_event

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fault-drill-secret-key-0123456789-abcdefghijk"
EVENT_ID = 1  # check-in's event (its roster is loaded directly, not fed by registration)
ROSTER_SIZE = 1200


class Server:
    """One service under gunicorn (as compose runs it, one worker with four threads)."""

    def __init__(self, service: str, env: dict[str, str], directory: Path):
        self.service, self.port = service, free_port()
        self.log = directory / f"{service}-gunicorn.log"
        argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                "--workers", "1", "--threads", "4",
                "--logger-class", "runner.access_log.RedactingLogger",
                f"services.{service}.wsgi:app"]  # fmt: skip
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until /readyz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            if self.status_of("/readyz") == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.service} not ready:\n{self.log.read_text()[-3000:]}")

    def status_of(self, path: str) -> int | None:
        """The status of a GET, or None when nothing answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()

    def worker_boots(self) -> int:
        """How many times gunicorn booted a worker (a restarted worker boots again)."""
        return self.log.read_text(errors="replace").count("Booting worker")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class DrillSite:
    """Everything the drill's clients and checks need."""

    cluster: PrivateCluster
    registration: Server
    checkin: Server
    keyring: BadgeKeyring
    registration_sessions: object
    checkin_sessions: object
    list_id: int
    device_token: str = ""

    def stop(self) -> None:
        for server in (self.registration, self.checkin):
            server.stop()
        for factory in (self.registration_sessions, self.checkin_sessions):
            factory.kw["bind"].dispose()
        self.cluster.destroy()


def open_site(directory: Path, redis_url: str) -> DrillSite:
    """Start the cluster, migrate both databases, load the data, start both servers."""
    cluster = PrivateCluster().init()
    cluster.start()
    keyring = BadgeKeyring.generate(key_id=1)
    urls = {name: cluster.create_database(name) for name in ("registration", "checkin")}
    registration = _prepare_registration(urls["registration"])
    checkin, list_id = _prepare_checkin(urls["checkin"], keyring)
    common = {"SECRET_KEY": SECRET, "REDIS_URL": redis_url, "HUDOOR_VAR_DIR": str(directory)}
    site = DrillSite(
        cluster,
        Server("registration", {**common, **_registration_env(urls, keyring)}, directory),
        Server("checkin", {**common, **_checkin_env(urls, keyring)}, directory),
        keyring,
        registration,
        checkin,
        list_id,
    )
    site.registration.wait_ready()
    site.checkin.wait_ready()
    site.device_token = enrol_device(site.checkin.port)
    return site


def _registration_env(urls: dict, keyring: BadgeKeyring) -> dict[str, str]:
    return {
        "REGISTRATION_DATABASE_URL": urls["registration"],
        "BADGE_SIGNING_KEYS": keyring.to_spec(),
    }


def _checkin_env(urls: dict, keyring: BadgeKeyring) -> dict[str, str]:
    return {
        "CHECKIN_DATABASE_URL": urls["checkin"],
        "BADGE_PUBLIC_KEYS": json.dumps(keyring.public_key_document()),
    }


def _sessions(url: str, migrations: Path):
    """A session factory on the database, migrated as the service's db-upgrade command does."""
    engine = create_db_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    migrate(engine, migrations)
    return make_sessionmaker(engine)


def _prepare_registration(url: str):
    """The demo event, with room for every delegate the drills register."""
    factory = _sessions(url, REGISTRATION_MIGRATIONS)
    with transaction(factory) as session:
        load_demo(session)
        session.execute(update(Event).values(capacity=100_000))
        session.execute(update(Agency).values(quota=10_000))
    return factory


def _prepare_checkin(url: str, keyring: BadgeKeyring):
    """A roster of ROSTER_SIZE signed badges and one list open on any day."""
    factory = _sessions(url, CHECKIN_MIGRATIONS)
    payloads = [roster_entry(badge, keyring) for badge in range(1, ROSTER_SIZE + 1)]
    with factory() as session:
        rebuild_roster(session, EVENT_ID, payloads)
        checkin_list = CheckinList(event_id=EVENT_ID, name_ar="قائمة التمرين", name_en="Drill",
                                   day=None, categories=None, created_at=utcnow())  # fmt: skip
        session.add(checkin_list)
        session.commit()
        return factory, checkin_list.id


def roster_entry(badge_id: int, keyring: BadgeKeyring) -> dict:
    """A roster entry as registration announces it, with the badge's signed token."""
    payload = delegate_event(
        badge_id=badge_id, email=f"door{badge_id}@example.org", phone=f"+96478{badge_id:08d}"
    )
    payload["badge_token"] = keyring.sign(EVENT_ID, badge_id, 1)
    return payload


def enrol_device(port: int) -> str:
    """Enrol a door device with an organizer's token, as an organizer would; return its token."""
    organizer = issue_api_token(
        SECRET, subject="drill-organizer", role="organizer", events=[EVENT_ID],
        token_id=uuid.uuid4().hex[:12],
    )  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"gate": "north", "name": "Drill door"})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {organizer}"}
    connection.request("POST", f"/api/v1/events/{EVENT_ID}/devices", body, headers)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    assert response.status == 201, answer
    return json.loads(answer)["token"]
