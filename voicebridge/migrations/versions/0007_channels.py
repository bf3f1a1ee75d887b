"""Citizens' channels: the raw inbound messages (stored before the channel is answered),
the chats a channel talks with (conversation state, opt-out, unreachable), and the
outbound messages with their delivery.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("chat", sa.String(64), nullable=False),
        sa.Column("received_at", Time, nullable=False),
        sa.Column("raw", Json, nullable=False),
        sa.Column("processed_at", Time, nullable=True),
        sa.Column("replies", Json, nullable=True),
        sa.Column("incident", sa.String(24), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
        sa.UniqueConstraint(
            "channel", "external_id", name="uq_inbound_messages_channel_external_id"
        ),
    )
    op.create_index(
        "ix_inbound_messages_processed_at_id", "inbound_messages", ["processed_at", "id"]
    )
    op.create_index(
        "ix_inbound_messages_channel_chat_id", "inbound_messages", ["channel", "chat", "id"]
    )
    op.create_table(
        "citizen_chats",
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("chat", sa.String(64), nullable=False),
        sa.Column("state", Json, nullable=False),
        sa.Column("opted_out_at", Time, nullable=True),
        sa.Column("unreachable_at", Time, nullable=True),
        sa.Column("unreachable_cause", sa.Text(), nullable=True),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat", name="pk_citizen_chats"),
    )
    op.create_table(
        "outbound_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("chat", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("incident_id", BigId, nullable=True),
        sa.Column("contact", sa.String(40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("buttons", Json, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_outbound_messages_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_messages"),
        sa.UniqueConstraint("key", name="uq_outbound_messages_key"),
    )
    op.create_index("ix_outbound_messages_incident_id", "outbound_messages", ["incident_id"])
    op.create_index("ix_outbound_messages_provider_id", "outbound_messages", ["provider_id"])


def downgrade() -> None:
    op.drop_table("outbound_messages")
    op.drop_table("citizen_chats")
    op.drop_table("inbound_messages")
