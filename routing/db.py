"""Engines and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a commit is durable against a
process crash; a power cut may lose the last transactions, as the README says), and
write transactions start with ``BEGIN IMMEDIATE`` so two processes never deadlock on a
lock upgrade. Within one process, writers queue on a lock instead of SQLite's sleeping
busy handler.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url``: ``sqlite:///path`` or ``postgresql+psycopg://...``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=0)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


LOGGED = "voicebridge_logged"  # a write transaction appended to the incident log


def mark_logged(conn: Connection) -> None:
    """Say that this write transaction appended to the incident log (see
    :attr:`Database.after_log`)."""
    conn.info[LOGGED] = True


class Database:
    """An engine with read and write transactions as context managers.

    ``after_log`` is called after each write transaction that appended to the incident
    log has committed (the composition root makes it tell the consoles' readers)."""

    def __init__(self, engine: Engine, *, after_log: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.after_log = after_log
        self.dialect = engine.dialect.name
        self._writer: AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )

    @classmethod
    def from_url(
        cls, url: str, *, pool_size: int = 5, after_log: Callable[[], None] | None = None
    ) -> "Database":
        return cls(make_engine(url, pool_size=pool_size), after_log=after_log)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._writer, self.engine.connect() as conn:
            conn.execution_options(write=True)
            conn.info.pop(LOGGED, None)  # the pooled connection's last transaction's
            with conn.begin():
                yield conn
            logged = conn.info.pop(LOGGED, False)
        if logged and self.after_log is not None:
            self.after_log()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def after_fork(self) -> None:
        """Drop pooled connections inherited from a parent process (RQ forks per job)."""
        self.engine.dispose(close=False)

    def dispose(self) -> None:
        self.engine.dispose()
