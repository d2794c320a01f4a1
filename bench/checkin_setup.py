"""The check-in benchmark's constants, database, roster, signed badges and door device."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import Result
from bench.registration import postgres_schema
from bench.server import ROOT, Server, SetupError, request

EVENT_ID = 1
TIMEZONE = "Asia/Baghdad"
SCAN_PATH = "/api/v1/scans"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
UNUSED_REDIS = "redis://127.0.0.1:1/0"
MIX = (("first", 0.80), ("repeat", 0.15), ("invalid", 0.05))
EXPECTED = {"first": "ok", "repeat": "already_checked_in", "invalid": "invalid"}
GOAL_RATIO = 0.60
GOAL_P99_MS = 15.0
AGENCIES = ("IWED", "WED-DIW", "WED-KRK", "WED-BGD", "OHCHR", "NSC", "PMC", "MOH-WE", "LCN")
CATEGORIES = (("DELEGATE", "مندوب", "Delegate", "#1f6feb"), ("PRESS", "صحافة", "Press", "#d29922"))
CPU_GROUPS = {
    "server": "gunicorn",
    "database": "postgres (our backends)",
    "client": "client",
    "other": "other processes",
}
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass
class Row:
    """One line of the result table with its CPU accounting."""

    database: str
    endpoint: str
    mode: str
    load: str
    result: Result
    cpu: dict[str, float]
    extra: dict = field(default_factory=dict)


@dataclass
class Setup:
    """What a database's benchmark needs: env, keyring tokens, lists, device token."""

    kind: str
    env: dict[str, str]
    tokens: list[str]
    lists: dict[str, int]
    device_token: str = ""


def open_count(args: argparse.Namespace) -> int:
    """Return the number of requests an open-loop phase schedules."""
    return round(args.rate * args.seconds)


# --- databases ----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    """Yield the URL of an empty database of this kind, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'checkin.db'}"
        return
    with postgres_schema(pg_url) as url:
        yield url


def service_env(tmp: Path, database_url: str, public_keys: list) -> dict[str, str]:
    """Return the environment of the service's commands and server."""
    skip = ("CHECKIN_", "FLASK_", "REDIS_", "CELERY_", "BADGE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        HUDOOR_VAR_DIR=str(tmp / "var"),
        CHECKIN_DATABASE_URL=database_url,
        REDIS_URL=UNUSED_REDIS,
        SECRET_KEY=secrets.token_urlsafe(48),
        BADGE_PUBLIC_KEYS=json.dumps(public_keys),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """Run the check-in migrations with the service's own command."""
    command = [sys.executable, "-m", "flask", "--app", "services.checkin.wsgi", "db-upgrade"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SetupError(f"db-upgrade failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def sessions(env: dict[str, str]):
    """Yield a session factory on the service's database, as the service builds it."""
    from shared.config import database_url
    from shared.db import create_db_engine, make_sessionmaker

    engine = create_db_engine(database_url("checkin", env))
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def delegate_event(badge_id: int, token: str) -> dict:
    """A contract-valid delegate event (as registration publishes it) for one badge."""
    code = AGENCIES[badge_id % len(AGENCIES)]
    category = CATEGORIES[int(badge_id % 10 == 0)]
    return {
        "schema_version": 1,
        "topic": "delegate.registered",
        "message_id": uuid.uuid4().hex,
        "occurred_at": "2026-11-28T09:00:00+00:00",
        "event": {
            "id": EVENT_ID,
            "slug": "wli-gbv-2023",
            "name_ar": "مؤتمر مناهضة العنف القائم على النوع الاجتماعي ودعم تعافي الناجيات",
            "name_en": "Conference to Combat Gender-Based Violence and Support the "
            "Recovery of Survivors",
            "venue_ar": "دار الضيافة، بغداد",
            "venue_en": "Government Guesthouse, Baghdad",
            "timezone": TIMEZONE,
            "days": ["2023-02-12"],
        },
        "delegate": {
            "badge_id": badge_id,
            "generation": 1,
            "version": 1,
            "status": "active",
            "full_name_ar": f"مشاركة رقم {badge_id} العلاق",
            "full_name_en": f"Delegate {badge_id} Al-Alaq",
            "job_title": "Director",
            "gender": ("female", "male")[badge_id % 2],
            "language": ("ar", "en")[badge_id % 2],
            "channel": "email",
            "email": f"d{badge_id}@example.org",
            "phone": f"+96477{badge_id:08d}",
            "agency": {
                "id": AGENCIES.index(code) + 1,
                "code": code,
                "name_ar": f"جهة {code}",
                "name_en": f"Agency {code}",
            },
            "category": dict(zip(("code", "name_ar", "name_en", "color"), category, strict=True)),
        },
        "badge_token": token,
        "self_service_url": f"https://hudoor.example.org/r/{badge_id}~abcdEFGH1234.{'x' * 27}",
        "reason": None,
    }


def load_roster(env: dict[str, str], tokens: list[str], list_names: list[str]) -> dict[str, int]:
    """Load the roster in one transaction and add one unrestricted list per phase; return ids."""
    from services.checkin.models import CheckinList
    from services.checkin.operations import rebuild_roster
    from shared.contracts import DelegateEventSchema
    from shared.db import utcnow

    payloads = [delegate_event(b, tokens[b]) for b in range(1, len(tokens))]
    DelegateEventSchema().load(payloads[0])
    with sessions(env) as factory, factory() as session:
        rebuild_roster(session, EVENT_ID, payloads)
        lists = {
            name: CheckinList(
                event_id=EVENT_ID,
                name_ar=f"قائمة القياس {name}",
                name_en=f"Benchmark {name}",
                day=None,
                categories=None,
                created_at=utcnow(),
            )
            for name in list_names
        }
        session.add_all(lists.values())
        session.commit()
        return {name: checkin_list.id for name, checkin_list in lists.items()}


def sign_tokens(count: int) -> tuple[list[str], list]:
    """Sign badges 1..count with a fresh key; return tokens (index = badge id) and public keys."""
    from shared.badge_tokens import BadgeKeyring

    keyring = BadgeKeyring.generate(1)
    tokens = [""] + [keyring.sign(EVENT_ID, badge, 1) for badge in range(1, count + 1)]
    return tokens, keyring.public_key_document()


def database_counts(env: dict[str, str], lists: dict[str, int]) -> dict[str, tuple[int, Counter]]:
    """Return, per phase's list, the live check-ins and the recorded scans by status."""
    from sqlalchemy import func, select

    from services.checkin.models import Checkin, Scan

    counts = {}
    with sessions(env) as factory, factory() as session:
        for name, list_id in lists.items():
            checkins = session.scalar(
                select(func.count()).select_from(Checkin).where(Checkin.list_id == list_id)
            )
            by_status = session.execute(
                select(Scan.status, func.count())
                .where(Scan.list_id == list_id)
                .group_by(Scan.status)
            )
            counts[name] = (checkins, Counter(dict(by_status.all())))
        session.rollback()
    return counts


def enrol_device(server: Server, env: dict[str, str]) -> str:
    """Enrol a door device with an organizer token, as an organizer would; return its token."""
    from shared.identity import issue_api_token

    organizer = issue_api_token(
        env["SECRET_KEY"],
        subject="bench-organizer",
        role="organizer",
        events=[EVENT_ID],
        token_id=f"bench-{secrets.token_hex(6)}",
    )
    status, body = request(
        server.port,
        f"/api/v1/events/{EVENT_ID}/devices",
        "POST",
        json.dumps({"gate": "north", "name": "Benchmark door"}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {organizer}"},
    )
    if status != 201:
        log = server.log.read_text(errors="replace")[-3000:]
        raise SetupError(f"device enrolment answered {status}: {body[:300]!r}\n{log}")
    return json.loads(body)["token"]
