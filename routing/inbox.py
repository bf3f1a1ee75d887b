"""The inbox: every message that came through a channel, raw, under its channel's id.

A channel's webhook stores the message here (:meth:`Inbox.store`) before it answers, so
nothing a citizen sent is lost once the channel was told it arrived; a message whose id
is stored already is a repeat (a retried webhook, Telegram's redelivery) and is not
stored twice. Processing comes after, in arrival order per chat: a processor takes the
unprocessed messages oldest first (:meth:`Inbox.due`) and, in the transaction that files
the report or advances the conversation, marks each processed with what the sender was
answered (:meth:`Inbox.processed`). A message stored by a process that died before
processing it is still unprocessed, and the next processor takes it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, exists, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from routing import schema as t
from routing.db import Database
from routing.ports import Clock, SystemClock

MAX_FAILURES = 3  # a message whose processing failed this often is set aside, logged


@dataclass(frozen=True, kw_only=True, slots=True)
class Inbound:
    """A message as a channel delivered it."""

    channel: str  # "sms", "telegram"
    external_id: str  # the channel's id of the message: MessageSid, update_id
    chat: str  # the number or chat it came from: messages of one chat keep their order
    raw: dict[str, Any]  # what the channel sent, as it sent it


@dataclass(frozen=True, kw_only=True, slots=True)
class Stored:
    id: int
    channel: str
    external_id: str
    chat: str
    raw: dict[str, Any]
    received_at: datetime
    processed_at: datetime | None
    replies: tuple[str, ...] | None  # what the sender was answered once processed
    answered: bool  # those replies went in the channel's answer (else as messages)
    incident: str | None  # the incident it went to, if any
    failures: int
    repeated: bool = False  # stored before: this delivery is a repeat


def _stored(row: Row[Any], *, repeated: bool = False) -> Stored:
    return Stored(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        chat=row.chat,
        raw=dict(row.raw),
        received_at=row.received_at,
        processed_at=row.processed_at,
        replies=None if row.replies is None else tuple(row.replies["texts"]),
        answered=bool(row.replies and row.replies["answered"]),
        incident=row.incident,
        failures=row.failures,
        repeated=repeated,
    )


class Inbox:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        dialect_insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        c = t.inbound_messages.c
        self._insert = (
            dialect_insert(t.inbound_messages)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
            .returning(c.id)
        )

    def store(self, messages: Sequence[Inbound]) -> list[Stored]:
        """Store messages, in order, in one transaction (a group commit): each one's row,
        ``repeated`` when its ``(channel, external_id)`` was stored before (in an earlier
        transaction, or earlier in this batch)."""
        now = self.clock.now()
        c = t.inbound_messages.c
        out: list[Stored | None] = [None] * len(messages)
        with self.db.write() as conn:
            keys = list({(m.channel, m.external_id) for m in messages})
            known = {
                (r.channel, r.external_id): r
                for r in conn.execute(
                    select(t.inbound_messages).where(tuple_(c.channel, c.external_id).in_(keys))
                )
            }
            fresh: dict[tuple[str, str], int] = {}
            for n, message in enumerate(messages):
                key = (message.channel, message.external_id)
                if key in known:
                    out[n] = _stored(known[key], repeated=True)
                    continue
                if key in fresh:
                    continue  # filled in below from the first of this batch
                row_id = conn.execute(
                    self._insert,
                    {
                        "channel": message.channel,
                        "external_id": message.external_id,
                        "chat": message.chat,
                        "received_at": now,
                        "raw": message.raw,
                        "failures": 0,
                    },
                ).scalar()
                if row_id is None:  # another replica stored it a moment ago
                    row = conn.execute(
                        select(t.inbound_messages).where(
                            c.channel == message.channel, c.external_id == message.external_id
                        )
                    ).one()
                    known[key] = row
                    out[n] = _stored(row, repeated=True)
                    continue
                fresh[key] = n
                out[n] = Stored(
                    id=row_id,
                    channel=message.channel,
                    external_id=message.external_id,
                    chat=message.chat,
                    raw=message.raw,
                    received_at=now,
                    processed_at=None,
                    replies=None,
                    answered=False,
                    incident=None,
                    failures=0,
                )
            for n, message in enumerate(messages):
                if out[n] is None:
                    first = out[fresh[(message.channel, message.external_id)]]
                    assert first is not None  # noqa: S101 - set in the loop above
                    out[n] = Stored(**{**_as_dict(first), "repeated": True})
        return [s for s in out if s is not None]

    def get(self, row_id: int) -> Stored | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(t.inbound_messages).where(t.inbound_messages.c.id == row_id)
            ).first()
        return None if row is None else _stored(row)

    def due(self, limit: int = 200, *, stored_before: datetime | None = None) -> list[Stored]:
        """Unprocessed messages, oldest first, not set aside after repeated failures; only
        those stored before ``stored_before`` when given (another process's, left
        behind)."""
        c = t.inbound_messages.c
        where = [c.processed_at.is_(None), c.failures < MAX_FAILURES]
        if stored_before is not None:
            where.append(c.received_at < stored_before)
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.inbound_messages).where(*where).order_by(c.id).limit(limit)
            ).all()
        return [_stored(r) for r in rows]

    def take(self, conn: Connection, row_id: int) -> Stored | None:
        """In a write transaction: the message, locked, if it is still to be processed
        and no earlier message of its chat is (messages of a chat go in order); None
        otherwise (processed meanwhile by another processor, or not its turn)."""
        c = t.inbound_messages.c
        query = select(t.inbound_messages).where(c.id == row_id, c.processed_at.is_(None))
        if self.db.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            return None
        earlier = t.inbound_messages.alias("earlier")
        waiting = conn.execute(
            select(
                exists().where(
                    and_(
                        earlier.c.channel == row.channel,
                        earlier.c.chat == row.chat,
                        earlier.c.id < row.id,
                        earlier.c.processed_at.is_(None),
                        earlier.c.failures < MAX_FAILURES,
                    )
                )
            )
        ).scalar()
        return None if waiting else _stored(row)

    def processed(
        self,
        conn: Connection,
        row_id: int,
        *,
        replies: Sequence[str],
        answered: bool,
        incident: str | None,
        now: datetime,
    ) -> None:
        """In the transaction that did what the message called for: it is processed, and
        its sender was answered ``replies``: in the channel's answer (``answered``: a
        TwiML reply), or as messages of their own (recorded in the outbox)."""
        conn.execute(
            update(t.inbound_messages)
            .where(t.inbound_messages.c.id == bindparam("rid"))
            .values(
                processed_at=now,
                replies={"texts": list(replies), "answered": answered},
                incident=incident,
                error=None,
            ),
            {"rid": row_id},
        )

    def failed(self, row_id: int, error: str) -> int:
        """Processing the message failed (and its transaction was rolled back): counted,
        with the error; the number of failures so far."""
        c = t.inbound_messages.c
        with self.db.write() as conn:
            return int(
                conn.execute(
                    update(t.inbound_messages)
                    .where(c.id == row_id)
                    .values(failures=c.failures + 1, error=error[:4000])
                    .returning(c.failures)
                ).scalar_one()
            )

    def counts(self) -> tuple[int, int]:
        """(unprocessed, set aside after repeated failures)."""
        c = t.inbound_messages.c
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    func.count().filter(c.failures < MAX_FAILURES),
                    func.count().filter(c.failures >= MAX_FAILURES),
                ).where(c.processed_at.is_(None))
            ).one()
        return int(row[0]), int(row[1])


def _as_dict(stored: Stored) -> dict[str, Any]:
    return {name: getattr(stored, name) for name in Stored.__slots__}
