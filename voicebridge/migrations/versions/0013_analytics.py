"""The response-time analytics' summary rows (routing.rollups): per Lima day the
durations of each interval by district, agency, category, priority and channel; the
figures of closed weeks and months; operators' hours per district and day; what is
rolled up. Indexes for the rollup: the log by time, the reports by their arrival.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)
DIMENSIONS = ("district", "agency", "category", "priority", "source")


def _dimensions() -> list[sa.Column[str]]:
    return [
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
    ]


def _counts() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.Integer(), nullable=False)
        for name in ("n", "missing", "negative", "unanswered", "first_try")
    ]


def upgrade() -> None:
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("interval", sa.String(20), nullable=False),
        *_dimensions(),
        *_counts(),
        sa.Column("total_us", sa.BigInteger(), nullable=False),
        sa.Column("values_us", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", "interval", *DIMENSIONS, name="pk_analytics_days"),
    )
    op.create_table(
        "analytics_periods",
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("interval", sa.String(20), nullable=False),
        sa.Column("grouping", sa.String(40), nullable=False),
        *_dimensions(),
        *_counts(),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("p50", sa.Float(), nullable=True),
        sa.Column("p90", sa.Float(), nullable=True),
        sa.Column("target", sa.Integer(), nullable=True),
        sa.Column("within", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "kind", "period", "interval", "grouping", *DIMENSIONS, name="pk_analytics_periods"
        ),
    )
    op.create_table(
        "analytics_staff",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("operator_hours", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "district", name="pk_analytics_staff"),
    )
    op.create_table(
        "analytics_rolled",
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("rolled_at", Time, nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "period", name="pk_analytics_rolled"),
    )
    op.create_index("ix_incident_events_at", "incident_events", ["at"])
    op.create_index("ix_reports_received_at", "reports", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_received_at", table_name="reports")
    op.drop_index("ix_incident_events_at", table_name="incident_events")
    op.drop_table("analytics_rolled")
    op.drop_table("analytics_staff")
    op.drop_table("analytics_periods")
    op.drop_table("analytics_days")
