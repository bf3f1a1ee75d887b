"""Contacts: the legs become the channel-neutral contact ledger. Every contact and every
try has a medium (voice, talkgroup, sms, telegram, sds); a contact is named by the ref
voicebridge chose (``ref``, was ``channel_id``), reaches an ``address`` (was ``dial``) and
may be asked to end (``withdraw``, was ``hangup``); whether a responder hears the prompt
follows from its medium (``prompt`` goes). Tries may be skipped (no adapter for their
medium) or delivered (a message).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

OUTCOMES = (
    "'pending', 'held_back', 'skipped', 'ringing', 'prompting', 'answered', 'patched', "
    "'delivered', 'no_answer', 'busy', 'congestion', 'failed', 'acknowledged', 'declined', "
    "'cancelled'"
)
OUTCOMES_BEFORE = (
    "'pending', 'held_back', 'ringing', 'prompting', 'answered', 'patched', 'no_answer', "
    "'busy', 'congestion', 'failed', 'acknowledged', 'declined', 'cancelled'"
)
MEDIA = "'voice', 'talkgroup', 'sms', 'telegram', 'sds'"
STATES = "'pending', 'placing', 'answered', 'in_room', 'delivered', 'ended', 'failed', 'cancelled'"
# contact states from leg states, and back
STATE_OF_LEG = {"calling": "placing", "up": "answered"}


def _attempts(*, after: bool) -> sa.Table:
    """The attempts table before (0003) or after this revision."""
    ref = (
        [
            sa.Column("medium", sa.String(12), nullable=False),
            sa.Column("contact", sa.String(40), nullable=True),
        ]
        if after
        else [sa.Column("channel_id", sa.String(64), nullable=True)]
    )
    checks = [sa.CheckConstraint(f"outcome IN ({OUTCOMES if after else OUTCOMES_BEFORE})",
                                 name="ck_attempts_outcome")]  # fmt: skip
    if after:
        checks.append(sa.CheckConstraint(f"medium IN ({MEDIA})", name="ck_attempts_medium"))
    return sa.Table(
        "attempts",
        sa.MetaData(),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        *ref,
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time, nullable=True),
        *checks,
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_attempts_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempts"),
        sa.UniqueConstraint(
            "contact" if after else "channel_id",
            name="uq_attempts_contact" if after else "uq_attempts_channel_id",
        ),
        sa.UniqueConstraint(
            "incident_id", "agency", "number", name="uq_attempts_incident_id_agency_number"
        ),
    )


def _contacts() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("ref", sa.String(40), nullable=False),
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
        sa.CheckConstraint(
            "role IN ('operator', 'responder', 'supervisor', 'guest')", name="ck_contacts_role"
        ),
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
    op.create_index("ix_contacts_incident_id", "contacts", ["incident_id"])
    op.create_index("ix_contacts_medium_state", "contacts", ["medium", "state"])


def _state_case(column: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in mapping.items())
    return f"CASE {column} {whens} ELSE {column} END"


def upgrade() -> None:
    # a responder's leg without the prompt was a talkgroup patched into the room
    talkgroup = "CASE WHEN role = 'responder' AND NOT prompt THEN 'talkgroup' ELSE 'voice' END"
    _contacts()
    op.execute(
        "INSERT INTO contacts (id, incident_id, ref, medium, role, state, address, label, "  # noqa: S608
        "agency, attempt_id, cause, withdraw, owner, actor, created_at, updated_at, "
        "joined_at, ended_at) "
        f"SELECT id, incident_id, channel_id, {talkgroup}, role, "
        f"{_state_case('state', STATE_OF_LEG)}, dial, label, agency, attempt_id, cause, "
        "hangup, owner, actor, created_at, updated_at, joined_at, ended_at FROM legs"
    )
    op.drop_table("legs")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
            "COALESCE((SELECT max(id) FROM contacts), 0) + 1, false)"
        )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "attempts", copy_from=_attempts(after=False), recreate="always"
        ) as batch:
            batch.add_column(sa.Column("medium", sa.String(12), nullable=True))
            batch.alter_column("channel_id", new_column_name="contact")
    else:
        op.add_column("attempts", sa.Column("medium", sa.String(12), nullable=True))
        op.alter_column("attempts", "channel_id", new_column_name="contact")
        op.drop_constraint("uq_attempts_channel_id", "attempts", type_="unique")
        op.create_unique_constraint("uq_attempts_contact", "attempts", ["contact"])
    op.execute(
        "UPDATE attempts SET medium = COALESCE((SELECT c.medium FROM contacts c "
        "WHERE c.attempt_id = attempts.id), 'voice')"
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("attempts", copy_from=_attempts(after=True), recreate="always"):
            pass
    else:
        op.alter_column("attempts", "medium", nullable=False)
        op.alter_column("attempts", "contact", type_=sa.String(40))
        op.drop_constraint("ck_attempts_outcome", "attempts", type_="check")
        op.create_check_constraint("ck_attempts_outcome", "attempts", f"outcome IN ({OUTCOMES})")
        op.create_check_constraint("ck_attempts_medium", "attempts", f"medium IN ({MEDIA})")


def downgrade() -> None:
    op.execute("UPDATE attempts SET outcome = 'failed' WHERE outcome = 'skipped'")
    op.execute("UPDATE attempts SET outcome = 'patched' WHERE outcome = 'delivered'")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "attempts", copy_from=_attempts(after=True), recreate="always"
        ) as batch:
            batch.drop_constraint("ck_attempts_medium", type_="check")
            batch.drop_column("medium")
            batch.alter_column("contact", new_column_name="channel_id")
        with op.batch_alter_table("attempts", copy_from=_attempts(after=False), recreate="always"):
            pass
    else:
        op.drop_constraint("ck_attempts_medium", "attempts", type_="check")
        op.drop_constraint("ck_attempts_outcome", "attempts", type_="check")
        op.create_check_constraint(
            "ck_attempts_outcome", "attempts", f"outcome IN ({OUTCOMES_BEFORE})"
        )
        op.drop_column("attempts", "medium")
        op.drop_constraint("uq_attempts_contact", "attempts", type_="unique")
        op.alter_column("attempts", "contact", new_column_name="channel_id", type_=sa.String(64))
        op.create_unique_constraint("uq_attempts_channel_id", "attempts", ["channel_id"])
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
    back = {"placing": "calling", "answered": "up", "delivered": "ended"}
    op.execute(
        "INSERT INTO legs (id, incident_id, channel_id, role, state, dial, label, agency, "  # noqa: S608
        "attempt_id, cause, hangup, prompt, owner, actor, created_at, updated_at, joined_at, "
        "ended_at) "
        f"SELECT id, incident_id, ref, role, {_state_case('state', back)}, address, label, "
        "agency, attempt_id, cause, withdraw, "
        "CASE WHEN role = 'responder' AND medium = 'voice' THEN TRUE ELSE FALSE END, owner, "
        "actor, created_at, updated_at, joined_at, ended_at FROM contacts "
        "WHERE medium IN ('voice', 'talkgroup')"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('legs', 'id'), "
            "COALESCE((SELECT max(id) FROM legs), 0) + 1, false)"
        )
    op.drop_table("contacts")
