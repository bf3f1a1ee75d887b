"""The chats and numbers the citizens' channels talk with: each one's conversation state
(kept in the database, so a restart in the middle of a conversation continues it), and
whether it may be written to: not after the number sent PARA (until INICIO), not after
the chat blocked the bot (until it comes back)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from routing import schema as t
from routing.db import Database


@dataclass(frozen=True, kw_only=True, slots=True)
class Chat:
    channel: str
    chat: str
    state: dict[str, Any]
    opted_out_at: datetime | None
    unreachable_at: datetime | None
    unreachable_cause: str | None

    @property
    def writable(self) -> bool:
        return self.opted_out_at is None and self.unreachable_at is None


class Chats:
    def __init__(self, db: Database) -> None:
        self.db = db
        dialect_insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        self._ensure = dialect_insert(t.citizen_chats).on_conflict_do_nothing(
            index_elements=["channel", "chat"]
        )

    def lock(self, conn: Connection, channel: str, chat: str, now: datetime) -> Chat:
        """In a write transaction: the chat's row, created if new, locked until the
        transaction ends (another replica processing the same chat waits for it)."""
        conn.execute(
            self._ensure, {"channel": channel, "chat": chat, "state": {}, "updated_at": now}
        )
        c = t.citizen_chats.c
        query = select(t.citizen_chats).where(c.channel == channel, c.chat == chat)
        if self.db.dialect == "postgresql":
            query = query.with_for_update()
        return _chat(conn.execute(query).one())

    def lock_many(
        self, conn: Connection, channel: str, chats: Collection[str], now: datetime
    ) -> dict[str, Chat]:
        """:meth:`lock` for many chats of a channel at once (one statement when they all
        exist, three when some are new)."""
        if not chats:
            return {}
        c = t.citizen_chats.c
        wanted = sorted(set(chats))
        query = select(t.citizen_chats).where(c.channel == channel, c.chat.in_(wanted))
        if self.db.dialect == "postgresql":
            query = query.order_by(c.chat).with_for_update()
        found = {row.chat: _chat(row) for row in conn.execute(query)}
        missing = [chat for chat in wanted if chat not in found]
        if missing:
            conn.execute(
                self._ensure,
                [
                    {"channel": channel, "chat": ch, "state": {}, "updated_at": now}
                    for ch in missing
                ],
            )
            # new rows, or another replica's created a moment ago: read (and lock) them
            again = query.where(c.chat.in_(missing))
            found |= {row.chat: _chat(row) for row in conn.execute(again)}
        return found

    def save_many(
        self, conn: Connection, channel: str, chats: Sequence[Chat], now: datetime
    ) -> None:
        """Write the state and opt-out of ``chats`` (locked by :meth:`lock_many`), in one
        statement."""
        if not chats:
            return
        c = t.citizen_chats.c
        conn.execute(
            update(t.citizen_chats)
            .where(c.channel == bindparam("b_channel"), c.chat == bindparam("b_chat"))
            .values(
                state=bindparam("b_state"),
                opted_out_at=bindparam("b_opted_out_at"),
                updated_at=now,
            ),
            [
                {
                    "b_channel": channel,
                    "b_chat": chat.chat,
                    "b_state": chat.state,
                    "b_opted_out_at": chat.opted_out_at,
                }
                for chat in chats
            ],
        )

    def get(self, channel: str, chat: str) -> Chat | None:
        c = t.citizen_chats.c
        with self.db.read() as conn:
            row = conn.execute(
                select(t.citizen_chats).where(c.channel == channel, c.chat == chat)
            ).first()
        return None if row is None else _chat(row)

    def save(
        self, conn: Connection, channel: str, chat: str, state: dict[str, Any], now: datetime
    ) -> None:
        self._set(conn, channel, chat, now, state=state)

    def opt_out(self, conn: Connection, channel: str, chat: str, now: datetime) -> None:
        self._set(conn, channel, chat, now, opted_out_at=now)

    def opt_in(self, conn: Connection, channel: str, chat: str, now: datetime) -> None:
        self._set(conn, channel, chat, now, opted_out_at=None)

    def unreachable(self, channel: str, chat: str, cause: str, now: datetime) -> None:
        """Nothing more is sent there (a blocked bot, a permanent delivery failure)."""
        with self.db.write() as conn:
            self.lock(conn, channel, chat, now)
            self.block(conn, channel, chat, cause, now)

    def block(self, conn: Connection, channel: str, chat: str, cause: str, now: datetime) -> None:
        """:meth:`unreachable` in the caller's transaction (the chat's row locked)."""
        self._set(conn, channel, chat, now, unreachable_at=now, unreachable_cause=cause[:500])

    def reachable(self, conn: Connection, channel: str, chat: str, now: datetime) -> None:
        self._set(conn, channel, chat, now, unreachable_at=None, unreachable_cause=None)

    def _set(self, conn: Connection, channel: str, chat: str, now: datetime, **values: Any) -> None:
        c = t.citizen_chats.c
        conn.execute(
            update(t.citizen_chats)
            .where(c.channel == channel, c.chat == chat)
            .values(updated_at=now, **values)
        )


def _chat(row: Any) -> Chat:
    return Chat(
        channel=row.channel,
        chat=row.chat,
        state=dict(row.state),
        opted_out_at=row.opted_out_at,
        unreachable_at=row.unreachable_at,
        unreachable_cause=row.unreachable_cause,
    )
