"""What the fake Twilio records (requests received, webhooks posted, citizens' SMS
delivered) and the small pure pieces of its webhook posting. Pure."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from channels.twilio.errors import BadForm
from channels.twilio.simstate import Message
from channels.twilio.twiml import parse_twiml

__all__ = [
    "Callback",
    "InboundResult",
    "Received",
    "first_value",
    "origin",
    "path_qs",
    "read_answer",
    "with_port",
]

TWIML_TYPES = frozenset({"text/xml", "application/xml", "text/html"})


@dataclass(frozen=True, kw_only=True)
class Received:
    """A request the fake received (REST API or control API)."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass(frozen=True, kw_only=True)
class Callback:
    """A webhook the fake posted (status callback or JSON callback): the URL it signed,
    where it posted (None: not on loopback, not posted), what, and the answer."""

    url: str
    posted_to: str | None
    params: dict[str, list[str]]
    http_status: int | None
    error: str | None


@dataclass(frozen=True, kw_only=True)
class InboundResult:
    """One delivery of a citizen's SMS to the app: the HTTP status of its answer (None:
    no answer), the messages of its TwiML, and what went wrong (None: a 2xx with valid
    TwiML, or none)."""

    message_sid: str
    params: dict[str, list[str]]
    http_status: int | None
    replies: tuple[Message, ...]
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "message_sid": self.message_sid,
            "http_status": self.http_status,
            "error": self.error,
            "replies": [m.resource() for m in self.replies],
        }


def first_value(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None:
        return url
    port = 443 if parts.scheme == "https" else 80
    return parts._replace(netloc=f"{parts.netloc}:{port}").geturl()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def path_qs(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def read_answer(
    status: int, answer: bytes, content_type: str
) -> tuple[tuple[str, ...], str | None]:
    """The messages a webhook's answer asks Twilio to send, and what is wrong with it:
    non-2xx fails (Twilio's 11200); TwiML is read; a ``text/plain`` text is sent as it
    is; another type with a body fails (12300)."""
    if not 200 <= status < 300:
        return (), f"HTTP {status}"
    if not answer.strip():
        return (), None
    if content_type in TWIML_TYPES:
        try:
            return parse_twiml(answer), None
        except BadForm as exc:
            return (), f"12100 document parse failure: {exc.message}"
    if content_type == "text/plain":
        return (answer.decode("utf-8", errors="replace"),), None
    return (), f"12300 invalid content type {content_type!r}"
