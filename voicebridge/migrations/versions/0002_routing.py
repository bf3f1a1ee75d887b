"""Routing: configuration revisions, dispatches, assignments; attempts held back.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Time = sa.DateTime(timezone=True)

OUTCOMES_BEFORE = (
    "'pending', 'ringing', 'answered', 'no_answer', 'busy', 'congestion', 'failed', "
    "'acknowledged', 'declined', 'cancelled'"
)
OUTCOMES = OUTCOMES_BEFORE.replace("'pending', ", "'pending', 'held_back', ")


def _attempts(outcomes: str) -> sa.Table:
    """The attempts table as 0001 made it, with the given outcome constraint (SQLite
    changes a constraint by copying the table)."""
    return sa.Table(
        "attempts",
        sa.MetaData(),
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
        sa.CheckConstraint(f"outcome IN ({outcomes})", name="ck_attempts_outcome"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_attempts_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.UniqueConstraint("channel_id", name="uq_attempts_channel_id"),
        sa.UniqueConstraint(
            "incident_id", "agency", "number", name="uq_attempts_incident_id_agency_number"
        ),
    )


def _outcomes(outcomes: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("attempts", copy_from=_attempts(outcomes), recreate="always"):
            pass
    else:
        op.drop_constraint("ck_attempts_outcome", "attempts", type_="check")
        op.create_check_constraint("ck_attempts_outcome", "attempts", f"outcome IN ({outcomes})")


def upgrade() -> None:
    op.create_table(
        "routing_revisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_revisions"),
    )
    op.create_table(
        "dispatches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("revision_id", BigId, nullable=False),
        sa.Column("decided_at", Time, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("decision", Json, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_dispatches_incident_id_incidents"
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["routing_revisions.id"],
            name="fk_dispatches_revision_id_routing_revisions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dispatches"),
    )
    op.create_index("ix_dispatches_incident_id", "dispatches", ["incident_id"])
    op.create_table(
        "assignments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("plan", Json, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'acknowledged', 'unanswered', 'cancelled')",
            name="ck_assignments_state",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_assignments_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.UniqueConstraint("incident_id", "agency", name="uq_assignments_incident_id_agency"),
    )
    _outcomes(OUTCOMES)


def downgrade() -> None:
    op.execute("DELETE FROM attempts WHERE outcome = 'held_back'")
    _outcomes(OUTCOMES_BEFORE)
    op.drop_table("assignments")
    op.drop_index("ix_dispatches_incident_id", "dispatches")
    op.drop_table("dispatches")
    op.drop_table("routing_revisions")
