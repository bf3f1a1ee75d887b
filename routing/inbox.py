"""The inbox: every message that came through a channel, raw, under its channel's id.

A channel's webhook stores the message here (:meth:`Inbox.store`) before it answers, so
nothing a citizen sent is lost once the channel was told it arrived; a message whose id
is stored already is a repeat (a retried webhook, Telegram's redelivery) and is not
stored twice. Processing comes after, in arrival order per chat: a processor takes the
unprocessed messages oldest first (:meth:`Inbox.due`) and, in the transaction that files
the report or advances the conversation, marks each processed with what the sender was
answered (:meth:`Inbox.processed`). A message stored by a process that died before
processing it is still unprocessed, and the next processor takes it.

A channel may answer a message in the transaction that stores it (an SMS's TwiML reply,
which must not wait for its report to be filed): its ``answer`` hook decides, from the
message and what the database says now, the replies and a plan (what the processing is
to carry out: file the report under the incident number the reply gave, add it to the
incident it completes); both are stored with the message, so a repeat is answered the
same and the processing, wherever it runs, does what the sender was told.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from routing import schema as t
from routing.db import Database
from routing.ports import Clock, SystemClock

MAX_FAILURES = 3  # a message whose processing failed this often is set aside, logged
STORE_TRIES = 3  # a batch another replica stored part of meanwhile is written again


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
    plan: dict[str, Any] | None = None  # answered at intake: what processing carries out
    repeated: bool = False  # stored before: this delivery is a repeat


@dataclass(frozen=True, kw_only=True, slots=True)
class Answer:
    """What a channel answered a message in the transaction that stored it."""

    replies: tuple[str, ...]  # the channel's answer (an SMS's TwiML reply)
    plan: dict[str, Any]  # what its processing carries out (JSON)


# the answer hook of :meth:`Inbox.store`: for the new messages of a batch, in order, in
# the storing transaction, each one's answer or None (its processing decides)
Answering = Callable[[Connection, Sequence[Inbound], datetime], Sequence[Answer | None]]


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
        plan=None if row.plan is None else dict(row.plan),
        repeated=repeated,
    )


class Inbox:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        c = t.inbound_messages.c
        # the new rows' ids are matched by their keys (unique in a batch), not
        # by the order of RETURNING: asking for that order makes SQLAlchemy insert one row
        # per statement on SQLite
        self._insert = insert(t.inbound_messages).returning(c.id, c.channel, c.external_id)

    def store(self, messages: Sequence[Inbound], answer: Answering | None = None) -> list[Stored]:
        """Store messages, in order, in one transaction (a group commit): each one's row,
        ``repeated`` when its ``(channel, external_id)`` was stored before (in an earlier
        transaction, or earlier in this batch). ``answer``: the hook that answers the new
        ones in this transaction (their replies and plans are stored with them)."""
        for attempt in range(STORE_TRIES):
            try:
                return self._store(messages, answer)
            except IntegrityError:  # another replica stored one of them a moment ago
                if attempt == STORE_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _store(self, messages: Sequence[Inbound], answer: Answering | None) -> list[Stored]:
        now = self.clock.now()
        c = t.inbound_messages.c
        out: list[Stored | None] = [None] * len(messages)
        with self.db.write() as conn:
            known: dict[tuple[str, str], Row[Any]] = {}
            for channel in sorted({m.channel for m in messages}):
                sent = sorted({m.external_id for m in messages if m.channel == channel})
                # one channel per query: the unique index answers it (a row-value IN
                # over both columns scans the table on SQLite)
                for r in conn.execute(
                    select(t.inbound_messages).where(c.channel == channel, c.external_id.in_(sent))
                ):
                    known[(r.channel, r.external_id)] = r
            fresh: dict[tuple[str, str], int] = {}
            for n, message in enumerate(messages):
                key = (message.channel, message.external_id)
                if key in known:
                    out[n] = _stored(known[key], repeated=True)
                elif key not in fresh:
                    fresh[key] = n
            new = [messages[n] for n in fresh.values()]
            answers = list(answer(conn, new, now)) if answer and new else [None] * len(new)
            rows = [
                {
                    "channel": m.channel,
                    "external_id": m.external_id,
                    "chat": m.chat,
                    "received_at": now,
                    "raw": m.raw,
                    "failures": 0,
                    "replies": None if a is None else {"texts": list(a.replies), "answered": True},
                    "plan": None if a is None else a.plan,
                }
                for m, a in zip(new, answers, strict=True)
            ]
            inserted = conn.execute(self._insert, rows) if rows else ()
            ids = {(r.channel, r.external_id): int(r.id) for r in inserted}
            for n, a in zip(fresh.values(), answers, strict=True):
                m = messages[n]
                row_id = ids[(m.channel, m.external_id)]
                out[n] = Stored(
                    id=row_id,
                    channel=m.channel,
                    external_id=m.external_id,
                    chat=m.chat,
                    raw=m.raw,
                    received_at=now,
                    processed_at=None,
                    replies=None if a is None else a.replies,
                    answered=a is not None,
                    incident=None,
                    failures=0,
                    plan=None if a is None else a.plan,
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

    def due(
        self,
        limit: int = 200,
        *,
        stored_before: datetime | None = None,
        answered_only: bool = False,
    ) -> list[Stored]:
        """Unprocessed messages, oldest first, not set aside after repeated failures; only
        those stored before ``stored_before`` when given (another process's, left
        behind); with ``answered_only``, only those answered at intake (the workers'
        share: the others are processed where their webhook waits)."""
        c = t.inbound_messages.c
        where = [c.processed_at.is_(None), c.failures < MAX_FAILURES]
        if stored_before is not None:
            where.append(c.received_at < stored_before)
        if answered_only:
            where.append(c.plan.is_not(None))
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.inbound_messages).where(*where).order_by(c.id).limit(limit)
            ).all()
        return [_stored(r) for r in rows]

    def earlier(self, messages: Sequence[Stored]) -> list[Stored]:
        """``messages`` with the unprocessed messages of their chats stored before them
        (answered at intake and not processed yet: they go first, in order), oldest
        first."""
        if not messages:
            return []
        c = t.inbound_messages.c
        found = {m.id: m for m in messages}
        with self.db.read() as conn:
            for channel in sorted({m.channel for m in messages}):
                chats = sorted({m.chat for m in messages if m.channel == channel})
                last = max(m.id for m in messages if m.channel == channel)
                for row in conn.execute(
                    select(t.inbound_messages).where(
                        c.channel == channel,
                        c.chat.in_(chats),
                        c.id < last,
                        c.processed_at.is_(None),
                        c.failures < MAX_FAILURES,
                    )
                ):
                    found.setdefault(row.id, _stored(row))
        return sorted(found.values(), key=lambda m: m.id)

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
