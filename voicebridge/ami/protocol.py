"""panoramisk's AMI protocol and actions, with what they lack for an emergency system.

We keep panoramisk's bookkeeping of actions and their responses (``Action`` futures,
``EventList`` lists gathered until ``...Complete``) and replace four things
(``shared/design/PROTOCOLS.md``):

- parsing: :class:`~voicebridge.ami.codec.Decoder` decodes UTF-8 only once a message is
  whole (panoramisk decodes every TCP chunk alone, dropping a split "ñ");
- encoding: every key and value is checked by
  :func:`~voicebridge.ami.codec.encode_action` (CR/LF, ``Variable`` commas) before a
  byte is written; keys keep the order given;
- no replay: panoramisk re-sends actions that had no response once it reconnects
  (an Originate would ring a responder twice); here their futures fail with
  :class:`LinkLost` and the caller decides;
- events skip panoramisk's per-message dict and pattern matching: they go to one
  callback as codec messages (see the ``ami_ingest`` benchmark).
"""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from panoramisk import actions as pactions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message as PMessage

from voicebridge.ami.codec import Decoder, Message, encode_action
from voicebridge.errors import VoicebridgeError


class LinkLost(VoicebridgeError, ConnectionError):
    """The AMI link went down before the action's response came."""


class SafeAction(pactions.Action):  # type: ignore[misc]
    """An action validated and encoded by the codec (refused at construction)."""

    def __init__(
        self,
        name: str,
        headers: Sequence[tuple[str, str]],
        action_id: str,
        *,
        as_list: bool | None = None,
    ) -> None:
        self.encoded = encode_action(name, headers, action_id=action_id)
        fields: dict[str, Any] = {}
        for key, value in headers:
            fields.setdefault(key, value)
        super().__init__({**fields, "Action": name, "ActionID": action_id}, as_list=as_list)

    def __str__(self) -> str:
        return self.encoded.decode("utf-8")

    @property
    def multi(self) -> bool:
        """Only list actions wait for more than their first response (an Async
        Originate's OriginateResponse is an event for the bridge, not part of it)."""
        if self.as_list is not None:
            return bool(self.as_list)
        first = self.responses[0]
        return str(first.get("EventList", "")).lower() == "start"


def to_panoramisk(message: Message) -> PMessage:
    headers: dict[str, Any] = dict(message.fields)
    if message.repeated:
        headers.update(message.repeated)
    return PMessage(headers, "\n".join(message.lines or ()))


def from_panoramisk(message: Any) -> Message:
    fields: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for key in message:
        value = message[key]
        if isinstance(value, list):
            fields[key], repeated[key] = value[0], [str(v) for v in value]
        else:
            fields[key] = str(value)
    return Message(fields, repeated or None)


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """One AMI connection. ``on_event`` gets every event; responses resolve the futures
    of the actions sent on this connection; ``lost`` completes when it ends."""

    closed: bool
    transport: asyncio.Transport
    responses: dict[str, Any]

    def __init__(self, on_event: Callable[[Message], None]) -> None:
        super().__init__()
        self.on_event = on_event
        self.decoder = Decoder()
        self.banner: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.decoder = Decoder()

    def data_received(self, data: bytes) -> None:
        messages = self.decoder.feed(data)
        if self.decoder.banner is not None and not self.banner.done():
            self.banner.set_result(self.decoder.banner)
        responses = self.responses
        for message in messages:
            action_id = message.fields.get("ActionID")
            if action_id is not None and action_id in responses:
                self.handle_message(to_panoramisk(message))
                continue
            if "Event" in message.fields:
                self.on_event(message)

    def send_safe(self, action: SafeAction) -> "asyncio.Future[Any]":
        if self.closed:
            raise LinkLost("the AMI link is down")
        self.responses[action.id] = action
        self.transport.write(action.encoded)
        future: asyncio.Future[Any] = action.future
        return future

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        if not self.banner.done():
            self.banner.set_exception(LinkLost("closed before the banner"))
        if not self.lost.done():
            self.lost.set_result(exc)

    def close(self) -> None:
        """Close without queueing anything for a later connection."""
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(LinkLost("the AMI link went down"))
        self.responses.clear()
        if not self.closed:
            self.closed = True
            self.transport.close()
