"""Dispatch latency: from the API call that dispatches an incident to each Originate
written on the AMI socket, at a steady 50 incidents/s, against the fake Asterisk.

Each system gets a fresh fake Asterisk in a process of its own (``bench.fake_server``):
every line answers and the responders press 1 a second later, so the bridge also reads
the events of live calls and rooms while it dispatches. The client runs open-loop in
this process: incident ``i`` is created at ``i / RATE`` s (``POST /api/v1/incidents``,
spread over Lima's 43 districts, a robbery: the district operator, the police and the
serenazgo are called) and dispatched as soon as it is stored (``POST .../dispatch``); the
clock starts when the dispatch request is sent and stops when the fake reads the
Originate (both ``time.monotonic()``, one clock for every process of the machine).

The baseline, measured in the same run at the same rate: ``bench.bare_relay``, an
aiohttp handler that writes the same three Originates on a logged-in AMI socket (no
authentication, database, Redis or routing), after the same create request to a bare
handler that parses the JSON and answers 201. voicebridge runs ``serve`` (no worker:
the calls in the measured window need none) with the routing rules of Lima without
their per-line rate limits (the benchmark calls the same 43 operators and stations again and again).

Every incident must be originated exactly once per leg: the run fails otherwise.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, func, select

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
from routing.districts import DISTRICTS
from routing.schema import contacts
from voicebridge.devrun import wait_listening

RATE = float(os.environ.get("BENCH_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = 20
LEGS = 3  # the district operator, the police, the serenazgo
LIMA_YAML = Path(__file__).resolve().parent.parent / "routing" / "data" / "lima.yaml"


@dataclass
class System:
    name: str
    token: str = ""
    port: int = field(default_factory=free_port)
    ami_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    """incident -> when its dispatch request was sent"""
    answered: dict[str, float] = field(default_factory=dict)
    """incident -> when the answer to its dispatch request was read"""
    errors: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _fake(system: System, out: Path) -> subprocess.Popen[bytes]:
    proc = python("-m", "bench.fake_server", str(system.ami_port), str(out))
    if not wait_listening(proc, system.ami_port):
        stop(proc)
        raise SystemExit("the fake Asterisk did not start")
    return proc


def _routing(directory: Path) -> Path:
    text = LIMA_YAML.read_text(encoding="utf-8")
    limited = '  phone: ["3/15m", "7/1h"]\n'
    if limited not in text:
        raise SystemExit("bench: lima.yaml's phone rate limit moved; update dispatch_latency")
    path = directory / "routing.yaml"
    path.write_text(text.replace(limited, "  phone: none\n"), encoding="utf-8")
    return path


def _voicebridge(
    system: System, database_url: str, redis_url: str, routing: Path
) -> dict[str, str]:
    env = serve_env(
        database_url, redis_url, routing, http_port=system.port, ami_port=system.ami_port
    )
    system.token = prepare_voicebridge(env, "admin")
    return env


async def _ready(system: System, bare: bool) -> None:
    """Until ``serve`` is logged in to the fake Asterisk."""
    if bare:
        return  # the relay logs in before it listens
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.get(f"{system.base}/readyz") as r:
                body = await r.json()
                if body.get("checks", {}).get("ami", "ok") == "ok" and r.status == 200:
                    return
            await asyncio.sleep(0.05)
    raise SystemExit(f"{system.name}: not ready: {body}")


async def _one(http: aiohttp.ClientSession, system: System, i: int, bare: bool) -> None:
    headers = {"Authorization": f"Bearer {system.token}"}
    district = DISTRICTS[i % len(DISTRICTS)].ubigeo
    body = {"category": "robo", "district": district, "description": f"Robo {i}"}
    try:
        async with http.post(f"{system.base}/api/v1/incidents", json=body, headers=headers) as r:
            if r.status != 201:
                system.errors.append(f"create {r.status}: {await r.text()}")
                return
            incident = (await r.json())["id"] if not bare else f"LIM-2026-{i:06d}"
        path = f"/relay/{incident}" if bare else f"/api/v1/incidents/{incident}/dispatch"
        system.sent[incident] = time.monotonic()
        async with http.post(f"{system.base}{path}", headers=headers) as r:
            if r.status not in (200, 202):
                system.errors.append(f"dispatch {r.status}: {await r.text()}")
            await r.read()
            system.answered[incident] = time.monotonic()
    except aiohttp.ClientError as exc:
        system.errors.append(f"{type(exc).__name__}: {exc}")


async def _load(system: System, count: int, first: int, bare: bool) -> None:
    await _ready(system, bare)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.monotonic()
        tasks = []
        for n in range(count):
            delay = start + n / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(http, system, first + n, bare)))
        await asyncio.gather(*tasks)


@dataclass(frozen=True)
class Result:
    name: str
    incidents: int
    leg_p50: float
    leg_p99: float
    last_p50: float
    last_p99: float
    api_p50: float
    api_p99: float
    problems: list[str]


def _measure(system: System, out: Path, measured: set[str]) -> Result:
    legs: dict[str, list[float]] = {}
    seen: dict[str, int] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        o = json.loads(line)
        seen[o["channel_id"]] = seen.get(o["channel_id"], 0) + 1
        if o["incident"] in measured:
            legs.setdefault(o["incident"], []).append(o["at"] - system.sent[o["incident"]])
    problems = list(system.errors[:3])
    twice = [c for c, n in seen.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} channels originated more than once")
    short = [i for i in measured if len(legs.get(i, [])) != LEGS]
    if short:
        problems.append(f"{len(short)} incidents without exactly {LEGS} Originates")
    api = sorted(system.answered[i] - system.sent[i] for i in measured if i in system.answered)
    every = sorted(x for v in legs.values() for x in v)
    last = sorted(max(v) for v in legs.values())

    def pct(values: list[float], p: float) -> float:
        if not values:
            return float("nan")
        return 1000 * values[min(len(values) - 1, int(p * len(values)))]

    return Result(
        system.name,
        len(measured),
        pct(every, 0.5),
        pct(every, 0.99),
        pct(last, 0.5),
        pct(last, 0.99),
        pct(api, 0.5),
        pct(api, 0.99),
        problems,
    )


def _drained(database_url: str | None) -> None:
    """Until no leg waits to be originated (at most 30 s); the bare relay: 1 s."""
    if database_url is None:
        time.sleep(1.0)
        return
    engine = create_engine(database_url)
    try:
        for _ in range(300):
            with engine.connect() as conn:
                waiting = conn.execute(
                    select(func.count())
                    .select_from(contacts)
                    .where(contacts.c.state.in_(("pending", "placing")))
                ).scalar_one()
            if not waiting:
                break
            time.sleep(0.1)
    finally:
        engine.dispose()
    time.sleep(0.5)  # the last Originates on the wire


def _run(system: System, out: Path, database_url: str | None) -> Result:
    bare = database_url is None
    asyncio.run(_load(system, WARMUP, 900000, bare))
    measured_from = len(system.sent)
    asyncio.run(_load(system, int(RATE * SECONDS), 0, bare))
    _drained(database_url)
    for proc in reversed(system.procs):
        stop(proc)
    measured = set(list(system.sent)[measured_from:])
    return _measure(system, out, measured)


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-dispatch-")
    directory = Path(work.name)
    routing = _routing(directory)
    results: list[Result] = []
    systems: list[System] = []
    try:
        with scratch_postgres() as pg_url:
            bare = System("bare relay (HTTP -> AMI)")
            systems.append(bare)
            out = directory / "bare.jsonl"
            bare.procs.append(_fake(bare, out))
            relay = python("-m", "bench.bare_relay", str(bare.port), str(bare.ami_port))
            bare.procs.append(relay)
            wait_http(f"{bare.base}/healthz", relay)
            results.append(_run(bare, out, None))

            databases = [("SQLite", f"sqlite:///{directory / 'bench.sqlite3'}")]
            if pg_url is not None:
                databases.append(("PostgreSQL", pg_url))
            for label, url in databases:
                system = System(f"voicebridge, {label}")
                systems.append(system)
                out = directory / f"{label}.jsonl"
                system.procs.append(_fake(system, out))
                env = _voicebridge(system, url, redis.url, routing)
                serve = subprocess.Popen([sys.executable, "-m", "voicebridge", "serve"], env=env)
                system.procs.append(serve)
                wait_http(f"{system.base}/healthz", serve)
                results.append(_run(system, out, url))
                redis_flush(redis.url)
    finally:
        for system in systems:
            for proc in system.procs:
                if proc.poll() is None:
                    stop(proc)
        redis.close()
        work.cleanup()

    base = results[0]
    print(
        f"dispatch_latency: {RATE:g} incidents/s for {SECONDS:g} s, dispatch API call -> "
        f"Originate read by the fake Asterisk ({LEGS} legs an incident)"
    )
    print(f"  {'':26} {'each leg':^23} {'all legs of an incident':^23} {'the API answered':^23}")
    for r in results:
        print(
            f"  {r.name:26} p50 {r.leg_p50:6.2f} p99 {r.leg_p99:7.2f}  "
            f"p50 {r.last_p50:6.2f} p99 {r.last_p99:7.2f}  "
            f"p50 {r.api_p50:6.2f} p99 {r.api_p99:7.2f} ms   all legs: "
            f"{r.last_p50 / base.last_p50:5.1f}x / {r.last_p99 / base.last_p99:5.1f}x bare"
        )
    failed = [f"{r.name}: {'; '.join(r.problems)}" for r in results if r.problems]
    if failed:
        raise SystemExit("dispatch_latency: " + " | ".join(failed))


def redis_flush(url: str) -> None:
    from redis import Redis

    client = Redis.from_url(url)
    client.flushdb()
    client.close()


if __name__ == "__main__":
    main()
