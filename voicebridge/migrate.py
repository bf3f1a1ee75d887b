"""Schema migrations (Alembic), run under a lock so replicas may start together; and the
check that a database exists with the newest schema, so that a command never creates an
empty database by mistake (only ``voicebridge db upgrade`` and ``voicebridge run`` do)."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from voicebridge.errors import VoicebridgeError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_ID = 0x766F6963  # "voic": the PostgreSQL advisory lock of schema changes


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


class DatabaseNotReady(VoicebridgeError):
    """The database does not exist, or its schema is missing or not the newest."""


def shown(url: str) -> str:
    """``url`` with its password masked."""
    return make_url(url).render_as_string(hide_password=True)


def require(url: str, *, schema: bool = True, origin: str = "") -> None:
    """Raise :class:`DatabaseNotReady` when the SQLite file does not exist or (if
    ``schema``) the schema is missing or not the newest, saying how to fix it. Creates
    nothing. ``origin``: where the URL came from, for the message."""
    parsed = make_url(url)
    named = shown(url) + (f" ({origin})" if origin else "")
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise DatabaseNotReady(
            f"there is no database at {named}; create it with: voicebridge db upgrade "
            "(or point VOICEBRIDGE_DATABASE_URL at the service's database)"
        )
    if not schema:
        return
    revision, newest = current(url), head()
    if revision is None:
        raise DatabaseNotReady(
            f"the database {named} has no voicebridge schema; create it with: "
            "voicebridge db upgrade"
        )
    if revision == newest:
        return
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision in known:
        raise DatabaseNotReady(
            f"the database {named} has schema revision {revision}, this voicebridge needs "
            f"{newest}; upgrade it with: voicebridge db upgrade"
        )
    raise DatabaseNotReady(
        f"the database {named} has schema revision {revision}, which this voicebridge does "
        f"not know (it needs {newest}): a newer voicebridge upgraded it"
    )


def current(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is there already."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VoicebridgeError(
                f"cannot create the folder of the database {shown(url)}: {exc.strerror}"
            ) from exc
    engine = create_engine(url)
    try:
        with _schema_lock(url), engine.connect() as conn:
            if parsed.get_backend_name() == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
                conn.commit()
            try:
                before = MigrationContext.configure(conn).get_current_revision()
                command.upgrade(alembic_config(conn), revision)
                conn.commit()
                after = MigrationContext.configure(conn).get_current_revision()
                if before != after:
                    log.info("database schema upgraded from %s to %s", before, after)
            finally:
                if parsed.get_backend_name() == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                    conn.commit()
    finally:
        engine.dispose()


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """For SQLite, an exclusive lock on a file beside the database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        yield
        return
    with open(parsed.database + ".migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
