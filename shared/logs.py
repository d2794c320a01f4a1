"""One logging setup for web apps and workers: a JSON object per line, with the request id.

LOG_FORMAT=json (compose) or text (default, `make run`). Every record carries the service and the
request id: taken from the proxy's X-Request-Id (or made up), echoed in the response, sent along
with every Celery task published while it is bound (a task header), and bound again in the worker
for that task's records. Private links in messages and paths are redacted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, current_app, g, request

from shared.config import env_choice

REDACTED = "[redacted]"
SEGMENT = r"[^/?#\s\"]+"
# The secret path segment of each private link, after the part that stays readable.
PRIVATE_LINKS = re.compile(
    rf"(?P<keep>/r/|/e/{SEGMENT}/register/|/password/reset/|/password-resets/|/invitations/)"
    rf"(?P<secret>{SEGMENT})",
)
REQUEST_ID_HEADER = "X-Request-Id"
TASK_HEADER = "hudoor_request_id"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "task", "task_id")
_request_id: ContextVar[str | None] = ContextVar("hudoor_request_id", default=None)
_service: ContextVar[str | None] = ContextVar("hudoor_service", default=None)
_process_service = "hudoor"
log = logging.getLogger("hudoor.request")
log_task = logging.getLogger("hudoor.task")


def redact(text: str) -> str:
    """Replace the secret segment of every private link in `text`."""
    return PRIVATE_LINKS.sub(lambda m: m["keep"] + REDACTED, text)


def current_request_id() -> str | None:
    """The request id bound to this context (a request, or a task sent by one), if any."""
    return _request_id.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Bind a request id for the duration of a block (e.g. relaying an outbox row)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class ContextFilter(logging.Filter):
    """Stamp every record with the service and the request id of its context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = _service.get() or _process_service
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, service, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry = {
            "timestamp": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "service": getattr(record, "service", _process_service),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({k: getattr(record, k) for k in EXTRA_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the same service and request id."""

    def __init__(self):
        super().__init__(
            "%(asctime)s %(levelname)s %(service)s %(request_id)s %(name)s: %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def formatter(environ: Mapping[str, str] = os.environ) -> logging.Formatter:
    """The formatter LOG_FORMAT asks for."""
    kind = env_choice("LOG_FORMAT", "text", ("json", "text"), environ)
    return JsonFormatter() if kind == "json" else TextFormatter()


def configure_logging(service: str, environ: Mapping[str, str] = os.environ) -> None:
    """Send the root logger's records to stderr in LOG_FORMAT (idempotent; entry points call it)."""
    global _process_service
    _process_service = service
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "hudoor", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.hudoor = True
    handler.setFormatter(formatter(environ))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _connect_celery_signals()


def init_request_logging(app: Flask, service: str) -> None:
    """Bind a request id first thing in every request, echo it, and log the request when done."""
    app.extensions["hudoor_service"] = service
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.after_request(_log_request)
    app.teardown_request(_end_request)
    _connect_celery_signals()  # tasks this app sends carry the request id


def _begin_request() -> None:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if VALID_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    _request_id.set(g.request_id)
    _service.set(current_app.extensions.get("hudoor_service"))


def request_seconds() -> float:
    """Seconds since this request began."""
    return time.perf_counter() - g.get("request_started", time.perf_counter())


def _log_request(response):
    if "request_id" not in g:  # a request refused before the first hook ran
        _begin_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    fields = {
        "method": request.method,
        "path": redact(request.script_root + request.path),
        "status": response.status_code,
        "duration_ms": round(request_seconds() * 1000, 1),
    }
    log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)
    return response


def _end_request(_exc) -> None:
    _request_id.set(None)
    _service.set(None)


_signals_connected = False


def _connect_celery_signals() -> None:
    """Carry the request id in task headers, bind it in the worker, and keep Celery's hands off."""
    global _signals_connected
    if _signals_connected:
        return
    from celery import signals

    signals.before_task_publish.connect(_add_task_header, weak=False)
    signals.task_prerun.connect(_bind_task, weak=False)
    signals.task_postrun.connect(_unbind_task, weak=False)
    # Any receiver here tells Celery not to configure logging itself.
    signals.setup_logging.connect(lambda **_: None, weak=False)
    _signals_connected = True


def _add_task_header(headers=None, **_):
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _bind_task(task=None, task_id=None, **_):
    if task is None:
        return
    _request_id.set(getattr(task.request, TASK_HEADER, None))
    _service.set(task.name.split(".", 1)[0])
    task.request.hudoor_started = time.perf_counter()
    log_task.info("task %s started", task.name, extra={"task": task.name, "task_id": task_id})


def _unbind_task(task=None, task_id=None, state=None, **_):
    if task is not None:
        seconds = time.perf_counter() - getattr(task.request, "hudoor_started", time.perf_counter())
        fields = {"task": task.name, "task_id": task_id, "duration_ms": round(seconds * 1000, 1)}
        log_task.info("task %s finished: %s", task.name, state, extra=fields)
    _request_id.set(None)
    _service.set(None)
