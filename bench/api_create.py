"""Incident creation through the API, with its durable write, against a bare aiohttp
handler measured in the same run.

Every server is a single process on loopback, loaded by wrk (1 thread, 32 connections)
with the same JSON body. voicebridge does the whole intake: authentication, validation,
and the transaction that stores the incident, its report and its first event (group
commit: the requests that arrive while one transaction runs share the next). The bare
handler parses the JSON and answers 201. Logging is at WARNING (no access log) for all.
Rounds alternate between the servers; medians are reported. Afterwards the number of
incidents stored during the timed rounds must equal the number of 2xx answers.

With PostgreSQL reachable (VOICEBRIDGE_TEST_POSTGRES_URL, or the role `make test` sets
up), the same intake is measured on PostgreSQL too, in a scratch database.
"""

import json
import os
import statistics
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, func, select

from bench.common import (
    LocalRedis,
    WrkResult,
    free_port,
    prepare_voicebridge,
    python,
    scratch_postgres,
    stop,
    wait_http,
    wrk,
)
from routing.schema import incidents

BODY = json.dumps(
    {
        "category": "accidente_transito",
        "district": "150132",
        "description": "Choque entre combi y mototaxi en la Av. Próceres, dos heridos",
        "location": {
            "lat": -11.9826,
            "lon": -77.0059,
            "address": "Av. Próceres de la Independencia 1250",
        },
        "reporter": {"name": "Rosa Peña", "phone": "987654321"},
    },
    ensure_ascii=False,
)

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(incidents)).scalar_one())
    engine.dispose()
    return n


class Server:
    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        database_url: str | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.database_url = database_url
        self.proc = (
            python(*args, str(self.port), env=env)
            if env is None
            else python(*args, env={**env, "VOICEBRIDGE_HTTP_PORT": str(self.port)})
        )
        self.url = f"http://127.0.0.1:{self.port}/api/v1/incidents"
        self.runs: list[WrkResult] = []
        self.token = ""  # the bare handler takes any
        try:
            wait_http(f"http://127.0.0.1:{self.port}/healthz", self.proc)
        except BaseException:
            stop(self.proc)
            raise


def _voicebridge(servers: list[Server], name: str, database_url: str, redis_url: str) -> None:
    env = {
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
    }
    token = prepare_voicebridge({**os.environ, **env}, "operator")
    server = Server(name, ["-m", "voicebridge", "serve"], env=env, database_url=database_url)
    server.token = token
    servers.append(server)


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-")
    servers: list[Server] = []
    with scratch_postgres() as pg_url:
        try:
            bare = Server("bare aiohttp handler", ["-m", "bench.bare_server"])
            servers.append(bare)
            sqlite_url = f"sqlite:///{Path(work.name) / 'bench.sqlite3'}"
            _voicebridge(servers, "voicebridge, SQLite", sqlite_url, redis.url)
            if pg_url is not None:
                _voicebridge(servers, "voicebridge, PostgreSQL", pg_url, redis.url)
            for server in servers:  # warm-up
                wrk(server.url, BODY, server.token, seconds=2)
            before = {s.name: _count(s.database_url) for s in servers if s.database_url}
            for _ in range(ROUNDS):
                for server in servers:
                    server.runs.append(wrk(server.url, BODY, server.token, seconds=SECONDS))
            after = {s.name: _count(s.database_url) for s in servers if s.database_url}
        finally:
            for server in servers:
                stop(server.proc)
            redis.close()
            work.cleanup()

    def median(server: Server, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in server.runs))

    base = median(bare, "requests_per_second")
    print(
        f"api_create: POST /api/v1/incidents, wrk -t1 -c32, {ROUNDS} rounds of {SECONDS} s, medians"
    )
    for server in servers:
        rps = median(server, "requests_per_second")
        print(
            f"  {server.name:26} {rps:8.0f} req/s  {rps / base:6.3f}x   "
            f"p50 {median(server, 'latency_p50_ms'):6.2f} ms   "
            f"p99 {median(server, 'latency_p99_ms'):6.2f} ms"
        )
    failures = []
    for server in servers:
        if server.database_url is None:
            continue
        answered = sum(r.requests - r.non_2xx for r in server.runs)
        stored = after[server.name] - before[server.name]
        print(
            f"  {server.name}: {answered} answered 2xx, {stored} stored, "
            f"{sum(r.non_2xx for r in server.runs)} non-2xx"
        )
        # wrk counts only the answers it read before its deadline; the server may have
        # stored the last few requests whose answers wrk did not wait for
        if any(r.non_2xx for r in server.runs) or not (
            answered <= stored <= answered + 32 * len(server.runs)
        ):
            failures.append(server.name)
    if failures:
        raise SystemExit(f"stored and answered disagree for {', '.join(failures)}")
