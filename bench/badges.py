"""Benchmark badge printing: a 1,000-badge A4 sheet PDF of the demo event, and QR codes alone.

Run from the repository root:

    .venv/bin/python -m bench.badges [--count N] [--layouts a4-cards,a4-a6]

The demo event is loaded into a throwaway SQLite database with its capacity and quotas lifted,
N delegates with distinct Arabic and Latin names are registered through the use case, and each
layout is rendered once in this process (one core): registrations to signed tokens to PDF bytes,
as the worker's task does. The goal is judged on CPU time (one core), since wall time on a shared
machine also counts waiting for the CPU; both are printed with the load average. QR throughput
is measured on its own for the encoder the badges use (zxing-cpp, modules only) and for the PNG
images of the badge page and e-mails (qrcode + PIL).
The goal is a 1,000-badge sheet PDF in at most 20 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from bench.figures import Figure
from bench.server import cpu_model

GOAL_SECONDS = 20.0
FIRST = ("زينب", "محمد", "فاطمة", "علي", "نور", "حسين", "مريم", "أحمد", "سارة", "عبد الرحمن")
LAST = ("الجبوري", "العلاق", "الحسيني", "البغدادي", "الموسوي", "التميمي", "الربيعي", "الكعبي")
FIRST_EN = ("Zainab", "Mohammed", "Fatima", "Ali", "Noor", "Hussein", "Maryam", "Ahmed", "Sara")
LAST_EN = ("Al-Jubouri", "Al-Alaq", "Al-Husseini", "Al-Baghdadi", "Al-Musawi", "Al-Tamimi")


def main(argv: list[str] | None = None) -> None:
    """Parse options, prepare the data, measure and print the table."""
    run(argv)


def run(argv: list[str] | None = None) -> tuple[int, list[Figure]]:
    """Measure, print the table and return the exit status and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--layouts", default="a4-cards,a4-a6")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hudoor-bench-badges-") as directory:
        session, ctx = _database(Path(directory))
        registrations = _delegates(session, ctx, options.count)
        rows = [_render(ctx, registrations, layout) for layout in options.layouts.split(",")]
        qr_rows = _qr_rates(ctx, registrations[:300])
    _print_table(rows, qr_rows, options.count)
    return 0, figures(rows, qr_rows, options.count)


def figures(rows: list[dict], qr_rows, count: int) -> list[Figure]:
    """Return badges per CPU second of each layout and the QR rates."""
    out = [
        Figure("badges", f"{r['layout']} PDF of {count}", count / r["cpu"], "badges/CPU s")
        for r in rows
    ]
    return out + [Figure("badges", label, rate, "codes/CPU s") for label, rate in qr_rows]


def _database(directory: Path):
    """A migrated SQLite database holding the demo event without seat limits."""
    from services.registration.app import MIGRATIONS
    from services.registration.demo import load_demo
    from services.registration.models import Agency, Event
    from services.registration.operations import Context
    from shared.badge_tokens import BadgeKeyring
    from shared.db import create_db_engine, make_sessionmaker, migrate

    engine = create_db_engine(f"sqlite:///{directory / 'registration.db'}")
    migrate(engine, MIGRATIONS)
    session = make_sessionmaker(engine)()
    event = load_demo(session)
    session.execute(update(Event).values(capacity=None))
    session.execute(update(Agency).where(Agency.event_id == event.id).values(quota=None))
    session.commit()
    keyring = BadgeKeyring.generate(key_id=1)
    return session, Context(keyring, "bench-secret-" + "x" * 40, "http://bench.invalid")


def _delegates(session, ctx, count: int) -> list:
    """Register `count` distinct delegates over the demo agencies and categories."""
    from services.registration.models import Agency, Category, Event
    from services.registration.operations import register_delegate
    from services.registration.schemas import RegistrationSchema

    event = session.scalars(select(Event)).one()
    agencies = session.scalars(select(Agency.code)).all()
    categories = session.scalars(select(Category.code)).all()
    schema = RegistrationSchema()
    people = []
    for n in range(count):
        data = schema.load(_payload(n, agencies[n % len(agencies)], categories[n % 5]))
        people.append(register_delegate(session, ctx, event, data, privileged=True))
    session.commit()
    return people


def _payload(n: int, agency: str, category: str) -> dict:
    return {
        "full_name_ar": f"{FIRST[n % 10]} {FIRST[n // 10 % 10]} {LAST[n % 8]}",
        "full_name_en": f"{FIRST_EN[n % 9]} {FIRST_EN[n // 9 % 9]} {LAST_EN[n % 6]}",
        "job_title": "Programme Officer",
        "agency": agency,
        "category": category,
        "email": f"bench{n}@example.org",
        "gender": "unspecified",
        "language": "ar",
        "channel": "email",
        "consent": True,
    }


def _render(ctx, registrations, layout: str) -> dict:
    """Render every badge once; wall and CPU time, pages and size."""
    import pypdfium2

    from services.registration import printing, printing_tasks

    wall, cpu = time.perf_counter(), time.process_time()
    pdf = printing.render(printing_tasks.badges(ctx, registrations), layout)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pages = len(pypdfium2.PdfDocument(pdf))
    return {"layout": layout, "wall": wall, "cpu": cpu, "pages": pages, "bytes": len(pdf)}


def _qr_rates(ctx, registrations) -> list[tuple[str, float]]:
    """Codes per second: the badges' vector modules and the PNG images."""
    from services.registration import printing
    from shared import qr

    tokens = [ctx.badge_token(r) for r in registrations]
    rates = []
    for label, encode in (
        ("QR modules for the PDF (zxing-cpp)", printing.qr_matrix),
        ("QR PNG images (qrcode + PIL)", qr.qr_png),
    ):
        start = time.process_time()
        for token in tokens:
            encode(token)
        rates.append((label, len(tokens) / (time.process_time() - start)))
    return rates


def _machine() -> str:
    model = cpu_model()
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def _print_table(rows: list[dict], qr_rows, count: int) -> None:
    """One line per layout, then the QR rates."""
    print(f"Hudoor badge printing benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {_machine()}; Python {platform.python_version()}; load {os.getloadavg()}")
    print(f"{count} badges of the demo event, rendered in one process (one core)\n")
    print(f"{'layout':<10} {'pages':>6} {'wall s':>8} {'CPU s':>8} {'badges/s':>9} {'MB':>6}  goal")
    for row in rows:
        verdict = f"≤ {GOAL_SECONDS:.0f} s " + ("ok" if row["cpu"] <= GOAL_SECONDS else "MISSED")
        print(
            f"{row['layout']:<10} {row['pages']:>6} {row['wall']:>8.1f} {row['cpu']:>8.1f} "
            f"{count / row['wall']:>9.0f} {row['bytes'] / 1e6:>6.1f}  {verdict}"
        )
    print("(goal judged on CPU s, the time on one core; wall s also counts waiting for a busy CPU)")
    print()
    for label, rate in qr_rows:
        print(f"{label:<40} {rate:>8.0f} codes per CPU second")


if __name__ == "__main__":
    main()
