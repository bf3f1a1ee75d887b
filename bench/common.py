"""Helpers of the benchmarks: processes on loopback and the wrk load generator."""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from voicebridge.devrun import start_redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def python(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **(env or {})})


def prepare_voicebridge(env: dict[str, str], role: str) -> str:
    """Upgrade the schema of ``env``'s database and create an API key of ``role``
    (``env`` is the whole environment of the commands); the key."""
    subprocess.run(
        [sys.executable, "-m", "voicebridge", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [sys.executable, "-m", "voicebridge", "apikey", "create", "--role", role],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    requests: int
    non_2xx: int
    latency_p50_ms: float
    latency_p99_ms: float


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.body = [==[%(body)s]==]
done = function(summary, latency, requests)
  local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
  io.write(string.format("p50=%%f p99=%%f\\n", p50, p99))
end
"""


def run_wrk(script: str, args: Sequence[str], *, seconds: int, connections: int) -> str:
    """wrk, one thread, with the Lua ``script`` (its ``done`` writes ``p50=``), and the
    URL and the script's arguments in ``args``; its output."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", file.name]
        done = subprocess.run([*command, *args], check=True, capture_output=True, text=True)
    finally:
        Path(file.name).unlink()
    out = done.stdout
    if done.stderr.strip() or "p50=" not in out:
        raise SystemExit(f"wrk failed: {done.stderr.strip() or out}")
    return out


def wrk(url: str, body: str, token: str, *, seconds: int, connections: int = 32) -> WrkResult:
    script = WRK_SCRIPT % {"token": token, "body": body}
    out = run_wrk(script, [url], seconds=seconds, connections=connections)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    pct = re.search(r"p50=([\d.]+) p99=([\d.]+)", out)
    return WrkResult(
        requests_per_second=rps,
        requests=total,
        non_2xx=int(bad.group(1)) if bad else 0,
        latency_p50_ms=float(pct.group(1)) if pct else float("nan"),
        latency_p99_ms=float(pct.group(2)) if pct else float("nan"),
    )


class LocalRedis:
    """A private redis-server for one benchmark run."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="vb-bench-redis-")
        self.proc, self.url = start_redis(Path(self.dir.name))

    def close(self) -> None:
        stop(self.proc)
        self.dir.cleanup()


PG = "postgresql+psycopg://voicebridge:voicebridge@127.0.0.1:5432/voicebridge_test"


@contextmanager
def scratch_postgres() -> Iterator[str | None]:
    """A scratch database on the PostgreSQL of the tests (VOICEBRIDGE_TEST_POSTGRES_URL,
    or the role ``make test`` sets up), dropped afterwards; None if none answers."""
    base = make_url(os.environ.get("VOICEBRIDGE_TEST_POSTGRES_URL", PG))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"voicebridge_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    try:
        yield base.set(database=name, drivername="postgresql+psycopg").render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def serve_env(
    database_url: str, redis_url: str, routing: Path, *, http_port: int, ami_port: int
) -> dict[str, str]:
    """The environment of a benchmark's ``serve`` on the fake Asterisk at ``ami_port``."""
    return {
        **os.environ,
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_ROUTING_FILE": str(routing),
        "VOICEBRIDGE_AMI_URL": f"ami://voicebridge:voicebridge@127.0.0.1:{ami_port}",
        "VOICEBRIDGE_HTTP_PORT": str(http_port),
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
    }
