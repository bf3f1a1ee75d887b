"""The responder line check, ``vb-check`` (its built-in copy, dialplans/templates) run by
the fake Asterisk: the line answers, hears the test message (twice when silent) and
presses 1 or not; the context reports ``UserEvent: LineCheck`` with ``Digit`` and
``ReadStatus``, or ``ReadStatus: HANGUP`` from ``h`` when the line hangs up first.

No Asterisk recording has this context yet: the LineCheck events' field list is the
one Asterisk gives every UserEvent (the channel's snapshot, ``UserEvent``, then the
headers in order, as the recorded ResponderAck), asserted here rather than added to
the recorded shapes of :data:`~tests.voicebridge.ami.sim.test_session.FIELDS`."""

import asyncio

import pytest

from tests.voicebridge.ami.sim.test_session import (
    SNAP,
    SPEED,
    Client,
    check_shapes,
    logged_in,
    names,
    running,
)
from voicebridge.ami.codec import Message
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk

READ_TIMEOUT = 10
"""vb-check's Read timeout (DialplanParams().read_timeout), seconds of the lab."""
LINE_CHECK = ["Privilege", *SNAP, "UserEvent", "Digit", "ReadStatus"]


def originate_check(client: Client, dial: str, *variables: str) -> str:
    """Originate ``dial`` into vb-check with these ``NAME=value`` variables; the line's
    Uniqueid is ``check-1``."""
    return client.send(
        "Originate",
        ("Channel", dial),
        ("Context", "vb-check"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("ChannelId", "check-1"),
        *(("Variable", v) for v in variables),
        ("Async", "true"),
    )


def line_checks(client: Client) -> list[Message]:
    found = [m for m in client.events("UserEvent") if m["UserEvent"] == "LineCheck"]
    for m in found:
        assert names(m) == LINE_CHECK, names(m)
        assert m["Context"] == "vb-check"
    return found


def apps(client: Client, channel: str, app: str) -> list[str]:
    """The arguments of each ``app`` the channel ran, in order (Newexten's AppData)."""
    return [
        m["AppData"]
        for m in client.events("Newexten")
        if m["Channel"] == channel and m["Application"] == app
    ]


def check_other_shapes(client: Client) -> None:
    check_shapes(m for m in client.log if m.event != "UserEvent")


@pytest.mark.parametrize(
    ("digit", "closing"), [("1", "vb/check-confirmed"), ("5", "vb/check-no-key")]
)
async def test_a_key_during_the_first_play_is_the_answer(
    sim: FakeAsterisk, client: Client, digit: str, closing: str
) -> None:
    """1 confirms the line; another key is an answer too (no second play), but not a
    confirmation."""
    dial = "Local/s@check-press"
    sim.script(dial, Endpoint(behaviour=Behaviour.PRESS, digit=digit, after=2.0))
    originate_check(client, dial)
    report = await client.event("UserEvent", UserEvent="LineCheck")
    assert (report["Digit"], report["ReadStatus"]) == (digit, "OK")
    assert (report["Channel"], report["Exten"], report["Uniqueid"]) == (
        f"{dial}-00000000;1",
        "s",
        "check-1",
    )
    assert f"UserEvent: LineCheck\r\nDigit: {digit}\r\nReadStatus: OK\r\n\r\n".encode() in bytes(
        client.raw
    )
    await client.event("Hangup", Channel=f"{dial}-00000000;2")
    one = f"{dial}-00000000;1"
    assert apps(client, one, "Read") == ["VB_KEY,silence/1&vb/check-intro,1,,1,10"]
    assert apps(client, one, "Playback") == [closing]
    assert apps(client, one, "SendDTMF") == []  # no VB_DTMF: nothing sent
    assert len(line_checks(client)) == 1
    assert sim.channels == {}
    check_other_shapes(client)


async def test_a_silent_line_hears_the_message_twice_then_reports_a_timeout(
    sim: FakeAsterisk, client: Client
) -> None:
    dial = "Local/s@check-silent"
    sim.script(dial, Endpoint(behaviour=Behaviour.SILENT))
    loop = asyncio.get_running_loop()
    start = loop.time()
    originate_check(client, dial)
    report = await client.event("UserEvent", UserEvent="LineCheck")
    assert loop.time() - start >= 2 * READ_TIMEOUT * SPEED
    assert (report["Digit"], report["ReadStatus"]) == ("", "TIMEOUT")
    assert b"UserEvent: LineCheck\r\nDigit: \r\nReadStatus: TIMEOUT\r\n\r\n" in bytes(client.raw)
    await client.event("Hangup", Channel=f"{dial}-00000000;2")
    one = f"{dial}-00000000;1"
    assert apps(client, one, "Read") == ["VB_KEY,silence/1&vb/check-intro,1,,1,10"] * 2
    assert apps(client, one, "Playback") == ["vb/check-no-key"]
    assert len(line_checks(client)) == 1
    check_other_shapes(client)


@pytest.mark.parametrize(("hangup_after", "plays"), [(1.0, 1), (READ_TIMEOUT + 5.0, 2)])
async def test_a_line_that_hangs_up_during_the_message_is_reported_from_h(
    sim: FakeAsterisk, client: Client, hangup_after: float, plays: int
) -> None:
    """During the first play or the second: one LineCheck, ``Digit: `` empty and
    ``ReadStatus: HANGUP``, from ``h``; no closing prompt."""
    dial = "Local/s@check-gone"
    sim.script(dial, Endpoint(behaviour=Behaviour.SILENT, hangup_after=hangup_after))
    originate_check(client, dial)
    report = await client.event("UserEvent", UserEvent="LineCheck")
    assert (report["Digit"], report["ReadStatus"], report["Exten"]) == ("", "HANGUP", "h")
    assert b"UserEvent: LineCheck\r\nDigit: \r\nReadStatus: HANGUP\r\n\r\n" in bytes(client.raw)
    one = f"{dial}-00000000;1"
    await client.event("Hangup", Channel=one)
    assert len(apps(client, one, "Read")) == plays
    assert apps(client, one, "Playback") == []
    assert len(line_checks(client)) == 1
    assert sim.channels == {}
    check_other_shapes(client)


async def test_a_hangup_during_the_closing_prompt_reports_nothing_more() -> None:
    """The state turns ``done`` right after the report: ``h`` stays quiet."""
    async with running(sounds={"vb/check-confirmed": 10.0}) as sim, logged_in(sim) as client:
        dial = "Local/s@check-short"
        sim.script(dial, Endpoint(behaviour=Behaviour.PRESS, after=2.0, hangup_after=6.0))
        originate_check(client, dial)
        one = f"{dial}-00000000;1"
        await client.event("Hangup", Channel=one)
        assert [(m["Digit"], m["ReadStatus"]) for m in line_checks(client)] == [("1", "OK")]
        assert apps(client, one, "Playback") == ["vb/check-confirmed"]
        assert [m["AppData"] for m in client.events("Newexten") if m["Exten"] == "h"][-1] == (
            "responder line check ended"
        )
        check_other_shapes(client)


async def test_vb_dtmf_is_sent_once_the_line_answers(sim: FakeAsterisk, client: Client) -> None:
    """An extension behind the line's switchboard: ``w`` waits, the digits go out (DTMF
    ``Direction: Sent``) before the message, and the key is read after them."""
    dial = "Local/s@check-menu"
    sim.script(dial, Endpoint(behaviour=Behaviour.PRESS, after=8.0))
    originate_check(client, dial, "VB_DTMF=w5#")
    report = await client.event("UserEvent", UserEvent="LineCheck")
    assert (report["Digit"], report["ReadStatus"]) == ("1", "OK")
    one = f"{dial}-00000000;1"
    assert apps(client, one, "SendDTMF") == ["w5#"]
    assert sim.pbx.sent_dtmf["check-1"] == "5#"
    sent = [m["Digit"] for m in client.events("DTMFEnd") if m["Direction"] == "Sent"]
    assert sent == ["5", "#"]
    log = client.log
    send = next(m for m in log if m.event == "Newexten" and m["Application"] == "SendDTMF")
    read = next(m for m in log if m.event == "Newexten" and m["Application"] == "Read")
    answer = next(m for m in log if m.event == "Newexten" and m["Application"] == "Answer")
    assert log.index(answer) < log.index(send) < log.index(read)
    await client.event("Hangup", Channel=f"{dial}-00000000;2")
    check_other_shapes(client)


async def test_vb_dtmf_is_filtered_before_it_is_sent(sim: FakeAsterisk, client: Client) -> None:
    """A bare CR (which stays in an AMI header's value) and the dialplan's metacharacters
    in VB_DTMF are dropped by FILTER(0-9*#w): only digits, ``*``, ``#`` and ``w`` reach
    SendDTMF, and the report still has only its two headers."""
    dial = "Local/s@check-evil"
    sim.script(dial, Endpoint(behaviour=Behaviour.PRESS, after=8.0))
    client.send_raw(
        b"Action: Originate\r\nActionID: o-evil\r\nChannel: Local/s@check-evil\r\n"
        b"Context: vb-check\r\nExten: s\r\nPriority: 1\r\nChannelId: check-1\r\n"
        b"Variable: VB_DTMF=1\r2);Hangup()|${EXTEN}&$[3]*\r\nAsync: true\r\n\r\n"
    )
    report = await client.event("UserEvent", UserEvent="LineCheck")
    assert (report["Digit"], report["ReadStatus"]) == ("1", "OK")
    assert sim.pbx.sent_dtmf["check-1"] == "123*"
    one = f"{dial}-00000000;1"
    assert apps(client, one, "SendDTMF") == ["123*"]
    await client.event("Hangup", Channel=f"{dial}-00000000;2")
    assert len(line_checks(client)) == 1
    check_other_shapes(client)


async def test_no_vb_dtmf_or_nothing_left_of_it_sends_nothing(
    sim: FakeAsterisk, client: Client
) -> None:
    dial = "Local/s@check-nothing"
    sim.script(dial, Endpoint(behaviour=Behaviour.PRESS, after=2.0))
    originate_check(client, dial, "VB_DTMF=abc;")
    await client.event("UserEvent", UserEvent="LineCheck")
    assert apps(client, f"{dial}-00000000;1", "SendDTMF") == []
    assert "check-1" not in sim.pbx.sent_dtmf
    await client.event("Hangup", Channel=f"{dial}-00000000;2")
