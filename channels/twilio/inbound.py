"""An inbound SMS (or MMS) webhook's form, read into an :class:`InboundSms`. Pure.

The parameters Twilio posts (a recorded real body, CHANNELS.md B2): ``ToCountry,
ToState, SmsMessageSid, NumMedia, ToCity, FromZip, SmsSid, FromState, SmsStatus,
FromCity, Body, FromCountry, To, ToZip, NumSegments, MessageSid, AccountSid, From,
ApiVersion``; with media ``MediaUrl<n>``/``MediaContentType<n>``; through a Messaging
Service ``MessagingServiceSid``; with Advanced Opt-Out ``OptOutType``. Twilio adds
parameters without notice: unknown ones are kept (in ``params``, for storage and the
signature) and ignored.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from channels.twilio.errors import BadForm
from channels.twilio.form import address, count, matching, optional, required
from channels.twilio.segments import MAX_BODY

__all__ = ["MAX_MEDIA", "MESSAGE_SID", "InboundSms", "parse_inbound"]

MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
MAX_MEDIA = 10
"""Twilio's limit of media per message."""
MAX_SEGMENTS = 99


@dataclass(frozen=True, kw_only=True)
class InboundSms:
    """A citizen's (or responder's) message. ``from_``/``to`` as Twilio gave them (E.164
    for phone numbers); ``body`` exactly as typed (control characters included: strip
    them for display); ``media``: ``(url, content_type)`` in order; ``opt_out_type``:
    ``STOP``/``START``/``HELP`` when Twilio's Advanced Opt-Out matched a keyword;
    ``params``: every parameter received, with all its values, for the inbox."""

    message_sid: str
    account_sid: str
    from_: str
    to: str
    body: str
    num_media: int
    media: tuple[tuple[str, str], ...]
    num_segments: int
    messaging_service_sid: str | None
    opt_out_type: str | None
    params: dict[str, list[str]]


def _media(form: Mapping[str, Sequence[str]], num_media: int) -> tuple[tuple[str, str], ...]:
    if not num_media:
        return ()  # most messages: text alone
    media = []
    for n in range(num_media):
        url = required(form, f"MediaUrl{n}")
        if not url.startswith(("https://", "http://")):
            raise BadForm(f"MediaUrl{n}", "no es una URL http(s)")
        media.append((url, required(form, f"MediaContentType{n}")))
    return tuple(media)


def parse_inbound(form: Mapping[str, Sequence[str]]) -> InboundSms:
    """The inbound message in a webhook's parameters (each with all its values, as
    :func:`channels.twilio.form.parse_form` gives them). Malformed: :class:`BadForm`
    naming the first wrong field. ``Body`` absent counts as empty (a photo alone)."""
    message_sid = matching(form, "MessageSid", MESSAGE_SID)
    account_sid = matching(form, "AccountSid", ACCOUNT_SID)
    from_ = address(form, "From")
    to = address(form, "To")
    body = optional(form, "Body") or ""
    if len(body) > MAX_BODY:
        raise BadForm("Body", f"más de {MAX_BODY} caracteres")
    num_media = count(form, "NumMedia", default=0, low=0, high=MAX_MEDIA)
    num_segments = count(form, "NumSegments", default=1, low=1, high=MAX_SEGMENTS)
    service = optional(form, "MessagingServiceSid") or None
    if service is not None and not SERVICE_SID.fullmatch(service):
        raise BadForm("MessagingServiceSid", "no tiene el formato de Twilio")
    opt_out = optional(form, "OptOutType") or None
    return InboundSms(
        message_sid=message_sid,
        account_sid=account_sid,
        from_=from_,
        to=to,
        body=body,
        num_media=num_media,
        media=_media(form, num_media),
        num_segments=num_segments,
        messaging_service_sid=service,
        opt_out_type=opt_out.upper() if opt_out else None,
        params={name: [*values] for name, values in form.items()},  # a copy of its own
    )
