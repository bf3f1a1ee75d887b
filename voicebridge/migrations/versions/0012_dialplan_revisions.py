"""The dialplan administration: the templates' immutable revisions, the pointer to the
revision of each template in force, the audit of every step with its person, and what
was pushed live to Asterisk (the last good rendering).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dialplan_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_id"],
            ["dialplan_revisions.id"],
            name="fk_dialplan_revisions_base_id_dialplan_revisions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dialplan_revisions"),
    )
    op.create_index("ix_dialplan_revisions_template_id", "dialplan_revisions", ["template", "id"])
    op.create_table(
        "dialplan_pointers",
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.Column("updated_by", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["dialplan_revisions.id"],
            name="fk_dialplan_pointers_revision_id_dialplan_revisions",
        ),
        sa.PrimaryKeyConstraint("template", name="pk_dialplan_pointers"),
    )
    op.create_table(
        "dialplan_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dialplan_audit"),
    )
    op.create_table(
        "dialplan_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("revisions", sa.Text(), nullable=False),
        sa.Column("contexts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dialplan_pushes"),
    )


def downgrade() -> None:
    op.drop_table("dialplan_pushes")
    op.drop_table("dialplan_audit")
    op.drop_table("dialplan_pointers")
    op.drop_index("ix_dialplan_revisions_template_id", table_name="dialplan_revisions")
    op.drop_table("dialplan_revisions")
