"""The whole delivery path in one fixture: registration app, real worker, SMTP, SMS stand-in."""

from __future__ import annotations

import email
import email.policy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from services.checkin.app import create_app as create_checkin
from services.checkin.config import CheckinConfig
from services.checkin.models import Base as CheckinBase
from services.notifications.app import create_app as create_notifications
from services.notifications.config import NotificationsConfig
from services.notifications.models import Base as NotificationsBase
from services.notifications.models import Delivery
from services.notifications.rate_limit import redis_client
from services.registration.app import create_app as create_registration
from services.registration.config import RegistrationConfig
from services.registration.demo import load_demo
from services.registration.models import Base as RegistrationBase
from shared.badge_tokens import BadgeKeyring
from shared.celery_app import QUEUES
from shared.db import make_sessionmaker, transaction
from tests.worker_process import WorkerProcess

SECRET = "system-test-secret-key-0123456789-abcdefghij"
BASE_URL = "http://hudoor.test"
REGISTER = "/api/v1/events/wli-gbv-2023/registrations"
AGENCIES = (
    "IWED",
    "WED-DIW",
    "WED-KRK",
    "WED-BGD",
    "OHCHR",
    "NSC",
    "PMC",
    "MOH-WE",
    "LCN",
    "GSCM-LEGAL",
    "MOI-CP",
    "SJC",
    "OPR",
    "COR",
    "MOLSA",
    "MOE",
    "WLI",
    "CORDE",
)


@dataclass
class System:
    """The services of one test, sharing real databases, Redis, SMTP and the SMS stand-in."""

    registration: object
    notifications: object
    worker: WorkerProcess
    smtp: object
    sms: object
    notifications_factory: object
    checkin: object = None

    def register(self, n: int, **overrides) -> dict:
        payload = {
            "full_name_ar": f"مشاركة {n}",
            "full_name_en": f"Delegate {n}",
            "agency": AGENCIES[n % len(AGENCIES)],
            "email": f"delegate{n}@example.org",
            "phone": f"+96477{n:08d}",
            "gender": "female",
            "language": "ar",
            "channel": "email",
            "consent": True,
        } | overrides
        response = self.registration.post(REGISTER, json=payload)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def deliveries(self) -> list[Delivery]:
        with self.notifications_factory() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.id)))

    def mails_to(self, address: str) -> list:
        return [
            email.message_from_bytes(m.content, policy=email.policy.default)
            for m in self.smtp.messages
            if address in m.rcpt_tos
        ]


def worker_env(
    tmp_path: Path,
    registration_db,
    notifications_db,
    checkin_db,
    redis_url,
    keyring,
    smtp,
    sms,
    mail_query: str = "",
) -> dict[str, str]:
    """The environment a deployed worker would have, pointing at this test's servers."""
    return {
        "HUDOOR_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET,
        "REGISTRATION_DATABASE_URL": registration_db.url,
        "NOTIFICATIONS_DATABASE_URL": notifications_db.url,
        "CHECKIN_DATABASE_URL": checkin_db.url,
        "BADGE_PUBLIC_KEYS": json.dumps(keyring.public_key_document()),
        "REDIS_URL": redis_url,
        "BADGE_SIGNING_KEYS": keyring.to_spec(),
        "PUBLIC_BASE_URL": BASE_URL,
        "MAIL_URL": smtp.url(query=mail_query),
        "SMS_URL": sms.url(sender="+9647000000000"),
        "SMS_RATE_PER_SECOND": "100",
        "CELERY_VISIBILITY_TIMEOUT": "8",
        "NOTIFICATIONS_STUCK_AFTER_SECONDS": "6",
        "DELIVERY_SWEEP_SECONDS": "3",
        "OUTBOX_SWEEP_SECONDS": "2",
        # Re-send what a consumer has not confirmed after 5 s (deployed: 120 s).
        "OUTBOX_CONFIRM_SECONDS": "5",
    }


def empty_queues(redis_url: str) -> None:
    """Drop this run's queued and unacknowledged tasks: an earlier test's leftovers (repeats the
    relay sent, tasks a killed worker held) must not reach this test's worker and databases."""
    client = redis_client(redis_url)
    prefix = os.environ["CELERY_KEY_PREFIX"]
    client.delete(*(prefix + key for key in (*QUEUES, "unacked", "unacked_index")))


@pytest.fixture
def make_system(
    tmp_path, registration_db, notifications_db, checkin_db, smtp_server, sms_provider, monkeypatch
):
    """Build a system on a given Redis URL; everything is torn down after the test."""
    keyring = BadgeKeyring.generate(key_id=1)
    workers = []

    def make(redis_url: str, mail_query: str = "") -> System:
        """`mail_query`: MAIL_URL parameters of the worker (e.g. "timeout=2")."""
        empty_queues(redis_url)
        env = worker_env(
            tmp_path,
            registration_db,
            notifications_db,
            checkin_db,
            redis_url,
            keyring,
            smtp_server,
            sms_provider,
            mail_query,
        )
        for name in ("NOTIFICATIONS_STUCK_AFTER_SECONDS",):
            monkeypatch.setenv(name, env[name])
        reg_factory = make_sessionmaker(registration_db.engine)
        with transaction(reg_factory) as session:
            load_demo(session)
        registration = create_registration(
            RegistrationConfig(
                database_url=registration_db.url,
                redis_url=redis_url,
                secret_key=SECRET,
                keyring=keyring,
                public_base_url=BASE_URL,
                default_language="ar",
                max_body_bytes=65536,
            ),
            session_factory=reg_factory,
        )
        notif_factory = make_sessionmaker(notifications_db.engine)
        notifications = create_notifications(
            NotificationsConfig.from_env(env), session_factory=notif_factory
        )
        checkin = create_checkin(CheckinConfig.from_env(env))
        worker = WorkerProcess(env, tmp_path).start()
        workers.append(worker)
        return System(
            registration.test_client(),
            notifications.test_client(),
            worker,
            smtp_server,
            sms_provider,
            notif_factory,
            checkin.test_client(),
        )

    yield make
    for worker in workers:
        worker.stop()
    registration_db.truncate(RegistrationBase.metadata)
    notifications_db.truncate(NotificationsBase.metadata)
    checkin_db.truncate(CheckinBase.metadata)


@pytest.fixture
def system(make_system, redis_url) -> System:
    return make_system(redis_url)
