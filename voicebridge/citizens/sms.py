"""What an SMS does: a responder's answer to an alert (1/SI/OK accepts for its agency,
2/NO declines), or a citizen's message through the SMS conversation (a report filed on
a new incident or joined to the open one of the same event, what it lacked filled in by
the next message, ESTADO, PARA/INICIO, AYUDA).

A citizen's SMS is answered in the transaction that stores it (:class:`SmsAnswerer`):
the conversation's step runs there, on the number's state, and a new report gets its
incident number there (reserved), so the TwiML reply never waits for the filing, which
the workers do after (:meth:`SmsProcessor.process` carries out the stored plan). When
the filing finds the report is of an incident already open for the same event, the
number it was given becomes an alias of that incident and the citizen is told by a
message of its own. ESTADO and a responder's answer are not answered at intake: their
processing answers them (the webhook waits for it).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from channels import texts
from channels.conversation.models import (
    AddToIncident,
    AskStatus,
    FileReport,
    OptIn,
    OptOut,
    SmsState,
)
from channels.conversation.sms import filed, step
from channels.texts import Channel
from routing.chats import Chat
from routing.inbox import Answer, Inbound, Stored
from routing.models import AckMethod, Medium, NewReport
from routing.normalise import read_message
from routing.outbox import Outgoing, Purpose
from routing.phones import to_e164
from routing.reading import Reading
from routing.text import printable
from voicebridge.citizens.intake import Processed
from voicebridge.citizens.reports import Filing
from voicebridge.runtime import Runtime

CHANNEL = "sms"
ACTOR = "citizen:sms"
ALERT_ANSWERS = timedelta(hours=24)  # how long after an alert a "1" from there answers it


@dataclass(frozen=True, kw_only=True, slots=True)
class Answered:
    """A responder's reply, taken before the intake's transaction (prepare)."""

    reply: str
    incident: str


def _field(message: Stored | Inbound, name: str) -> str:
    values = message.raw.get(name) or [""]
    return str(values[0])


# the plans an answer at intake leaves for the processing (``plan["do"]``)
FILE, ADD, NOTHING = "file", "add", "nothing"


class SmsAnswerer:
    """Answers citizens' SMS in the transaction that stores them (the inbox's answer
    hook): the conversation's step on the number's state, opt-out and opt-in recorded,
    a new report's incident number reserved; the state saved. A message from a number
    an alert went to (a responder's answer, maybe) and ESTADO are left to the
    processing (None)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def __call__(
        self, conn: Connection, messages: Sequence[Inbound], now: datetime
    ) -> list[Answer | None]:
        rt = self.rt
        senders = [_field(m, "From") for m in messages]
        alerted = rt.calls.contacts.alerted_among(conn, Medium.SMS, senders, now - ALERT_ANSWERS)
        chats = rt.chats.lock_many(conn, CHANNEL, set(senders) - alerted, now)
        before = dict(chats)
        numbers = rt.store.reserve_ids(conn)
        out: list[Answer | None] = []
        for message, sender in zip(messages, senders, strict=True):
            chat = chats.get(sender)
            answered = None if chat is None else self._answer(message, chat, now, numbers.take)
            if answered is None:
                out.append(None)
                continue
            chats[sender], answer = answered
            out.append(answer)
        numbers.close()
        changed = [chat for key, chat in chats.items() if chat != before[key]]
        rt.chats.save_many(conn, CHANNEL, changed, now)
        return out

    def _answer(
        self, message: Inbound, chat: Chat, now: datetime, reserve: Callable[[], str]
    ) -> tuple[Chat, Answer] | None:
        state = SmsState.from_data(chat.state) if chat.state else SmsState()
        body = _field(message, "Body")
        turn = step(state, body, now, read_message, prefix=self.rt.settings.incident_prefix)
        action, reply, new_state = turn.action, turn.reply, turn.state
        plan: dict[str, Any] = {"do": NOTHING}
        opted_out = chat.opted_out_at is not None
        if isinstance(action, AskStatus):
            return None  # the processing reads the incident, in the number's turn
        if isinstance(action, OptOut):
            chat = replace(chat, opted_out_at=chat.opted_out_at or now)
        elif isinstance(action, OptIn):
            chat = replace(chat, opted_out_at=None)
            opted_out = False
        elif isinstance(action, FileReport):
            number = reserve()
            done = filed(state, action, incident_id=number, now=now)
            reply, new_state = done.reply, done.state
            plan = {"do": FILE, "incident": number}
        elif isinstance(action, AddToIncident):
            done = filed(state, action, incident_id=action.incident_id, now=now)
            reply, new_state = done.reply, done.state
            plan = {"do": ADD, "incident": action.incident_id}
        if new_state != state:
            chat = replace(chat, state=new_state.to_data())
        if opted_out and not isinstance(action, OptOut):
            replies: tuple[str, ...] = ()  # it asked for no messages
        elif isinstance(action, OptOut | OptIn) and _field(message, "OptOutType"):
            replies = ()  # Twilio's Advanced Opt-Out answered the keyword itself
        else:
            replies = (reply,) if reply else ()
        return chat, Answer(replies=replies, plan=plan)


class SmsProcessor:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.filing = Filing(rt, channel=Channel.SMS)

    def prepare(self, message: Stored, now: datetime) -> Answered | None:
        """A reply from a number an alert went to: the agency's answer, through the
        contact ledger (its own transactions; taking it twice changes nothing)."""
        sender, body = _field(message, "From"), _field(message, "Body")
        alert = self.rt.calls.contacts.alerted(Medium.SMS, sender, now - ALERT_ANSWERS)
        if alert is None:
            return None
        answer = texts.responder_answer(body)
        if not alert.waiting:
            if answer is None:
                return None  # not an answer: the number writes as a citizen
            return Answered(
                reply=texts.responder_too_late(Channel.SMS, alert.incident),
                incident=alert.incident,
            )
        said = printable(body)[:40]
        ledger = self.rt.calls.contacts
        if answer == "accept":
            ledger.acknowledged(alert.ref, AckMethod.SMS, f"respondió «{said}» por SMS")
            reply = texts.responder_confirmed(Channel.SMS, alert.incident)
        elif answer == "decline":
            ledger.declined(alert.ref, f"respondió «{said}» por SMS")
            reply = texts.responder_declined(Channel.SMS, alert.incident)
        else:
            reply = texts.responder_not_understood(Channel.SMS, alert.incident)
        return Answered(reply=reply, incident=alert.incident)

    def process(
        self,
        conn: Connection,
        message: Stored,
        now: datetime,
        *,
        answering: bool,
        prepared: object,
    ) -> Processed:
        sender = _field(message, "From")
        if message.plan is not None:
            return self._carry_out(conn, message, message.plan, now)
        if isinstance(prepared, Answered):
            return self._replied(conn, message, (prepared.reply,), prepared.incident, answering)
        rt = self.rt
        chat = rt.chats.lock(conn, CHANNEL, sender, now)
        state = SmsState.from_data(chat.state) if chat.state else SmsState()
        body = _field(message, "Body")
        turn = step(state, body, now, read_message, prefix=rt.settings.incident_prefix)
        action, reply, new_state = turn.action, turn.reply, turn.state
        incident: str | None = None
        opted_out = chat.opted_out_at is not None
        if isinstance(action, OptOut):
            rt.chats.opt_out(conn, CHANNEL, sender, now)
        elif isinstance(action, OptIn):
            rt.chats.opt_in(conn, CHANNEL, sender, now)
            opted_out = False
        elif isinstance(action, AskStatus):
            reply = self.filing.status(conn, action.incident_id, sender)
        elif isinstance(action, AddToIncident | FileReport):
            report = self._report(message, action.reading, action.text)
            if isinstance(action, AddToIncident):
                added = self.filing.add_to(conn, action, report, actor=ACTOR)
                if added is None:  # that incident can take no more: a report of its own
                    action = FileReport(reading=action.reading, text=action.text)
                else:
                    incident = added
            if isinstance(action, FileReport):
                result = self.filing.file(conn, action.reading, report, actor=ACTOR)
                incident = result.incident.id
                done = filed(state, action, incident_id=incident, joined=result.joined, now=now)
            else:
                assert incident is not None  # noqa: S101 - set above
                done = filed(state, action, incident_id=incident, now=now)
            reply, new_state = done.reply, done.state
        if new_state != state:
            rt.chats.save(conn, CHANNEL, sender, new_state.to_data(), now)
        if opted_out and not isinstance(action, OptOut):
            return Processed(replies=(), incident=incident)  # it asked for no messages
        if isinstance(action, OptOut | OptIn) and _field(message, "OptOutType"):
            # Twilio's Advanced Opt-Out took the keyword and answered it itself (a reply
            # of ours to a number that just opted out would be refused, 21610)
            return Processed(replies=(), incident=incident)
        replies = (reply,) if reply else ()
        return self._replied(conn, message, replies, incident, answering)

    def _carry_out(
        self, conn: Connection, message: Stored, plan: dict[str, Any], now: datetime
    ) -> Processed:
        """What the intake answered this SMS with, done: its report filed under the
        number the reply gave (or that number made an alias of the incident it joined,
        and the citizen told), or added to the incident it completes (or, that incident
        ended meanwhile, filed on its own, and the citizen told); the reply recorded."""
        replies = message.replies or ()
        incident: str | None = None
        told: list[str] = []
        if plan["do"] in (FILE, ADD):
            number = str(plan["incident"])
            body = _field(message, "Body")
            reading = read_message(body)  # as the intake's step read it
            report = self._report(message, reading, body)
            if plan["do"] == FILE:
                result = self.filing.file(conn, reading, report, actor=ACTOR, public_id=number)
                incident = result.incident.id
                if result.joined:
                    told.append(texts.report_joined_later(Channel.SMS, number, incident))
            else:
                target = self.rt.store.resolve(conn, number)
                action = AddToIncident(
                    incident_id=target or number, reading=reading, text=body, still_missing=()
                )
                incident = self.filing.add_to(conn, action, report, actor=ACTOR) if target else None
                if incident is None:  # that incident ended meanwhile: a report of its own
                    incident = self.filing.file(conn, reading, report, actor=ACTOR).incident.id
                    told.append(texts.report_refiled(Channel.SMS, number, incident))
                    self._follow(conn, _field(message, "From"), number, incident, now)
        self._replied(conn, message, replies, incident, answering=True)
        if told:
            self._replied(conn, message, tuple(told), incident, answering=False, key="told")
        return Processed(replies=replies, incident=incident)

    def _report(self, message: Stored, reading: Reading, body: str) -> NewReport:
        sender = _field(message, "From")
        reporter_phone = to_e164(sender)
        media = _media(message)
        return self.filing.report(
            text=body,
            reading=reading,
            external_id=message.external_id,
            phone=reporter_phone,
            handle=None if reporter_phone else sender,
            payload={"media": media} if media else {},
            began_at=message.received_at,  # stored on arrival, read by a worker later
        )

    def _follow(self, conn: Connection, sender: str, old: str, new: str, now: datetime) -> None:
        """The number's next messages complete ``new``, not the ended ``old``."""
        chat = self.rt.chats.lock(conn, CHANNEL, sender, now)
        state = SmsState.from_data(chat.state) if chat.state else SmsState()
        if state.last is not None and state.last.incident_id == old:
            moved = SmsState(last=replace(state.last, incident_id=new))
            self.rt.chats.save(conn, CHANNEL, sender, moved.to_data(), now)

    def _replied(
        self,
        conn: Connection,
        message: Stored,
        replies: tuple[str, ...],
        incident: str | None,
        answering: bool,
        *,
        key: str = "reply",
    ) -> Processed:
        """The replies: the webhook's answer carries them (recorded as sent, in the
        incident's log), or (nobody waits for it: the message was processed after a
        restart) they go as messages of their own."""
        if replies:
            row = self.filing.row_of(conn, incident) if incident else None
            self.rt.outbox.add(
                conn,
                [
                    Outgoing(
                        key=f"{key}-{message.id}-{n}",
                        channel=CHANNEL,
                        chat=_field(message, "From"),
                        purpose=Purpose.REPLY,
                        body=text,
                        incident_row=row,
                    )
                    for n, text in enumerate(replies)
                ],
                self.rt.clock.now(),
                answered=answering,
            )
        return Processed(replies=replies, incident=incident)


def _media(message: Stored) -> list[dict[str, str]]:
    """The photos an MMS carried (their Twilio URLs, fetched on demand)."""
    out = []
    for n in range(10):
        url = message.raw.get(f"MediaUrl{n}")
        if not url:
            break
        kind = message.raw.get(f"MediaContentType{n}") or [""]
        out.append({"url": str(url[0]), "content_type": str(kind[0])})
    return out
