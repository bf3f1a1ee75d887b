"""The outbox of messages: every message voicebridge sends through a channel (a reply to
a citizen, a citizen's news, a responder's alert), with what the channel said of it.

A message is recorded in the transaction of the change that calls for it, once per key
(the same news is never recorded twice), together with the task that sends it; the send
job reports back here: sent (with the channel's id), delivered, undelivered or failed
(with the channel's error code), held back (the number sent PARA, the chat blocked the
bot), or to be tried again later. Every step of a message about an incident is an event
in that incident's log.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite

from routing import schema as t
from routing.db import Database
from routing.events import MessageSent, MessageStatus, event
from routing.models import Task
from routing.ports import Clock, SystemClock
from routing.store import IncidentStore

SENDER = "system:mensajería"


class Purpose(StrEnum):
    REPLY = "reply"  # an answer to what a citizen or responder wrote
    NEWS = "news"  # a citizen told how their incident advances
    ALERT = "alert"  # a responder alerted (a contact of the ledger)
    SUPERVISION = "supervision"  # the supervisors told of a failing line


class MessageState(StrEnum):
    QUEUED = "queued"  # to be sent (again, after a retryable failure)
    SENT = "sent"  # the channel took it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    HELD = "held"  # never sent: the number asked for no messages, the chat blocked us

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def final(self) -> bool:
        return self in (MessageState.DELIVERED, MessageState.FAILED, MessageState.HELD)


_LABELS = {
    MessageState.QUEUED: "en cola",
    MessageState.SENT: "enviado",
    MessageState.DELIVERED: "entregado",
    MessageState.UNDELIVERED: "no entregado",
    MessageState.FAILED: "falló",
    MessageState.HELD: "retenido",
}

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, data)


@dataclass(frozen=True, kw_only=True, slots=True)
class Outgoing:
    key: str  # unique: the same key is recorded once (news once each, a reply once)
    channel: str
    chat: str
    purpose: Purpose
    body: str
    incident_row: int | None = None
    contact: str | None = None  # the contact ledger's ref of an alert
    buttons: Buttons | None = None
    # Telegram: a keyboard button with this label that shares the location
    location_button: str | None = None
    remove_keyboard: bool = False  # Telegram: take such a keyboard away
    answers: str | None = None  # Telegram: the pressed button (callback query) answered


@dataclass(frozen=True, kw_only=True, slots=True)
class OutMessage:
    id: int
    key: str
    channel: str
    chat: str
    purpose: Purpose
    body: str
    incident_row: int | None
    incident: str | None  # its public id
    contact: str | None
    buttons: Buttons | None
    location_button: str | None
    remove_keyboard: bool
    answers: str | None
    state: MessageState
    provider_id: str | None
    tries: int
    error_code: int | None
    cause: str | None


def send_task(message_id: int, number: int, not_before: datetime | None = None) -> Task:
    """The job that sends message ``message_id``, its ``number``-th time in the queue."""
    return Task(
        key=f"msg-{message_id}--send--{number}",
        name="send_message",
        args={"message_id": message_id, "number": number},
        not_before=not_before,
    )


class Outbox:
    def __init__(
        self, db: Database, incidents: IncidentStore, *, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.incidents = incidents
        self.clock: Clock = clock or SystemClock()
        dialect_insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        self._insert = (
            dialect_insert(t.outbound_messages)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(t.outbound_messages.c.id)
        )

    def add(
        self,
        conn: Connection,
        messages: Sequence[Outgoing],
        now: datetime,
        *,
        answered: bool = False,
    ) -> list[int]:
        """Record messages and the tasks that send them, in the caller's transaction; a
        message whose key is recorded already is not recorded again. The new ids.

        ``answered``: the messages went already, in the channel's answer to the webhook
        (an SMS's TwiML reply): recorded as sent, with their event, and no task."""
        added: list[int] = []
        state = MessageState.SENT if answered else MessageState.QUEUED
        for m in messages:
            row_id = conn.execute(
                self._insert,
                {
                    "key": m.key,
                    "channel": m.channel,
                    "chat": m.chat,
                    "purpose": m.purpose.value,
                    "incident_id": m.incident_row,
                    "contact": m.contact,
                    "body": m.body,
                    "buttons": _buttons_data(m),
                    "state": state.value,
                    "tries": 1 if answered else 0,
                    "sends": 0 if answered else 1,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar()
            if row_id is None:
                continue
            added.append(int(row_id))
            if answered and m.incident_row is not None:
                self.incidents.log(
                    conn,
                    m.incident_row,
                    now,
                    event(
                        MessageSent(
                            message=int(row_id), channel=m.channel, purpose=m.purpose.value
                        ),
                        actor=SENDER,
                        cause=f"respuesta al ciudadano, en la respuesta a su {_channel(m.channel)}",
                    ),
                )
        if not answered:
            self.incidents.add_tasks(conn, [send_task(i, 1) for i in added], now)
        return added

    def record(self, messages: Sequence[Outgoing]) -> list[int]:
        """:meth:`add` in a transaction of its own."""
        now = self.clock.now()
        with self.db.write() as conn:
            return self.add(conn, messages, now)

    def get(self, message_id: int) -> OutMessage | None:
        with self.db.read() as conn:
            return self._get(conn, message_id)

    def by_provider_id(self, channel: str, provider_id: str) -> OutMessage | None:
        c = t.outbound_messages.c
        with self.db.read() as conn:
            row_id = conn.execute(
                select(c.id).where(c.channel == channel, c.provider_id == provider_id)
            ).scalar()
            return None if row_id is None else self._get(conn, int(row_id))

    def of_incident(self, incident_row: int) -> list[OutMessage]:
        c = t.outbound_messages.c
        with self.db.read() as conn:
            ids = conn.execute(
                select(c.id).where(c.incident_id == incident_row).order_by(c.id)
            ).scalars()
            return [m for i in list(ids) if (m := self._get(conn, int(i))) is not None]

    def sent(self, message_id: int, provider_id: str | None) -> OutMessage | None:
        """The channel took the message (its id there: Twilio's sid, Telegram's
        message_id). None if it was not queued (sent already: a job run twice)."""
        now = self.clock.now()
        c = t.outbound_messages.c
        with self.db.write() as conn:
            done = conn.execute(
                update(t.outbound_messages)
                .where(c.id == message_id, c.state == MessageState.QUEUED.value)
                .values(
                    state=MessageState.SENT.value,
                    provider_id=provider_id,
                    tries=c.tries + 1,
                    updated_at=now,
                )
                .returning(c.id)
            ).first()
            if done is None:
                return None
            message = self._get(conn, message_id)
            assert message is not None  # noqa: S101 - updated just above
            if message.incident_row is not None:
                self.incidents.log(
                    conn,
                    message.incident_row,
                    now,
                    event(
                        MessageSent(
                            message=message.id,
                            channel=message.channel,
                            purpose=message.purpose.value,
                            provider_id=provider_id,
                            contact=message.contact,
                        ),
                        actor=SENDER,
                        cause=f"{_what(message)} enviado por {_channel(message.channel)}",
                    ),
                )
            return message

    def settle(
        self,
        message_id: int,
        state: MessageState,
        *,
        error_code: int | None = None,
        cause: str = "",
        retry_in: timedelta | None = None,
        tried: bool = True,
    ) -> OutMessage | None:
        """What became of the message: delivered, undelivered or failed (with the
        channel's error code and why), or held back. With ``retry_in`` it is queued
        again and a new send task is recorded for then. ``tried``: the channel was
        asked (a try counted) rather than the message being refused before. None when
        the report changes nothing (the message is final already, or in that state)."""
        now = self.clock.now()
        c = t.outbound_messages.c
        with self.db.write() as conn:
            before = self._get(conn, message_id)
            if before is None or before.state.final or before.state is state:
                return None
            next_state = MessageState.QUEUED if retry_in is not None else state
            conn.execute(
                update(t.outbound_messages)
                .where(c.id == message_id)
                .values(
                    state=next_state.value,
                    error_code=error_code,
                    cause=cause[:1000] or None,
                    tries=c.tries + (1 if tried and before.state is MessageState.QUEUED else 0),
                    updated_at=now,
                )
            )
            message = self._get(conn, message_id)
            assert message is not None  # noqa: S101 - read just above
            if retry_in is not None:
                self.later(conn, message_id, now + retry_in, now)
            if message.incident_row is not None:
                told = f"{_what(message)}: {state.label}"
                if cause:
                    told += f" ({cause})"
                if retry_in is not None:
                    told += f"; se reintenta en {int(retry_in.total_seconds())} s"
                self.incidents.log(
                    conn,
                    message.incident_row,
                    now,
                    event(
                        MessageStatus(
                            message=message.id,
                            channel=message.channel,
                            state=state.value,
                            error_code=error_code,
                            contact=message.contact,
                        ),
                        actor=SENDER,
                        cause=told,
                    ),
                )
            return message

    def later(self, conn: Connection, message_id: int, when: datetime, now: datetime) -> None:
        """Record another task that sends the message at ``when`` (a retry, or a wait
        for the channel's rate limit)."""
        c = t.outbound_messages.c
        number = conn.execute(
            update(t.outbound_messages)
            .where(c.id == message_id)
            .values(sends=c.sends + 1)
            .returning(c.sends)
        ).scalar_one()
        self.incidents.add_tasks(conn, [send_task(message_id, int(number), when)], now)

    def wait(self, message_id: int, seconds: float) -> None:
        """Send the queued message again in ``seconds`` (the channel's rate limit): not a
        try, nothing in the log."""
        now = self.clock.now()
        with self.db.write() as conn:
            self.later(conn, message_id, now + timedelta(seconds=seconds), now)

    def _get(self, conn: Connection, message_id: int) -> OutMessage | None:
        c = t.outbound_messages.c
        row = conn.execute(
            select(t.outbound_messages, t.incidents.c.public_id)
            .outerjoin(t.incidents, t.incidents.c.id == c.incident_id)
            .where(c.id == message_id)
        ).first()
        return None if row is None else _message(row)


def _buttons_data(m: Outgoing) -> dict[str, Any] | None:
    if m.buttons is None and not (m.location_button or m.remove_keyboard or m.answers):
        return None
    data: dict[str, Any] = {}
    if m.buttons is not None:
        data["rows"] = [[list(b) for b in row] for row in m.buttons]
    if m.location_button:
        data["location"] = m.location_button
    if m.remove_keyboard:
        data["remove"] = True
    if m.answers:
        data["answers"] = m.answers
    return data


def _message(row: Row[Any]) -> OutMessage:
    data = row.buttons or {}
    rows = data.get("rows")
    return OutMessage(
        id=row.id,
        key=row.key,
        channel=row.channel,
        chat=row.chat,
        purpose=Purpose(row.purpose),
        body=row.body,
        incident_row=row.incident_id,
        incident=row.public_id,
        contact=row.contact,
        buttons=None if rows is None else tuple(tuple((b[0], b[1]) for b in r) for r in rows),
        location_button=data.get("location"),
        remove_keyboard=bool(data.get("remove", False)),
        answers=data.get("answers"),
        state=MessageState(row.state),
        provider_id=row.provider_id,
        tries=row.tries,
        error_code=row.error_code,
        cause=row.cause,
    )


def _channel(channel: str) -> str:
    return {"sms": "SMS", "telegram": "Telegram"}.get(channel, channel)


def _what(message: OutMessage) -> str:
    return {
        Purpose.REPLY: "respuesta al ciudadano",
        Purpose.NEWS: "aviso al ciudadano",
        Purpose.ALERT: "alerta a la entidad",
    }[message.purpose]
