"""The citizen in the room: a contact's role may be ``citizen`` (the IVR's caller, put
into the incident's conference by the dialplan, followed as a contact of the ledger),
and its ref, then Asterisk's name for the channel (a Uniqueid, after the SystemName if
one is set: up to 150 characters), is up to 160 characters (was 40).

SQLite cannot alter a CHECK constraint: its table is copied (batch mode, from the
table as it was, with its indexes).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

MEDIA = "'voice', 'talkgroup', 'sms', 'telegram', 'sds'"
STATES = "'pending', 'placing', 'answered', 'in_room', 'delivered', 'ended', 'failed', 'cancelled'"
ROLES_BEFORE = "'operator', 'responder', 'supervisor', 'guest'"
ROLES = f"{ROLES_BEFORE}, 'citizen'"


def _contacts(roles: str, ref: int) -> sa.Table:
    """The contacts table (as 0004 and 0008 left it) with the role check ``roles`` and
    refs of up to ``ref`` characters."""
    table = sa.Table(
        "contacts",
        sa.MetaData(),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("ref", sa.String(ref), nullable=False),
        sa.Column("medium", sa.String(12), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("attempt_id", BigId, nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("withdraw", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("joined_at", Time, nullable=True),
        sa.Column("ended_at", Time, nullable=True),
        sa.CheckConstraint(f"medium IN ({MEDIA})", name="ck_contacts_medium"),
        sa.CheckConstraint(f"role IN ({roles})", name="ck_contacts_role"),
        sa.CheckConstraint(f"state IN ({STATES})", name="ck_contacts_state"),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name="fk_contacts_attempt_id_attempts"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_contacts_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint("ref", name="uq_contacts_ref"),
    )
    c = table.c
    sa.Index("ix_contacts_incident_id", c.incident_id)
    sa.Index("ix_contacts_medium_state", c.medium, c.state)
    sa.Index("ix_contacts_medium_address_created_at", c.medium, c.address, c.created_at)
    return table


def _change(before: tuple[str, int], after: tuple[str, int]) -> None:
    """From (roles, ref length) ``before`` to ``after``."""
    roles, ref = after
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "contacts", copy_from=_contacts(*before), recreate="always"
        ) as batch:
            batch.alter_column("ref", type_=sa.String(ref), existing_nullable=False)
            batch.drop_constraint("ck_contacts_role", type_="check")
            batch.create_check_constraint("ck_contacts_role", sa.text(f"role IN ({roles})"))
    else:
        op.alter_column("contacts", "ref", type_=sa.String(ref), existing_nullable=False)
        op.drop_constraint("ck_contacts_role", "contacts", type_="check")
        op.create_check_constraint("ck_contacts_role", "contacts", f"role IN ({roles})")


def upgrade() -> None:
    _change((ROLES_BEFORE, 40), (ROLES, 160))


def downgrade() -> None:
    # a citizen's contact has no role before this revision: it was a guest of the room,
    # and a ref too long for it is cut (the channel is long gone by a downgrade)
    op.execute("UPDATE contacts SET role = 'guest' WHERE role = 'citizen'")
    op.execute("UPDATE contacts SET ref = substr(ref, length(ref) - 39) WHERE length(ref) > 40")
    _change((ROLES, 160), (ROLES_BEFORE, 40))
