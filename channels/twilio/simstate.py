"""The fake Twilio's state and rules, without the server: numbers' scripted behaviour,
the message records and their REST resource, the checks of a create request with
Twilio's error codes, and the parameters of the webhooks it posts. Pure.
"""

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal

from channels.twilio.segments import MAX_BODY, segments

__all__ = [
    "DELIVERED",
    "ApiError",
    "Direction",
    "Message",
    "NumberScript",
    "Outcome",
    "classify_number",
    "inbound_params",
    "keyword",
    "new_sid",
    "status_params",
]

API_VERSION = "2010-04-01"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
PE_MOBILE = re.compile(r"\+519[0-9]{8}")
PE_FIXED = re.compile(r"\+51[1-8][0-9]{7}")
"""Peru's fixed lines: Lima ``+51 1`` and seven digits, a province's two-digit area code
and six digits. Outside the US, Canada and the UK Twilio refuses to send SMS to a
landline (21635) instead of trying."""

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARA"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "INICIO"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})
"""Twilio's default opt-out keywords, with the Spanish ones an Advanced Opt-Out
configuration adds (PARA, INICIO, AYUDA)."""

FinalStatus = Literal["delivered", "undelivered", "failed"]
Direction = Literal["outbound-api", "outbound-reply"]

ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {uri} was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: (
        "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio "
        "phone number for this destination."
    ),
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21612: (
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
        "number: {from_} via SMS."
    ),
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21635: "'To' number cannot be a Landline",
}


class ApiError(Exception):
    """An error answer of Twilio's REST API (the legacy JSON body twilio-python reads
    into ``TwilioRestException``)."""

    def __init__(self, status: int, code: int, **values: str) -> None:
        self.status = status
        self.code = code
        self.message = ERROR_MESSAGES[code].format(**values)
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one message to a number ends: ``delivered``, or ``undelivered``/``failed``
    with Twilio's ``error_code`` (30003 handset off, 30005 unknown number, 30006 landline
    or carrier, 30007 filtered, 30008 unknown error)."""

    status: FinalStatus = "delivered"
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "error_code": self.error_code}

    @classmethod
    def from_json(cls, value: object) -> "Outcome":
        if not isinstance(value, dict) or value.get("status", "delivered") not in (
            "delivered",
            "undelivered",
            "failed",
        ):
            raise ValueError("an outcome is {status: delivered|undelivered|failed, error_code}")
        code = value.get("error_code")
        if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
            raise ValueError("error_code is a whole number or null")
        if value.get("status", "delivered") != "delivered" and code is None:
            raise ValueError("an undelivered or failed outcome needs its error_code")
        return cls(status=value.get("status", "delivered"), error_code=code)


DELIVERED = Outcome()


@dataclass(kw_only=True)
class NumberScript:
    """What the fake does with messages to one number. ``throttle``: the next so many
    sends are answered 429/20429 and change nothing. ``first``: the outcomes of the next
    sends, in order; then every send ends as ``then``. ``landline`` (21635),
    ``unreachable`` (21612) and ``opted_out`` (21610, flipped by STOP/PARA and
    START/INICIO) refuse the send. ``drop_callbacks``: no status callback is posted."""

    opted_out: bool = False
    landline: bool = False
    unreachable: bool = False
    throttle: int = 0
    first: list[Outcome] = field(default_factory=list)
    then: Outcome = DELIVERED
    drop_callbacks: bool = False

    def next_outcome(self) -> Outcome:
        return self.first.pop(0) if self.first else self.then

    def to_json(self) -> dict[str, Any]:
        return {
            "opted_out": self.opted_out,
            "landline": self.landline,
            "unreachable": self.unreachable,
            "throttle": self.throttle,
            "first": [o.to_json() for o in self.first],
            "then": self.then.to_json(),
            "drop_callbacks": self.drop_callbacks,
        }

    def apply(
        self,
        *,
        opted_out: bool | None = None,
        landline: bool | None = None,
        unreachable: bool | None = None,
        throttle: int | None = None,
        first: Sequence[Outcome] | None = None,
        then: Outcome | None = None,
        drop_callbacks: bool | None = None,
    ) -> "NumberScript":
        """Change the settings given (None: keep); the script itself."""
        if opted_out is not None:
            self.opted_out = opted_out
        if landline is not None:
            self.landline = landline
        if unreachable is not None:
            self.unreachable = unreachable
        if throttle is not None:
            self.throttle = max(throttle, 0)
        if first is not None:
            self.first = list(first)
        if then is not None:
            self.then = then
        if drop_callbacks is not None:
            self.drop_callbacks = drop_callbacks
        return self

    def update(self, changes: Mapping[str, object]) -> "NumberScript":
        """Apply the control API's JSON changes (only the keys given); ValueError naming
        the first unknown key or wrong value, and then nothing is changed."""
        flags: dict[str, bool] = {}
        throttle: int | None = None
        first: list[Outcome] | None = None
        then: Outcome | None = None
        for name, value in changes.items():
            if name in ("opted_out", "landline", "unreachable", "drop_callbacks"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} is true or false")
                flags[name] = value
            elif name == "throttle":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError("throttle is a whole number >= 0")
                throttle = value
            elif name == "first":
                if not isinstance(value, list):
                    raise ValueError("first is a list of outcomes")
                first = [Outcome.from_json(v) for v in value]
            elif name == "then":
                then = Outcome.from_json(value)
            else:
                raise ValueError(f"unknown setting {name!r}")
        return self.apply(
            opted_out=flags.get("opted_out"),
            landline=flags.get("landline"),
            unreachable=flags.get("unreachable"),
            drop_callbacks=flags.get("drop_callbacks"),
            throttle=throttle,
            first=first,
            then=then,
        )


def new_sid(prefix: str = "SM") -> str:
    """A Twilio SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(when: datetime) -> str:
    """Twilio's date format: ``Sun, 05 Mar 2023 01:58:10 +0000``."""
    return format_datetime(when)


@dataclass(frozen=True, kw_only=True)
class Message:
    """A message the fake sent (``outbound-api``: created through the REST API;
    ``outbound-reply``: a TwiML answer's ``<Message>``), as it stands now."""

    sid: str
    account_sid: str
    direction: Direction
    from_: str
    to: str
    body: str
    status: str
    error_code: int | None
    num_segments: int
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None
    status_callback: str | None
    messaging_service_sid: str | None

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def resource(self) -> dict[str, Any]:
        """The REST API's MessageInstance JSON (strings where Twilio has strings)."""
        sent = self.date_sent is not None
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent) if self.date_sent is not None else None,
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": f"-{0.0075 * self.num_segments:.5f}" if sent else None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": self.uri().removesuffix(".json") + "/Media.json",
            },
            "to": self.to,
            "uri": self.uri(),
        }


def classify_number(to: str) -> Literal["mobile", "landline", "other"]:
    """A ``To`` that is E.164: a Peruvian mobile, a Peruvian fixed line, or a number of
    elsewhere (taken as a mobile). Not E.164, or +51 of the wrong length: ValueError."""
    if not E164.fullmatch(to):
        raise ValueError(to)
    if to.startswith("+51"):
        if PE_MOBILE.fullmatch(to):
            return "mobile"
        if PE_FIXED.fullmatch(to):
            return "landline"
        raise ValueError(to)
    return "other"


def check_body(body: str | None) -> str:
    """A create request's ``Body``: missing 21602, too long 21617."""
    if not body:
        raise ApiError(400, 21602)
    if len(body) > MAX_BODY:
        raise ApiError(400, 21617)
    return body


def keyword(body: str) -> Literal["STOP", "START", "HELP"] | None:
    """The opt-out keyword a message is (alone, any case, spaces around), or None."""
    word = body.strip().upper()
    if word in STOP_WORDS:
        return "STOP"
    if word in START_WORDS:
        return "START"
    if word in HELP_WORDS:
        return "HELP"
    return None


def _country(number: str) -> str:
    return "PE" if number.startswith("+51") else "US" if number.startswith("+1") else ""


def inbound_params(
    *,
    account_sid: str,
    message_sid: str,
    from_: str,
    to: str,
    body: str,
    media: Sequence[tuple[str, str]] = (),
    opt_out_type: str | None = None,
) -> dict[str, list[str]]:
    """The parameters of Twilio's inbound SMS webhook, in the order of a recorded real
    one (CHANNELS.md B2), geographic fields empty as for most numbers outside the US."""
    params = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(segments(body).count),
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for n, (url, content_type) in enumerate(media):
        params[f"MediaContentType{n}"] = content_type
        params[f"MediaUrl{n}"] = url
    if opt_out_type is not None:
        params["OptOutType"] = opt_out_type
    return {name: [value] for name, value in params.items()}


def status_params(message: Message, *, now: datetime) -> dict[str, list[str]]:
    """The parameters of a status callback for ``message`` in its current status
    (CHANNELS.md B4; ``RawDlrDoneDate``, the carrier's receipt time, on a final one)."""
    params = {
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "MessageStatus": message.status,
        "To": message.to,
        "MessageSid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_,
        "ApiVersion": API_VERSION,
    }
    if message.messaging_service_sid is not None:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    if message.status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = now.strftime("%y%m%d%H%M")
    return {name: [value] for name, value in params.items()}
