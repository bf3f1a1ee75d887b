"""Alembic environment: one history for every table of voicebridge's database."""

from alembic import context
from sqlalchemy import Connection

from routing.schema import metadata as routing_metadata
from voicebridge.schema import metadata as app_metadata

TARGET_METADATA = [routing_metadata, app_metadata]


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=TARGET_METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `voicebridge db upgrade`")
run(connection)
