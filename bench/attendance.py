"""Benchmark attendance reports: agency × day for a large event on PostgreSQL, and the XLSX export.

Run from the repository root (PostgreSQL from BENCH_PG_URL or --pg-url):

    .venv/bin/python -m bench.attendance [--delegates 100000 --agencies 300 --days 3 --scans 400000]

A throwaway schema gets the event's set-up (agencies with quotas, categories, one list per day)
through the same use case as `event.changed`, then the roster, the check-ins and the scan log
are bulk-loaded with COPY: about 5 % of the delegates cancelled, each active one at the door on
a day with probability 0.75, one check-in in 50 undone, and the scan log filled up to the given
count with repeats and refusals. The attendance tallies are then rebuilt from those rows (as the
roster rebuild does after a restore), and tables VACUUM ANALYZEd, as autovacuum would have done.
The check-in app is then called in process (its WSGI stack: auth, query, serialisation, no
network): `GET /api/v1/events/<id>/attendance?by=agency,day` 50 times after 3 warm-ups, p50 and
p99 reported, and the full XLSX (summary, a sheet per day, every delegate with contact) timed.
Goals: report ≤ 150 ms p99; full XLSX ≤ 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import secrets
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from bench.figures import Figure
from bench.server import cpu_model

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_P99_MS, GOAL_XLSX_S = 150.0, 10.0
EVENT_ID = 1
SECRET = "bench-attendance-secret-" + "x" * 32
CATEGORIES = ("DELEGATE", "SPEAKER", "PRESS", "ORGANIZER", "GUEST")


def main(argv: list[str] | None = None) -> None:
    """Parse options, load the data, measure, print the table."""
    run(argv)


def run(argv: list[str] | None = None) -> tuple[int, list[Figure]]:
    """Load, measure, print the table and return the exit status and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delegates", type=int, default=100_000)
    parser.add_argument("--agencies", type=int, default=300)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--scans", type=int, default=400_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    options = parser.parse_args(argv)
    with _schema(options.pg_url) as url:
        loaded = _load(url, options)
        rows = _measure(url, options)
    _print_table(rows, loaded, options)
    return 0, figures(rows)


def figures(rows: list[tuple]) -> list[Figure]:
    """Return each report's p99 and the XLSX export time."""
    out = [Figure("attendance", f"{name} p99", p99, "ms") for name, _p50, p99 in rows[:-1]]
    return [*out, Figure("attendance", rows[-1][0], rows[-1][1], "s")]


@contextlib.contextmanager
def _schema(pg_url: str):
    """A fresh PostgreSQL schema for the run, dropped afterwards."""
    import psycopg

    schema = f"bench_attendance_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        base = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _load(url: str, options) -> dict:
    """Migrate, set the event up, COPY the roster, check-ins and scans; return the counts."""
    from services.checkin.app import MIGRATIONS
    from services.checkin.operations import apply_event_snapshot
    from shared.db import create_db_engine, make_sessionmaker, migrate

    engine = create_db_engine(url)
    migrate(engine, MIGRATIONS)
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(options.days)]
    with make_sessionmaker(engine)() as session:
        apply_event_snapshot(session, _snapshot(days, options.agencies))
        lists = {day: list_id for day, list_id in session.execute(_list_ids())}
    started = time.perf_counter()
    rng = random.Random(1)
    raw = engine.raw_connection()
    try:
        counts = _copy_all(raw.driver_connection, rng, options, days, lists)
        raw.commit()
    finally:
        raw.close()
    counts["tally_seconds"] = _rebuild_tallies(make_sessionmaker(engine))
    _vacuum(engine)
    engine.dispose()
    return counts | {"load_seconds": time.perf_counter() - started}


def _rebuild_tallies(factory) -> float:
    """Count the attendance tallies of the COPYed rows, as the roster rebuild does; seconds."""
    from services.checkin.operations import tallies

    started = time.perf_counter()
    with factory() as session:
        tallies.rebuild(session, EVENT_ID)
        session.commit()
    return time.perf_counter() - started


def _vacuum(engine) -> None:
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def _list_ids():
    from sqlalchemy import select

    from services.checkin.models import CheckinList

    return select(CheckinList.day, CheckinList.id).where(CheckinList.event_id == EVENT_ID)


def _snapshot(days: list[date], agencies: int) -> dict:
    """The `event.changed` payload of the benchmark event."""
    return {
        "schema_version": 1,
        "topic": "event.changed",
        "message_id": secrets.token_hex(8),
        "occurred_at": datetime.now(UTC).isoformat(),
        "sequence": 1,
        "event": {
            "id": EVENT_ID,
            "slug": "bench-event",
            "name_ar": "مؤتمر القياس",
            "name_en": "Benchmark conference",
            "venue_ar": "بغداد",
            "venue_en": "Baghdad",
            "timezone": "Asia/Baghdad",
            "days": [d.isoformat() for d in days],
        },
        "agencies": [_agency(n) for n in range(1, agencies + 1)],
        "categories": [
            {"code": code, "name_ar": f"فئة {code}", "name_en": code.title(), "color": "#1f6feb"}
            for code in CATEGORIES
        ],
    }


def _agency(n: int) -> dict:
    return {
        "id": n,
        "code": f"A{n:03d}",
        "name_ar": f"الجهة المشاركة رقم {n}",
        "name_en": f"Participating agency {n}",
        "sector": "government",
        "governorate": None,
        "quota": 400,
    }


def _copy_all(connection, rng: random.Random, options, days, lists: dict) -> dict:
    """COPY every table; check-ins are decided per delegate and day."""
    people = _roster(connection, rng, options)
    checkins = _checkins(connection, rng, people, days, lists)
    scans = _scans(connection, rng, checkins, options.scans)
    return {"delegates": len(people), "checkins": len(checkins), "scans": scans}


def _roster(connection, rng: random.Random, options) -> list[tuple[int, str]]:
    columns = (
        "badge_id, event_id, generation, version, status, full_name_ar, full_name_en, name_key,"
        " gender, email, phone, agency_id, agency_code, agency_name_ar, agency_name_en,"
        " category_code, category_name_ar, category_name_en, category_color, updated_at"
    )
    people, now = [], datetime.now(UTC)
    with connection.cursor() as cursor, cursor.copy(f"COPY roster ({columns}) FROM STDIN") as copy:
        for badge in range(1, options.delegates + 1):
            agency = rng.randint(1, options.agencies)
            category = rng.choice(CATEGORIES)
            status = "cancelled" if rng.random() < 0.05 else "active"
            people.append((badge, status))
            copy.write_row((
                badge, EVENT_ID, 1, 1, status, f"مشارك رقم {badge}", f"Delegate {badge}",
                f"مشارك رقم {badge} delegate {badge}", rng.choice(("female", "male")),
                f"d{badge}@example.org", f"+96477{badge:08d}", agency, f"A{agency:03d}",
                f"الجهة المشاركة رقم {agency}", f"Participating agency {agency}", category,
                f"فئة {category}", category.title(), "#1f6feb", now,
            ))  # fmt: skip
    return people


def _checkins(connection, rng, people, days, lists: dict) -> list[tuple]:
    columns = (
        "event_id, list_id, badge_id, gate, checked_in_at, inside, last_movement_at, undone_at"
    )
    written = []
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY checkins ({columns}) FROM STDIN") as copy,
    ):
        for badge, status in people:
            for day in days:
                if status != "active" or rng.random() >= 0.75:
                    continue
                start = datetime.combine(day, clock_time(5, 0), UTC)
                at = start + timedelta(seconds=rng.randint(0, 6 * 3600))
                undone = at + timedelta(minutes=1) if rng.random() < 0.02 else None
                row = (EVENT_ID, lists[day], badge, "main", at, undone is None, at, undone)
                copy.write_row(row)
                written.append(row)
    return written


def _scans(connection, rng, checkins: list[tuple], total: int) -> int:
    """The scan log: one `ok` per check-in, then repeats and refusals up to `total` rows."""
    columns = (
        "nonce, request_hash, event_id, list_id, badge_id, direction, status, gate, device_id,"
        " offline, scanned_at, recorded_at, answer"
    )
    count = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY scans ({columns}) FROM STDIN") as copy:
        while count < total:
            row = checkins[count % len(checkins)]
            status = (
                "ok" if count < len(checkins) else rng.choice(("already_checked_in", "invalid"))
            )
            answer = json.dumps({"status": status})
            copy.write_row((
                f"n{count:012d}", "0" * 64, EVENT_ID, row[1], row[2], "entry", status, "main",
                None, False, row[4], row[4], answer,
            ))  # fmt: skip
            count += 1
    return count


def _measure(url: str, options) -> list[tuple]:
    """Time the report API and the full XLSX, in process through the app's WSGI stack."""
    from services.checkin.app import create_app
    from services.checkin.config import CheckinConfig
    from shared.identity import issue_api_token
    from shared.web import freeze_startup_heap

    config = CheckinConfig(url, "redis://127.0.0.1:1/0", SECRET, "ar", [])
    client = create_app(config).test_client()
    freeze_startup_heap()  # as each service's wsgi.py does after building its app
    token = issue_api_token(SECRET, subject="bench", role="organizer", token_id="bench")
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    for by in ("agency,day", "agency", "category,gender"):
        times = _times(client, f"/api/v1/events/{EVENT_ID}/attendance?by={by}", headers, options)
        rows.append((f"GET attendance?by={by}", *times))
    started = time.perf_counter()
    response = client.get(f"/api/v1/events/{EVENT_ID}/attendance.xlsx", headers=headers)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    rows.append(("full XLSX export", seconds, len(response.data)))
    return rows


def _times(client, path: str, headers: dict, options) -> tuple[float, float]:
    for _ in range(3):
        assert client.get(path, headers=headers).status_code == 200
    samples = []
    for _ in range(options.requests):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99


def _print_table(rows: list[tuple], loaded: dict, options) -> None:
    print(f"# Attendance reports — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"- machine: nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}")
    print(
        f"- data (PostgreSQL): {loaded['delegates']:,} delegates, {options.agencies} agencies,"
        f" {options.days} days, {loaded['checkins']:,} check-ins, {loaded['scans']:,} scans"
        f" (loaded in {loaded['load_seconds']:.0f} s; tallies rebuilt in"
        f" {loaded['tally_seconds']:.1f} s)"
    )
    print(f"- {options.requests} requests each after 3 warm-ups, in process (no network)\n")
    print("| measure | p50 | p99 | goal |")
    print("|---|---|---|---|")
    for name, p50, p99 in rows[:-1]:
        goal = f"p99 ≤ {GOAL_P99_MS:.0f} ms" if name.endswith("agency,day") else ""
        print(f"| {name} | {p50:.1f} ms | {p99:.1f} ms | {goal} |")
    name, seconds, size = rows[-1]
    print(f"| {name} ({size / 1e6:.1f} MB) | {seconds:.2f} s | | ≤ {GOAL_XLSX_S:.0f} s |")


if __name__ == "__main__":
    main()
