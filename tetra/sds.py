"""SDS and SDS-TL PDUs (ETSI EN 300 392-2 [AI] clause 29, and 14.8.34 for statuses), as
bytes in and out: no I/O.

What a PEI carries as an SDS's user data (the hex line after ``+CTSDSR``, the hex before
Ctrl-Z of ``AT+CMGS``) is decoded by :func:`decode` into one of:

- :class:`Status` (AI service 13, 16 bits): a pre-coded status; 0x8000-0xFFFF are the
  network's own ("user") statuses, whose meaning each agency's status plan gives;
- :class:`ShortReport` (AI service 13, its first six bits ``011111``): SDS-SHORT-REPORT,
  a report in two bytes (received, consumed, memory full, unsupported);
- :class:`Text` (AI service 12, SDS type 4): simple text (protocol 0x02, immediate 0x09)
  or an SDS-TL SDS-TRANSFER of text messaging (0x82, immediate 0x89, and 0x8A with a
  user data header: one part of a concatenated text), with its message reference, the
  delivery report it asks for, the store and forward control, the text coding scheme
  (ISO 8859-1 and UTF-16 among them) and the optional timestamp;
- :class:`Report` (SDS-REPORT: a delivery status for a message reference, "received",
  "consumed", or one of the failures of [AI] table 29.16) and :class:`Ack` (SDS-ACK).

:func:`encode` is the inverse. :func:`text_messages` makes the SDS-TRANSFER PDUs of a
text (ISO 8859-1 when every character has a byte there, as every Spanish letter has,
else UTF-16), one when it fits in an SDS type 4 (2047 bits), else the parts of a
concatenated text; :class:`Reassembly` puts received parts back together.

Where the public implementations differ from [AI], [AI] wins (CHANNELS.md C11): the short
report's first byte is ``0x7C | type`` (``0x7E`` received), so the ``7ACA`` of one
peer's tests is a status, not a report; the forward address type is three bits (7: none)
and a TSI forward address is 48 bits; a UTF-16 text counts 16 bits a character.
"""

import importlib
from dataclasses import dataclass, field
from enum import IntEnum

importlib.import_module("gsm0338")  # registers the "gsm03.38" codec (packed 7-bit texts)

MAX_BITS = 2047  # an SDS type 4's user data ([PEI] AT+CTSDS AI service 12: 0 to 2047 bits)


class SdsError(ValueError):
    """A PDU that cannot be decoded (or encoded): what is wrong, in words."""


class Service(IntEnum):
    """The AI services of ``AT+CTSDS`` and ``+CTSDSR`` ([PEI] 6.17.3) this codec reads."""

    STATUS = 13  # 16 bits: a status, or a short report
    SDS_TL = 12  # SDS type 4: 0 to 2047 bits, the first byte a protocol identifier


class Pid(IntEnum):
    """Protocol identifiers ([AI] table 29.21) of the text PDUs."""

    SIMPLE_TEXT = 0x02
    SIMPLE_IMMEDIATE_TEXT = 0x09
    TEXT = 0x82  # text messaging, SDS-TL
    IMMEDIATE_TEXT = 0x89
    TEXT_UDH = 0x8A  # a message with a user data header: a part of a concatenated text


SIMPLE = frozenset({Pid.SIMPLE_TEXT, Pid.SIMPLE_IMMEDIATE_TEXT})
SDS_TL_TEXT = frozenset({Pid.TEXT, Pid.IMMEDIATE_TEXT, Pid.TEXT_UDH})


class Coding(IntEnum):
    """Text coding schemes ([AI] table 29.29) voicebridge writes; :data:`DECODERS` lists
    every one it reads."""

    LATIN1 = 0x01  # ISO/IEC 8859-1: every Spanish letter, ¿ and ¡ in one byte
    UTF16 = 0x1A  # ISO/IEC 10646 UCS-2/UTF-16, big-endian


# text coding scheme -> Python codec (7-bit packed GSM, 0, is read by _unpack_gsm)
DECODERS: dict[int, str] = {
    0x01: "iso8859-1",
    0x02: "iso8859-2",
    0x03: "iso8859-3",
    0x04: "iso8859-4",
    0x05: "iso8859-5",
    0x06: "iso8859-6",
    0x07: "iso8859-7",
    0x08: "iso8859-8",
    0x09: "iso8859-9",
    0x0A: "iso8859-10",
    0x0B: "iso8859-13",
    0x0C: "iso8859-14",
    0x0D: "iso8859-15",
    0x0E: "cp437",
    0x0F: "cp737",
    0x10: "cp850",
    0x11: "cp852",
    0x12: "cp855",
    0x13: "cp857",
    0x14: "cp860",
    0x15: "cp861",
    0x16: "cp863",
    0x17: "cp864",
    0x18: "cp865",
    0x19: "cp866",
    0x1A: "utf-16-be",
}
GSM_7BIT = 0x00


class ReportRequest(IntEnum):
    """The delivery report an SDS-TRANSFER asks for ([AI] 29.4.3.3)."""

    NONE = 0
    RECEIVED = 1
    CONSUMED = 2
    BOTH = 3

    @property
    def received(self) -> bool:
        return self in (ReportRequest.RECEIVED, ReportRequest.BOTH)

    @property
    def consumed(self) -> bool:
        return self in (ReportRequest.CONSUMED, ReportRequest.BOTH)


class MessageType(IntEnum):
    """The SDS-TL PDU type, the high nibble of the byte after the protocol identifier."""

    TRANSFER = 0
    REPORT = 1
    ACK = 2


class ShortReportKind(IntEnum):
    """SDS-SHORT-REPORT types ([AI] 29.4.3.11)."""

    UNSUPPORTED = 0  # protocol or encoding not supported
    MEMORY_FULL = 1
    RECEIVED = 2
    CONSUMED = 3


class Delivery(IntEnum):
    """Delivery statuses of SDS-REPORT and SDS-ACK ([AI] table 29.16) that have a name
    here; any other byte is kept as a number (:func:`delivery_kind` classifies it)."""

    RECEIVED = 0x00  # SDS receipt acknowledged by destination
    RECEIPT_REPORT_ACK = 0x01
    CONSUMED = 0x02  # SDS consumed by destination
    CONSUMED_REPORT_ACK = 0x03
    FORWARDED_EXTERNAL = 0x04
    SENT_TO_GROUP = 0x05  # sent to a group, acknowledgements prevented
    CONCATENATION_PART_RECEIVED = 0x06
    CONGESTION = 0x20  # temporary: the network is congested
    STORED = 0x21  # temporary: stored by the network
    NOT_REACHABLE_STORED = 0x22  # temporary: destination not reachable, stored
    NETWORK_OVERLOAD = 0x40
    SERVICE_UNAVAILABLE = 0x41  # service permanently not available on BS
    SERVICE_NOT_SUBSCRIBED = 0x42
    SERVICE_NOT_AVAILABLE = 0x43
    DESTINATION_NOT_AUTHORISED = 0x44
    UNKNOWN_DESTINATION = 0x45
    UNKNOWN_FORWARD_ADDRESS = 0x46
    GROUP_ADDRESS_WITH_INDIVIDUAL_SERVICE = 0x47
    VALIDITY_EXPIRED_NOT_RECEIVED = 0x48
    VALIDITY_EXPIRED_NOT_CONSUMED = 0x49
    DELIVERY_FAILED = 0x4A
    DESTINATION_NOT_REGISTERED = 0x4B
    DESTINATION_QUEUE_FULL = 0x4C
    MESSAGE_TOO_LONG = 0x4D
    DESTINATION_DOES_NOT_SUPPORT_SDS_TL = 0x4E
    DESTINATION_HOST_NOT_CONNECTED = 0x4F
    PROTOCOL_NOT_SUPPORTED = 0x50
    DATA_CODING_NOT_SUPPORTED = 0x51
    DESTINATION_MEMORY_FULL = 0x52
    DESTINATION_NOT_REACHABLE = 0x5A
    STOP_SENDING = 0x80
    START_SENDING = 0x81


def delivery_kind(status: int) -> str:
    """``delivered`` (received, consumed, sent to a group), ``pending`` (a temporary
    state: the network stores it, or is congested), ``failed``, or ``flow`` (flow
    control: stop or start sending) for a delivery status byte ([AI] table 29.16's
    ranges)."""
    if status in (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06):
        return "delivered"
    if 0x20 <= status <= 0x3F:
        return "pending"
    if 0x80 <= status <= 0x81:
        return "flow"
    return "failed"


@dataclass(frozen=True, kw_only=True, slots=True)
class Timestamp:
    """The optional timestamp of a text ([AI] 29.5.4.4): no year, no seconds."""

    month: int
    day: int
    hour: int
    minute: int
    utc: bool = True  # timeframe type 1 (UTC); 0 is the sender's local time

    def __post_init__(self) -> None:
        if (
            not (
                1 <= self.month <= 12
                and 1 <= self.day <= 31
                and self.hour < 24
                and self.minute < 60
            )
            or min(self.hour, self.minute) < 0
        ):
            raise SdsError(
                f"timestamp {self.month}-{self.day} {self.hour}:{self.minute} is not a time"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreForward:
    """Store and forward control ([AI] 29.4.3.5, 29.4.3.6, 29.4.3.14): the validity
    period's 5-bit code, the forward address type and its address's bytes."""

    validity: int = 0
    address_type: int = 7  # 0 SNA (1 byte), 1 SSI (3), 2 TSI (6), 3 external number, 7 none
    address: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.validity <= 31 or not 0 <= self.address_type <= 7:
            raise SdsError("store and forward control out of range")
        size = _FORWARD_SIZES.get(self.address_type)
        if size is not None and len(self.address) != size:
            raise SdsError(f"a forward address of type {self.address_type} is {size} bytes")


_FORWARD_SIZES = {0: 1, 1: 3, 2: 6, 7: 0}


@dataclass(frozen=True, kw_only=True, slots=True)
class Part:
    """A concatenated text's user data header (IEI 0: an 8-bit reference)."""

    ref: int  # the concatenation's reference, the same in every part
    total: int
    seq: int  # 1 to total

    def __post_init__(self) -> None:
        if not (0 <= self.ref <= 255 and 1 <= self.seq <= self.total <= 255):
            raise SdsError(f"part {self.seq} of {self.total} (reference {self.ref}) is invalid")


@dataclass(frozen=True, kw_only=True, slots=True)
class Status:
    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 0xFFFF:
            raise SdsError(f"status {self.value} is not 16 bits")
        if self.value >> 10 == SHORT_REPORT_ID:
            raise SdsError(f"0x{self.value:04X} is a short report, not a status")

    @property
    def user(self) -> bool:
        """One of the network's own statuses (0x8000-0xFFFF), which a status plan names."""
        return self.value >= 0x8000


SHORT_REPORT_ID = 0b011111  # the first six bits of an SDS-SHORT-REPORT


@dataclass(frozen=True, kw_only=True, slots=True)
class ShortReport:
    kind: ShortReportKind
    ref: int

    def __post_init__(self) -> None:
        if not 0 <= self.ref <= 255:
            raise SdsError(f"message reference {self.ref} is not a byte")


@dataclass(frozen=True, kw_only=True, slots=True)
class Text:
    """A text message: simple (no reference, no report) or an SDS-TL SDS-TRANSFER."""

    text: str
    pid: Pid = Pid.TEXT
    ref: int | None = 0  # the message reference (None only for a simple text)
    report: ReportRequest = ReportRequest.NONE
    short_report: bool = True  # the receiver may answer with a short report
    coding: int = Coding.LATIN1
    timestamp: Timestamp | None = None
    store_forward: StoreForward | None = None
    part: Part | None = None  # for Pid.TEXT_UDH

    def __post_init__(self) -> None:
        simple = self.pid in SIMPLE
        if simple != (self.ref is None):
            raise SdsError("a simple text has no message reference; an SDS-TL text has one")
        if self.ref is not None and not 0 <= self.ref <= 255:
            raise SdsError(f"message reference {self.ref} is not a byte")
        if simple and (
            self.report is not ReportRequest.NONE
            or self.timestamp
            or self.store_forward
            or self.part
        ):
            raise SdsError("a simple text carries no report request, timestamp or forwarding")
        if (self.pid is Pid.TEXT_UDH) != (self.part is not None):
            raise SdsError("a user data header comes with protocol 0x8A, and only there")
        if self.coding not in DECODERS and self.coding != GSM_7BIT:
            raise SdsError(f"text coding scheme {self.coding} is not known")


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """SDS-REPORT: what became of the message ``ref`` sent by the receiver of this."""

    status: int
    ref: int
    pid: Pid = Pid.TEXT
    ack_required: bool = False
    store_forward: StoreForward | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.status <= 255 and 0 <= self.ref <= 255):
            raise SdsError("a report's status and reference are bytes")

    @property
    def kind(self) -> str:
        return delivery_kind(self.status)


@dataclass(frozen=True, kw_only=True, slots=True)
class Ack:
    """SDS-ACK: acknowledges a report that required it."""

    status: int
    ref: int
    pid: Pid = Pid.TEXT

    def __post_init__(self) -> None:
        if not (0 <= self.status <= 255 and 0 <= self.ref <= 255):
            raise SdsError("an acknowledgement's status and reference are bytes")


Pdu = Status | ShortReport | Text | Report | Ack


def service_of(pdu: Pdu) -> Service:
    """The AI service that carries ``pdu``."""
    return Service.STATUS if isinstance(pdu, Status | ShortReport) else Service.SDS_TL


# ------------------------------------------------------------------ decoding


def decode(service: int, data: bytes, bits: int | None = None) -> Pdu:
    """The PDU of an SDS's user data on AI ``service`` (12 or 13). ``bits``: the length
    the PEI announced (``+CTSDSR``'s last field), checked against ``data``."""
    if bits is not None and not (len(data) * 8 - 7 <= bits <= len(data) * 8):
        raise SdsError(f"{bits} bits announced, {len(data)} bytes given")
    if service == Service.STATUS:
        if len(data) != 2:
            raise SdsError(f"a status is 2 bytes, not {len(data)}")
        value = int.from_bytes(data, "big")
        if value >> 10 == SHORT_REPORT_ID:
            return ShortReport(kind=ShortReportKind((value >> 8) & 0x03), ref=value & 0xFF)
        return Status(value=value)
    if service != Service.SDS_TL:
        raise SdsError(f"AI service {service} is not read here (12 and 13 are)")
    if not data:
        raise SdsError("an empty SDS")
    try:
        pid = Pid(data[0])
    except ValueError:
        raise SdsError(f"protocol 0x{data[0]:02X} is not a text protocol") from None
    if pid in SIMPLE:
        if len(data) < 2:
            raise SdsError("a simple text without its coding scheme")
        return Text(text=_text(data[1], data[2:]), pid=pid, ref=None, coding=data[1])
    if len(data) < 3:
        raise SdsError(f"an SDS-TL PDU of {len(data)} bytes is too short")
    kind, flags, ref = data[1] >> 4, data[1] & 0x0F, data[2]
    if kind == MessageType.REPORT:
        if len(data) < 4:
            raise SdsError("an SDS-REPORT without its message reference")
        store, _ = _store_forward(data, 4) if flags & 0x01 else (None, 4)
        return Report(
            status=data[2],
            ref=data[3],
            pid=pid,
            ack_required=bool(flags & 0x08),
            store_forward=store,
        )
    if kind == MessageType.ACK:
        if len(data) < 4:
            raise SdsError("an SDS-ACK without its message reference")
        return Ack(status=data[2], ref=data[3], pid=pid)
    if kind != MessageType.TRANSFER:
        raise SdsError(f"SDS-TL PDU type {kind} is not read here")
    at = 3
    store = None
    if flags & 0x01:
        store, at = _store_forward(data, 3)
    if len(data) <= at:
        raise SdsError("a text without its coding scheme")
    header = data[at]
    coding, timestamp = header & 0x7F, None
    at += 1
    if header & 0x80:
        if len(data) < at + 3:
            raise SdsError("a timestamp cut short")
        timestamp = _timestamp(data[at : at + 3])
        at += 3
    part = None
    if pid is Pid.TEXT_UDH:
        part, at = _udh(data, at)
    return Text(
        text=_text(coding, data[at:]),
        pid=pid,
        ref=ref,
        report=ReportRequest((flags >> 2) & 3),
        short_report=not flags & 0x02,
        coding=coding,
        timestamp=timestamp,
        store_forward=store,
        part=part,
    )


def _store_forward(data: bytes, at: int) -> tuple[StoreForward, int]:
    if len(data) <= at:
        raise SdsError("store and forward control cut short")
    validity, kind = data[at] >> 3, data[at] & 0x07
    at += 1
    if kind == 3:  # an external subscriber number: its digit count, then BCD digits
        if len(data) <= at:
            raise SdsError("an external forward address cut short")
        size = 1 + (data[at] + 1) // 2
    else:
        found = _FORWARD_SIZES.get(kind)
        if found is None:
            raise SdsError(f"forward address type {kind} is reserved")
        size = found
    if len(data) < at + size:
        raise SdsError("a forward address cut short")
    return StoreForward(validity=validity, address_type=kind, address=data[at : at + size]), (
        at + size
    )


def _timestamp(raw: bytes) -> Timestamp:
    return Timestamp(
        utc=raw[0] >> 6 == 1,
        month=raw[0] & 0x0F,
        day=raw[1] >> 3,
        hour=((raw[1] & 0x07) << 2) | (raw[2] >> 6),
        minute=raw[2] & 0x3F,
    )


def _udh(data: bytes, at: int) -> tuple[Part, int]:
    if len(data) <= at:
        raise SdsError("a user data header cut short")
    size = data[at]
    header = data[at + 1 : at + 1 + size]
    if len(header) != size:
        raise SdsError("a user data header cut short")
    i = 0
    while i + 1 < len(header):
        iei, length = header[i], header[i + 1]
        value = header[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            return Part(ref=value[0], total=value[1], seq=value[2]), at + 1 + size
        if iei == 0x08 and length == 4 and len(value) == 4:  # a 16-bit reference
            return Part(ref=value[1], total=value[2], seq=value[3]), at + 1 + size
        i += 2 + length
    raise SdsError("a user data header without a concatenation element")


def _text(coding: int, raw: bytes) -> str:
    if coding == GSM_7BIT:
        return _unpack_gsm(raw)
    name = DECODERS.get(coding)
    if name is None:
        raise SdsError(f"text coding scheme {coding} is not known")
    if name == "utf-16-be" and len(raw) % 2:
        raise SdsError("a UTF-16 text of an odd number of bytes")
    # a byte the coding has no character for is shown as U+FFFD: the rest is read
    return raw.decode(name, errors="replace")


def _unpack_gsm(raw: bytes) -> str:
    """Septets packed LSB first (3GPP TS 23.038), in the GSM 03.38 alphabet."""
    septets = bytearray()
    carry, bits = 0, 0
    for byte in raw:
        carry |= byte << bits
        bits += 8
        while bits >= 7:
            septets.append(carry & 0x7F)
            carry >>= 7
            bits -= 7
    return bytes(septets).decode("gsm03.38", errors="replace")


# ------------------------------------------------------------------ encoding


def encode(pdu: Pdu) -> bytes:
    """The user data of ``pdu`` (for ``AT+CMGS``; its AI service: :func:`service_of`)."""
    if isinstance(pdu, Status):
        return pdu.value.to_bytes(2, "big")
    if isinstance(pdu, ShortReport):
        return bytes([SHORT_REPORT_ID << 2 | pdu.kind, pdu.ref])
    if isinstance(pdu, Report):
        flags = (0x08 if pdu.ack_required else 0) | (0x01 if pdu.store_forward else 0)
        head = bytes([pdu.pid, MessageType.REPORT << 4 | flags, pdu.status, pdu.ref])
        return head + (_store_forward_bytes(pdu.store_forward) if pdu.store_forward else b"")
    if isinstance(pdu, Ack):
        return bytes([pdu.pid, MessageType.ACK << 4, pdu.status, pdu.ref])
    body = _encode_text(pdu.coding, pdu.text)
    if pdu.ref is None:
        return bytes([pdu.pid, pdu.coding]) + body
    flags = pdu.report << 2 | (0 if pdu.short_report else 0x02)
    out = bytearray([pdu.pid, MessageType.TRANSFER << 4 | flags, pdu.ref])
    if pdu.store_forward is not None:
        out[1] |= 0x01
        out += _store_forward_bytes(pdu.store_forward)
    out.append((0x80 if pdu.timestamp else 0) | pdu.coding)
    if pdu.timestamp is not None:
        out += _timestamp_bytes(pdu.timestamp)
    if pdu.part is not None:
        out += bytes([5, 0x00, 3, pdu.part.ref, pdu.part.total, pdu.part.seq])
    return bytes(out) + body


def bits(pdu: Pdu) -> int:
    """The length in bits ``AT+CMGS`` announces for ``pdu``."""
    return len(encode(pdu)) * 8


def _store_forward_bytes(s: StoreForward) -> bytes:
    return bytes([s.validity << 3 | s.address_type]) + s.address


def _timestamp_bytes(t: Timestamp) -> bytes:
    return bytes(
        [
            (0x40 if t.utc else 0) | t.month,
            t.day << 3 | t.hour >> 2,
            (t.hour & 0x03) << 6 | t.minute,
        ]
    )


def _encode_text(coding: int, text: str) -> bytes:
    if coding == GSM_7BIT:
        raise SdsError("voicebridge does not write packed 7-bit texts")
    try:
        return text.encode(DECODERS[coding])
    except UnicodeEncodeError as exc:
        raise SdsError(f"«{text[exc.start : exc.end]}» has no byte in coding {coding}") from None


def coding_for(text: str) -> Coding:
    """ISO 8859-1 when every character of ``text`` has a byte there, else UTF-16."""
    try:
        text.encode("iso8859-1")
    except UnicodeEncodeError:
        return Coding.UTF16
    return Coding.LATIN1


def text_messages(
    text: str,
    ref: int,
    *,
    report: ReportRequest = ReportRequest.RECEIVED,
    immediate: bool = False,
    timestamp: Timestamp | None = None,
    max_bits: int = MAX_BITS,
) -> list[Text]:
    """The SDS-TRANSFER PDUs that carry ``text``: one if it fits in ``max_bits``, else
    the parts of a concatenated text (protocol 0x8A), each with its own message
    reference (``ref``, ``ref + 1``, … modulo 256: each part's report names it) and the
    concatenation reference ``ref``. Split between characters, never inside one."""
    coding = coding_for(text)
    one = Text(
        text=text,
        pid=Pid.IMMEDIATE_TEXT if immediate else Pid.TEXT,
        ref=ref,
        report=report,
        coding=coding,
        timestamp=timestamp,
    )
    if bits(one) <= max_bits:
        return [one]
    blank = Text(
        text="",
        pid=Pid.TEXT_UDH,
        ref=ref,
        report=report,
        coding=coding,
        timestamp=timestamp,
        part=Part(ref=ref, total=1, seq=1),
    )
    room = (max_bits - bits(blank)) // 8
    chunks = _split(text, coding, room)
    if len(chunks) > 255:
        raise SdsError(f"a text of {len(text)} characters needs more than 255 parts")
    return [
        Text(
            text=chunk,
            pid=Pid.TEXT_UDH,
            ref=(ref + n) % 256,
            report=report,
            coding=coding,
            timestamp=timestamp,
            part=Part(ref=ref, total=len(chunks), seq=n + 1),
        )
        for n, chunk in enumerate(chunks)
    ]


def _split(text: str, coding: int, room: int) -> list[str]:
    if room < 4:
        raise SdsError("no room for text in a part")
    name = DECODERS[coding]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode(name))
        if size + width > room:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    chunks.append("".join(current))
    return chunks


@dataclass
class Reassembly:
    """Parts of concatenated texts, by sender and concatenation reference, until every
    part of one is in: :meth:`add` then returns the whole text."""

    max_open: int = 64  # concatenations kept waiting (the oldest forgotten first)
    _open: dict[tuple[str, int], dict[int, Text]] = field(default_factory=dict)

    def add(self, sender: str, pdu: Text) -> str | None:
        if pdu.part is None:
            return pdu.text
        key = (sender, pdu.part.ref)
        parts = self._open.setdefault(key, {})
        if parts and next(iter(parts.values())).part.total != pdu.part.total:  # type: ignore[union-attr]
            parts.clear()  # a new concatenation under a reused reference
        parts[pdu.part.seq] = pdu
        if len(parts) < pdu.part.total:
            while len(self._open) > self.max_open:
                self._open.pop(next(iter(self._open)))
            return None
        del self._open[key]
        return "".join(parts[n].text for n in range(1, pdu.part.total + 1))


def hexed(data: bytes) -> str:
    """Upper-case hex, as PEIs write user data."""
    return data.hex().upper()


def unhexed(line: str) -> bytes:
    """The bytes of a hex line (spaces tolerated); :class:`SdsError` when it is not hex."""
    cleaned = "".join(line.split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise SdsError(f"«{line[:40]}» is not hex") from None
