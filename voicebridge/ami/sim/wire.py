"""The fake Asterisk's side of the wire: how it reads actions and writes messages.

Reading follows what a real Asterisk 22 did with the bytes of trace 07
(``shared/asterisk/traces/07-header-crlf-injection``):

- a line ends at CRLF *or* at a bare LF (7c: ``Value: abc\\n\\nAction: Ping`` ran a Ping);
- a bare CR is data: it stays inside the value and is echoed back raw (7d);
- an empty line ends the action, so CRLF CRLF inside a value starts a second action that
  is executed too (7a, 7e); an empty line with no headers before it is an action of its
  own, without ``Action:`` (Asterisk answers it ``Missing action in request``);
- a header is looked up by name, case-insensitively, and the *first* occurrence wins (7b);
  the value starts after the colon and any blanks;
- Asterisk's manager.c limits (``do_message()``/``get_input()``, confirmed by the lab trace
  ``voicebridge-updateconfig-one-action``): an action keeps at most 128 header lines
  (``AST_MAX_MANHEADERS``); with more, the whole action is refused with ``Too many lines
  in message or allocation failure`` and nothing runs. A line is read into a 1024-byte
  buffer with its terminator: a longer one is thrown away up to the buffer's last byte
  and the action is refused with ``Failed to parse message: line too long``.

Bytes are decoded as UTF-8 with ``surrogateescape``, so whatever the client sent (a
``Peña`` in a CallerID, or bytes that are not UTF-8) goes back out byte for byte.
"""

from collections.abc import Iterable, Sequence

Field = tuple[str, str]
"""One line of a message: ``(key, value)``; a key of ``""`` is a bare line (the value)."""

ENCODING = "utf-8"
ERRORS = "surrogateescape"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
"""Sent at once on connect: one bare line, no blank line after it (README, Framing)."""


MAX_HEADERS = 128
"""``AST_MAX_MANHEADERS``: header lines one action may have (Action and ActionID count)."""
MAX_LINE = 1024
"""``sizeof(inbuf) - 1``: the bytes of one line with its terminator (CRLF or LF)."""
TOO_MANY_LINES = "Too many lines in message or allocation failure"
LINE_TOO_LONG = "Failed to parse message: line too long"


class Request:
    """One action as received: every header line in order, repeats kept (at most
    :data:`MAX_HEADERS`). ``refused`` is the error Asterisk answers instead of running
    it (:data:`TOO_MANY_LINES`, :data:`LINE_TOO_LONG`), or ``""``."""

    __slots__ = ("fields", "refused")

    def __init__(self, fields: Sequence[Field], refused: str = "") -> None:
        self.fields = tuple(fields)
        self.refused = refused

    def get(self, key: str) -> str:
        """The first value of ``key`` (any case), or ``""`` (Asterisk's astman_get_header)."""
        wanted = key.lower()
        for k, v in self.fields:
            if k.lower() == wanted:
                return v
        return ""

    def has(self, key: str) -> bool:
        wanted = key.lower()
        return any(k.lower() == wanted for k, _ in self.fields)

    def all(self, key: str) -> list[str]:
        """Every value of ``key`` in order (``Variable:`` may repeat)."""
        wanted = key.lower()
        return [v for k, v in self.fields if k.lower() == wanted]

    @property
    def action(self) -> str:
        return self.get("Action")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


_BLANKS = "".join(chr(c) for c in range(33))
"""Asterisk's ast_skip_blanks(): every byte below 33 before a value goes."""


def _header(line: str) -> Field:
    key, sep, value = line.partition(":")
    if not sep:
        return (line, "")
    return (key, value.lstrip(_BLANKS))


class ActionParser:
    """Client bytes in, complete actions out, whatever the TCP chunking.

    Lines are cut as Asterisk's ``get_input()`` cuts them: the first LF within the next
    :data:`MAX_LINE` bytes ends the line (a CR before it is dropped); when those bytes hold
    none, they are discarded but the last one, and the action is marked too long. The
    mark outlives an action refused for too many lines (``do_message()`` only clears it
    when it answers ``line too long``)."""

    __slots__ = ("_buffer", "_lines", "_lost", "_too_long")

    def __init__(self) -> None:
        self._buffer = b""
        self._lines: list[Field] = []
        self._lost = False
        self._too_long = False

    def feed(self, data: bytes) -> list[Request]:
        buffer = self._buffer + data
        actions: list[Request] = []
        start = 0
        while True:
            end = buffer.find(b"\n", start, start + MAX_LINE)
            if end < 0:
                if len(buffer) - start >= MAX_LINE:
                    start += MAX_LINE - 1  # keep the last byte, as Asterisk does
                    self._too_long = True
                    continue
                break
            raw = buffer[start:end]
            start = end + 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if raw:
                if len(self._lines) < MAX_HEADERS:
                    self._lines.append(_header(raw.decode(ENCODING, ERRORS)))
                else:
                    self._lost = True
                continue
            refused = ""
            if self._lost:
                refused = TOO_MANY_LINES
            elif self._too_long:
                refused, self._too_long = LINE_TOO_LONG, False
            actions.append(Request(self._lines, refused))
            self._lines, self._lost = [], False
        self._buffer = buffer[start:]
        return actions


def render(fields: Iterable[Field]) -> bytes:
    """One message: ``Key: Value`` lines (an empty value keeps its space, ``Digit: ``),
    bare lines as they are, then the empty line."""
    lines = [f"{k}: {v}" if k else v for k, v in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(ENCODING, ERRORS)


def response(req: Request, status: str, message: str | None = None, *extra: Field) -> list[Field]:
    """``Response``, the ``ActionID`` if the action had one, ``Message`` if any, then
    ``extra`` (the order every response of the traces has)."""
    fields: list[Field] = [("Response", status)]
    if req.action_id:
        fields.append(("ActionID", req.action_id))
    if message is not None:
        fields.append(("Message", message))
    fields.extend(extra)
    return fields


def is_true(value: str) -> bool:
    """Asterisk's ast_true()."""
    return value.strip().lower() in {"yes", "true", "y", "t", "1", "on"}


def is_false(value: str) -> bool:
    """Asterisk's ast_false()."""
    return value.strip().lower() in {"no", "false", "n", "f", "0", "off"}
