"""The migrations build exactly the schema the code declares, on both databases."""

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from routing.schema import metadata as routing_metadata
from tests.conftest import TABLES
from voicebridge import migrate
from voicebridge.schema import metadata as app_metadata


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
