"""The migrations build exactly the schema the code declares, on both databases."""

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from routing.schema import metadata as routing_metadata
from tests.conftest import TABLES
from voicebridge import migrate
from voicebridge.schema import metadata as app_metadata

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_migrated_schema_matches_the_tables_in_code(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        both = [routing_metadata, app_metadata]
        assert compare_metadata(context, both) == []  # type: ignore[arg-type]
        assert context.get_current_revision() == migrate.head()
    engine.dispose()


def test_the_tests_empty_every_table_of_the_migrated_database(database_url: str) -> None:
    """conftest's TABLES: all of them but Alembic's, each before those it references."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        version_table = MigrationContext.configure(conn).version_table
        schema = inspect(conn)
        tables = set(schema.get_table_names()) - {version_table}
        assert sorted(TABLES) == sorted(tables)
        for table in TABLES:
            for key in schema.get_foreign_keys(table):
                referred = key["referred_table"]
                if referred != table:
                    assert TABLES.index(referred) > TABLES.index(table), (table, referred)
    engine.dispose()


def test_downgrade_and_upgrade_again(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
        conn.commit()
    engine.dispose()
    assert migrate.current(sqlite_url) is None
    migrate.upgrade(sqlite_url)
    assert migrate.current(sqlite_url) == migrate.head()


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once(empty_postgres: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            migrate.upgrade(empty_postgres)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrate.current(empty_postgres) == migrate.head()


def test_0011_lets_a_citizen_into_the_room_and_back_out(database_url: str) -> None:
    """compare_metadata does not compare CHECK constraints: a citizen's contact, with an
    Asterisk Uniqueid after a long SystemName, is accepted after 0011, and a downgrade
    makes it the guest of the room it was before (its ref cut to what fits)."""
    engine = create_engine(database_url)
    ref = "centro-de-emergencias-lima-metropolitana-asterisk-01-1764900000.123"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incidents (public_id, category, priority, status, district, "
                "summary, version, created_at, updated_at, created_by, source) VALUES "
                "('LIM-2026-000001', 'incendio', 'high', 'dispatched', '150122', 'x', 1, "
                ":now, :now, 'citizen:phone', 'phone')"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO contacts (incident_id, ref, medium, role, state, address, label, "
                "withdraw, actor, created_at, updated_at) SELECT id, :ref, 'voice', "
                "'citizen', 'in_room', '+51987654321', 'Ciudadano', false, 'citizen:phone', "
                ":now, :now FROM incidents"
            ),
            {"ref": ref, "now": NOW},
        )
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0010")
        conn.commit()
        row = conn.execute(text("SELECT role, ref FROM contacts")).one()
        assert (row.role, row.ref) == ("guest", ref[-40:])
        command.upgrade(migrate.alembic_config(conn), "head")
        conn.commit()
    engine.dispose()
