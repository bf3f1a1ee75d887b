"""The PEI's AT lines (ETSI EN 300 392-5), as bytes in and out: no I/O.

A radio's PEI is a serial line of AT commands, one in flight at a time, each ended by a
final result (``OK``, ``ERROR``, ``+CME ERROR: <n>``, ``+CMS ERROR: <n>``); between a
command and its final result come its information lines (``+CMGS: 0,4,65``,
``+CTOM: 0``, the model's name) and, at any time, the radio's unsolicited indications
(``+CTSDSR``, an SDS received, which is two lines: its header, then the user data in
hex; ``+CTICN``, ``+CTXG`` and the rest of call control). A radio echoes each command
until ``ATE0``.

:class:`Pei` is the whole line discipline as a state machine: :meth:`Pei.command` gives
the bytes to write (refusing a second command while one is in flight, and any CR, LF
or control character in a command: they would end it early and start another),
:meth:`Pei.receive` takes what was read, in any pieces, and gives back
:class:`Indication` and :class:`Done` events in order: an indication that arrives
between a command and its ``OK`` is reported at once and is not taken for the
command's answer; an echo of the command is dropped. A line longer than
:data:`MAX_LINE` (a radio spewing garbage, a baud-rate mismatch) gives one
:class:`Garbage` event and is skipped up to the next line end.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

CR, LF = b"\r", b"\n"
CTRL_Z = b"\x1a"  # ends the user data of AT+CMGS
ESC = b"\x1b"  # aborts it
MAX_LINE = 4096  # an SDS of 2047 bits is 512 hex characters; a header is short
# Unsolicited indications ([PEI] 6.x): SDS, call control, transmission, group and status
UNSOLICITED = frozenset(
    {
        "+CTSDSR",  # SDS received: this header line, then the user data in hex
        "+CTICN",  # incoming call
        "+CTCC",  # call connected
        "+CTCR",  # call released
        "+CTXG",  # transmission granted (with the talking party)
        "+CDTXC",  # down transmission ceased
        "+CTXD",  # transmit demand
        "+CTXI",  # transmission interrupted
        "+CTXW",  # transmission wait
        "+CTXN",  # transmission not permitted
        "+CTOM",  # operating mode changed (also an answer to AT+CTOM?)
        "+CTGS",  # group selected (also an answer to AT+CTGS?)
        "+CREG",  # registration changed (also an answer to AT+CREG?)
        "+CMGS",  # an SDS's sending status (also the answer to AT+CMGS)
    }
)
TWO_LINE = frozenset({"+CTSDSR"})
# +CME ERROR codes ([PEI] table; texts as in the public implementations, CHANNELS.md C2)
CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    3: "operation not allowed",
    4: "operation not supported",
    30: "out of service",
    31: "no layer 2 acknowledgement from the SwMI",
    32: "user data length does not match",
    33: "wrong parameter type",
    34: "parameter out of range",
    35: "syntax error",
    36: "user data without AT+CMGS",
    37: "timeout waiting for user data",
    42: "MT busy with signalling",
}
CME_BUSY = 42  # the radio is busy: the same command may succeed a moment later


class PeiError(ValueError):
    """A command that cannot be sent as given."""


class Busy(PeiError):
    """A command is in flight already: one at a time."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Final:
    """A command's final result."""

    ok: bool
    kind: str  # "OK", "ERROR", "CME" or "CMS"
    code: int | None = None

    @property
    def busy(self) -> bool:
        return self.kind == "CME" and self.code == CME_BUSY

    def __str__(self) -> str:
        if self.kind in ("OK", "ERROR"):
            return self.kind
        text = CME_ERRORS.get(self.code or 0, "error") if self.kind == "CME" else "error"
        return f"+{self.kind} ERROR: {self.code} ({text})"


@dataclass(frozen=True, kw_only=True, slots=True)
class Indication:
    """An unsolicited indication: its name (``+CTSDSR``), its parameters, and for a
    two-line one the second line (``data``: the user data in hex)."""

    name: str
    params: tuple[str, ...]
    data: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Done:
    """A command ended: its information lines and its final result."""

    command: str
    lines: tuple[str, ...]
    final: Final
    echoed: bool = False  # the radio echoed the command

    def info(self, name: str) -> tuple[str, ...] | None:
        """The parameters of the first information line ``name: …``, if any."""
        for line in self.lines:
            found = parse_line(line)
            if found is not None and found[0] == name:
                return found[1]
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Stray:
    """A line no command asked for and no indication it is (a final result after a
    timeout, the greeting of a radio that reset)."""

    line: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Garbage:
    """Bytes that cannot be a PEI line (too long): skipped to the next line end."""

    size: int


Event = Indication | Done | Stray | Garbage


def final_of(line: str) -> Final | None:
    """The final result a line is, if it is one."""
    if line == "OK":
        return Final(ok=True, kind="OK")
    if line == "ERROR":
        return Final(ok=False, kind="ERROR")
    for kind in ("CME", "CMS"):
        prefix = f"+{kind} ERROR:"
        if line.startswith(prefix):
            raw = line[len(prefix) :].strip()
            return Final(ok=False, kind=kind, code=int(raw) if raw.isdigit() else None)
    return None


def parse_line(line: str) -> tuple[str, tuple[str, ...]] | None:
    """``+NAME: a,b,"c,d"`` -> (``+NAME``, (``a``, ``b``, ``c,d``)); None for a line of
    another form."""
    if not line.startswith("+") or ":" not in line:
        return None
    name, _, rest = line.partition(":")
    return name.strip(), split_params(rest.strip())


def split_params(text: str) -> tuple[str, ...]:
    """Comma-separated parameters; a double-quoted one may hold commas."""
    if not text:
        return ()
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    out.append("".join(current).strip())
    return tuple(out)


def check_command(command: str) -> str:
    """``command`` if it can be written as one line: printable ASCII, starting AT."""
    if not command[:2].upper() == "AT":
        raise PeiError(f"«{command[:20]}» is not an AT command")
    bad = next((c for c in command if not " " <= c <= "~"), None)
    if bad is not None:
        raise PeiError(f"a command cannot hold the character {ord(bad):#04x}")
    return command


@dataclass
class _Pending:
    command: str
    data: str | None = None  # the user data line of AT+CMGS
    lines: list[str] = field(default_factory=list)


@dataclass
class Pei:
    """One PEI link's line discipline (see the module's docstring)."""

    line_end: bytes = CR + LF  # what ends a command (SvxLink writes CR alone)
    _buffer: bytearray = field(default_factory=bytearray)
    _pending: _Pending | None = None
    _two_line: tuple[str, tuple[str, ...]] | None = None  # a header awaiting its data
    _skipping: bool = False  # inside an overlong line, up to its end
    _echoes: int = 0  # echoed lines of the command in flight dropped (its own, its data's)

    @property
    def busy(self) -> bool:
        """A command is in flight."""
        return self._pending is not None

    @property
    def in_flight(self) -> str | None:
        return self._pending.command if self._pending else None

    def command(self, command: str, data: str | None = None) -> bytes:
        """The bytes of ``command``, now in flight; ``data`` (hex) is the user data
        that follows ``AT+CMGS=…`` on its own line, ended by Ctrl-Z."""
        if self._pending is not None:
            raise Busy(f"{self._pending.command} is in flight")
        check_command(command)
        out = command.encode("ascii") + self.line_end
        if data is not None:
            if not data or any(c not in "0123456789ABCDEFabcdef" for c in data):
                raise PeiError("user data is hex digits")
            data = data.upper()
            out += data.encode("ascii") + CTRL_Z
        self._pending = _Pending(command=command, data=data)
        self._echoes = 0
        return out

    def abandon(self) -> str | None:
        """Forget the command in flight (its answer did not come in time): a late final
        result is then :class:`Stray`. Returns the command."""
        pending, self._pending = self._pending, None
        self._two_line = None
        return pending.command if pending else None

    def reset(self) -> None:
        """Forget everything (the link was reopened, the radio re-initialised)."""
        self._buffer.clear()
        self._pending = None
        self._two_line = None
        self._skipping = False

    def receive(self, data: bytes) -> list[Event]:
        """The events in what was read (lines may be split anywhere between reads)."""
        events: list[Event] = []
        self._buffer += data
        *lines, rest = _LINE_END.split(self._buffer)
        self._buffer = bytearray(rest)
        for raw in lines:
            if self._skipping:
                self._skipping = False
                continue
            if len(raw) > MAX_LINE:
                events.append(Garbage(size=len(raw)))
                continue
            line = _clean(raw)
            if line:
                events.extend(self._line(line))
        if len(self._buffer) > MAX_LINE:
            if not self._skipping:
                events.append(Garbage(size=len(self._buffer)))
            self._skipping = True
            self._buffer.clear()
        return events

    def _line(self, line: str) -> Iterable[Event]:
        if self._two_line is not None:
            name, params = self._two_line
            self._two_line = None
            return [Indication(name=name, params=params, data=line)]
        final = final_of(line)
        pending = self._pending
        if final is not None:
            if pending is None:
                return [Stray(line=line)]
            self._pending = None
            return [
                Done(
                    command=pending.command,
                    lines=tuple(pending.lines),
                    final=final,
                    echoed=self._echoes > 0,
                )
            ]
        parsed = parse_line(line)
        if parsed is not None and parsed[0] in UNSOLICITED and not _answers(pending, *parsed):
            if parsed[0] in TWO_LINE:
                self._two_line = parsed
                return []
            return [Indication(name=parsed[0], params=parsed[1])]
        if pending is None:
            return [Stray(line=line)]
        echoes = (pending.command, pending.data)
        if not pending.lines and self._echoes < 2 and line == echoes[self._echoes]:
            self._echoes += 1  # the radio's echo of the command (and of its data)
            return []
        pending.lines.append(line)
        return []


def _answers(pending: _Pending | None, name: str, params: tuple[str, ...]) -> bool:
    """Whether an indication-like line answers the command in flight (``AT+CTOM?`` is
    answered by ``+CTOM: 0``, which the radio also sends unasked). ``AT+CMGS=…`` is
    answered by ``+CMGS: <SDS instance>``; a ``+CMGS`` with a status (``+CMGS: 0,4,65``,
    sent, or 5, not) is the network's word on an SDS, which may come after the next
    command went: always an indication, matched to its SDS by its reference."""
    if pending is None or not pending.command.upper().startswith(f"AT{name}"):
        return False
    return name != "+CMGS" or len(params) <= 1


_LINE_END = re.compile(rb"[\r\n]")  # CR, LF or both end a line (empty lines are skipped)
_CONTROLS = bytes([*range(0x20), 0x7F])


def _clean(raw: bytes) -> str:
    """A line as text: Latin-1 (a radio's strings are 8-bit), control characters and
    surrounding blanks dropped."""
    return raw.translate(None, _CONTROLS).decode("latin-1").strip()
