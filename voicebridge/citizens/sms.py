"""What an SMS does once stored: a responder's answer to an alert (1/SI/OK accepts for
its agency, 2/NO declines), or a citizen's message through the SMS conversation (a
report filed on a new incident or joined to the open one of the same event, what it
lacked filled in by the next message, ESTADO, PARA/INICIO, AYUDA)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

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
from routing.inbox import Stored
from routing.models import AckMethod, Medium
from routing.normalise import read_message
from routing.outbox import Outgoing, Purpose
from routing.phones import to_e164
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


def _field(message: Stored, name: str) -> str:
    values = message.raw.get(name) or [""]
    return str(values[0])


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
            reporter_phone = to_e164(sender)
            report = self.filing.report(
                text=action.text,
                reading=action.reading,
                external_id=message.external_id,
                phone=reporter_phone,
                handle=None if reporter_phone else sender,
                payload={"media": _media(message)} if _media(message) else {},
            )
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

    def _replied(
        self,
        conn: Connection,
        message: Stored,
        replies: tuple[str, ...],
        incident: str | None,
        answering: bool,
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
                        key=f"reply-{message.id}-{n}",
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
