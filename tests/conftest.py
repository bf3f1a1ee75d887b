"""Real services for the tests: a private redis-server per session, a private PostgreSQL
database per session (on the server ``make test`` made sure of), SQLite files per test.

Set VOICEBRIDGE_TEST_REDIS_URL or VOICEBRIDGE_TEST_POSTGRES_URL to use servers of your
own; the suite then uses (and flushes) Redis database 15 of the former, and creates and
drops databases named voicebridge_test_<random> on the latter.
"""

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import sort_tables

from routing.db import Database
from routing.models import Medium
from routing.schema import metadata as routing_metadata
from voicebridge import migrate
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.schema import metadata as app_metadata
from voicebridge.settings import Settings, load_settings

DEFAULT_PG = "postgresql+psycopg://voicebridge:voicebridge@127.0.0.1:5432/voicebridge_test"
METADATA = (routing_metadata, app_metadata)  # every table of the database, as migrations/env.py
TABLES = tuple(
    table.name for table in reversed(sort_tables([t for m in METADATA for t in m.tables.values()]))
)
"""Every table the tests empty, each before the tables it references (for TRUNCATE or
DELETE); Alembic's version table is in neither metadata: it is never emptied."""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _root_logger_as_it_was() -> Iterator[None]:
    """A test that runs the CLI in-process gets its logging set up (a handler on the
    stderr pytest captured for that test, closed after it): the root logger is put back,
    so later tests' log lines do not go to a closed stream."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server process of the test session's own (it may be stopped and started)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run `make test`, which installs it")
        self.proc = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail("the test Redis did not start")
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("VOICEBRIDGE_TEST_REDIS_URL")
    if given:
        yield given.rsplit("/", 1)[0] + "/15"
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database for the session, dropped at its end."""
    base = make_url(os.environ.get("VOICEBRIDGE_TEST_POSTGRES_URL", DEFAULT_PG)).set(
        drivername="postgresql+psycopg"
    )
    name = f"voicebridge_test_{secrets.token_hex(4)}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is needed ({base}): run `make test`, which starts it: {exc}")
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def empty_postgres(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema on the test server, named after the test's module,
    dropped after the test."""
    base = make_url(postgres_url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{base.database}_{request.module.__name__.rsplit('.', 1)[-1]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "voicebridge.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "voicebridge.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _truncate(url: str, lock_timeout: str = "10s") -> None:
    """Empty every table of the PostgreSQL database. A lock an earlier test left held
    fails the test within ``lock_timeout``, naming the transactions still open, instead
    of blocking the run."""
    db = Database.from_url(url, pool_size=1)
    try:
        with db.write() as conn:
            conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": lock_timeout})
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    except OperationalError as exc:
        if not isinstance(exc.orig, psycopg.errors.LockNotAvailable):
            raise
        with db.read() as conn:
            open_ = conn.execute(
                text(
                    "SELECT pid, state, query FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in%'"
                )
            ).all()
        held = "; ".join(f"pid {r.pid} {r.state}: {r.query}" for r in open_) or "none left"
        pytest.fail(
            f"emptying the test tables waited {lock_timeout} for a lock: a connection of an "
            f"earlier test still holds one (open transactions: {held})",
            pytrace=False,
        )
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    url = str(request.getfixturevalue("postgres_url"))
    _truncate(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(database_url: str, redis_url: str, **overrides: str) -> Settings:
    env = {
        "VOICEBRIDGE_DATABASE_URL": database_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_HTTP_PORT": "0",
        "VOICEBRIDGE_AUTO_MIGRATE": "false",
        # no scheduled line checks calling lines behind a test's back (their tests set it)
        "VOICEBRIDGE_LINE_CHECK_WINDOW": "off",
        **{f"VOICEBRIDGE_{k.upper()}": v for k, v in overrides.items()},
    }
    return load_settings(env)


@pytest.fixture
def settings(sqlite_url: str, redis_url: str) -> Settings:
    return make_settings(sqlite_url, redis_url)


@pytest.fixture
def media() -> frozenset[Medium]:
    """The media with an adapter in the runtime under test (every one, by default)."""
    return frozenset(Medium)


@pytest.fixture
def runtime(
    settings: Settings, redis: Redis, clock: FakeClock, media: frozenset[Medium]
) -> Iterator[Runtime]:
    rt = build_runtime(settings, clock=clock, media=media)
    yield rt
    rt.close()
