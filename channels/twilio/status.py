"""A status callback's form, read into a :class:`StatusReport`, and whether a delivery
failure is worth another send. Pure.

Twilio posts to a message's ``StatusCallback`` at each change of its status:
``MessageStatus`` (and the legacy ``SmsStatus``), ``MessageSid``/``SmsSid``,
``AccountSid``, ``From``, ``To``, ``ApiVersion``, ``MessagingServiceSid`` when sent
through one, ``ErrorCode`` on ``failed``/``undelivered`` (CHANNELS.md B4). An outbound
message goes queued -> sending -> sent -> delivered | undelivered, or queued -> failed
(``accepted`` first through a Messaging Service).
"""

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from channels.twilio.errors import BadForm
from channels.twilio.form import address, matching, optional
from channels.twilio.inbound import ACCOUNT_SID, MESSAGE_SID

__all__ = [
    "FINAL",
    "MessageStatus",
    "StatusReport",
    "parse_status",
    "status_retry",
]


class MessageStatus(enum.StrEnum):
    """Twilio's ``MessageInstance.Status`` (twilio-python
    ``rest/api/v2010/account/message/__init__.py``)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    RECEIVING = "receiving"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    READ = "read"
    PARTIALLY_DELIVERED = "partially_delivered"
    CANCELED = "canceled"


FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.READ,
        MessageStatus.CANCELED,
    }
)
"""Statuses after which no other comes (``read`` follows ``delivered`` on channels that
report reading, never for SMS)."""

_ERROR_CODE = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, kw_only=True)
class StatusReport:
    """One status change of an outbound message. ``error_code`` is Twilio's (30003...),
    None when the callback carries none; ``params``: every parameter received."""

    message_sid: str
    account_sid: str
    status: MessageStatus
    error_code: int | None
    from_: str
    to: str
    params: dict[str, list[str]]


def parse_status(form: Mapping[str, Sequence[str]]) -> StatusReport:
    """The status change in a status callback's parameters. Malformed, or a status
    Twilio does not define: :class:`BadForm` naming the field."""
    message_sid = matching(form, "MessageSid", MESSAGE_SID)
    account_sid = matching(form, "AccountSid", ACCOUNT_SID)
    field = "MessageStatus" if optional(form, "MessageStatus") else "SmsStatus"
    raw = optional(form, field)
    if not raw:
        raise BadForm("MessageStatus", "falta")
    try:
        status = MessageStatus(raw)
    except ValueError:
        raise BadForm(field, "estado desconocido") from None
    code = optional(form, "ErrorCode") or None
    if code is not None and not _ERROR_CODE.fullmatch(code):
        raise BadForm("ErrorCode", "no es un número")
    return StatusReport(
        message_sid=message_sid,
        account_sid=account_sid,
        status=status,
        error_code=int(code) if code is not None else None,
        from_=address(form, "From"),
        to=address(form, "To"),
        params={name: list(values) for name, values in form.items()},
    )


_SCHEDULES: dict[int, tuple[float, ...]] = {
    30003: (60.0, 300.0, 900.0),  # handset off or out of coverage: it may come back
    30008: (60.0,),  # unknown error: once
    30001: (600.0, 1800.0),  # Twilio's queue overflowed: later
}
"""Delay before each new send after a delivery failure with that code. Every other code
(30004 blocked, 30005 unknown number, 30006 landline, 30007 filtered, 21610 opted out,
...) is never retried: the same message would fail the same way."""


def status_retry(error_code: int | None, attempts_so_far: int) -> float | None:
    """Seconds to wait before sending again a message whose delivery failed with
    ``error_code``, when ``attempts_so_far`` new sends were already made for that
    failure; None: do not send it again."""
    if error_code is None:
        return None
    schedule = _SCHEDULES.get(error_code, ())
    if 0 <= attempts_so_far < len(schedule):
        return schedule[attempts_so_far]
    return None
