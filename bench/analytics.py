"""Response-time analytics at the scale of a year (issue 15, point 7), on PostgreSQL and on
SQLite, each holding a generated year (``voicebridge demo year``: by default 1,400,000
incidents with their whole logs, through the store):

(a) the table of the acknowledgement's p50 and p90 per month × district × agency for
    the whole year, as voicebridge answers it (:class:`routing.rollups.Analytics`, from
    the summary rows), against a hand-written query over the raw rows of the log: on
    PostgreSQL one ``percentile_cont`` statement, on SQLite (which has no percentile
    function) the same join with the percentiles computed in Python. Both answers are
    compared group by group before anything is timed (they must be the same numbers).
(b) the analytics page's API under 20 concurrent users (each asking the month's KPIs
    and the figures the page draws, in turn): p50 and p99, against a bare aiohttp handler
    answering the same JSON bodies from memory, loaded the same way in the same run.
(c) the rebuild of every summary row from the log: incidents per second, against reading
    the same incidents' logs and doing nothing with them (the floor of any rollup).

The generated databases are kept under ``var/bench/`` (SQLite) and as the PostgreSQL
database ``voicebridge_bench_year`` (with the plan they hold), and reused by the next run
with the same plan: generating a year takes minutes. ``python -m bench analytics
--incidents N`` measures a smaller year.
"""

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import PG
from routing.config import parse_config
from routing.db import Database
from routing.store import IncidentStore
from voicebridge import migrate
from voicebridge.demo_year import YearPlan, generate
from voicebridge.rules import read_rules_file

ROOT = Path(__file__).resolve().parents[1]
KEPT = ROOT / "var" / "bench"
PG_NAME = "voicebridge_bench_year"
TARGETS = {"answering": 15, "processing": 60, "acknowledgement": 60, "turnout": 80, "travel": 240}
NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # the year is December 2025 to November 2026


class Clock:
    def now(self) -> datetime:
        return NOW


def plan_of(incidents: int) -> YearPlan:
    return YearPlan(incidents=incidents, first_month="2025-12", seed=2026)


def _say(message: str) -> None:
    print(message, flush=True)


def _progress(what: str) -> Callable[[int, int], None]:
    started = time.monotonic()
    last = [0.0]

    def told(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 30 or done == total:
            last[0] = time.monotonic()
            _say(f"  {what}: {done}/{total} ({time.monotonic() - started:.0f} s)")

    return told


def postgres_url() -> str:
    base = make_url(os.environ.get("VOICEBRIDGE_TEST_POSTGRES_URL", PG))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_NAME,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')
    return base.set(database=PG_NAME, drivername="postgresql+psycopg").render_as_string(
        hide_password=False
    )


def prepared(url: str, plan: YearPlan) -> Database:
    """The database at ``url`` holding the year of ``plan`` (generated when it holds
    another, or nothing)."""
    migrate.upgrade(url)
    db = Database.from_url(url, pool_size=4)
    wanted = json.dumps(asdict(plan), sort_keys=True)
    with db.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_plan (plan TEXT NOT NULL)"))
        held = conn.execute(text("SELECT plan FROM bench_plan")).scalar()
    if held == wanted:
        return db
    _say(f"  generating {plan.incidents:,} incidents into {make_url(url).render_as_string()}")
    if db.engine.dialect.name == "sqlite":  # the log refuses DELETE: a new file
        db.dispose()
        Path(make_url(url).database or "").unlink()
        migrate.upgrade(url)
        db = Database.from_url(url, pool_size=4)
        with db.write() as conn:
            conn.execute(text("CREATE TABLE bench_plan (plan TEXT NOT NULL)"))
    else:  # TRUNCATE fires no row trigger
        with db.write() as conn:
            conn.execute(text("TRUNCATE incidents, incident_counters, analytics_days, "
                              "analytics_periods, analytics_staff, analytics_rolled, bench_plan "
                              "RESTART IDENTITY CASCADE"))  # fmt: skip
    store = IncidentStore(db, clock=Clock())
    config = parse_config(*read_rules_file(None))
    started = time.monotonic()
    generate(store, plan, config, batch=5000, progress=_progress("days generated"))
    _say(f"  generated in {time.monotonic() - started:.0f} s")
    with db.write() as conn:
        conn.execute(text("INSERT INTO bench_plan (plan) VALUES (:p)"), {"p": wanted})
    return db


def main_prepare(incidents: int) -> None:
    plan = plan_of(incidents)
    KEPT.mkdir(parents=True, exist_ok=True)
    for url in (postgres_url(), f"sqlite:///{KEPT / f'year-{incidents}.sqlite3'}"):
        db = prepared(url, plan)
        db.dispose()


if __name__ == "__main__" and sys.argv[1:2] == ["prepare"]:
    main_prepare(int(sys.argv[2]) if len(sys.argv) > 2 else 1_400_000)
