"""What a Telegram update does once stored: a responder's button or reply to an alert
(it acknowledges for the agency, or declines), a chat blocking or unblocking the bot, or
a citizen's step through the guided report (:mod:`channels.conversation.telegram`),
whose messages go out through the outbox. The conversation's state is the chat's row,
saved in the transaction that applies its step."""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from channels import texts
from channels.conversation import telegram as machine
from channels.conversation.models import (
    AskStatus,
    Cancelled,
    Event,
    FileReport,
    Message,
    Step,
    TelegramState,
)
from channels.telegram import updates as tg
from channels.telegram.errors import BadUpdate
from channels.texts import Channel
from routing.geo import where_phrase
from routing.inbox import Stored
from routing.models import AckMethod, Medium
from routing.normalise import read_message
from routing.outbox import Outgoing, Purpose
from routing.reading import Reading
from routing.resolve import DistrictSource, resolve
from routing.text import printable
from voicebridge.citizens.intake import Processed
from voicebridge.citizens.reports import Filing
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ACTOR = "citizen:telegram"
ALERT_ANSWERS = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True, slots=True)
class Answered:
    """A responder's answer, taken before the intake's transaction (prepare)."""

    reply: str | None  # a message to the chat
    button: str | None  # the answer to the pressed button, if one was pressed
    incident: str | None


class TelegramProcessor:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.filing = Filing(rt, channel=Channel.TELEGRAM)

    def prepare(self, message: Stored, now: datetime) -> Answered | None:
        """A responder's button (``ack:``/``dec:`` and its alert's ref) or reply: the
        agency's answer, through the contact ledger (taking it twice changes nothing).
        A button counts only from the chat its alert went to."""
        try:
            parsed = tg.parse_update(message.raw)
        except BadUpdate:
            return None
        ledger = self.rt.calls.contacts
        if isinstance(parsed, tg.Button):
            pressed = texts.responder_button(parsed.data)
            if pressed is None:
                return None
            answer, ref = pressed
            alert = ledger.alert(ref)
            chat = str(parsed.chat_id)
            if alert is None or alert.medium is not Medium.TELEGRAM or alert.address != chat:
                incident = alert.incident if alert else ""
                text = texts.responder_not_target(Channel.TELEGRAM, incident)
                return Answered(reply=None, button=text[:200], incident=None)
            said = "el botón «Confirmo»" if answer == "accept" else "el botón «No puedo»"
            return self._answer(alert.ref, alert.incident, alert.waiting, answer, said, button=True)
        if isinstance(parsed, tg.Text):
            alert = ledger.alerted(Medium.TELEGRAM, str(parsed.chat_id), now - ALERT_ANSWERS)
            replied = texts.responder_answer(parsed.text)
            if alert is None or replied is None:
                return None  # a citizen's words
            said = f"«{printable(parsed.text)[:40]}»"
            return self._answer(alert.ref, alert.incident, alert.waiting, replied, said)
        return None

    def _answer(
        self,
        ref: str,
        incident: str,
        waiting: bool,
        answer: str,
        said: str,
        *,
        button: bool = False,
    ) -> Answered:
        ledger = self.rt.calls.contacts
        if not waiting:
            reply = texts.responder_too_late(Channel.TELEGRAM, incident)
        elif answer == "accept":
            ledger.acknowledged(ref, AckMethod.TELEGRAM, f"respondió {said} por Telegram")
            reply = texts.responder_confirmed(Channel.TELEGRAM, incident)
        else:
            ledger.declined(ref, f"respondió {said} por Telegram")
            reply = texts.responder_declined(Channel.TELEGRAM, incident)
        return Answered(reply=reply, button=reply[:200] if button else None, incident=incident)

    def process(
        self,
        conn: Connection,
        message: Stored,
        now: datetime,
        *,
        answering: bool,
        prepared: object,
    ) -> Processed:
        parsed = tg.parse_update(message.raw)
        chat = tg.chat_key(parsed)
        out = _Out(message.id, chat)
        if isinstance(prepared, Answered):
            if isinstance(parsed, tg.Button):
                out.answer(parsed.callback_query_id, prepared.button)
            if prepared.reply:
                out.send(Message(text=prepared.reply))
            return self._done(conn, out, prepared.incident, now)
        rt = self.rt
        if isinstance(parsed, tg.Blocked):
            rt.chats.lock(conn, CHANNEL, str(parsed.chat_id), now)
            rt.chats.block(conn, CHANNEL, str(parsed.chat_id), "bloqueó al bot", now)
            return Processed()
        if isinstance(parsed, tg.Unblocked):
            rt.chats.lock(conn, CHANNEL, str(parsed.chat_id), now)
            rt.chats.reachable(conn, CHANNEL, str(parsed.chat_id), now)
            return Processed()
        event = _event(parsed)
        if event is None or chat is None or chat.startswith("-"):
            if isinstance(parsed, tg.Button):  # a button of no conversation: stop its spinner
                out.answer(parsed.callback_query_id, texts.TG_STALE)
            return self._done(conn, out, None, now)
        row = rt.chats.lock(conn, CHANNEL, chat, now)
        if row.unreachable_at is not None:  # writing again after a block: reachable again
            rt.chats.reachable(conn, CHANNEL, chat, now)
        state = _state(row.state, chat)
        if isinstance(parsed, tg.SharedLocation) and "edited_message" in message.raw:
            # a live location moving: the draft's point follows it, without a turn
            if state.step is not Step.IDLE and state.lat is not None:
                moved = replace(state, lat=parsed.lat, lon=parsed.lon)
                rt.chats.save(conn, CHANNEL, chat, moved.to_data(), now)
            return self._done(conn, out, None, now)
        turn = machine.step(
            state,
            event,
            now,
            read_message,
            prefix=rt.settings.incident_prefix,
            arrived=message.received_at,
        )
        if isinstance(parsed, tg.Button):
            out.answer(parsed.callback_query_id, turn.answer)
        for m in turn.messages:
            out.send(m)
        incident: str | None = None
        new_state = turn.state
        action = turn.action
        if isinstance(action, AskStatus):
            out.send(Message(text=self.filing.status(conn, action.incident_id, chat)))
        elif isinstance(action, FileReport):
            reading = self._placed(action.reading, action.lat, action.lon)
            report = self.filing.report(
                text=action.text,
                reading=reading,
                external_id=message.external_id,
                handle=chat,
                name=_sender_name(message.raw),
                lat=action.lat,
                lon=action.lon,
                payload={"photo": action.photo_file_id} if action.photo_file_id else {},
                # a draft begun before the state kept its start: this message's arrival
                began_at=action.began_at or message.received_at,
            )
            result = self.filing.file(conn, reading, report, actor=ACTOR)
            incident = result.incident.id
            receipt = machine.filed(new_state, incident_id=incident, joined=result.joined, now=now)
            new_state = receipt.state
            for m in receipt.messages:
                out.send(m)
        elif isinstance(action, Cancelled):
            pass  # the draft is dropped with the state; its message says so
        rt.chats.save(conn, CHANNEL, chat, new_state.to_data(), now)
        return self._done(conn, out, incident, now)

    def _placed(self, reading: Reading, lat: float | None, lon: float | None) -> Reading:
        """The reading with the district of the shared point (which wins over words, as
        for every report); a point outside Lima Metropolitana leaves the words' district
        and says where it fell."""
        if lat is None or lon is None:
            return reading
        where = resolve(self.rt.outlines, lat=lat, lon=lon)
        if where.source is DistrictSource.POINT:
            return replace(
                reading,
                district=where.district,
                district_source=where.source.value,
                district_note=where.detail,
            )
        if where.outside is not None:
            note = f"El punto compartido ({lat:.5f}, {lon:.5f}) cae {where_phrase(where.outside)}."
            return replace(reading, district_note=f"{reading.district_note} {note}".strip())
        return reading

    def _done(
        self, conn: Connection, out: "_Out", incident: str | None, now: datetime
    ) -> Processed:
        row = self.filing.row_of(conn, incident) if incident else None
        if out.messages:
            self.rt.outbox.add(conn, out.outgoing(row), now)
        return Processed(replies=tuple(m.body for m in out.messages if m.body), incident=incident)


def _state(data: dict[str, Any], chat: str) -> TelegramState:
    """The chat's stored conversation; one that cannot be read (written by another
    version) starts over rather than failing every message of the chat."""
    if not data:
        return TelegramState()
    try:
        return TelegramState.from_data(data)
    except ValueError:
        log.warning("telegram chat %s: unreadable conversation state, started over", chat)
        return TelegramState()


def _sender_name(raw: dict[str, Any]) -> str | None:
    """The first name of who sent the update (a message's or a button press's sender)."""
    for kind in ("message", "callback_query"):
        part = raw.get(kind)
        sender = part.get("from") if isinstance(part, dict) else None
        name = sender.get("first_name") if isinstance(sender, dict) else None
        if isinstance(name, str) and name.strip():
            return name
    return None


def _event(parsed: tg.Parsed) -> Event | None:
    """The conversation's input for an update, None for what it does not take."""
    if isinstance(parsed, tg.Command):
        return machine.Command(name=parsed.command, args=" ".join(parsed.args))
    if isinstance(parsed, tg.Text):
        return machine.Text(text=parsed.text)
    if isinstance(parsed, tg.SharedLocation):
        return machine.Location(lat=parsed.lat, lon=parsed.lon)
    if isinstance(parsed, tg.Photo):
        return machine.Photo(file_id=parsed.file_id, caption=parsed.caption)
    if isinstance(parsed, tg.Button):
        return machine.Button(data=parsed.data)
    if isinstance(parsed, tg.Unsupported | tg.SharedContact):  # the step is asked again
        return machine.Text(text="")
    return None


class _Out:
    """The messages a step sends, in order, each once (its key: the update's row and
    its place among them)."""

    def __init__(self, inbound_id: int, chat: str | None) -> None:
        self.inbound_id = inbound_id
        self.chat = chat or ""
        self.messages: list[Outgoing] = []

    def _key(self) -> str:
        return f"tg-{self.inbound_id}-{len(self.messages)}"

    def send(self, m: Message) -> None:
        self.messages.append(
            Outgoing(
                key=self._key(),
                channel=CHANNEL,
                chat=self.chat,
                purpose=Purpose.REPLY,
                body=m.text,
                buttons=m.buttons or None,
                location_button=m.request_location,
                remove_keyboard=m.remove_keyboard,
            )
        )

    def answer(self, callback_query_id: str, text: str | None) -> None:
        self.messages.append(
            Outgoing(
                key=self._key(),
                channel=CHANNEL,
                chat=self.chat,
                purpose=Purpose.REPLY,
                body=text or "",
                answers=callback_query_id,
            )
        )

    def outgoing(self, incident_row: int | None) -> list[Outgoing]:
        return [
            Outgoing(
                key=m.key,
                channel=m.channel,
                chat=m.chat,
                purpose=m.purpose,
                body=m.body,
                incident_row=incident_row,
                buttons=m.buttons,
                location_button=m.location_button,
                remove_keyboard=m.remove_keyboard,
                answers=m.answers,
            )
            for m in self.messages
        ]
