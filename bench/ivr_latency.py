"""IVR latency: from a caller's last key to (a) the report's incident committed and (b)
the district operator's Originate on the wire, over a steady stream of citizens'
calls to the fake Asterisk's IVR, against a floor measured in the same run.

The fake Asterisk (``bench.fake_server --citizen-lines``, a process of its own) runs
``vb-citizen`` with the shipped numbers of Lima's 43 centrals. A load process places
``RATE`` calls a second over AMI (the fake's played caller, ``Local/s@vb-caller-sim``):
each dials the next central's number and presses a bridged category's key (3 fire, 4
medical emergency, 5 gas leak, 1 assault: 172 different district-and-category pairs, so
every call is an incident of its own), 2 s after answer. voicebridge's ``serve`` (the
shipped routing rules without their per-line rate limits; no worker: the first calls
need none) files each report, dispatches it, and the district operator's leg is
originated into the room. The floor (``bench.bare_ivr``) is an AMI client that, for the
same event, commits one row and writes one Originate.

The last key is the fake's DTMFEnd on the IVR's channel; (a) is when the report's row is
visible to another connection (a poller reading the database every 2 ms: commit plus at
most the poll's period, the same for both); (b) is when the fake read the operator's
Originate (voicebridge's into ``vb-room`` for that incident). voicebridge is measured on
SQLite, and on PostgreSQL when one answers (as ``sms_intake``). All times are
``time.monotonic()``, the clock every process of the machine shares. Each call must give
exactly one report and one operator Originate: the run fails otherwise.
"""

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.common import (
    LocalRedis,
    free_port,
    prepare_voicebridge,
    python,
    scratch_postgres,
    serve_env,
    stop,
    wait_http,
)
from bench.dispatch_latency import _routing
from voicebridge.devrun import wait_listening

RATE = float(os.environ.get("BENCH_RATE", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
KEYS = ("3", "4", "5", "1")  # fire, medical emergency, gas leak, assault: all bridged
POLL_SECONDS = 0.002
SETTLE_SECONDS = 8.0  # after the last call's key: its report and Originate are in
LINES = [f"0180{n:02d}000" for n in range(1, 44)]  # scripts/lima_defaults.py's numbers


@dataclass
class Run:
    name: str
    directory: Path
    ami_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    visible: dict[str, float] = field(default_factory=dict)  # Uniqueid -> row seen
    calls: int = 0

    @property
    def out(self) -> Path:
        return self.directory / f"{self.name.replace(', ', '-').split(' ')[0]}-fake.jsonl"


def _connect(url: str) -> Any:
    """A DBAPI connection that sees every commit at once (autocommit reads)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _poll(url: str, query: str, run: Run, done: threading.Event) -> None:
    """Until ``done``: every 2 ms, the rows that appeared (Uniqueid, when first seen)."""
    if not url.startswith("sqlite:///"):  # psycopg's placeholders, its literal %
        query = query.replace("%", "%%").replace("?", "%s")
    db = _connect(url)
    last = 0
    while not done.is_set():
        try:
            rows = db.execute(query, (last,)).fetchall()
        except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):  # not created yet
            rows = []
        now = time.monotonic()
        for row_id, uniqueid in rows:
            last = max(last, row_id)
            run.visible.setdefault(uniqueid, now)
        time.sleep(POLL_SECONDS)
    db.close()


async def _load(run: Run) -> None:
    """``RATE`` calls a second for ``SECONDS``, over one AMI session."""
    reader, writer = await asyncio.open_connection("127.0.0.1", run.ami_port)
    await reader.readline()
    writer.write(
        b"Action: Login\r\nActionID: login\r\nUsername: voicebridge\r\n"
        b"Secret: voicebridge\r\nEvents: off\r\n\r\n"
    )
    await reader.readuntil(b"\r\n\r\n")
    drain = asyncio.create_task(_discard(reader))
    start = time.monotonic()
    count = int(RATE * SECONDS)
    for n in range(count):
        delay = start + n / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        line, key = LINES[n % len(LINES)], KEYS[(n // len(LINES)) % len(KEYS)]
        writer.write(
            (
                f"Action: Originate\r\nActionID: call-{n}\r\nChannel: Local/s@vb-caller-sim\r\n"
                f"Context: vb-citizen\r\nExten: {line}\r\nPriority: 1\r\n"
                f'CallerID: "Vecino" <98765{n:04d}>\r\nVariable: VBSIM_KEYS={key}\r\n'
                f"Variable: VBSIM_HANGUP=12\r\nAsync: true\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        run.calls += 1
    await asyncio.sleep(2.0 + SETTLE_SECONDS)  # the last key comes 2 s after answer
    drain.cancel()
    writer.close()


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


@dataclass(frozen=True)
class Result:
    name: str
    calls: int
    commit_p50: float
    commit_p99: float
    originate_p50: float
    originate_p99: float
    problems: list[str]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def _measure(run: Run, incident_of: dict[str, str]) -> Result:
    """``incident_of``: Uniqueid -> the VB_INCIDENT its operator's Originate carries."""
    keys: dict[str, float] = {}
    originates: dict[str, list[float]] = {}
    reports = 0
    for line in run.out.read_text(encoding="utf-8").splitlines():
        o = json.loads(line)
        if "key" in o:
            keys[o["key"]] = o["at"]  # the last one wins
        elif "report" in o:
            reports += 1
        elif o.get("context") == "vb-room":
            originates.setdefault(o["incident"], []).append(o["at"])
    commit, originate, problems = [], [], []
    for uniqueid, key_at in keys.items():
        if uniqueid in run.visible:
            commit.append(run.visible[uniqueid] - key_at)
        incident = incident_of.get(uniqueid)
        times = originates.get(incident or "", [])
        if len(times) == 1:
            originate.append(times[0] - key_at)
    if reports != run.calls or len(keys) != run.calls:
        problems.append(f"{run.calls} calls, {len(keys)} with a key, {reports} reports")
    if len(commit) != run.calls:
        problems.append(f"{run.calls - len(commit)} reports not committed")
    if len(originate) != run.calls:
        problems.append(f"{run.calls - len(originate)} calls without exactly one operator call")
    return Result(
        run.name,
        run.calls,
        _pct(commit, 0.5),
        _pct(commit, 0.99),
        _pct(originate, 0.5),
        _pct(originate, 0.99),
        problems,
    )


def _measured(run: Run, db: str, query: str) -> None:
    """The poller and the load, against what ``run.procs`` started; then everything
    stopped (the fake last: it writes what it saw)."""
    done = threading.Event()
    poller = threading.Thread(target=_poll, args=(db, query, run, done))
    poller.start()
    try:
        asyncio.run(_load(run))
    finally:
        done.set()
        poller.join()
        for proc in reversed(run.procs):
            stop(proc)


def _fake(run: Run) -> None:
    proc = python("-m", "bench.fake_server", str(run.ami_port), str(run.out), "--citizen-lines")
    run.procs.append(proc)
    if not wait_listening(proc, run.ami_port):
        raise SystemExit("the fake Asterisk did not start")


def floor(directory: Path) -> Result:
    run = Run("floor (a row and an Originate)", directory)
    db = directory / "floor.sqlite3"
    _fake(run)
    run.procs.append(python("-m", "bench.bare_ivr", str(run.ami_port), str(db)))
    time.sleep(1.0)  # logged in
    _measured(
        run, f"sqlite:///{db}", "SELECT id, uniqueid FROM floor_reports WHERE id > ? ORDER BY id"
    )
    return _measure(run, {u: u for u in run.visible})


def voicebridge(directory: Path, redis_url: str, label: str, database_url: str) -> Result:
    run = Run(f"voicebridge, {label}", directory)
    _fake(run)
    port = free_port()
    routing = _routing(directory)
    env = serve_env(database_url, redis_url, routing, http_port=port, ami_port=run.ami_port)
    prepare_voicebridge(env, "admin")
    serve = subprocess.Popen([sys.executable, "-m", "voicebridge", "serve"], env=env)
    run.procs.append(serve)
    wait_http(f"http://127.0.0.1:{port}/healthz", serve)
    time.sleep(1.0)  # logged in to the fake
    query = (
        "SELECT r.id, substr(r.external_id, 5) FROM reports r "
        "WHERE r.id > ? AND r.external_id LIKE 'ivr:%' ORDER BY r.id"
    )
    _measured(run, database_url, query)
    with contextlib.closing(_connect(database_url)) as conn:
        rows = conn.execute(
            "SELECT substr(r.external_id, 5), i.public_id FROM reports r "
            "JOIN incidents i ON i.id = r.incident_id WHERE r.external_id LIKE 'ivr:%'"
        ).fetchall()
    return _measure(run, dict(rows))


def _flush(url: str) -> None:
    from redis import Redis

    client = Redis.from_url(url)
    client.flushdb()
    client.close()


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-ivr-")
    directory = Path(work.name)
    try:
        results = [floor(directory)]
        results.append(
            voicebridge(directory, redis.url, "SQLite", f"sqlite:///{directory / 'vb.sqlite3'}")
        )
        with scratch_postgres() as pg_url:
            if pg_url is not None:
                _flush(redis.url)
                results.append(voicebridge(directory, redis.url, "PostgreSQL", pg_url))
    finally:
        redis.close()
        work.cleanup()
    base = results[0]
    print(
        f"ivr_latency: {RATE:g} calls/s for {SECONDS:g} s, the caller's last key -> the "
        "report committed (visible to another connection) and -> the operator's Originate "
        "read by the fake Asterisk"
    )
    for r in results:
        print(
            f"  {r.name:32} committed p50 {r.commit_p50:7.2f} p99 {r.commit_p99:7.2f} ms   "
            f"Originate p50 {r.originate_p50:7.2f} p99 {r.originate_p99:7.2f} ms   "
            f"({r.commit_p50 / base.commit_p50:5.1f}x / {r.commit_p99 / base.commit_p99:5.1f}x, "
            f"{r.originate_p50 / base.originate_p50:5.1f}x / "
            f"{r.originate_p99 / base.originate_p99:5.1f}x the floor)"
        )
    failed = [f"{r.name}: {'; '.join(r.problems)}" for r in results if r.problems]
    if failed:
        raise SystemExit("ivr_latency: " + " | ".join(failed))


if __name__ == "__main__":
    main()
