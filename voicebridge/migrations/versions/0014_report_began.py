"""When each report's contact began (the IVR taking the call, the citizen's first
message of the conversation, the SMS's arrival before it was read), beside when it
reached an incident: the analytics' answering interval runs from it. Null for reports
before this revision and for those that began as they were filed (an operator's, the
API's).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("began_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("began_at")
