"""Tables owned by the application (not the domain): API keys, and the request each
Idempotency-Key was first given with."""

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, String, Table, Text

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
