"""SMS answered at intake: what the intake decided for each inbound message (the plan
its processing carries out), and the incident numbers given to citizens whose report
then joined another incident (an alias of that incident); responders' alerts found by
address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("plan", Json, nullable=True))
    op.create_table(
        "incident_aliases",
        sa.Column("public_id", sa.String(24), nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("public_id", name="pk_incident_aliases"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_aliases_incident_id_incidents"
        ),
    )
    op.create_index("ix_incident_aliases_incident_id", "incident_aliases", ["incident_id"])
    op.create_index(
        "ix_contacts_medium_address_created_at", "contacts", ["medium", "address", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_medium_address_created_at", table_name="contacts")
    op.drop_index("ix_incident_aliases_incident_id", table_name="incident_aliases")
    op.drop_table("incident_aliases")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("plan")
