"""Initial schema: incidents, reports, the event log, attempts, acks, tasks, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen copies of the types of this revision (a migration never imports live code)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Time = sa.DateTime(timezone=True)

STATUSES = (
    "'received', 'dispatched', 'ringing', 'acknowledged', 'bridged', 'resolved', "
    "'unanswered', 'cancelled', 'merged'"
)
SOURCES = "'phone', 'telegram', 'sms', 'console', 'api'"
OUTCOMES = (
    "'pending', 'ringing', 'answered', 'no_answer', 'busy', 'congestion', 'failed', "
    "'acknowledged', 'declined', 'cancelled'"
)

APPEND_ONLY_SQLITE = """
CREATE TRIGGER incident_events_no_{verb} BEFORE {verb} ON incident_events
BEGIN SELECT RAISE(ABORT, 'incident_events is append-only'); END
"""
APPEND_ONLY_POSTGRESQL = (
    """
    CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'incident_events is append-only'; END $$
    """,
    """
    CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only()
    """,
)


def upgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name="pk_incident_counters"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(24), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("district", sa.String(6), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_phone", sa.String(20), nullable=True),
        sa.Column("reporter_handle", sa.Text(), nullable=True),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(24), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "priority IN ('critical', 'high', 'medium', 'low')", name="ck_incidents_priority"
        ),
        sa.CheckConstraint(f"source IN ({SOURCES})", name="ck_incidents_source"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_incidents_status"),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["incidents.public_id"], name="fk_incidents_merged_into_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("public_id", name="uq_incidents_public_id"),
    )
    for columns in (
        ("created_at", "id"),
        ("district", "created_at"),
        ("status", "created_at"),
        ("category", "created_at"),
    ):
        op.create_index(f"ix_incidents_{'_'.join(columns)}", "incidents", list(columns))

    op.create_table(
        "reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("received_at", Time, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_phone", sa.String(20), nullable=True),
        sa.Column("reporter_handle", sa.Text(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("payload", Json, nullable=False),
        sa.CheckConstraint(f"source IN ({SOURCES})", name="ck_reports_source"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_reports_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        sa.UniqueConstraint("source", "external_id", name="uq_reports_source_external_id"),
    )
    op.create_index("ix_reports_incident_id", "reports", ["incident_id"])

    op.create_table(
        "incident_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("key", sa.String(120), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_events_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
        sa.UniqueConstraint("incident_id", "key", name="uq_incident_events_incident_id_key"),
        sa.UniqueConstraint("incident_id", "seq", name="uq_incident_events_incident_id_seq"),
    )

    op.create_table(
        "attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time, nullable=True),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name="ck_attempts_outcome"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_attempts_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.UniqueConstraint("channel_id", name="uq_attempts_channel_id"),
        sa.UniqueConstraint(
            "incident_id", "agency", "number", name="uq_attempts_incident_id_agency_number"
        ),
    )

    op.create_table(
        "acks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("attempt_id", BigId, nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.CheckConstraint(
            "method IN ('keypress', 'manual', 'tetra_status', 'sds', 'sms', 'telegram')",
            name="ck_acks_method",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name="fk_acks_attempt_id_attempts"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_acks_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_acks"),
        sa.UniqueConstraint("incident_id", "agency", name="uq_acks_incident_id_agency"),
    )

    op.create_table(
        "tasks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("args", Json, nullable=False),
        sa.Column("not_before", Time, nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("enqueued_at", Time, nullable=True),
        sa.Column("failed_at", Time, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("key", name="uq_tasks_key"),
    )
    op.create_index("ix_tasks_enqueued_at", "tasks", ["enqueued_at"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("district", sa.String(6), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("revoked_at", Time, nullable=True),
        sa.CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name="ck_api_keys_role"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
    )

    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY_POSTGRESQL:
            op.execute(statement)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(APPEND_ONLY_SQLITE.format(verb=verb))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER incident_events_append_only ON incident_events")
        op.execute("DROP FUNCTION incident_events_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER incident_events_no_{verb}")
    for table in (
        "api_keys",
        "tasks",
        "acks",
        "attempts",
        "incident_events",
        "reports",
        "incidents",
        "incident_counters",
    ):
        op.drop_table(table)
