"""The Asterisk Manager Interface on the wire, as pure functions (no sockets, no logging).

Facts from a real Asterisk 22 (``shared/asterisk/README.md`` and its traces):

- the connection opens with one bare banner line, ``Asterisk Call Manager/11.0.0\\r\\n``;
- then messages of ``Key: Value\\r\\n`` lines, each ended by an empty ``\\r\\n`` line;
- TCP chunks split anywhere, a UTF-8 character included ("Peña" in a CallerIDName);
- values may be empty (``Digit: ``), keys repeat (``Output:``, ``Variable:``), some lines
  have no colon (``No categories found``), a bare CR inside a value is data;
- in what a client sends, a CR or LF inside a key or a value ends the header or the
  whole action (trace 07 ran a CLI command that way), and a comma inside a ``Variable``
  value splits it in two: such actions are refused here, never written.
"""

import re
from collections.abc import Iterable, Sequence

from voicebridge.errors import VoicebridgeError

BANNER_PREFIX = "Asterisk Call Manager/"
_END = b"\r\n\r\n"
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class UnsafeAction(VoicebridgeError, ValueError):
    """An action that would not reach Asterisk as written: the message says which
    header and why."""


class Message:
    """One response or event. ``fields`` holds each key's first value (Asterisk itself
    uses the first occurrence); ``repeated`` every value of keys that repeat; ``lines``
    the lines without a colon."""

    __slots__ = ("fields", "lines", "repeated")

    def __init__(
        self,
        fields: dict[str, str],
        repeated: dict[str, list[str]] | None = None,
        lines: list[str] | None = None,
    ) -> None:
        self.fields = fields
        self.repeated = repeated
        self.lines = lines

    @property
    def event(self) -> str | None:
        return self.fields.get("Event")

    @property
    def response(self) -> str | None:
        return self.fields.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.fields.get("ActionID")

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def all(self, key: str) -> list[str]:
        """Every value of ``key``, in order (``Output:`` lines of a Command)."""
        if self.repeated is not None and key in self.repeated:
            return self.repeated[key]
        return [self.fields[key]] if key in self.fields else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (
            self.fields,
            self.repeated or {},
            self.lines or [],
        ) == (other.fields, other.repeated or {}, other.lines or [])

    def __hash__(self) -> int:  # pragma: no cover - messages are not set members
        raise TypeError("Message is not hashable")

    def __repr__(self) -> str:
        kind = self.event or self.response or "?"
        return f"<Message {kind} {self.fields!r}>"


def parse_message(block: str) -> Message:
    """One message, without its final empty line."""
    fields: dict[str, str] = {}
    repeated: dict[str, list[str]] | None = None
    lines: list[str] | None = None
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":"):  # "Key:" with nothing after it at all
                key, value = line[:-1], ""
            else:
                if line:
                    (lines := lines if lines is not None else []).append(line)
                continue
        if key in fields:
            if repeated is None:
                repeated = {}
            repeated.setdefault(key, [fields[key]]).append(value)
        else:
            fields[key] = value
    return Message(fields, repeated, lines)


class Decoder:
    """Bytes from the socket in, messages out, whatever the chunking.

    Complete messages are decoded as UTF-8 only once all their bytes are here, so a
    character split across two reads survives; bytes that are not UTF-8 become U+FFFD
    rather than vanishing."""

    __slots__ = ("_buffer", "banner")

    def __init__(self) -> None:
        self._buffer = b""
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        buffer = self._buffer + data if self._buffer else data
        if self.banner is None:
            end = buffer.find(b"\r\n")
            if end < 0:
                self._buffer = buffer
                return []
            self.banner = buffer[:end].decode("utf-8", "replace")
            buffer = buffer[end + 2 :]
        blocks = buffer.split(_END)
        self._buffer = blocks.pop()
        return [parse_message(b.decode("utf-8", "replace")) for b in blocks if b]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buffer)


def is_banner(line: str) -> bool:
    return line.startswith(BANNER_PREFIX)


def encode_action(
    action: str, headers: Iterable[tuple[str, str]], *, action_id: str | None = None
) -> bytes:
    """The bytes of one action, or :class:`UnsafeAction` if any key or value could
    change what Asterisk reads: CR or LF anywhere, a key that is not a plain name, a
    comma inside a ``Variable`` value."""
    out = [_line("Action", action)]
    if action_id is not None:
        out.append(_line("ActionID", action_id))
    for key, value in headers:
        out.append(_line(key, value))
        if key == "Variable":
            name, _, val = value.partition("=")
            if "," in val:
                raise UnsafeAction(f"Variable {name}: a comma would split the value in two")
    out.append("\r\n")
    return "\r\n".join(out).encode("utf-8")


def _line(key: str, value: str) -> str:
    if not _KEY.match(key):
        raise UnsafeAction(f"{key!r} is not a header name")
    if "\r" in value or "\n" in value:
        raise UnsafeAction(f"{key}: a CR or LF in the value would end the header early")
    return f"{key}: {value}"


def header_pairs(headers: dict[str, str | Sequence[str]]) -> list[tuple[str, str]]:
    """``{"Variable": ["A=1", "B=2"], "Exten": "s"}`` -> pairs, repeated keys kept."""
    pairs: list[tuple[str, str]] = []
    for key, value in headers.items():
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, v) for v in value)
    return pairs
