"""The SDS codec (issue 12, point 1): the public vectors of CHANNELS.md C6-C10 decoded
field by field and encoded back byte for byte, Spanish texts both ways, the peers'
defects not copied, and properties over generated texts and references."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tetra import sds
from tetra.sds import (
    Ack,
    Coding,
    Part,
    Pid,
    Reassembly,
    Report,
    ReportRequest,
    SdsError,
    ShortReport,
    ShortReportKind,
    Status,
    StoreForward,
    Text,
    Timestamp,
)

TEST = "testmessage"
APRIL_11_10_15_LOCAL = Timestamp(month=4, day=11, hour=10, minute=15, utc=False)

# (service, hex, the PDU it is): ftl/tetra-pei sds/sds_test.go, SvxLink's comments and
# the worked Spanish vector of CHANNELS.md C6
VECTORS = [
    (13, "8004", Status(value=0x8004)),
    (12, "0201746573746D657373616765", Text(text=TEST, pid=Pid.SIMPLE_TEXT, ref=None)),
    (12, "0201", Text(text="", pid=Pid.SIMPLE_TEXT, ref=None)),
    (12, "0901746573746D657373616765", Text(text=TEST, pid=Pid.SIMPLE_IMMEDIATE_TEXT, ref=None)),
    (12, "82029C01746573746D657373616765", Text(text=TEST, ref=0x9C, short_report=False)),
    (
        12,
        "89029C01746573746D657373616765",
        Text(text=TEST, pid=Pid.IMMEDIATE_TEXT, ref=0x9C, short_report=False),
    ),
    (
        12,
        "82039C5101020301746573746D657373616765",
        Text(
            text=TEST,
            ref=0x9C,
            short_report=False,
            store_forward=StoreForward(validity=10, address_type=1, address=b"\x01\x02\x03"),
        ),
    ),
    (
        12,
        "82029C81045A8F746573746D657373616765",
        Text(text=TEST, ref=0x9C, short_report=False, timestamp=APRIL_11_10_15_LOCAL),
    ),
    (
        12,
        "8A02C981045A8F050003C90201746573746D657373616765",
        Text(
            text=TEST,
            pid=Pid.TEXT_UDH,
            ref=0xC9,
            short_report=False,
            timestamp=APRIL_11_10_15_LOCAL,
            part=Part(ref=0xC9, total=2, seq=1),
        ),
    ),
    (
        12,
        "8A02CA81045A8F050003C90202746573746D657373616765",
        Text(
            text=TEST,
            pid=Pid.TEXT_UDH,
            ref=0xCA,
            short_report=False,
            timestamp=APRIL_11_10_15_LOCAL,
            part=Part(ref=0xC9, total=2, seq=2),
        ),
    ),
    (12, "821000C9", Report(status=0x00, ref=0xC9)),
    (12, "821800CA", Report(status=0x00, ref=0xCA, ack_required=True)),
    (12, "822001C9", Ack(status=0x01, ref=0xC9)),
    (12, "82100002", Report(status=0x00, ref=0x02)),
    (
        12,
        "82041D014164676A6D707477",
        Text(text="Adgjmptw", ref=0x1D, report=ReportRequest.RECEIVED),
    ),
    (
        12,
        "82042A01494E432D34322054FA70616320416D617275",
        Text(text="INC-42 Túpac Amaru", ref=0x2A, report=ReportRequest.RECEIVED),
    ),
    # tetra-pei's encoding vector: a received report asked, UTC timestamp 11 Apr 08:15
    (
        12,
        "8206C981445A0F746573746D657373616765",
        Text(
            text=TEST,
            ref=0xC9,
            report=ReportRequest.RECEIVED,
            short_report=False,
            timestamp=Timestamp(month=4, day=11, hour=8, minute=15, utc=True),
        ),
    ),
    (13, "7ECA", ShortReport(kind=ShortReportKind.RECEIVED, ref=0xCA)),
    (13, "7F01", ShortReport(kind=ShortReportKind.CONSUMED, ref=0x01)),
]


@pytest.mark.parametrize(("service", "hexed", "pdu"), VECTORS, ids=[v[1] for v in VECTORS])
def test_the_public_vectors_decode_field_by_field_and_encode_back(
    service: int, hexed: str, pdu: sds.Pdu
) -> None:
    data = bytes.fromhex(hexed)
    assert sds.decode(service, data, bits=len(data) * 8) == pdu
    assert sds.hexed(sds.encode(pdu)) == hexed
    assert sds.service_of(pdu) == service
    assert sds.bits(pdu) == len(data) * 8


def test_the_worked_spanish_vector_is_176_bits() -> None:
    [pdu] = sds.text_messages("INC-42 Túpac Amaru", 0x2A)
    assert sds.hexed(sds.encode(pdu)) == "82042A01494E432D34322054FA70616320416D617275"
    assert sds.bits(pdu) == 176


SPANISH = [
    "INC LIM-2026-000123 ROBO Av. Abancay 123, Cercado. Responda estado 32769",
    "¿Recibido? ¡Sí! Ñaña, el pingüino, está en Jesús María; camión de bomberos en camino",
    "ÁÉÍÓÚ áéíóú Üü Ññ ¿¡ «» º ª €",  # € is not in ISO 8859-1: UTF-16
]


@pytest.mark.parametrize("text", SPANISH)
def test_spanish_texts_survive_both_ways(text: str) -> None:
    [pdu] = sds.text_messages(text, 7)
    assert pdu.coding == (Coding.UTF16 if "€" in text else Coding.LATIN1)
    back = sds.decode(12, sds.encode(pdu))
    assert isinstance(back, Text)
    assert back.text == text
    if pdu.coding == Coding.LATIN1:  # one byte a letter: á is E1, ñ F1, ¿ BF, ¡ A1
        assert "á".encode("iso8859-1") in sds.encode(pdu) or "á" not in text


def test_utf16_counts_sixteen_bits_a_character() -> None:
    [pdu] = sds.text_messages("€", 0)
    assert pdu.coding == Coding.UTF16
    assert sds.encode(pdu) == bytes([0x82, 0x04, 0x00, 0x1A, 0x20, 0xAC])
    assert sds.bits(pdu) == 48


def test_a_long_text_is_sent_in_parts_and_put_back_together() -> None:
    text = "Incendio en Av. Abancay, Cercado de Lima. " * 15  # 630 characters
    parts = sds.text_messages(text, 250)
    assert len(parts) == 3
    assert all(sds.bits(p) <= sds.MAX_BITS for p in parts)
    assert [p.ref for p in parts] == [250, 251, 252]  # each part's report names it
    assert {p.part.ref for p in parts if p.part} == {250}
    assert [p.part.seq for p in parts if p.part] == [1, 2, 3]
    reassembly = Reassembly()
    got = [reassembly.add("1001", sds.decode(12, sds.encode(p))) for p in reversed(parts)]  # type: ignore[arg-type]
    assert got == [None, None, text]


def test_parts_are_split_between_characters() -> None:
    text = "ñ" * 300 + "€"  # UTF-16: 2 bytes each, never half a character
    parts = sds.text_messages(text, 1)
    assert "".join(p.text for p in parts) == text
    assert all(len(sds.encode(p)) % 2 == 0 for p in parts)  # the header is 10 bytes


def test_a_status_and_a_short_report_are_told_apart_as_ai_says() -> None:
    # the first six bits 011111 make a short report: 0x7C | type
    assert sds.decode(13, bytes.fromhex("7ECA")) == ShortReport(
        kind=ShortReportKind.RECEIVED, ref=0xCA
    )
    # tetra-pei's 7ACA (parsed with the mask 0x7A) is a status by [AI]: not copied
    assert sds.decode(13, bytes.fromhex("7ACA")) == Status(value=0x7ACA)
    assert Status(value=32769).user
    assert not Status(value=0).user  # 0 is the emergency status
    with pytest.raises(SdsError, match="short report"):
        Status(value=0x7E00)


def test_a_tsi_forward_address_is_48_bits() -> None:
    sf = StoreForward(validity=31, address_type=2, address=bytes.fromhex("2CC0010F4240"))
    pdu = Text(text="x", ref=1, store_forward=sf)
    assert sds.decode(12, sds.encode(pdu)) == pdu
    with pytest.raises(SdsError, match="6 bytes"):
        StoreForward(address_type=2, address=b"\x01\x02\x03")


def test_delivery_statuses_are_classified_by_their_ranges() -> None:
    assert sds.delivery_kind(0x00) == "delivered"
    assert sds.delivery_kind(0x02) == "delivered"
    assert sds.delivery_kind(0x05) == "delivered"  # sent to a group
    assert sds.delivery_kind(0x21) == "pending"  # stored by the network
    assert sds.delivery_kind(0x4B) == "failed"  # destination not registered
    assert sds.delivery_kind(0x5A) == "failed"  # not reachable
    assert sds.delivery_kind(0x80) == "flow"


@pytest.mark.parametrize(
    ("service", "hexed", "problem"),
    [
        (13, "80", "2 bytes"),
        (12, "", "empty"),
        (12, "0F01", "not a text protocol"),
        (12, "8202", "too short"),
        (12, "82029C", "coding scheme"),
        (12, "82029C81045A", "timestamp"),
        (12, "8A02C901", "user data header"),
        (12, "82039C11", "forward address"),
        (12, "82029C1A00", "odd number"),
        (12, "82029C7F41", "not known"),
        (12, "82029C818F5A8F41", "not a time"),  # month 15
        (12, "823001C9", "type 3"),
        (14, "00", "AI service 14"),
    ],
)
def test_a_bad_pdu_is_refused_with_what_is_wrong(service: int, hexed: str, problem: str) -> None:
    with pytest.raises(SdsError, match=problem):
        sds.decode(service, bytes.fromhex(hexed))


def test_the_announced_length_must_match_the_data() -> None:
    with pytest.raises(SdsError, match="112 bits announced"):
        sds.decode(12, bytes.fromhex("82029C01746573746D657373616765"), bits=112)


def test_a_byte_the_coding_has_no_character_for_is_shown_not_lost() -> None:
    # ISO 8859-6 has no character at 0xA1: the rest of the text is read
    back = sds.decode(12, bytes.fromhex("820200064142A143"))
    assert isinstance(back, Text)
    assert back.text == "AB\ufffdC"


def test_a_packed_7bit_text_is_read() -> None:
    # "hello" in GSM 03.38 septets, packed LSB first (3GPP TS 23.038)
    back = sds.decode(12, bytes.fromhex("02") + bytes.fromhex("00") + bytes.fromhex("E8329BFD06"))
    assert isinstance(back, Text)
    assert back.text == "hello"


def test_hex_lines_tolerate_spaces_and_refuse_the_rest() -> None:
    assert sds.unhexed("82 10 00 C9") == bytes.fromhex("821000C9")
    with pytest.raises(SdsError, match="is not hex"):
        sds.unhexed("82ZZ")


# --------------------------------------------------------------------- properties

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=700
)
refs = st.integers(min_value=0, max_value=255)
reports = st.sampled_from(list(ReportRequest))
stamps = st.none() | st.builds(
    Timestamp,
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    utc=st.booleans(),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=texts, ref=refs, report=reports, timestamp=stamps, immediate=st.booleans())
def test_encoding_then_decoding_is_the_identity(
    text: str, ref: int, report: ReportRequest, timestamp: Timestamp | None, immediate: bool
) -> None:
    pdus = sds.text_messages(text, ref, report=report, timestamp=timestamp, immediate=immediate)
    decoded = [sds.decode(12, sds.encode(p), bits=sds.bits(p)) for p in pdus]
    assert decoded == pdus
    assert all(sds.bits(p) <= sds.MAX_BITS for p in pdus)
    reassembly = Reassembly()
    wholes = [reassembly.add("2001", p) for p in decoded]  # type: ignore[arg-type]
    assert wholes[-1] == text
    assert all(w is None for w in wholes[:-1])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    status=st.integers(0, 0xFFFF).filter(lambda v: v >> 10 != sds.SHORT_REPORT_ID),
    kind=st.sampled_from(list(ShortReportKind)),
    ref=refs,
    delivery=st.integers(0, 255),
    ack=st.booleans(),
)
def test_statuses_reports_and_acks_round_trip(
    status: int, kind: ShortReportKind, ref: int, delivery: int, ack: bool
) -> None:
    for pdu in (
        Status(value=status),
        ShortReport(kind=kind, ref=ref),
        Report(status=delivery, ref=ref, ack_required=ack),
        Ack(status=delivery, ref=ref),
    ):
        assert sds.decode(sds.service_of(pdu), sds.encode(pdu)) == pdu


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.binary(max_size=300), service=st.sampled_from([12, 13]))
def test_any_bytes_decode_or_are_refused_cleanly(data: bytes, service: int) -> None:
    try:
        pdu = sds.decode(service, data)
    except SdsError:
        return
    assert sds.service_of(pdu) == service
