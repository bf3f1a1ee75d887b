"""Tables owned by the application (not the domain): API keys, the request each
Idempotency-Key was first given with, and the people who sign in to the console with
their sessions; the revisions of the dialplan templates, which one is in force, and
the audit of their administration."""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from routing.schema import NAMING, UTCDateTime

metadata = MetaData(naming_convention=NAMING)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("district", String(6), nullable=True),
    Column("label", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name="role"),
)

# the request an Idempotency-Key named first: a SHA-256 of its validated body, so that a
# reuse of the key with another body is refused rather than taken as the same request
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),  # "<key id>:<Idempotency-Key>"
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# people who sign in to the console (voicebridge.accounts); passwords as Argon2id hashes
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("district", String(6), nullable=True),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
    CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name="role"),
)

# their sessions: the cookie's token kept only as its SHA-256
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("address", String(64), nullable=False),
    Column("agent", String(200), nullable=False),
)

# the dialplan templates' revisions (voicebridge.dialplan_admin): immutable, one per save
dialplan_revisions = Table(
    "dialplan_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("template", String(40), nullable=False),
    Column("content", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("comment", Text, nullable=False),
    Column("author", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("base_id", Integer, ForeignKey("dialplan_revisions.id"), nullable=True),
    Column("diff", Text, nullable=False),  # from its base (all of it for the first)
    Index("ix_dialplan_revisions_template_id", "template", "id"),
)

# the revision of each template in force: the pointer a switch or a rollback moves
dialplan_pointers = Table(
    "dialplan_pointers",
    metadata,
    Column("template", String(40), primary_key=True),
    Column("revision_id", Integer, ForeignKey("dialplan_revisions.id"), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
)

# every step of the dialplan administration, with the person: proposals (refused ones
# too), trials, switches, rollbacks, pushes after an Asterisk restart
dialplan_audit = Table(
    "dialplan_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(16), nullable=False),
    Column("revision_id", Integer, nullable=True),
    Column("previous_id", Integer, nullable=True),  # a switch's: the revision it replaced
    Column("undoes_id", Integer, nullable=True),  # a rollback's: the audit row it undid
    Column("ok", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
)

# what was pushed live to Asterisk, each time: the revisions, and the contexts as rendered
# (JSON); the newest is the last good rendering, pushed again to an Asterisk found stale
dialplan_pushes = Table(
    "dialplan_pushes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("revisions", Text, nullable=False),
    Column("contexts", Text, nullable=False),
)
