"""The PEI client against the radio simulator (issue 12, points 2 and 3), over TCP and
over a pseudo-terminal (the serial path): the initialisation, the radio's identity, an
SDS both ways with delivery reports, a status, a busy radio, a stalled command, garbage,
a reset and a dropped link, and group call indications."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from tetra import sds
from tetra.client import (
    INIT,
    CallEvent,
    PeiClient,
    PeiTarget,
    SdsReceived,
    SdsRefused,
    SdsSent,
    Timing,
)
from tetra.identity import PERU_MCC, Network, Tsi
from tetra.sim import RadioSim

HOME = Network(PERU_MCC, 1)
OWN = Tsi(PERU_MCC, 1, 100)
SPEED = 0.01
FAST = Timing(command=1.0, keepalive=0.5, busy_retry=0.05, reconnect=(0.05,))


@dataclass
class Rig:
    sim: RadioSim
    client: PeiClient
    kind: str  # "tcp" or "serial"
    events: list[object] = field(default_factory=list)

    async def until(self, condition: Callable[[], object], what: str, within: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for: {what}")
            await asyncio.sleep(0.01)

    def received(self) -> list[SdsReceived]:
        return [e for e in self.events if isinstance(e, SdsReceived)]


@pytest.fixture(params=["tcp", "serial"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with rigged(request.param) as found:
        yield found


@pytest.fixture
async def tcp_rig() -> AsyncIterator[Rig]:
    async with rigged("tcp") as found:
        yield found


@asynccontextmanager
async def rigged(kind: str) -> AsyncIterator[Rig]:
    sim = RadioSim(own=OWN, speed=SPEED)
    await sim.start()
    if kind == "tcp":
        target = PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}")
    else:
        target = PeiTarget.parse(f"serial://{sim.open_pty()}?baud=115200")
    events: list[object] = []
    client = PeiClient(target, HOME, events.append, timing=FAST)
    client.start()
    rig = Rig(sim=sim, client=client, kind=kind, events=events)
    try:
        await asyncio.wait_for(client.ready.wait(), 5)
        yield rig
    finally:
        await client.stop()
        await sim.stop()


async def test_the_radio_is_initialised_and_its_identity_read(rig: Rig) -> None:
    assert rig.client.identity == OWN
    assert [c for c in rig.sim.commands if c != "AT"][: len(INIT)] == list(INIT)
    assert not rig.sim.echo
    assert {(1, 3, 130), (1, 2, 20), (2, 0, 0)} <= rig.sim.routes
    state = rig.client.state()
    assert (state.connected, state.ready, state.identity) == (True, True, str(OWN))


async def test_an_alert_is_delivered_and_reported(rig: Rig) -> None:
    radio = rig.sim.radio(2001, consumed_after=0.5)
    text = "INC LIM-2026-000123 ROBO Av. Abancay 123, Cercado. Responda estado 32769"
    [pdu] = sds.text_messages(text, 7, report=sds.ReportRequest.BOTH)
    await rig.client.send_sds(Tsi(PERU_MCC, 1, 2001), pdu)
    assert radio.received == [pdu]
    await rig.until(lambda: len(rig.received()) == 2, "both reports")
    reports = [e.pdu for e in rig.received()]
    assert reports == [
        sds.Report(status=sds.Delivery.RECEIVED, ref=7),
        sds.Report(status=sds.Delivery.CONSUMED, ref=7),
    ]
    assert all(e.sender == Tsi(PERU_MCC, 1, 2001) for e in rig.received())


async def test_an_alert_to_a_radio_off_the_air_is_reported_not_registered(rig: Rig) -> None:
    rig.sim.radio(2002, registered=False)
    [pdu] = sds.text_messages("INC 1", 9)
    await rig.client.send_sds(Tsi(PERU_MCC, 1, 2002), pdu)
    await rig.until(lambda: rig.received(), "the network's report")
    [got] = rig.received()
    assert got.pdu == sds.Report(status=sds.Delivery.DESTINATION_NOT_REGISTERED, ref=9)


async def test_a_status_and_a_spanish_text_arrive_and_the_text_is_reported_received(
    rig: Rig,
) -> None:
    radio = rig.sim.radio(2003)
    assert rig.sim.status(2003, 32769)
    assert rig.sim.text(2003, "¡Recibido! Vamos en camino, ñandú", ref=44)
    await rig.until(lambda: len(rig.received()) == 2, "the status and the text")
    status, text = rig.received()
    assert status.pdu == sds.Status(value=32769)
    assert text.text == "¡Recibido! Vamos en camino, ñandú"
    # the sender asked for a "received" report: answered at once
    await rig.until(lambda: radio.reports, "the report to the radio")
    assert radio.reports == [sds.Report(status=sds.Delivery.RECEIVED, ref=44)]


async def test_a_long_text_from_a_radio_arrives_whole(rig: Rig) -> None:
    rig.sim.radio(2004)
    long = "Tránsito detenido en la Vía Expresa a la altura del puente. " * 8
    rig.sim.text(2004, long, ref=200)
    await rig.until(lambda: rig.received(), "the whole text")
    assert [e.text for e in rig.received()] == [long]


async def test_an_sds_is_held_back_while_the_radio_is_busy(rig: Rig) -> None:
    radio = rig.sim.radio(2005)
    rig.sim.busy_next = 2
    [pdu] = sds.text_messages("INC 2", 3)
    await rig.client.send_sds(Tsi(PERU_MCC, 1, 2005), pdu)
    assert radio.received == [pdu]  # once, after two refusals
    sent = [c for c in rig.sim.commands if c.startswith("AT+CMGS")]
    assert sent == [f"AT+CMGS=2005,{sds.bits(pdu)}"] * 3


async def test_an_sds_the_radio_cannot_send_is_refused_in_its_words(rig: Rig) -> None:
    rig.sim.out_of_service = True
    [pdu] = sds.text_messages("INC 3", 4)
    with pytest.raises(SdsRefused, match=r"\+CME ERROR: 30 \(out of service\)"):
        await rig.client.send_sds(Tsi(PERU_MCC, 1, 2006), pdu)


@pytest.mark.parametrize("fault", ["stall", "garbage", "reset"])
async def test_after_a_fault_the_radio_is_set_up_again(rig: Rig, fault: str) -> None:
    await _fault_then_set_up_again(rig, fault)


async def test_after_a_dropped_tcp_link_it_is_reopened_and_set_up_again(tcp_rig: Rig) -> None:
    await _fault_then_set_up_again(tcp_rig, "drop")


async def _fault_then_set_up_again(rig: Rig, fault: str) -> None:
    before = rig.client.resets
    if fault == "stall":
        rig.sim.stall_next = 1
        with pytest.raises(TimeoutError):
            await rig.client.command("AT+CSQ?")
    elif fault == "garbage":
        rig.sim.garbage()
    elif fault == "reset":
        rig.sim.reset()  # echo back on, the routing forgotten
        await rig.client.command("AT")  # its echo tells
    else:
        rig.sim.drop_link()
    await rig.until(lambda: rig.client.resets > before, "set up again", within=10)
    await asyncio.wait_for(rig.client.ready.wait(), 5)
    assert not rig.sim.echo
    assert (1, 2, 20) in rig.sim.routes
    rig.sim.radio(2007)
    assert rig.sim.status(2007, 32770)  # routed again
    await rig.until(lambda: rig.received(), "a status after the fault")


async def test_an_idle_link_is_checked(rig: Rig) -> None:
    count = rig.sim.commands.count("AT")
    await rig.until(lambda: rig.sim.commands.count("AT") > count, "a keepalive AT", within=3)


async def test_a_talkgroup_call_shows_who_talks(rig: Rig) -> None:
    await rig.sim.talk(11022, 2008, seconds=0.1)

    def calls() -> list[CallEvent]:
        return [e for e in rig.events if isinstance(e, CallEvent)]

    await rig.until(lambda: len(calls()) == 3, "the call, the grant and its end")
    assert [c.name for c in calls()] == ["+CTICN", "+CTXG", "+CDTXC"]
    assert calls()[1].params[-1] == str(Tsi(PERU_MCC, 1, 2008))


def test_the_pei_setting_is_serial_or_tcp() -> None:
    assert PeiTarget.parse("serial:///dev/ttyUSB0?baud=115200") == PeiTarget(
        url="/dev/ttyUSB0", baud=115200, shown="serial:///dev/ttyUSB0?baud=115200"
    )
    assert PeiTarget.parse("tcp://radio.local:4001").url == "socket://radio.local:4001"
    for bad in ("http://x", "tcp://host", "serial://dev", "serial:///dev/x?baud=fast",
                "serial:///dev/x?parity=E"):  # fmt: skip
        with pytest.raises(ValueError, match=r"serial|tcp|baud|option"):
            PeiTarget.parse(bad)


async def test_the_service_and_the_sds_go_as_one_whatever_else_is_sent(rig: Rig) -> None:
    """A status (service 13) and a text (12) sent at once, with a keepalive and a
    delivery report in between: each AT+CMGS follows its own AT+CTSDS."""
    radio = rig.sim.radio(2010)
    rig.sim.text(2010, "¿me escuchan?", ref=9)  # its report goes out meanwhile
    [text] = sds.text_messages("INC 9 ROBO", 9)
    await asyncio.gather(
        rig.client.send_sds(Tsi(PERU_MCC, 1, 2010), sds.Status(value=32769)),
        rig.client.send_sds(Tsi(PERU_MCC, 1, 2010), text),
        rig.client.command("AT"),
    )
    assert sds.Status(value=32769) in radio.received
    assert text in radio.received
    commands = [c for c in rig.sim.commands if c.startswith(("AT+CTSDS", "AT+CMGS"))]
    pairs = [(a[:8], b[:7]) for a, b in zip(commands[::2], commands[1::2], strict=True)]
    assert pairs == [("AT+CTSDS", "AT+CMGS")] * len(pairs), commands


async def test_the_network_s_refusal_of_an_sds_is_told(rig: Rig) -> None:
    rig.sim.radio(2011)
    rig.sim.refuse_next = 1
    [text] = sds.text_messages("INC 10", 10)
    await rig.client.send_sds(Tsi(PERU_MCC, 1, 2011), text)  # the radio took it
    await rig.until(lambda: any(isinstance(e, SdsSent) for e in rig.events), "its word")
    [said] = [e for e in rig.events if isinstance(e, SdsSent)]
    assert (said.sent, said.ref, said.status) == (False, 10, "5")


async def test_an_immediate_text_and_a_group_text_arrive_as_such(rig: Rig) -> None:
    radio = rig.sim.radio(2012)
    assert rig.sim.text(2012, "urgente", immediate=True, ref=3)
    assert rig.sim.text(2012, "1", group=11022, ref=4)  # to a talkgroup, not to us
    await rig.until(lambda: len(rig.received()) == 2, "both texts")
    immediate, group = rig.received()
    assert (immediate.text, immediate.to_group) == ("urgente", False)
    assert (group.text, group.to_group) == ("1", True)
    await asyncio.sleep(0.1)
    assert [r.ref for r in radio.reports] == [3]  # no report to a group's message


async def test_a_command_cancelled_in_flight_does_not_wedge_the_line(rig: Rig) -> None:
    rig.sim.stall_next = 1
    task = asyncio.ensure_future(rig.client.command("AT+CSQ?"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    done = await rig.client.command("AT")  # not Busy: the next command goes
    assert done.final.ok


async def test_a_radio_of_another_network_than_the_routing_file_s_is_not_used() -> None:
    sim = RadioSim(own=OWN, speed=SPEED)
    await sim.start()
    client = PeiClient(
        PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}"), Network(PERU_MCC, 2), print, timing=FAST
    )
    client.start()
    try:
        for _ in range(200):
            if "MNC 2" in client.detail:
                break
            await asyncio.sleep(0.01)
        assert not client.ready.is_set()
        assert client.detail == (
            "la radio es de la red MCC 716 MNC 1, no de la del archivo de ruteo (MCC 716 MNC 2)"
        )
    finally:
        await client.stop()
        await sim.stop()
