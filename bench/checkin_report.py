"""The check-in benchmark's Markdown report: machine, table, goals, CPU and notes."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime

from bench.checkin_setup import CPU_GROUPS, GOAL_P99_MS, GOAL_RATIO, Row, open_count
from bench.checkin_traffic import max_ms
from bench.figures import Figure
from bench.server import HOST, cpu_model, worker_class
from bench.server import package_version as _version

# --- report -------------------------------------------------------------------------------------


def machine_lines(args: argparse.Namespace) -> list[str]:
    """Describe the machine, software and settings of the run."""
    load1, load5, _ = os.getloadavg()
    return [
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average at the end {load1:.1f} (1 min), {load5:.1f} (5 min)",
        f"- server: gunicorn {_version('gunicorn')} on {HOST}, {args.workers} workers x "
        f"{args.threads} threads ({worker_class(args)}), access log on, serving "
        "`bench.checkin_app:build()`",
        f"- roster: {args.badges} badges of one event; each check-in phase on its own list",
        f"- closed loop: {args.count} measured requests per phase after {args.warmup} first "
        f"scans of warm-up, client threads {', '.join(map(str, args.concurrency))}, one "
        "keep-alive http.client connection each, on the same machine",
        f"- open loop: {args.rate:g} requests/s for {args.seconds:g} s "
        f"({open_count(args)} requests), {args.open_threads} sender threads, latency from the "
        "scheduled send time",
        "- check-in mix: 80 % first scans (ok), 15 % repeats (already_checked_in), "
        "5 % random tokens (invalid); a device token, a fresh nonce per request",
    ]


def _bare_rate(rows: list[Row], row: Row) -> float | None:
    """Return the /bare rate measured in the same database, mode and load as row."""
    for other in rows:
        key = (other.database, other.mode, other.load)
        if other.endpoint == "bare" and key == (row.database, row.mode, row.load):
            return other.result.rate
    return None


def table(rows: list[Row]) -> str:
    """Render the result table in Markdown."""
    lines = [
        "| database | endpoint | mode | concurrency/rate | requests | errors | req/s "
        "| p50 ms | p99 ms | max ms | ratio to bare |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.result
        bare = _bare_rate(rows, row)
        ratio = f"{r.rate / bare:.2f}" if bare else "-"
        lines.append(
            f"| {row.database} | {row.endpoint} | {row.mode} | {row.load} | {r.requests} | "
            f"{r.error_count} | {r.rate:.1f} | {r.percentile_ms(50):.1f} | "
            f"{r.percentile_ms(99):.1f} | {max_ms(r):.1f} | {ratio} |"
        )
    return "\n".join(lines)


def goal_lines(rows: list[Row], args: argparse.Namespace) -> list[str]:
    """State each goal of the issue and whether this run met it."""
    by = {(r.database, r.endpoint, r.load): r for r in rows}
    lines = []
    bare, scans = by.get(("postgres", "bare", "c32")), by.get(("postgres", "checkin", "c32"))
    if bare and scans and bare.result.rate:
        ratio = scans.result.rate / bare.result.rate
        verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
        lines.append(
            f"goal PostgreSQL c32 throughput >= {GOAL_RATIO:.0%} of bare: "
            f"{scans.result.rate:.0f} vs {bare.result.rate:.0f} req/s = {ratio:.0%}, {verdict}"
        )
    floor = by.get(("postgres", "floor", "c32"))
    if bare and floor and bare.result.rate:
        lines.append(
            f"ceiling: the floor endpoint (one row inserted and committed, nothing else) reaches "
            f"{floor.result.rate / bare.result.rate:.0%} of bare at PostgreSQL c32; a scan "
            f"reaches {scans.result.rate / floor.result.rate:.0%} of the floor"
            if scans
            else f"ceiling: floor at {floor.result.rate / bare.result.rate:.0%} of bare"
        )
    opened = by.get(("postgres", "checkin", f"{args.rate:g}/s"))
    if opened:
        p99 = opened.result.percentile_ms(99)
        verdict = "met" if p99 <= GOAL_P99_MS and not opened.result.errors else "NOT met"
        lines.append(
            f"goal PostgreSQL p99 <= {GOAL_P99_MS:g} ms at {args.rate:g} scans/s offered: "
            f"p99 {p99:.1f} ms, achieved {opened.result.rate:.1f}/s, "
            f"{opened.result.error_count} errors, {verdict}"
        )
    sqlite = by.get(("sqlite", "checkin", "c32"))
    if sqlite:
        errors = sqlite.result.error_count
        verdict = "met" if errors == 0 and not sqlite.result.stopped_early else "NOT met"
        lines.append(f"goal no errors on SQLite at c32: {errors} errors, {verdict}")
    return lines


def row_notes(rows: list[Row]) -> list[str]:
    """Describe CPU use, open-loop schedule keeping, errors and early stops of each row."""
    notes = []
    for row in rows:
        r, cpu = row.result, row.cpu
        label = f"{row.database} {row.endpoint} {row.load}"
        per = 1000 / max(r.requests, 1)
        spent = ", ".join(f"{name} {cpu[key] * per:.2f}" for key, name in CPU_GROUPS.items())
        notes.append(f"{label}: CPU ms/request: {spent}; host busy {cpu['host_busy']:.0%}")
        if row.extra:
            x = row.extra
            notes.append(
                f"{label}: offered {x['offered']:g}/s, sent {x['sent_rate']:.1f}/s; send lag "
                f"behind schedule p99 {x['lag_p99_ms']:.1f} ms, max {x['lag_max_ms']:.1f} ms; "
                f"{x['late_queued']} requests queued > 1 ms late by the scheduler"
            )
        if r.errors:
            notes.append(f"{label}: errors {dict(r.errors)}; first: {r.samples[:2]}")
            notes.append(
                f"{label}: counting every HTTP answer: {r.answered_rate:.1f}/s, "
                f"p50 {r.percentile_ms(50, answered=True):.1f} ms, "
                f"p99 {r.percentile_ms(99, answered=True):.1f} ms"
            )
        if r.stopped_early:
            notes.append(f"{label}: stopped at --max-seconds before the full count")
    return notes


def cost_lines(rows: list[Row]) -> list[str]:
    """Service CPU (gunicorn, plus postgres on PostgreSQL) per request, less sensitive to noise."""
    lines = []
    for row in rows:
        if row.endpoint == "bare":
            continue
        bare = next(
            (
                o
                for o in rows
                if o.endpoint == "bare" and (o.database, o.load) == (row.database, row.load)
            ),
            None,
        )
        if bare is None:
            continue
        scan_cpu, bare_cpu = service_cpu_ms(row), service_cpu_ms(bare)
        lines.append(
            f"{row.database} {row.load}: service CPU per request: bare {bare_cpu:.2f} ms, "
            f"{row.endpoint} {scan_cpu:.2f} ms; CPU-cost ratio {bare_cpu / scan_cpu:.0%}"
        )
    return lines


def service_cpu_ms(row: Row) -> float:
    """Return the CPU ms per request of gunicorn and (on PostgreSQL) postgres."""
    groups = ["server"] + (["database"] if row.database == "postgres" else [])
    return sum(row.cpu[g] for g in groups) * 1000 / max(row.result.requests, 1)


def figures(rows: list[Row]) -> list[Figure]:
    """Return each row's rate (with the bare rate of the same load) and open-loop p99s."""
    out = []
    for row in rows:
        name = f"{row.database} {row.endpoint} {row.mode} {row.load}"
        bare = None if row.endpoint == "bare" else _bare_rate(rows, row)
        out.append(Figure("checkin", name, row.result.rate, "req/s", bare))
        if row.extra and row.endpoint == "checkin":
            p99 = row.result.percentile_ms(99)
            out.append(Figure("checkin", f"{row.database} scan p99 at {row.load}", p99, "ms"))
    return out
