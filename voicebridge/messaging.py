"""Messages out through the channels, and what the channels say of them.

:func:`send_message` is the RQ job that sends one message of the outbox (a reply to a
citizen, a citizen's news, a responder's alert) through Twilio or the Telegram Bot API,
within Telegram's flood limits (on Redis, shared by every worker). What the channel
answers lands on the message and in its incident's log: sent, delivered, or failed with
the channel's error; a failure worth retrying (Twilio 20429, 5xx, Telegram 429 after its
``retry_after``, a network error) is sent again later by a new task, a permanent one
(an invalid or landline number, a number that sent PARA, a chat that blocked the bot)
never. A number that sent PARA and a chat that blocked the bot get nothing more.
:func:`delivery_report` takes Twilio's signed status callbacks.

A responder's alert is a contact of the ledger: sent, it is reported delivered (its try
then waits for the reply that acknowledges); failed for good, not reached.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from redis.exceptions import RedisError

from channels import texts
from channels.telegram import errors as tg_errors
from channels.telegram.outbound import answer_button_sync, send_text_sync
from channels.texts import Channel
from channels.twilio import errors as sms_errors
from channels.twilio.outbound import SmsSender, send_retry
from channels.twilio.status import MessageStatus as TwilioStatus
from channels.twilio.status import StatusReport, status_retry
from routing.contacts import ToPlace
from routing.models import AttemptOutcome, ContactRole, IncidentDetail, Medium
from routing.news import NewsKind, followers
from routing.outbox import MessageState, Outgoing, OutMessage, Purpose
from routing.ratelimits import Limit
from voicebridge.jobs import current_runtime
from voicebridge.ratelimit import RedisLimiter
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

STATUS_PATH = "/webhooks/twilio/status"
MAX_TELEGRAM_RETRIES = 6
TELEGRAM_CHAT = (Limit(count=1, seconds=1),)  # FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
TELEGRAM_GROUP = (Limit(count=1, seconds=1), Limit(count=20, seconds=60))
TELEGRAM_OVERALL = (Limit(count=30, seconds=1),)  # FloodLimit.MESSAGES_PER_SECOND
OPTED_OUT = 21610
HOLD_PREFIX = "voicebridge:telegram:hold"  # a chat Telegram told to wait for (429)
HOLD_MARGIN = 60.0  # seconds the hold outlives its retry_after in Redis


def send_message(message_id: int, number: int) -> str:
    """The RQ job: send the outbox's message ``message_id`` (``number``: which of its
    send tasks this is). Idempotent: a message no longer queued is left alone."""
    return deliver(current_runtime(), message_id)


def deliver(rt: Runtime, message_id: int) -> str:
    message = rt.outbox.get(message_id)
    if message is None or message.state is not MessageState.QUEUED:
        return f"message {message_id}: nothing to send"
    if message.purpose is not Purpose.ALERT:
        chat = rt.chats.get(message.channel, message.chat)
        if chat is not None and not chat.writable:
            why = (
                "el número pidió no recibir mensajes (PARA)"
                if chat.opted_out_at is not None
                else f"el chat no recibe mensajes: {chat.unreachable_cause or 'inalcanzable'}"
            )
            rt.outbox.settle(message_id, MessageState.HELD, cause=why, tried=False)
            return f"message {message_id}: held ({why})"
    if message.channel == "telegram":
        # a pressed button's answer is no message to the chat: it stops the citizen's
        # spinner at once, outside the flood limits (which would delay it, and the
        # message after it, by the chat's second)
        wait = 0.0 if message.answers is not None else _telegram_wait(rt, message)
        if wait > 0:
            rt.outbox.wait(message_id, wait)
            return f"message {message_id}: flood limit, in {wait:.1f} s"
        return _send_telegram(rt, message)
    return _send_sms(rt, message)


def _send_sms(rt: Runtime, message: OutMessage) -> str:
    s = rt.settings
    if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_number):
        return _failed(rt, message, None, "SMS no configurado (VOICEBRIDGE_TWILIO_*)")
    with SmsSender(
        account_sid=s.twilio_account_sid,
        auth_token=s.twilio_auth_token,
        from_=s.twilio_number,
        api_base_url=s.twilio_api_url,
    ) as sender:
        try:
            sent = sender.send(
                message.chat, message.body, status_callback=s.public_url + STATUS_PATH
            )
        except sms_errors.Permanent as exc:
            if exc.code == OPTED_OUT:
                _opted_out(rt, message)
            return _failed(rt, message, exc.code, exc.reason)
        except sms_errors.Retryable as exc:
            delay = send_retry(exc, max(0, message.tries))
            return _failed(rt, message, exc.code, exc.reason, delay)
    rt.outbox.sent(message.id, sent.sid)
    if message.contact is not None:
        rt.calls.contacts.delivered(message.contact, "alerta enviada por SMS")
    return f"message {message.id}: sent as {sent.sid}"


def _send_telegram(rt: Runtime, message: OutMessage) -> str:
    s = rt.settings
    if not s.telegram_token:
        return _failed(rt, message, None, "Telegram no configurado (VOICEBRIDGE_TELEGRAM_TOKEN)")
    try:
        if message.answers is not None:  # the answer to a pressed button: stops its spinner
            answer_button_sync(
                s.telegram_token, bot_api(s.telegram_api_url), message.answers, message.body
            )
            rt.outbox.sent(message.id, None)
            rt.outbox.settle(message.id, MessageState.DELIVERED, cause="botón respondido")
            return f"message {message.id}: button answered"
        sent = send_text_sync(
            s.telegram_token,
            bot_api(s.telegram_api_url),
            int(message.chat),
            message.body,
            buttons=message.buttons,
            request_location=message.location_button is not None and not message.buttons,
            location_label=message.location_button or "Compartir ubicación",
            remove_keyboard=message.remove_keyboard
            and not message.buttons
            and message.location_button is None,
        )
    except tg_errors.Permanent as exc:
        if exc.blocked:
            rt.chats.unreachable(message.channel, message.chat, exc.reason, rt.clock.now())
        return _failed(rt, message, None, exc.reason)
    except tg_errors.Retryable as exc:
        if message.answers is not None:  # a button's answer is worth nothing later
            return _failed(rt, message, None, exc.reason)
        if exc.after_seconds is not None:
            _hold(rt, message.chat, exc.after_seconds)
        delay = None
        if message.tries < MAX_TELEGRAM_RETRIES:
            delay = tg_errors.retry_delay(exc, message.tries)
        return _failed(rt, message, None, exc.reason, delay)
    rt.outbox.sent(message.id, str(sent.message_id))
    # Telegram tells no delivery: taken by Telegram is as delivered as it gets
    rt.outbox.settle(message.id, MessageState.DELIVERED, cause="recibido por Telegram")
    if message.contact is not None:
        rt.calls.contacts.delivered(message.contact, "alerta enviada por Telegram")
    return f"message {message.id}: sent as {sent.message_id}"


def bot_api(url: str | None) -> str | None:
    """PTB's ``base_url`` (``…/bot``, the token appended) for a Bot API server's URL."""
    if url is None:
        return None
    return url if url.endswith("/bot") else url.rstrip("/") + "/bot"


def _hold(rt: Runtime, chat: str, seconds: float) -> None:
    """Telegram said to wait (429 ``retry_after``): nothing more goes to the chat until
    then, so that its next messages neither hit the limit again nor overtake the one
    that waits (the chat's messages keep their order)."""
    key = f"{HOLD_PREFIX}:{chat}"
    until = rt.clock.now().timestamp() + seconds
    try:
        held = rt.redis.get(key)
        if held is None or float(held) < until:
            rt.redis.set(key, repr(until), px=int((seconds + HOLD_MARGIN) * 1000))
    except RedisError as exc:  # the retry is scheduled all the same
        log.warning("could not hold Telegram chat %s for %.0f s: %s", chat, seconds, exc)


def _held(rt: Runtime, chat: str) -> float:
    """Seconds the chat is still held by a 429 (0: not held)."""
    try:
        held = rt.redis.get(f"{HOLD_PREFIX}:{chat}")
    except RedisError:
        return 0.0
    if held is None:
        return 0.0
    return max(0.0, float(held) - rt.clock.now().timestamp())


def _telegram_wait(rt: Runtime, message: OutMessage) -> float:
    """Seconds to wait for Telegram's flood limits or a 429's ``retry_after`` (0: send
    now, the slot counted)."""
    held = _held(rt, message.chat)
    if held > 0:
        return held
    limiter = RedisLimiter(rt.redis, rt.clock)
    group = message.chat.startswith("-")
    per_chat = limiter.acquire(
        f"telegram:{message.chat}", TELEGRAM_GROUP if group else TELEGRAM_CHAT
    )
    if not per_chat.allowed:
        return max(per_chat.retry_in, 0.05)
    overall = limiter.acquire("telegram:*", TELEGRAM_OVERALL)
    if not overall.allowed:
        if per_chat.grant is not None:
            limiter.release(per_chat.grant, TELEGRAM_GROUP if group else TELEGRAM_CHAT)
        return max(overall.retry_in, 0.05)
    return 0.0


def _failed(
    rt: Runtime,
    message: OutMessage,
    code: int | None,
    reason: str,
    retry_in: float | None = None,
) -> str:
    retry = None if retry_in is None else timedelta(seconds=retry_in)
    rt.outbox.settle(message.id, MessageState.FAILED, error_code=code, cause=reason, retry_in=retry)
    if retry is None and message.contact is not None:
        rt.calls.contacts.not_reached(message.contact, AttemptOutcome.FAILED, reason)
    if retry is None:
        log.warning("message %d (%s) failed: %s", message.id, message.channel, reason)
        return f"message {message.id}: failed ({reason})"
    return f"message {message.id}: failed ({reason}); again in {retry_in:.0f} s"


def _opted_out(rt: Runtime, message: OutMessage) -> None:
    now = rt.clock.now()
    with rt.db.write() as conn:
        rt.chats.lock(conn, message.channel, message.chat, now)
        rt.chats.opt_out(conn, message.channel, message.chat, now)


_FINAL = {
    TwilioStatus.DELIVERED: MessageState.DELIVERED,
    TwilioStatus.UNDELIVERED: MessageState.UNDELIVERED,
    TwilioStatus.FAILED: MessageState.FAILED,
}


def delivery_report(rt: Runtime, report: StatusReport) -> bool:
    """Twilio's status callback: a delivery, or a failure (retried later when its code
    says it may pass: 30003 a few times, 30008 once), on the message and in its log.
    False when it says how a message ended that the outbox does not know (yet: the
    callback may come before the sender recorded the MessageSid Twilio answered)."""
    state = _FINAL.get(report.status)
    if state is None:
        return True  # a step on the way (queued, sending, sent)
    message = rt.outbox.by_provider_id("sms", report.message_sid)
    if message is None:
        return False
    code = report.error_code
    if state is MessageState.DELIVERED:
        rt.outbox.settle(message.id, state, cause="entregado al celular")
        return True
    if code == OPTED_OUT:
        _opted_out(rt, message)
    delay = status_retry(code, max(0, message.tries - 1))
    reason = sms_errors.describe(code) if code is not None else "sin código de error"
    retry = None if delay is None else timedelta(seconds=delay)
    rt.outbox.settle(message.id, state, error_code=code, cause=reason, retry_in=retry)
    return True


# ------------------------------------------------------------------ citizens' news


def citizen_news(incident_id: str, kind: str) -> str:
    """The RQ job: tell the incident's followers ``kind`` (derived, the first agency
    confirmed, resolved, cancelled, merged), each once, through their channel."""
    return tell(current_runtime(), incident_id, NewsKind(kind))


def tell(rt: Runtime, incident_id: str, kind: NewsKind) -> str:
    detail = rt.store.detail(incident_id)
    agencies = [a.agency for a in rt.calls.dispatches.assignments(incident_id)]
    names = rt.rules.names()
    now = rt.clock.now()
    with rt.db.write() as conn:
        row_id = rt.store.row_id(conn, incident_id)
        if row_id is None:
            return f"{incident_id}: no such incident"
        following = followers(conn, row_id)
        messages = []
        for f in following:
            channel = Channel(f.channel)
            body = _news_text(channel, kind, detail, agencies, names.agency)
            if body is None:
                continue
            messages.append(
                Outgoing(
                    key=f"news-{incident_id}-{kind.value}-{f.channel}-{f.chat}",
                    channel=f.channel,
                    chat=f.chat,
                    purpose=Purpose.NEWS,
                    body=body,
                    incident_row=row_id,
                )
            )
        added = rt.outbox.add(conn, messages, now)
    return f"{incident_id} {kind.value}: {len(added)} citizen(s) told"


def _news_text(
    channel: Channel,
    kind: NewsKind,
    detail: IncidentDetail,
    agencies: list[str],
    agency: Callable[[str], str],
) -> str | None:
    incident_id = detail.incident.id
    if kind is NewsKind.DERIVED:
        named = [agency(code) for code in agencies]
        return texts.news_derived(channel, incident_id, named) if named else None
    if kind is NewsKind.CONFIRMED:
        first = min(detail.acks, key=lambda a: a.at, default=None)
        return (
            None
            if first is None
            else texts.news_confirmed(channel, incident_id, agency(first.agency))
        )
    if kind is NewsKind.RESOLVED:
        return texts.news_resolved(channel, incident_id)
    if kind is NewsKind.CANCELLED:
        return texts.news_cancelled(channel, incident_id)
    into = detail.incident.merged_into
    return None if into is None else texts.news_merged(channel, incident_id, into)


# ------------------------------------------------------------ responders' alerts


class AlertAdapter:
    """The adapter of the contact ledger's SMS and Telegram contacts: each claimed
    contact becomes a responder's alert in the outbox (sent by :func:`send_message`,
    which reports it delivered or not reached); a contact withdrawn (its agency
    acknowledged another way, the incident ended) has nothing to hang up: it ends."""

    def __init__(self, rt: Runtime, media: frozenset[Medium], owner: str) -> None:
        self.rt = rt
        self.media = media & {Medium.SMS, Medium.TELEGRAM}
        self.owner = owner

    def turn(self) -> int:
        """One pass: alerts for what is pending, ends for what was withdrawn; how many
        alerts were recorded."""
        if not self.media:
            return 0
        port = self.rt.calls.contacts
        recorded = 0
        failed: Exception | None = None
        for call in port.claim(self.media, self.owner):
            try:
                self._alert(call)
                recorded += 1
            except Exception as exc:  # this one waits for the next turn; the others go on
                port.unclaim(call.contact.ref)
                failed = exc
        if failed is not None:
            raise failed
        for contact in port.to_withdraw(self.media):
            port.ended(contact.ref, "la alerta ya no espera respuesta")
        return recorded

    def _alert(self, call: ToPlace) -> None:
        contact = call.contact
        channel = Channel(contact.medium.value)
        incident = self.rt.store.get(call.room)
        buttons = None
        if contact.role is not ContactRole.RESPONDER:  # the supervisors: nothing to answer
            body = texts.supervisor_notice(
                channel,
                call.room,
                category=call.category,
                district=incident.district,
                address=incident.location.address,
            )
        else:
            body = texts.responder_alert(
                channel,
                call.room,
                category=call.category,
                district=incident.district,
                address=incident.location.address,
                priority=incident.priority,
            )
            if channel is Channel.TELEGRAM:
                buttons = texts.responder_buttons(contact.ref)
        now = self.rt.clock.now()
        with self.rt.db.write() as conn:
            row_id = self.rt.store.row_id(conn, call.room)
            self.rt.outbox.add(
                conn,
                [
                    Outgoing(
                        key=f"alert-{contact.ref}",
                        channel=channel.value,
                        chat=contact.address,
                        purpose=Purpose.ALERT,
                        body=body,
                        incident_row=row_id,
                        contact=contact.ref,
                        buttons=buttons,
                    )
                ],
                now,
            )
