"""Legs: the channels originated for an incident's conference; attempts that are
prompting (answered, the prompt playing) or patched (a talkgroup in the room).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

OUTCOMES_BEFORE = (
    "'pending', 'held_back', 'ringing', 'answered', 'no_answer', 'busy', 'congestion', "
    "'failed', 'acknowledged', 'declined', 'cancelled'"
)
OUTCOMES = OUTCOMES_BEFORE.replace("'ringing', ", "'ringing', 'prompting', ").replace(
    "'answered', ", "'answered', 'patched', "
)


def _attempts(outcomes: str) -> sa.Table:
    """The attempts table as 0001 made it, with the given outcome constraint."""
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
    _outcomes(OUTCOMES)
    op.create_table(
        "legs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("dial", sa.String(200), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("attempt_id", BigId, nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("hangup", sa.Boolean(), nullable=False),
        sa.Column("prompt", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("joined_at", Time, nullable=True),
        sa.Column("ended_at", Time, nullable=True),
        sa.CheckConstraint(
            "role IN ('operator', 'responder', 'supervisor', 'guest')", name="ck_legs_role"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'calling', 'up', 'in_room', 'ended', 'failed', 'cancelled')",
            name="ck_legs_state",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name="fk_legs_attempt_id_attempts"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_legs_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_legs"),
        sa.UniqueConstraint("channel_id", name="uq_legs_channel_id"),
    )
    op.create_index("ix_legs_incident_id", "legs", ["incident_id"])
    op.create_index("ix_legs_state", "legs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_legs_state", "legs")
    op.drop_index("ix_legs_incident_id", "legs")
    op.drop_table("legs")
    op.execute("UPDATE attempts SET outcome = 'answered' WHERE outcome IN ('prompting', 'patched')")
    _outcomes(OUTCOMES_BEFORE)
