"""The tables of the integrated incident database (SQLAlchemy Core).

Timestamps are stored in UTC: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite;
both read back as aware UTC datetimes. The event log is append-only: the migrations add
triggers that refuse UPDATE and DELETE on ``incident_events``.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactRole,
    ContactState,
    Medium,
    Priority,
    Source,
    Status,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: voicebridge stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: type[Any], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


incident_counters = Table(
    "incident_counters",
    metadata,
    Column("prefix", String(8), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", BigInteger, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(24), nullable=False, unique=True),
    Column("category", String(40), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("district", String(6), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("address", Text, nullable=True),
    Column("reference", Text, nullable=True),
    Column("reporter_name", Text, nullable=True),
    Column("reporter_phone", String(20), nullable=True),
    Column("reporter_handle", Text, nullable=True),
    Column("source", String(12), nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("merged_into", String(24), ForeignKey("incidents.public_id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    # what a citizen's report is matched on to join an open incident (routing.dedup): the
    # normalised address and when the incident's latest report arrived (set on every
    # write; nullable only so that the migration adds it without rebuilding the table)
    Column("address_key", String(200), nullable=True),
    Column("last_report_at", UTCDateTime, nullable=True),
    _one_of("status", Status, "status"),
    _one_of("priority", Priority, "priority"),
    _one_of("source", Source, "source"),
)
Index(None, incidents.c.created_at, incidents.c.id)
Index(None, incidents.c.district, incidents.c.created_at)
Index(None, incidents.c.status, incidents.c.created_at)
Index(None, incidents.c.category, incidents.c.created_at)
Index(None, incidents.c.category, incidents.c.last_report_at)

reports = Table(
    "reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("source", String(12), nullable=False),
    Column("external_id", String(200), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    # when the citizen's contact began (the phone menu taking the call, a conversation's
    # first message, a text message's arrival before it was read); null: as received
    Column("began_at", UTCDateTime, nullable=True),
    Column("text", Text, nullable=False),
    Column("reporter_name", Text, nullable=True),
    Column("reporter_phone", String(20), nullable=True),
    Column("reporter_handle", Text, nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("address", Text, nullable=True),
    Column("reference", Text, nullable=True),
    Column("payload", Json, nullable=False),
    Column("address_key", String(200), nullable=True),  # as the incident's
    UniqueConstraint("source", "external_id"),
    _one_of("source", Source, "source"),
)
Index(None, reports.c.received_at)  # the incidents first received in a day (analytics)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("cause", Text, nullable=False),
    Column("data", Json, nullable=False),
    # an idempotency key: a job that records "the same" event twice writes it once
    Column("key", String(120), nullable=True),
    UniqueConstraint("incident_id", "seq"),
    UniqueConstraint("incident_id", "key"),
)
# what the analytics' rollup finds changed since its last run (routing.rollups)
Index(None, incident_events.c.at)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("target", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("medium", String(12), nullable=False),
    Column("contact", String(40), nullable=True, unique=True),
    Column("outcome", String(16), nullable=False),
    Column("cause", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    UniqueConstraint("incident_id", "agency", "number"),
    _one_of("outcome", AttemptOutcome, "outcome"),
    _one_of("medium", Medium, "medium"),
)

acks = Table(
    "acks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("attempt_id", BigId, ForeignKey("attempts.id"), nullable=True),
    Column("method", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    UniqueConstraint("incident_id", "agency"),
    _one_of("method", AckMethod, "method"),
)

routing_revisions = Table(
    "routing_revisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("source", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("diff", Text, nullable=False),
)

dispatches = Table(
    "dispatches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("revision_id", BigId, ForeignKey("routing_revisions.id"), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("decision", Json, nullable=False),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("plan", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("incident_id", "agency"),
    _one_of("state", AssignmentState, "state"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False, index=True),
    # voicebridge's "vb-…", or a citizen's call as its medium names it (up to 150 long)
    Column("ref", String(160), nullable=False, unique=True),
    Column("medium", String(12), nullable=False),
    Column("role", String(12), nullable=False),
    Column("state", String(12), nullable=False),
    Column("address", String(200), nullable=False),
    Column("label", Text, nullable=False),
    Column("agency", String(64), nullable=True),
    Column("attempt_id", BigId, ForeignKey("attempts.id"), nullable=True),
    Column("cause", Text, nullable=True),
    Column("withdraw", Boolean, nullable=False),
    Column("owner", String(64), nullable=True),
    Column("actor", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("joined_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    _one_of("medium", Medium, "medium"),
    _one_of("role", ContactRole, "role"),
    _one_of("state", ContactState, "state"),
)
Index(None, contacts.c.medium, contacts.c.state)
# a message from a number or chat: whether an alert went there (a responder's answer)
Index(None, contacts.c.medium, contacts.c.address, contacts.c.created_at)

tasks = Table(
    "tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("args", Json, nullable=False),
    Column("not_before", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("enqueued_at", UTCDateTime, nullable=True, index=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
)

# every message a citizen or a responder sent through a channel, raw, as it came, under
# its channel's id (Twilio's MessageSid, Telegram's update_id): stored before the channel
# is answered, processed after in arrival order per chat; a repeat finds its row
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(12), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("chat", String(64), nullable=False),  # the number or chat it came from
    Column("received_at", UTCDateTime, nullable=False),
    Column("raw", Json, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("replies", Json, nullable=True),  # what the sender was answered, for a repeat
    Column("incident", String(24), nullable=True),  # the incident it went to, if any
    Column("failures", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    # what the intake decided and answered before processing (an SMS answered at once):
    # the processing carries it out; None when the processing decides everything
    Column("plan", Json, nullable=True),
    UniqueConstraint("channel", "external_id"),
)
Index(None, inbound_messages.c.processed_at, inbound_messages.c.id)
Index(None, inbound_messages.c.channel, inbound_messages.c.chat, inbound_messages.c.id)

# an incident number given to a citizen at intake whose report then joined an incident
# already open for the same event: the number names that incident too
incident_aliases = Table(
    "incident_aliases",
    metadata,
    Column("public_id", String(24), primary_key=True),
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# one row per chat or number a channel talks with: its conversation's state, and whether
# it may be written to (a number that sent PARA, a chat that blocked the bot)
citizen_chats = Table(
    "citizen_chats",
    metadata,
    Column("channel", String(12), primary_key=True),
    Column("chat", String(64), primary_key=True),
    Column("state", Json, nullable=False),
    Column("opted_out_at", UTCDateTime, nullable=True),
    Column("unreachable_at", UTCDateTime, nullable=True),
    Column("unreachable_cause", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# every message voicebridge sends through a channel (replies, citizens' news, responders'
# alerts), with its delivery as the channel reported it
outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),  # once each
    Column("channel", String(12), nullable=False),
    Column("chat", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),  # reply, news, alert, supervision
    Column("incident_id", BigId, ForeignKey("incidents.id"), nullable=True, index=True),
    Column("contact", String(40), nullable=True),  # the contact ledger's ref, for alerts
    Column("body", Text, nullable=False),
    Column("buttons", Json, nullable=True),
    Column("state", String(16), nullable=False),
    Column("provider_id", String(64), nullable=True, index=True),  # MessageSid, message_id
    Column("tries", Integer, nullable=False, default=0),  # times the channel was asked
    Column("sends", Integer, nullable=False, default=0),  # send tasks recorded so far
    Column("error_code", Integer, nullable=True),
    Column("cause", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# responder lines checked before an emergency: one row per check, its result the line's
# history (routing.linechecks)
line_checks = Table(
    "line_checks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ref", String(40), nullable=False, unique=True),  # names its call
    Column("line", String(64), nullable=False),  # the directory's target id
    Column("agency", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("number", String(32), nullable=False),  # as dialled
    Column("dial", String(200), nullable=False),  # the PBX's dial string
    Column("dtmf", String(32), nullable=True),
    Column("state", String(12), nullable=False),
    Column("result", String(12), nullable=True),
    Column("cause", Text, nullable=True),
    Column("scheduled", Boolean, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("raised", Boolean, nullable=False),  # this result raised it to the supervisors
    Column("withdraw", Boolean, nullable=False),  # to hang up: an incident took the line
    Column("slot", String(80), nullable=True),  # its use of the line's rate limits
    Column("created_at", UTCDateTime, nullable=False),
    Column("placed_at", UTCDateTime, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("state IN ('pending', 'placing', 'answered', 'done')", name="state"),
    CheckConstraint(
        "result IS NULL OR result IN ('confirmed', 'answered', 'busy', 'no_answer', 'failed', "
        "'interrupted', 'skipped')",
        name="result",
    ),
)
Index(None, line_checks.c.line, line_checks.c.id)
Index(None, line_checks.c.state)
# one check of a line at a time, whichever replica asks
Index(
    "ux_line_checks_line_open",
    line_checks.c.line,
    unique=True,
    sqlite_where=line_checks.c.state != "done",
    postgresql_where=line_checks.c.state != "done",
)

# each line's failures in a row (its last verdicts), kept as each check ends: what the
# routing explanation reads on every dispatch
line_states = Table(
    "line_states",
    metadata,
    Column("line", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("check_id", BigId, nullable=False),  # the check of its last verdict
    Column("updated_at", UTCDateTime, nullable=False),
)

# ---------------------------------------------------------------- analytics (issue 15)
# The summary rows of the response-time analytics (routing.rollups): recomputed from the
# log at any time, never the only copy of anything. A column a row is not grouped by
# holds '*'; a dimension an incident lacks (no district; no agency for an incident's
# own interval) holds ''.
DIMENSIONS = ("district", "agency", "category", "priority", "source")


def _dimensions() -> list[Column[str]]:
    return [
        Column("district", String(6), primary_key=True),
        Column("agency", String(64), primary_key=True),
        Column("category", String(40), primary_key=True),
        Column("priority", String(10), primary_key=True),
        Column("source", String(12), primary_key=True),
    ]


def _counts() -> list[Column[int]]:
    return [
        Column("n", Integer, nullable=False),  # measured
        Column("missing", Integer, nullable=False),  # a phase did not happen
        Column("negative", Integer, nullable=False),  # two clocks disagree
        # of an agency's acknowledgement: given up on (of the missing), and reached on
        # the first try (of the measured); 0 for every other interval
        Column("unanswered", Integer, nullable=False),
        Column("first_try", Integer, nullable=False),
    ]


# one row per Lima day × interval × district × agency × category × priority × channel,
# with every duration measured (microseconds, sorted: exact percentiles of any union)
analytics_days = Table(
    "analytics_days",
    metadata,
    Column("day", String(10), primary_key=True),  # 2026-11-03, in Lima
    Column("interval", String(20), primary_key=True),
    *_dimensions(),
    *_counts(),
    Column("total_us", BigInteger, nullable=False),
    Column("values_us", LargeBinary, nullable=False),  # int64 little-endian, ascending
)

# the figures of each closed week and month, for each grouping by up to two dimensions
# (what the analytics page and the monthly report ask for), with the target in force
analytics_periods = Table(
    "analytics_periods",
    metadata,
    Column("kind", String(5), primary_key=True),  # week, month
    Column("period", String(8), primary_key=True),  # 2026-W45, 2026-11
    Column("interval", String(20), primary_key=True),
    Column("grouping", String(40), primary_key=True),  # district,agency (sorted), or ''
    *_dimensions(),
    *_counts(),
    Column("mean", Float, nullable=True),
    Column("p50", Float, nullable=True),
    Column("p90", Float, nullable=True),
    Column("target", Integer, nullable=True),  # seconds; None: none was set
    Column("within", Integer, nullable=True),  # measured at or under it
)

# per Lima day and district: the incidents first received, and the hours operators
# worked on them (distinct operator × clock hour with a step of theirs in the log)
analytics_staff = Table(
    "analytics_staff",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("district", String(6), primary_key=True),
    Column("incidents", Integer, nullable=False),
    Column("operator_hours", Integer, nullable=False),
)

# which days, weeks and months are rolled up, and the log position each run reached
analytics_rolled = Table(
    "analytics_rolled",
    metadata,
    Column("kind", String(5), primary_key=True),  # day, week, month
    Column("period", String(10), primary_key=True),
    Column("rolled_at", UTCDateTime, nullable=False),
    Column("incidents", Integer, nullable=False),
)
