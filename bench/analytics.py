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
with the same plan: generating a year takes minutes. ``python -m bench.analytics
--incidents N [--only postgresql|sqlite]`` measures a smaller year, or one database.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import (
    PG,
    LocalRedis,
    free_port,
    prepare_voicebridge,
    python,
    run_wrk,
    stop,
    wait_http,
)
from routing.analytics import BY_CODE, Period, percentile_cont
from routing.config import parse_config
from routing.db import Database
from routing.ids import LIMA
from routing.rollups import Analytics, Rollups
from routing.store import IncidentStore
from voicebridge import migrate
from voicebridge.demo_year import YearPlan, generate
from voicebridge.rules import read_rules_file

ROOT = Path(__file__).resolve().parents[1]
KEPT = ROOT / "var" / "bench"
PG_NAME = "voicebridge_bench_year"
TARGETS = {"processing": 60, "acknowledgement": 60, "turnout": 80, "travel": 240}
ROUNDS = 3
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


# ---------------------------------------------------------------- (c) the rebuild


def rebuild(db: Database, incidents: int) -> dict[str, float]:
    """Every summary row rebuilt from the log, against streaming the log's rows once."""
    started = time.monotonic()
    with db.read() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=20000).execute(
            text("SELECT incident_id, at, actor, kind, data FROM incident_events")
        )
        rows = sum(1 for _ in result)
    floor = time.monotonic() - started
    rollups = Rollups(db, clock=Clock(), targets=TARGETS)
    started = time.monotonic()
    report = rollups.rebuild(_progress("days rolled"))
    took = time.monotonic() - started
    assert report.incidents == incidents, report
    return {"rebuild_s": took, "incidents_per_s": incidents / took, "log_rows": rows,
            "floor_s": floor, "ratio": took / floor}  # fmt: skip


# ---------------------------------------------------------------- (a) the year's table

FIRST, LAST = date(2025, 12, 1), date(2026, 11, 30)
PG_TABLE = """
WITH firsts AS (
  SELECT DISTINCT ON (incident_id) incident_id, received_at
  FROM reports ORDER BY incident_id, received_at, id
), legs AS (
  SELECT incident_id, data->>'agency' AS agency,
         min(at) FILTER (WHERE kind = 'calling') AS notified,
         min(at) FILTER (WHERE kind = 'acknowledged') AS acked
  FROM incident_events WHERE kind IN ('calling', 'acknowledged') GROUP BY 1, 2
)
SELECT to_char(f.received_at AT TIME ZONE 'America/Lima', 'YYYY-MM') AS month,
       coalesce(i.district, '') AS district, l.agency,
       count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.acked - l.notified)) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM l.acked - l.notified)) AS p90
FROM legs l JOIN incidents i ON i.id = l.incident_id JOIN firsts f USING (incident_id)
WHERE l.acked >= l.notified
GROUP BY 1, 2, 3
"""
SQLITE_LEGS = """
WITH firsts AS (
  SELECT incident_id, min(received_at) AS received_at FROM reports GROUP BY incident_id
)
SELECT f.received_at, coalesce(i.district, ''), json_extract(e.data, '$.agency'),
       min(CASE WHEN e.kind = 'calling' THEN e.at END),
       min(CASE WHEN e.kind = 'acknowledged' THEN e.at END)
FROM incident_events e JOIN incidents i ON i.id = e.incident_id
JOIN firsts f ON f.incident_id = e.incident_id
WHERE e.kind IN ('calling', 'acknowledged')
GROUP BY e.incident_id, json_extract(e.data, '$.agency')
"""

Table = dict[tuple[str, str, str], tuple[int, float, float]]


def by_hand(db: Database) -> Table:
    """The table from the raw rows, as one would write it without voicebridge."""
    with db.read() as conn:
        if db.engine.dialect.name == "postgresql":
            return {(r.month, r.district, r.agency): (r.n, float(r.p50), float(r.p90))
                    for r in conn.execute(text(PG_TABLE))}  # fmt: skip
        groups: dict[tuple[str, str, str], list[int]] = {}
        for received, district, agency, notified, acked in conn.execute(text(SQLITE_LEGS)):
            if notified is None or acked is None:
                continue
            start, end = datetime.fromisoformat(notified), datetime.fromisoformat(acked)
            if end < start:
                continue
            when = datetime.fromisoformat(received).replace(tzinfo=UTC).astimezone(LIMA)
            key = (when.strftime("%Y-%m"), district, agency)
            groups.setdefault(key, []).append((end - start) // timedelta(microseconds=1))
    return {
        key: (len(v), (percentile_cont(v, 0.5) or 0) / 1e6, (percentile_cont(v, 0.9) or 0) / 1e6)
        for key, v in groups.items()
    }


def by_voicebridge(db: Database) -> Table:
    analytics = Analytics(db, clock=Clock(), targets=TARGETS)
    found = analytics.figures(BY_CODE["acknowledgement"], period=Period.MONTH, first=FIRST,
                              last=LAST, by=("district", "agency"))  # fmt: skip
    return {key: (f.count, f.median or 0.0, f.p90 or 0.0) for key, f in found.items() if f.count}  # type: ignore[misc]


def table(db: Database) -> dict[str, float]:
    hand, ours = by_hand(db), by_voicebridge(db)
    if hand.keys() != ours.keys():
        raise SystemExit(f"the tables differ in their groups: {len(hand)} against {len(ours)}")
    for key, (n, p50, p90) in hand.items():
        m, q50, q90 = ours[key]
        if n != m or abs(p50 - q50) > 1e-6 or abs(p90 - q90) > 1e-6:
            raise SystemExit(f"{key}: by hand {n} {p50} {p90}, voicebridge {m} {q50} {q90}")
    timings = {}
    for name, run in (("by_hand_s", by_hand), ("voicebridge_s", by_voicebridge)):
        best = float("inf")
        for _ in range(ROUNDS):
            started = time.perf_counter()
            run(db)
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    return {
        **timings,
        "groups": len(hand),
        "ratio": timings["voicebridge_s"] / timings["by_hand_s"],
    }


# ---------------------------------------------------------------- (b) the page's API

USERS = 20
SECONDS = 15
MONTH = "2026-11"
PAGE_URLS = (
    f"/api/v1/analytics/summary?month={MONTH}",
    "/api/v1/analytics/figures?interval=response&period=month&from=2025-12&to=2026-11",
    "/api/v1/analytics/figures?interval=response&period=month&from=2026-10&to=2026-11&by=district",
    "/api/v1/analytics/figures?interval=acknowledgement&period=month&from=2026-11&to=2026-11&by=agency",
)
PAGE_SCRIPT = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Authorization"] = "Bearer %(token)s"})
end
done = function(summary, latency, requests)
  local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
  io.write(string.format("p50=%%f p99=%%f\\n", p50, p99))
end
"""


def _load(base: str, token: str) -> dict[str, float]:
    paths = ", ".join(f'"{p}"' for p in PAGE_URLS)
    out = run_wrk(PAGE_SCRIPT % {"paths": paths, "token": token}, [base], seconds=SECONDS,
                  connections=USERS)  # fmt: skip
    found = re.search(r"p50=([\d.]+) p99=([\d.]+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad or found is None or rps is None:
        raise SystemExit(f"the page's API failed under load: {out}")
    return {"p50_ms": float(found[1]), "p99_ms": float(found[2]), "rps": float(rps[1])}


def page_api(url: str) -> dict[str, Any]:
    redis = LocalRedis()
    try:
        env = {**os.environ, "VOICEBRIDGE_DATABASE_URL": url, "VOICEBRIDGE_REDIS_URL": redis.url,
               "VOICEBRIDGE_LOG_LEVEL": "WARNING", "VOICEBRIDGE_AUTO_MIGRATE": "false"}  # fmt: skip
        token = prepare_voicebridge(env, "supervisor")
        port = free_port()
        serve = python(
            "-m", "voicebridge", "serve", env={**env, "VOICEBRIDGE_HTTP_PORT": str(port)}
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/healthz", serve, 60)
            bodies = {}
            for path in PAGE_URLS:
                request = urllib.request.Request(  # noqa: S310 (loopback)
                    base + path, headers={"Authorization": f"Bearer {token}"}
                )
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    bodies[path] = response.read().decode()
            ours = _load(base, token)
        finally:
            stop(serve)
    finally:
        redis.close()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(bodies, file)
    port = free_port()
    bare = python("-m", "bench.bare_analytics", str(port), file.name)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", bare)
        baseline = _load(f"http://127.0.0.1:{port}", token)
    finally:
        stop(bare)
        Path(file.name).unlink()
    return {"voicebridge": ours, "bare": baseline, "p99_ratio": ours["p99_ms"] / baseline["p99_ms"]}


# ---------------------------------------------------------------- the run


def measure_one(name: str, url: str, incidents: int, parts: str = "cab") -> None:
    _say(f"analytics, {name}, {incidents:,} incidents")
    db = prepared(url, plan_of(incidents))
    try:
        if "c" in parts:
            _rebuild(db, incidents)
        if "a" in parts:
            _table(db)
        if "b" in parts:
            _page(url)
    finally:
        db.dispose()


def _rebuild(db: Database, incidents: int) -> None:
    c = rebuild(db, incidents)
    _say(f"  (c) rebuild: {c['rebuild_s']:.0f} s, {c['incidents_per_s']:,.0f} incidents/s; "
         f"streaming the log's {c['log_rows']:,} rows alone {c['floor_s']:.0f} s "
         f"(rebuild {c['ratio']:.1f}x)")  # fmt: skip


def _table(db: Database) -> None:
    a = table(db)
    _say(f"  (a) the year's p50/p90 by month x district x agency ({a['groups']:,} groups, "
         f"the same numbers both ways): voicebridge {a['voicebridge_s'] * 1000:.1f} ms, "
         f"by hand {a['by_hand_s'] * 1000:.0f} ms: {a['ratio']:.4f}x")  # fmt: skip


def _page(url: str) -> None:
    b = page_api(url)
    ours, bare = b["voicebridge"], b["bare"]
    _say(f"  (b) the page's API, {USERS} users: p50 {ours['p50_ms']:.1f} ms, p99 "
         f"{ours['p99_ms']:.1f} ms, {ours['rps']:.0f} req/s; bare handler p50 "
         f"{bare['p50_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms, {bare['rps']:.0f} req/s "
         f"(p99 {b['p99_ratio']:.1f}x)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench analytics")
    parser.add_argument("--incidents", type=int, default=1_400_000)
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--parts", default="cab", help="c: the rebuild, a: the table, b: the API")
    args = parser.parse_args(list(argv) if argv is not None else [])
    KEPT.mkdir(parents=True, exist_ok=True)
    if args.only != "sqlite":
        measure_one("PostgreSQL", postgres_url(), args.incidents, args.parts)
    if args.only != "postgresql":
        measure_one(
            "SQLite", f"sqlite:///{KEPT / f'year-{args.incidents}.sqlite3'}", args.incidents
        )


def main_prepare(incidents: int) -> None:
    plan = plan_of(incidents)
    KEPT.mkdir(parents=True, exist_ok=True)
    for url in (postgres_url(), f"sqlite:///{KEPT / f'year-{incidents}.sqlite3'}"):
        db = prepared(url, plan)
        db.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        main_prepare(int(sys.argv[2]) if len(sys.argv) > 2 else 1_400_000)
    else:
        main(sys.argv[1:])
