"""Responder lines checked before an emergency: one row per check of a directory line,
with its result (the line's history), one check of a line at a time, and each line's
failures in a row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = "'pending', 'placing', 'answered', 'done'"
RESULTS = "'confirmed', 'answered', 'busy', 'no_answer', 'failed', 'interrupted', 'skipped'"


def upgrade() -> None:
    op.create_table(
        "line_checks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("dial", sa.String(200), nullable=False),
        sa.Column("dtmf", sa.String(32), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("result", sa.String(12), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("raised", sa.Boolean(), nullable=False),
        sa.Column("withdraw", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.String(80), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("placed_at", Time, nullable=True),
        sa.Column("answered_at", Time, nullable=True),
        sa.Column("ended_at", Time, nullable=True),
        sa.Column("updated_at", Time, nullable=False),
        sa.CheckConstraint(f"state IN ({STATES})", name="ck_line_checks_state"),
        sa.CheckConstraint(
            f"result IS NULL OR result IN ({RESULTS})", name="ck_line_checks_result"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_line_checks"),
        sa.UniqueConstraint("ref", name="uq_line_checks_ref"),
    )
    op.create_index("ix_line_checks_line_id", "line_checks", ["line", "id"])
    op.create_index("ix_line_checks_state", "line_checks", ["state"])
    open_ = sa.text("state != 'done'")
    op.create_index(
        "ux_line_checks_line_open",
        "line_checks",
        ["line"],
        unique=True,
        sqlite_where=open_,
        postgresql_where=open_,
    )
    op.create_table(
        "line_states",
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("check_id", BigId, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("line", name="pk_line_states"),
    )


def downgrade() -> None:
    op.drop_table("line_states")
    op.drop_index("ux_line_checks_line_open", table_name="line_checks")
    op.drop_index("ix_line_checks_state", table_name="line_checks")
    op.drop_index("ix_line_checks_line_id", table_name="line_checks")
    op.drop_table("line_checks")
