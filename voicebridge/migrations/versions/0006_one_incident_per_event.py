"""One incident per event: what a citizen's report is matched on to join an open
incident (the normalised address, on incidents and reports, and the time of the
incident's latest report), and the index the match runs on.

The columns are added nullable, so that SQLite adds them without rebuilding the
incidents table (other tables reference it); the time of the latest report is filled in
for the incidents already stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)

INDEX = "ix_incidents_category_last_report_at"


def upgrade() -> None:
    op.add_column("incidents", sa.Column("address_key", sa.String(200), nullable=True))
    op.add_column("incidents", sa.Column("last_report_at", Time, nullable=True))
    op.add_column("reports", sa.Column("address_key", sa.String(200), nullable=True))
    op.execute(
        "UPDATE incidents SET last_report_at = COALESCE("
        "(SELECT MAX(r.received_at) FROM reports r WHERE r.incident_id = incidents.id), "
        "created_at)"
    )
    op.create_index(INDEX, "incidents", ["category", "last_report_at"])


def downgrade() -> None:
    op.drop_index(INDEX, "incidents")
    # SQLite (3.35 and later) drops a column in place, as PostgreSQL does: no rebuild
    for table, column in (
        ("reports", "address_key"),
        ("incidents", "last_report_at"),
        ("incidents", "address_key"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
