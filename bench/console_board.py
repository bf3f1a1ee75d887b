"""Console board: its first page with 500 open incidents, requests per second.

voicebridge runs ``serve`` on SQLite with 500 open incidents across Lima's districts,
half of them dispatched (each with its agencies' states); wrk asks for ``GET
/console/`` with a supervisor's session cookie: the session checked, the first 200 rows
read (most urgent, then newest, with their agencies), encoded, and rendered into the
Spanish page (the rows twice: as the table and as the page's JSON).

The baseline, measured in the same run: ``bench.bare_board``, a bare aiohttp handler
that runs the same query on the same SQLite file with the standard library and answers
the rows as JSON (no session, no template, no SQLAlchemy).
"""

import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.common import (
    LocalRedis,
    free_port,
    python,
    run_wrk,
    stop,
    wait_http,
)
from bench.console_sse import _sign_in, console_env
from routing.categories import CATEGORIES
from routing.districts import DISTRICTS
from routing.models import Location, NewIncident, NewReport, Reporter, Source
from voicebridge.runtime import build_runtime
from voicebridge.settings import load_settings

OPEN = 500
SECONDS = 10
ROUNDS = 3
GET_SCRIPT = """
wrk.method = "GET"
wrk.headers["Cookie"] = "%(cookie)s"
done = function(summary, latency, requests)
  local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
  io.write(string.format("p50=%%f p99=%%f\\n", p50, p99))
end
"""


def _wrk(url: str, cookie: str) -> tuple[float, float, int]:
    out = run_wrk(GET_SCRIPT % {"cookie": cookie}, [url], seconds=SECONDS, connections=8)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = float(re.search(r"p50=([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, int(bad.group(1)) if bad else 0


def _fill(env: dict[str, str]) -> None:
    runtime = build_runtime(
        load_settings({k: v for k, v in env.items() if k.startswith("VOICEBRIDGE_")}),
        media=frozenset(),
    )
    try:
        routable = [c.code for c in CATEGORIES if c.code not in ("sin_clasificar",)]
        for n in range(OPEN):
            district = DISTRICTS[n % len(DISTRICTS)]
            incident, _ = runtime.store.create_incident(
                NewIncident(
                    category=routable[n % len(routable)],
                    district=district.ubigeo,
                    report=NewReport(
                        source=Source.PHONE,
                        text=f"Reporte {n} de un vecino de {district.name}",
                        reporter=Reporter(name="Vecino", phone="+51987654321"),
                        location=Location(address=f"Av. Principal {n}, {district.name}"),
                    ),
                ),
                actor="system:bench",
            )
            if n % 2 == 0:
                runtime.dispatcher.dispatch(incident.id, actor="system:bench")
    finally:
        runtime.close()


def main() -> None:
    redis = LocalRedis()
    work = tempfile.TemporaryDirectory(prefix="vb-bench-board-")
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, list[tuple[float, float, int]]] = {}
    try:
        path = Path(work.name) / "bench.sqlite3"
        port, bare_port = free_port(), free_port()
        env = console_env(f"sqlite:///{path}", redis.url, port)
        _fill(env)
        procs.append(python("-m", "voicebridge", "serve", env=env))
        procs.append(python("-m", "bench.bare_board", str(bare_port), str(path)))
        base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        wait_http(f"{base}/healthz", procs[0])
        wait_http(f"{bare}/healthz", procs[1])
        cookie = _sign_in(base)
        targets = {"bare aiohttp handler": (f"{bare}/board", ""),
                   "voicebridge, SQLite": (f"{base}/console/", cookie)}  # fmt: skip
        for url, c in targets.values():  # warm-up
            run_wrk(GET_SCRIPT % {"cookie": c}, [url], seconds=2, connections=8)
        for _ in range(ROUNDS):
            for name, (url, c) in targets.items():
                results.setdefault(name, []).append(_wrk(url, c))
    finally:
        for proc in procs:
            stop(proc)
        redis.close()
        work.cleanup()
    base_rps = statistics.median(r[0] for r in results["bare aiohttp handler"])
    print(f"console_board: GET the board's first page (200 of {OPEN} open incidents), "
          f"wrk -t1 -c8, {ROUNDS} rounds of {SECONDS} s, medians")  # fmt: skip
    failures = []
    for name, runs in results.items():
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        print(f"  {name:26} {rps:8.0f} req/s  {rps / base_rps:6.3f}x   p50 {p50:7.2f} ms")
        if any(r[2] for r in runs):
            failures.append(f"{name}: non-2xx answers")
    if failures:
        raise SystemExit("console_board failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
