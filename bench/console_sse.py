"""Console live board: the time from a state change committed to its event received by
200 connected Server-Sent Events clients, p50 and p99.

voicebridge runs ``serve`` (no Asterisk, no worker); 200 clients, signed in as one
supervisor, hold ``GET /console/events`` open. This process commits each change through
voicebridge's own store on the same database (an event appended to one of 20 open
incidents, a new version of its board row): the clock starts when the write transaction
has committed (``Database.after_log``, which then tells the readers through Redis, as
any process of voicebridge does) and stops when a client reads the ``rows`` event that
carries that version. Changes come one at a time, the next once every client has the
last one.

The baseline, measured in the same run with the same clients: ``bench.bare_sse``, a bare
aiohttp-sse fan-out that writes every message published on a Redis channel to every
client, with no session, database, log reader or filter; its clock starts at the
publish.

Every client must receive every change exactly once (its row's version): the run fails
otherwise.
"""

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from redis import Redis

from bench.common import (
    LocalRedis,
    free_port,
    prepare_voicebridge,
    python,
    scratch_postgres,
    stop,
    wait_http,
)
from routing.events import FilledIn, event
from routing.models import Location, NewIncident, NewReport, Priority, Reporter, Source
from voicebridge.runtime import build_runtime
from voicebridge.settings import load_settings

CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "200"))
CHANGES = int(os.environ.get("BENCH_SSE_CHANGES", "100"))
INCIDENTS = 20
PASSWORD = "benchmark password"  # noqa: S105 - a throw-away account
LIMA_YAML = Path(__file__).resolve().parent.parent / "routing" / "data" / "lima.yaml"


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)


async def _client(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], run: Run,
    arrived: dict[str, list[float]], everyone: dict[str, asyncio.Event],
    ready: asyncio.Event, counter: list[int],
) -> None:  # fmt: skip
    async with http.get(url, headers=headers) as response:
        if response.status != 200:
            run.errors.append(f"{url}: {response.status}")
            return
        kind = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            now = time.monotonic()
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                if kind == "hello":
                    counter[0] += 1
                    if counter[0] == CLIENTS:
                        ready.set()
                elif kind == "rows":
                    data = json.loads(line[6:])
                    for row in data["rows"]:
                        key = f"{row['id']}:{row['version']}"
                        arrived[key].append(now)
                        run.received[key] += 1
                        if len(arrived[key]) == CLIENTS:
                            everyone[key].set()


async def _measure(run: Run, url: str, headers: dict[str, str], commit: "Commit") -> None:
    arrived: dict[str, list[float]] = defaultdict(list)
    everyone: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
    ready = asyncio.Event()
    counter = [0]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        clients = [
            asyncio.create_task(_client(http, url, headers, run, arrived, everyone, ready, counter))
            for _ in range(CLIENTS)
        ]
        async with asyncio.timeout(60):
            await ready.wait()
        await asyncio.sleep(0.5)
        for i in range(CHANGES):
            key, committed = await asyncio.to_thread(commit, i)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await everyone[key].wait()
            if len(arrived[key]) < CLIENTS:
                run.errors.append(f"{key}: {len(arrived[key])} of {CLIENTS} clients got it")
            if i >= 5:  # the first few warm the caches
                run.latencies += [t - committed for t in arrived[key]]
            await asyncio.sleep(0.02)
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    for key, count in run.received.items():
        if count > CLIENTS:
            run.errors.append(f"{key}: received {count} times by {CLIENTS} clients")


class Commit:
    """One change, committed in this process; its key and when it committed."""

    def __call__(self, i: int) -> tuple[str, float]:
        raise NotImplementedError


def _sign_in(base: str) -> str:
    """The session cookie of the benchmark's supervisor."""
    import re
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/console/login", timeout=10) as page:
        token = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
    assert token is not None
    form = {"username": "jefe", "password": PASSWORD, "csrf": token[1]}
    opener.open(f"{base}/console/login", data=urllib.parse.urlencode(form).encode(), timeout=10)
    cookie = next(c for c in jar if c.name == "vb_session")
    return f"vb_session={cookie.value}"


def _incident(n: int) -> NewIncident:
    return NewIncident(
        category="robo",
        district="150132",
        report=NewReport(
            source=Source.API,
            text=f"Robo {n} en el paradero",
            reporter=Reporter(name="Rosa Peña", phone="+51987654321"),
            location=Location(lat=-12.0, lon=-77.0, address=f"Av. Próceres {100 + n}"),
        ),
    )


def console_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    """The environment of a benchmark's ``serve`` (no Asterisk), its schema upgraded and
    its console supervisor ``jefe`` created."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEBRIDGE_")},
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_ROUTING_FILE": str(LIMA_YAML),
        "VOICEBRIDGE_HTTP_PORT": str(port),
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
    }
    prepare_voicebridge(env, "admin")
    subprocess.run(
        [sys.executable, "-m", "voicebridge", "user", "create", "jefe", "--name", "Jefe",
         "--role", "supervisor", "--password-stdin"],
        env=env, input=f"{PASSWORD}\n".encode(), check=True, capture_output=True,
    )  # fmt: skip
    return env


def _voicebridge(name: str, database_url: str, redis_url: str, work: Path) -> Run:
    port = free_port()
    env = console_env(database_url, redis_url, port)
    runtime = build_runtime(
        load_settings({k: v for k, v in env.items() if k.startswith("VOICEBRIDGE_")}),
        media=frozenset(),
    )
    proc = python("-m", "voicebridge", "serve", env=env)
    run = Run(name)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", proc)
        incidents = [runtime.store.create_incident(_incident(n), actor="system:bench")[0].id
                     for n in range(INCIDENTS)]  # fmt: skip
        committed = [0.0]
        told = runtime.db.after_log

        def after_log() -> None:
            committed[0] = time.monotonic()
            assert told is not None
            told()

        runtime.db.after_log = after_log
        priorities = [p.value for p in Priority]

        class Change(Commit):
            def __call__(self, i: int) -> tuple[str, float]:
                incident = incidents[i % INCIDENTS]
                payload = FilledIn(priority=priorities[i % len(priorities)])
                done = runtime.store.append_event(
                    incident, event(payload, actor="system:bench", cause="benchmark")
                )
                assert done is not None
                return f"{incident}:{done.seq}", committed[0]

        position = runtime.board.position()
        url = f"{base}/console/events?after={position}"
        headers = {"Cookie": _sign_in(base), "Accept": "text/event-stream"}
        asyncio.run(_measure(run, url, headers, Change()))
    finally:
        stop(proc)
        runtime.close()
    return run


def _bare(redis_url: str) -> Run:
    port = free_port()
    proc = python("-m", "bench.bare_sse", str(port), redis_url)
    run = Run("bare aiohttp-sse fan-out")
    redis = Redis.from_url(redis_url)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", proc)

        class Publish(Commit):
            def __call__(self, i: int) -> tuple[str, float]:
                key = f"bare:{i}"
                data = json.dumps({"rows": [{"id": "bare", "version": i}], "gone": []})
                at = time.monotonic()
                redis.publish("bench:bare-sse", data)
                return key, at

        asyncio.run(_measure(run, f"{base}/events", {}, Publish()))
    finally:
        stop(proc)
        redis.close()
    return run


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-sse-")
    runs: list[Run] = []
    try:
        with scratch_postgres() as pg_url:
            runs.append(_bare(redis.url))
            sqlite = f"sqlite:///{Path(work.name) / 'bench.sqlite3'}"
            runs.append(_voicebridge("voicebridge, SQLite", sqlite, redis.url, Path(work.name)))
            if pg_url is not None:
                runs.append(_voicebridge("voicebridge, PostgreSQL", pg_url, redis.url,
                                         Path(work.name)))  # fmt: skip
    finally:
        redis.close()
        work.cleanup()
    bare = runs[0]
    base50, base99 = _ms(bare.latencies, 0.5), _ms(bare.latencies, 0.99)
    print(f"console_sse: commit -> event at {CLIENTS} SSE clients, {CHANGES} changes")
    for run in runs:
        p50, p99 = _ms(run.latencies, 0.5), _ms(run.latencies, 0.99)
        print(f"  {run.name:26} p50 {p50:7.2f} ms ({p50 / base50:5.1f}x)   "
              f"p99 {p99:7.2f} ms ({p99 / base99:5.1f}x)   "
              f"mean {1000 * statistics.fmean(run.latencies):7.2f} ms")  # fmt: skip
    failures = [f"{run.name}: {e}" for run in runs for e in run.errors[:5]]
    if failures:
        raise SystemExit("console_sse failed:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
