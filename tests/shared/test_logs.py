"""Structured logs: one JSON object per line, with the request id of the request (or task)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask

from shared.config import ConfigError
from shared.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    bound_request_id,
    formatter,
    init_request_logging,
)

TOKEN = "AgEwU2VjcmV0LXRva2VuLW9mLWEtZGVsZWdhdGU.ZX1bQw.s1gnatur3"


@pytest.fixture
def lines():
    """Records of the root logger as this formatter writes them, one JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # setLevel, not assignment: it clears the loggers' level caches
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def client():
    app = Flask("services.sample.app")
    init_request_logging(app, "sample")
    app.add_url_rule("/r/<token>", "badge", lambda token: "badge")
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    return app.test_client()


def test_a_request_logs_one_json_line_with_the_proxys_request_id(client, lines):
    response = client.get("/r/x", headers={"X-Request-Id": "0f3c9a7e5b1d4c2a"})
    assert response.headers["X-Request-Id"] == "0f3c9a7e5b1d4c2a"
    (line,) = [entry for entry in lines() if entry["logger"] == "hudoor.request"]
    assert line["request_id"] == "0f3c9a7e5b1d4c2a"
    assert (line["service"], line["method"], line["status"]) == ("sample", "GET", 200)
    assert line["level"] == "INFO" and line["timestamp"].endswith("Z")
    assert isinstance(line["duration_ms"], float)


def test_a_request_without_an_id_gets_one_and_a_bad_id_is_replaced(client, lines):
    made = client.get("/r/x").headers["X-Request-Id"]
    replaced = client.get("/r/x", headers={"X-Request-Id": 'bad id {"x": 1}'}).headers[
        "X-Request-Id"
    ]
    assert len(made) == 32 and len(replaced) == 32 and made != replaced
    assert [e["request_id"] for e in lines()] == [made, replaced]


def test_private_links_are_redacted_in_the_logged_path_and_messages(client, lines):
    client.get(f"/r/{TOKEN}/badge.png")
    logging.getLogger("sample").warning("link sent: https://hudoor.example/r/%s", TOKEN)
    text = json.dumps(lines())
    assert TOKEN not in text
    assert lines()[0]["path"] == "/r/[redacted]/badge.png"


def test_an_unexpected_error_is_logged_with_its_status(client, lines):
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get("/boom").status_code == 500
    assert [e["status"] for e in lines() if e["logger"] == "hudoor.request"] == [500]


def test_records_outside_a_request_carry_a_bound_id_or_none(lines):
    log = logging.getLogger("hudoor.test")
    log.info("before")
    with bound_request_id("abc-123"):
        log.info("during")
    assert [e["request_id"] for e in lines()] == [None, "abc-123"]


def test_log_format_is_chosen_by_environment():
    assert isinstance(formatter({"LOG_FORMAT": "json"}), JsonFormatter)
    assert isinstance(formatter({}), TextFormatter)
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        formatter({"LOG_FORMAT": "xml"})
