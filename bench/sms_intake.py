"""A citizen's SMS through Twilio's webhook, end to end, against a bare aiohttp handler
measured in the same run.

Every server is a single process on loopback, loaded by wrk (1 thread, 32 connections)
with Twilio's inbound SMS webhook: the fake Twilio's full field set, each request its
own MessageSid, validly signed (signed here beforehand: ``bench.sms_load``), Spanish
reports of an earthquake evening from 5,000 numbers. voicebridge (``serve``, no worker)
does the whole intake: the signature over ``VOICEBRIDGE_PUBLIC_URL`` and the path, the
form parsed and validated, the message stored in the inbox (group commit) with its
answer decided in the same transaction (the text read, the number's conversation
advanced and its state saved, a new report's incident number reserved) and a task for
the workers, and the TwiML reply that carries the incident's number; the filing (the
report on a new incident, or joined to the open one of the same event), the news and
the dispatch wait in the database and Redis for the workers, which do not run during
the timed rounds. After each round a worker's job files everything the round stored,
timed: the rate of the filing is reported apart (a round starts with nothing older
than itself in the inbox, so ``serve``'s recovery of what waited 30 s has nothing to
take). The bare handler parses
the form and answers a fixed TwiML reply. The naive handler (``bench.bare_sms``) checks
the signature and the form, inserts the message's row in a transaction of its own and
enqueues an RQ job, blocking the event loop for both, and answers a fixed TwiML reply.
The floor (``bench.bare_sms --floor``, SQLite) is the least any intake that answers with
a number can do: the signature and the form, the text read, a group commit of the raw
rows in a thread with the sqlite3 driver, a number counted in memory; what voicebridge
does beyond it (repeats found, the conversation and its state, a number reserved in the
database, its middleware and metrics) is what separates the two.
Logging is at WARNING (no access log) for all. Rounds alternate between the servers;
medians are reported.
Afterwards, for the servers that store, the number of messages stored during the timed
rounds must equal the number of 2xx answers, and voicebridge's worker must have processed
every one of them. Each server has a Redis database of its own.

With PostgreSQL reachable (VOICEBRIDGE_TEST_POSTGRES_URL, or the role `make test` sets
up), the storing servers are measured on PostgreSQL too, in scratch databases.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import ColumnElement, Table, create_engine, func, select

from bench.common import LocalRedis, free_port, python, scratch_postgres, stop, wait_http
from bench.sms_load import SMS_PATH, Load, median, sms_env, sms_requests, wrk_signed
from bench.sms_load import write_requests as write
from routing import schema as t

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 32
CITIZENS = 5_000
WARMUP_SECONDS = 2
MAX_REQUESTS = 150_000  # signed per round at most
BARE_REQUESTS = 20_000  # the bare handler stores nothing: its rounds go round these


@dataclass(frozen=True)
class Counts:
    stored: int
    processed: int
    incidents: int
    reports: int


def counts(url: str) -> Counts:
    engine = create_engine(url)
    m = t.inbound_messages.c
    with engine.connect() as conn:

        def count(table: Table, *where: ColumnElement[bool]) -> int:
            query = select(func.count()).select_from(table).where(*where)
            return int(conn.execute(query).scalar_one())

        out = Counts(
            stored=count(t.inbound_messages),
            processed=count(t.inbound_messages, m.processed_at.is_not(None)),
            incidents=count(t.incidents),
            reports=count(t.reports),
        )
    engine.dispose()
    return out


@dataclass
class Server:
    name: str
    tag: int  # makes its MessageSids its own
    database_url: str | None = None  # None: stores nothing
    voicebridge: bool = False
    floor: bool = False  # bench.bare_sms --floor
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    runs: list[Load] = field(default_factory=list)
    signed: list[int] = field(default_factory=list)  # requests signed for each round
    warm_rate: float = 0.0
    filing: float = 0.0  # seconds one worker took to file what the rounds stored

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, redis_url: str) -> dict[str, str]:
        assert self.database_url is not None
        redis = f"{redis_url.rsplit('/', 1)[0]}/{self.tag}"  # a database of its own
        return {**os.environ, **sms_env(self.database_url, redis, self.port)}

    def start(self, redis_url: str) -> None:
        if self.voicebridge:
            env = self.env(redis_url)
            upgrade(env)
            self.proc = python("-m", "voicebridge", "serve", env=env)
        elif self.floor:
            assert self.database_url is not None
            upgrade({**os.environ, "VOICEBRIDGE_DATABASE_URL": self.database_url})
            self.proc = python("-m", "bench.bare_sms", str(self.port), self.database_url, "--floor")
        elif self.database_url is not None:
            upgrade({**os.environ, "VOICEBRIDGE_DATABASE_URL": self.database_url})
            self.proc = python("-m", "bench.bare_sms", str(self.port), self.database_url, redis_url)
        else:
            self.proc = python("-m", "bench.bare_sms", str(self.port))
        try:
            wait_http(f"{self.base}/healthz", self.proc)
        except BaseException:
            stop(self.proc)
            raise

    def requests(self) -> int:
        """How many requests to sign for a round: four times what the warm-up's rate
        would take (wrk must not run out: the requests after the last would be repeats,
        answered from the inbox); the bare handler's rounds may repeat theirs."""
        if self.database_url is None:
            return BARE_REQUESTS
        return min(MAX_REQUESTS, max(int(self.warm_rate * SECONDS * 4), 1000 * SECONDS))

    def load(self, directory: Path, round_: int, count: int, seconds: int) -> Load:
        """wrk for ``seconds`` with ``count`` requests signed for this round (0: the
        warm-up)."""
        path = directory / f"{self.tag}-{round_}.txt"
        tag = self.tag * 1000 + round_
        signed = write(path, sms_requests(tag, count, citizens=CITIZENS, seed=tag))
        try:
            return wrk_signed(self.base, SMS_PATH, path, seconds=seconds, connections=CONNECTIONS)
        finally:
            path.unlink()
            if round_:
                self.signed.append(signed)


def file_all(server: Server, redis_url: str) -> float:
    """What the timed rounds stored, filed by a worker's ``process_inbox`` job (run in a
    process of its own, as a worker's horse runs it; the other jobs, which send to
    addresses that answer nothing here, are not run); its seconds."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import bench.sms_intake as b; b.process_inbox()"],
        env=server.env(redis_url),
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return time.perf_counter() - began


def process_inbox() -> None:
    """The worker's job, with the runtime of the environment's settings."""
    from voicebridge.citizens.channels import process_inbox as job
    from voicebridge.jobs import bound
    from voicebridge.runtime import build_runtime
    from voicebridge.settings import load_settings

    runtime = build_runtime(load_settings(os.environ))
    try:
        with bound(runtime):
            job()
    finally:
        runtime.close()


def upgrade(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "voicebridge", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-sms-")
    directory = Path(work.name)
    servers: list[Server] = [Server("bare aiohttp handler", tag=1)]
    with contextlib.ExitStack() as stack:
        naive_pg = stack.enter_context(scratch_postgres())
        vb_pg = stack.enter_context(scratch_postgres())
        servers.append(Server("naive, SQLite", 2, f"sqlite:///{directory / 'naive.sqlite3'}"))
        if naive_pg is not None:
            servers.append(Server("naive, PostgreSQL", 3, naive_pg))
        floor = f"sqlite:///{directory / 'floor.sqlite3'}"
        servers.append(Server("floor, SQLite", 6, floor, floor=True))
        servers.append(
            Server("voicebridge, SQLite", 4, f"sqlite:///{directory / 'vb.sqlite3'}", True)
        )
        if vb_pg is not None:
            servers.append(Server("voicebridge, PostgreSQL", 5, vb_pg, True))
        try:
            for server in servers:
                server.start(redis.url)
            for server in servers:
                warm = server.load(directory, 0, 20_000, WARMUP_SECONDS)
                server.warm_rate = warm.requests_per_second
            for server in servers:
                if server.voicebridge:
                    file_all(server, redis.url)  # the warm-up's, before the counts
            before = {s.name: settled(s.database_url) for s in servers if s.database_url}
            for round_ in range(1, ROUNDS + 1):
                for server in servers:
                    load = server.load(directory, round_, server.requests(), SECONDS)
                    server.runs.append(load)
                    if server.voicebridge:  # each round starts with nothing left to file
                        server.filing += file_all(server, redis.url)
            after = {s.name: settled(s.database_url) for s in servers if s.database_url}
        finally:
            for server in servers:
                if server.proc is not None:
                    stop(server.proc)
            redis.close()
            work.cleanup()
    report(servers, before, after)


def settled(url: str) -> Counts:
    """The counts once nothing stored waits to be processed (at most 10 s)."""
    for _ in range(100):
        now = counts(url)
        if now.processed == now.stored:
            return now
        time.sleep(0.1)
    return now


def kind(server: Server) -> str:
    return (server.database_url or "").split(":", 1)[0]


def report(servers: list[Server], before: dict[str, Counts], after: dict[str, Counts]) -> None:
    def mid(server: Server, attr: str) -> float:
        return median([float(getattr(r, attr)) for r in server.runs])

    base = mid(servers[0], "requests_per_second")
    print(
        f"sms_intake: POST {SMS_PATH} (signed, a MessageSid each), wrk -t1 -c{CONNECTIONS}, "
        f"{ROUNDS} rounds of {SECONDS} s, medians"
    )
    naive = {
        kind(s): mid(s, "requests_per_second")
        for s in servers
        if s.database_url and not (s.voicebridge or s.floor)
    }
    for server in servers:
        rps = mid(server, "requests_per_second")
        baseline = not (server.voicebridge or server.floor)
        against = None if baseline else naive.get(kind(server))
        print(
            f"  {server.name:26} {rps:8.0f} req/s  {rps / base:6.3f}x   "
            f"p50 {mid(server, 'latency_p50_ms'):7.2f} ms   "
            f"p99 {mid(server, 'latency_p99_ms'):7.2f} ms"
            + (f"   {rps / against:4.1f}x the naive one" if against else "")
        )
    failures = []
    for server in servers:
        if server.database_url is None:
            continue
        first, last = before[server.name], after[server.name]
        answered = sum(r.requests - r.non_2xx for r in server.runs)
        stored = last.stored - first.stored
        processed = last.processed - first.processed
        bad = sum(r.non_2xx + r.errors for r in server.runs)
        wrapped = any(r.requests >= n for r, n in zip(server.runs, server.signed, strict=True))
        line = f"  {server.name}: {answered} answered 2xx, {stored} stored, {bad} non-2xx or errors"
        if server.voicebridge:
            line += (
                f", {processed} processed, {last.incidents - first.incidents} incidents, "
                f"{last.reports - first.reports} reports; one worker filed them in "
                f"{server.filing:.1f} s ({processed / server.filing:.0f} SMS/s)"
            )
        print(line)
        # wrk counts only the answers it read before its deadline; the server may have
        # stored the last few requests whose answers wrk did not wait for
        ok = not bad and not wrapped and answered <= stored <= answered + CONNECTIONS * ROUNDS
        if server.voicebridge and processed != stored:
            ok = False
        if not ok:
            failures.append(server.name + (" (ran out of signed requests)" if wrapped else ""))
    if failures:
        raise SystemExit(f"sms_intake: stored and answered disagree for {', '.join(failures)}")
