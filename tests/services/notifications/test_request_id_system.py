"""A request's id reaches the worker's log lines of the tasks it caused (through the outbox)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.services.notifications.system import REGISTER
from tests.worker_process import wait_until


@pytest.fixture
def json_logs(monkeypatch):
    """The worker logs as in compose: one JSON object per line."""
    monkeypatch.setenv("LOG_FORMAT", "json")


def _entries(worker) -> list[dict]:
    lines = worker.log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_tasks_sent_for_a_request_log_its_request_id_in_the_worker(json_logs, system):
    request_id = f"test-{uuid.uuid4().hex}"
    payload = {
        "full_name_ar": "مشاركة الطلب",
        "agency": "WLI",
        "email": "request-id@example.org",
        "gender": "female",
        "channel": "email",
        "consent": True,
    }
    response = system.registration.post(
        REGISTER, json=payload, headers={"X-Request-Id": request_id}
    )
    assert response.status_code == 201 and response.headers["X-Request-Id"] == request_id

    def finished_tasks():
        found = [e for e in _entries(system.worker) if e.get("request_id") == request_id]
        return {e["service"] for e in found if "finished" in e["message"]} >= {
            "notifications",
            "checkin",
        } and found

    found = wait_until(finished_tasks, timeout=30, message="tasks logged with the request id")
    assert all(
        entry["task"].split(".")[0] == entry["service"] for entry in found if "task" in entry
    )
    assert not any(
        e.get("request_id") == request_id
        for e in _entries(system.worker)
        if e.get("task") == "registration.relay_outbox"
    )
