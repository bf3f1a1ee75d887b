"""The PEI line discipline (issue 12, point 1): commands as bytes, final results, the
two-line ``+CTSDSR``, an indication arriving between a command and its ``OK``, echo on
or off, lines split anywhere, garbage, and nothing a command holds can start another."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tetra.pei import (
    MAX_LINE,
    Busy,
    Done,
    Final,
    Garbage,
    Indication,
    Pei,
    PeiError,
    Stray,
    final_of,
    parse_line,
    split_params,
)

SDS_IN = b"+CTSDSR: 12,23404,0,23401,0,112\r\n82040801476A61746A616A676A61\r\n"


def test_a_command_and_its_ok() -> None:
    pei = Pei()
    assert pei.command("ATE0") == b"ATE0\r\n"
    assert pei.busy
    [done] = pei.receive(b"ATE0\r\r\nOK\r\n")  # echo on until this ATE0
    assert done == Done(command="ATE0", lines=(), final=Final(ok=True, kind="OK"), echoed=True)
    assert pei.in_flight is None
    pei.command("AT")
    [done] = pei.receive(b"\r\nOK\r\n")  # echo off now
    assert isinstance(done, Done)
    assert not done.echoed


@pytest.mark.parametrize(
    ("line", "final"),
    [
        ("OK", Final(ok=True, kind="OK")),
        ("ERROR", Final(ok=False, kind="ERROR")),
        ("+CME ERROR: 42", Final(ok=False, kind="CME", code=42)),
        ("+CME ERROR: 35", Final(ok=False, kind="CME", code=35)),
        ("+CMS ERROR: 500", Final(ok=False, kind="CMS", code=500)),
        ("+CTOM: 0", None),
    ],
)
def test_final_results(line: str, final: Final | None) -> None:
    assert final_of(line) == final


def test_a_busy_radio_says_so_in_words() -> None:
    final = final_of("+CME ERROR: 42")
    assert final is not None
    assert final.busy
    assert str(final) == "+CME ERROR: 42 (MT busy with signalling)"


def test_information_lines_belong_to_their_command() -> None:
    pei = Pei()
    pei.command("AT+CMGS=1001,176", "82042A01494E432D34322054FA70616320416D617275")
    [done] = pei.receive(b"\r\n+CMGS: 0\r\n\r\nOK\r\n")  # its SDS instance
    assert isinstance(done, Done)
    assert done.lines == ("+CMGS: 0",)
    assert done.info("+CMGS") == ("0",)


def test_the_network_s_word_on_an_sds_is_an_indication_whenever_it_comes() -> None:
    """``+CMGS: 0,4,42`` (sent) or ``0,5,42`` (not sent) may come with the command's OK
    or after the next command went: never taken for that command's answer."""
    pei = Pei()
    pei.command("AT+CMGS=1001,176", "82042A01494E432D34322054FA70616320416D617275")
    events = pei.receive(b"\r\n+CMGS: 0,5,41\r\n+CMGS: 0\r\nOK\r\n+CMGS: 0,4,42\r\n")
    assert events == [
        Indication(name="+CMGS", params=("0", "5", "41")),
        Done(command="AT+CMGS=1001,176", lines=("+CMGS: 0",), final=Final(ok=True, kind="OK")),
        Indication(name="+CMGS", params=("0", "4", "42")),
    ]


def test_the_user_data_follows_the_command_and_ctrl_z_ends_it() -> None:
    pei = Pei()
    out = pei.command("AT+CMGS=1001,176", "82042a01494e432d34322054fa70616320416d617275")
    assert out == (b"AT+CMGS=1001,176\r\n82042A01494E432D34322054FA70616320416D617275\x1a")


def test_an_sds_received_is_one_indication_of_two_lines() -> None:
    pei = Pei()
    [ind] = pei.receive(SDS_IN)
    assert ind == Indication(
        name="+CTSDSR",
        params=("12", "23404", "0", "23401", "0", "112"),
        data="82040801476A61746A616A676A61",
    )


def test_an_indication_between_a_command_and_its_ok_is_not_its_answer() -> None:
    pei = Pei()
    pei.command("AT+CTSDS=12,0,0,0,1")
    events = pei.receive(
        b"AT+CTSDS=12,0,0,0,1\r\n" + SDS_IN + b"+CTXG: 1,3,0,0,3,09011638300023404\r\nOK\r\n"
    )
    assert [type(e) for e in events] == [Indication, Indication, Done]
    assert events[1] == Indication(
        name="+CTXG", params=("1", "3", "0", "0", "3", "09011638300023404")
    )
    done = events[2]
    assert isinstance(done, Done)
    assert done.lines == ()


def test_an_answer_that_looks_like_an_indication_goes_to_its_query() -> None:
    pei = Pei()
    pei.command("AT+CTOM?")
    [done] = pei.receive(b"+CTOM: 0\r\nOK\r\n")
    assert isinstance(done, Done)
    assert done.info("+CTOM") == ("0",)
    # unasked, the same line is an indication
    assert pei.receive(b"+CTOM: 1\r\n") == [Indication(name="+CTOM", params=("1",))]


@pytest.mark.parametrize("echo", [True, False])
@settings(max_examples=100, deadline=None, derandomize=True)
@given(cuts=st.lists(st.integers(min_value=1, max_value=20), max_size=40))
def test_lines_split_anywhere_read_the_same(echo: bool, cuts: list[int]) -> None:
    command, data = "AT+CMGS=1001,32", "821000C9"
    stream = (
        (b"AT+CMGS=1001,32\r\n821000C9\x1a\r\n" if echo else b"")
        + SDS_IN
        + b"+CMGS: 0,4,201\r\nOK\r\n"
        + b"+CTSDSR: 13,1234567,0,2345678,0,16\r\n8004\r\n"
    )
    whole = Pei()
    whole.command(command, data)
    expected = whole.receive(stream)
    assert [type(e) for e in expected] == [Indication, Indication, Done, Indication]
    pieces = Pei()
    pieces.command(command, data)
    got, at = [], 0
    for cut in cuts:
        got += pieces.receive(stream[at : at + cut])
        at += cut
    got += pieces.receive(stream[at:])
    assert got == expected


def test_cr_alone_ends_a_line_too() -> None:
    pei = Pei(line_end=b"\r")
    assert pei.command("AT") == b"AT\r"
    [done] = pei.receive(b"AT\rOK\r")
    assert isinstance(done, Done)


def test_one_command_at_a_time() -> None:
    pei = Pei()
    pei.command("AT+CTOM=0")
    with pytest.raises(Busy, match=r"AT\+CTOM=0 is in flight"):
        pei.command("AT")
    assert pei.abandon() == "AT+CTOM=0"
    # its late answer is stray, and the next command is free to go
    assert pei.receive(b"OK\r\n") == [Stray(line="OK")]
    pei.command("AT")


@pytest.mark.parametrize(
    "command",
    ["AT+CMGS=1001,32\r\nAT+CTOM=1", "AT+CTSDS=12,0\rATZ", "AT\x1a", "AT\x1bZ", "ATD1234ñ", "+++"],
)
def test_nothing_in_a_command_can_end_it_or_start_another(command: str) -> None:
    with pytest.raises(PeiError):
        Pei().command(command)


def test_user_data_is_hex_only() -> None:
    with pytest.raises(PeiError, match="hex"):
        Pei().command("AT+CMGS=1001,16", "80\r\nATZ")


def test_garbage_is_reported_once_and_skipped_to_the_next_line() -> None:
    pei = Pei()
    events = pei.receive(b"\xff" * (MAX_LINE + 10))
    events += pei.receive(b"\x00" * 100)
    events += pei.receive(b"noise\r\n+CTSDSR: 13,1234567,0,2345678,0,16\r\n8004\r\n")
    assert events == [
        Garbage(size=MAX_LINE + 10),
        Indication(
            name="+CTSDSR", params=("13", "1234567", "0", "2345678", "0", "16"), data="8004"
        ),
    ]


def test_control_characters_are_dropped_from_lines() -> None:
    pei = Pei()
    assert pei.receive(b"\x00\x07+CTOM:\x01 0\r\n") == [Indication(name="+CTOM", params=("0",))]


def test_a_line_nobody_asked_for_is_stray() -> None:
    assert Pei().receive(b"Motorola\r\n") == [Stray(line="Motorola")]


def test_parameters() -> None:
    assert parse_line('+CTICN: 1,0,0,0,"2345,678",1') == (
        "+CTICN",
        ("1", "0", "0", "0", "2345,678", "1"),
    )
    assert parse_line("OK") is None
    assert split_params("") == ()
