"""Badge printing use cases: select badges, log each printing, render batches in a worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from celery import shared_task
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration import operations, printing
from services.registration.models import ACTIVE, Event, Registration
from services.registration.operations import Context
from services.registration.operations.events import category_by_code
from services.registration.print_models import DONE, FAILED, QUEUED, RENDERING, PrintJob
from shared.config import var_dir
from shared.problems import DomainError
from shared.web import db_session

TASK_NAME = "registration.render_badges"
MONTHS_EN = "January February March April May June July August September October November December"
# Iraq uses the Syriac month names.
MONTHS_AR = (
    "كانون الثاني|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|تشرين الأول|تشرين الثاني|كانون الأول"
)
PROGRESS_STEPS = 50  # progress is committed about this many times per batch


def select_badges(session: Session, event: Event, selection: dict) -> list[Registration]:
    """The event's active registrations a selection names, by agency then badge id."""
    query = select(Registration).where(
        Registration.event_id == event.id, Registration.status == ACTIVE
    )
    if "agency" in selection:
        agency = operations.get_agency(session, event, selection["agency"])
        query = query.where(Registration.agency_id == agency.id)
    if "category" in selection:
        category = category_by_code(session, event, selection["category"])
        if category is None:
            raise DomainError("unknown_category", field="selection.category")
        query = query.where(Registration.category_id == category.id)
    if "ids" in selection:
        query = query.where(Registration.id.in_(selection["ids"]))
    found = list(session.scalars(query.order_by(Registration.agency_id, Registration.id)))
    _refuse_missing(selection.get("ids"), found)
    return found


def _refuse_missing(ids: list[int] | None, found: list[Registration]) -> None:
    """Name the requested ids that are not active badges of this event."""
    missing = sorted(set(ids or ()) - {r.id for r in found})
    if missing:
        listed = ", ".join(str(i) for i in missing[:20])
        raise DomainError("badges_not_printable", field="selection.ids", ids=listed)


def record_printing(
    session: Session, ctx: Context, event: Event, registrations, order: dict, created_by: str
) -> PrintJob:
    """Log a printing (reissuing each badge first for a reprint); done unless queued later."""
    reason = (order.get("reprint") or {}).get("reason")
    if order.get("reprint") is not None:
        for registration in registrations:
            operations.reissue_badge(session, ctx, registration, reason)
    now = ctx.clock()
    job = PrintJob(
        event_id=event.id,
        layout=order["layout"],
        selection=order["selection"],
        badge_ids=[r.id for r in registrations],
        reprint_reason=reason,
        status=DONE,
        done=len(registrations),
        total=len(registrations),
        created_by=created_by,
        created_at=now,
        finished_at=now,
    )
    session.add(job)
    session.flush()
    return job


def queue(job: PrintJob) -> None:
    """Mark a logged printing as waiting for the worker."""
    job.status, job.done, job.finished_at = QUEUED, 0, None


def badges(ctx: Context, registrations) -> Iterator[printing.Badge]:
    """The printable badges of registrations, each with its current signed token."""
    for registration in registrations:
        yield badge_of(registration, ctx.badge_token(registration))


def format_dates(days: list[date]) -> tuple[str, str]:
    """The event's days in Arabic (Iraqi month names) and English, e.g. 12 شباط 2023."""
    if not days:
        return "", ""
    first, last = min(days), max(days)
    return _span(first, last, MONTHS_AR.split("|")), _span(first, last, MONTHS_EN.split())


def _span(first: date, last: date, months: list[str]) -> str:
    end = f"{last.day} {months[last.month - 1]} {last.year}"
    if first == last:
        return end
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{end}"
    return f"{first.day} {months[first.month - 1]} {first.year} – {end}"


def badge_of(registration, token: str) -> printing.Badge:
    """The printable content of a registration's badge."""
    event, agency, category = registration.event, registration.agency, registration.category
    dates_ar, dates_en = format_dates([day.day for day in event.days])
    return printing.Badge(
        badge_id=registration.id,
        generation=registration.badge_generation,
        token=token,
        name_ar=registration.full_name_ar or "",
        name_en=registration.full_name_en or "",
        job_title=registration.job_title or "",
        agency_ar=agency.name_ar,
        agency_en=agency.name_en,
        category_ar=category.name_ar,
        category_en=category.name_en,
        color=category.color,
        event_ar=event.name_ar,
        event_en=event.name_en,
        dates_ar=dates_ar,
        dates_en=dates_en,
    )


def run_job(session: Session, ctx: Context, job_id: int, directory: Path) -> PrintJob | None:
    """Render a queued batch to a file, committing progress; a redelivered job starts over."""
    job = session.get(PrintJob, job_id)
    if job is None or job.status == DONE:
        return job
    registrations = _job_registrations(session, job)
    job.status, job.done, job.total, job.error = RENDERING, 0, len(registrations), None
    session.commit()
    try:
        pdf = printing.render(badges(ctx, registrations), job.layout, _progress(session, job))
        job.file_path = str(_write(directory, job.id, pdf))
    except Exception as error:
        _fail(session, ctx, job, error)
        raise
    job.status, job.finished_at = DONE, ctx.clock()
    session.commit()
    return job


def _job_registrations(session: Session, job: PrintJob) -> list[Registration]:
    """The job's badges still active, in the job's order (cancelled since are left out)."""
    query = select(Registration).where(
        Registration.id.in_(job.badge_ids), Registration.status == ACTIVE
    )
    by_id = {r.id: r for r in session.scalars(query)}
    return [by_id[i] for i in job.badge_ids if i in by_id]


def _progress(session: Session, job: PrintJob):
    """A progress callback committing the count every ~2 % of the batch."""
    step = max(1, job.total // PROGRESS_STEPS)

    def report(count: int) -> None:
        if count % step == 0 or count == job.total:
            job.done = count
            session.commit()

    return report


def _write(directory: Path, job_id: int, pdf: bytes) -> Path:
    """Write the PDF atomically: a reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"badges-{job_id}.pdf"
    partial = path.with_suffix(".part")
    partial.write_bytes(pdf)
    os.replace(partial, path)
    return path


def _fail(session: Session, ctx: Context, job: PrintJob, error: Exception) -> None:
    session.rollback()
    job.status, job.error, job.finished_at = FAILED, repr(error)[:500], ctx.clock()
    session.commit()


def prints_dir() -> Path:
    """Where rendered batches are kept: HUDOOR_VAR_DIR/prints."""
    return var_dir() / "prints"


@shared_task(name=TASK_NAME, ignore_result=True)
def render_badges(job_id: int) -> None:
    """Celery task: render a queued print job."""
    ctx = current_app.extensions["registration_context"]
    run_job(db_session(), ctx, job_id, prints_dir())
