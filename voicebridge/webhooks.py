"""The channels' webhooks: Twilio's inbound SMS and status callbacks, Telegram's updates.

Each request is verified first (Twilio's signature over ``VOICEBRIDGE_PUBLIC_URL`` and
the path, never the Host a proxy passed on; Telegram's secret header), in constant time;
a missing or wrong one is 403 and nothing is stored. Then the body is read (413 past
``VOICEBRIDGE_MAX_BODY_BYTES``), parsed (400 when it is not a form or JSON at all, 422
naming the field that is wrong) and stored in the inbox before the channel is answered.
"""

import asyncio
import logging

from aiohttp import web

from channels.telegram.errors import BadUpdate
from channels.telegram.updates import chat_key, parse_update, update_id_of
from channels.telegram.webhook import SECRET_HEADER, secret_matches
from channels.twilio.errors import BadForm
from channels.twilio.form import FORM_FIELD, parse_form
from channels.twilio.inbound import parse_inbound
from channels.twilio.signature import SETTINGS_HEADER, SIGNATURE_HEADER, verify
from channels.twilio.status import parse_status
from channels.twilio.twiml import CONTENT_TYPE, twiml_reply
from routing.inbox import Inbound
from voicebridge.api.errors import ApiError, error, invalid
from voicebridge.api.schemas import parse_json
from voicebridge.web import BLOCKING, CHANNELS, RUNTIME

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
NO_CHAT = "-"  # the chat of an update that belongs to none (an inline query, say)


def _not_configured(channel: str) -> ApiError:
    return error("channel_not_configured", f"El canal {channel} no está configurado aquí.")


def _bad_form(exc: BadForm) -> ApiError:
    if exc.field == FORM_FIELD:
        return error("invalid_form", f"El cuerpo no es un formulario válido: {exc.message}.")
    return invalid(exc.field, exc.message)


async def _twilio_form(request: web.Request) -> dict[str, list[str]]:
    """The form of a request signed by Twilio, or 403 (bad signature), 400 (not a form),
    413 (too big)."""
    body = await request.read()
    try:
        form = parse_form(body)
    except BadForm as exc:
        if not _signed(request, {}):  # an unreadable body cannot be signed: say 403
            raise error("invalid_signature") from None
        raise _bad_form(exc) from None
    if not _signed(request, form):
        log.warning("%s: refused a request without a valid X-Twilio-Signature", request.path)
        raise error("invalid_signature")
    return form


def _signed(request: web.Request, form: dict[str, list[str]]) -> bool:
    settings = request.app[RUNTIME].settings
    return verify(
        public_url=settings.public_url,
        path=request.raw_path,
        params=form,
        signature=request.headers.get(SIGNATURE_HEADER),
        tokens=settings.twilio_tokens,
        settings=request.headers.get(SETTINGS_HEADER),
    )


@routes.post(SMS_PATH)
async def twilio_sms(request: web.Request) -> web.Response:
    """A citizen's or a responder's SMS: stored, processed, answered in TwiML with the
    replies (the incident's number, what happens next)."""
    if not request.app[RUNTIME].settings.sms_configured:
        raise _not_configured("SMS")
    form = await _twilio_form(request)
    try:
        sms = parse_inbound(form)
    except BadForm as exc:
        raise _bad_form(exc) from None
    outcome = await request.app[CHANNELS].submit(
        Inbound(channel="sms", external_id=sms.message_sid, chat=sms.from_, raw=form), wait=True
    )
    replies = outcome.processed.replies if outcome.answered and outcome.processed else ()
    return web.Response(text=twiml_reply(replies), content_type=CONTENT_TYPE, charset="utf-8")


@routes.post(STATUS_PATH)
async def twilio_status(request: web.Request) -> web.Response:
    """What became of an SMS voicebridge sent: recorded on the message and in its
    incident's log; a failure Twilio says is worth retrying is retried later."""
    runtime = request.app[RUNTIME]
    if not runtime.settings.sms_configured:
        raise _not_configured("SMS")
    form = await _twilio_form(request)
    try:
        report = parse_status(form)
    except BadForm as exc:
        raise _bad_form(exc) from None
    from voicebridge.messaging import delivery_report

    for pause in UNKNOWN_SID_PAUSES:  # a callback faster than the sender's record of it
        await asyncio.sleep(pause)
        if await request.app[BLOCKING](delivery_report, runtime, report):
            break
    else:
        log.info("status %s of an SMS %s the outbox does not know: not ours", report.status,
                 report.message_sid)  # fmt: skip
    return web.Response(status=204)


# how long a final status of a MessageSid the outbox does not know waits for the sender to
# record it (Twilio answers the send, then the sender records; the callback may be first)
UNKNOWN_SID_PAUSES = (0.0, 0.2, 0.5, 1.0, 2.0)


@routes.post(TELEGRAM_PATH)
async def telegram(request: web.Request) -> web.Response:
    """An update from Telegram: stored before the 200, processed after in order per
    chat (the conversation's replies go out as messages)."""
    settings = request.app[RUNTIME].settings
    if not settings.telegram_configured or settings.telegram_mode != "webhook":
        raise _not_configured("Telegram")
    secret = settings.telegram_secret
    if not secret or not secret_matches(secret, request.headers.get(SECRET_HEADER)):
        log.warning("%s: refused an update without the right secret token", request.path)
        raise error("invalid_signature")
    if request.content_type != "application/json":
        raise error("unsupported_media_type")
    raw = parse_json(await request.read())
    try:
        parsed = parse_update(raw)
        update_id = update_id_of(raw)
    except BadUpdate as exc:
        raise invalid(exc.field, exc.message_es) from None
    await request.app[CHANNELS].submit(
        Inbound(
            channel="telegram",
            external_id=str(update_id),
            chat=chat_key(parsed) or NO_CHAT,
            raw=raw,
        ),
        wait=False,
    )
    return web.json_response({"ok": True})
