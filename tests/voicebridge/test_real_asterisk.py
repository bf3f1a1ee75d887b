"""The end-to-end scenarios against a real Asterisk (opt-in).

Set ``VOICEBRIDGE_TEST_AMI=ami://user:secret@host:port`` to an Asterisk 22 loaded with
``shared/asterisk/conf`` (its ``epr-*-sim`` and ``operator-sim`` contexts stand in for
people), with voicebridge's prompts in its sounds (``voicebridge prompts build --out
/tmp/vb`` then copy ``/tmp/vb/es/vb`` to ``<sounds>/es/vb``) and Debian's Spanish core
sounds. The suite pushes the dialplan and sets AstDB keys with its own session, on
``VOICEBRIDGE_TEST_AMI_ADMIN`` if set (classes ``config`` and ``system`` for that), else on
the same account; voicebridge's bridge needs only the classes the README lists (run with
an account that has just those, they suffice). Each test pushes ``vb-ack``, ``vb-room``
and the simulation contexts with UpdateConfig; ``vb-sim`` sends each dialled number to
the simulation context named by the AstDB key ``vbsim/<number>`` (``epr-ack-sim`` when
there is none).

The calls run in Asterisk's real time (a busy line ends at once, an unanswered one after
the policy's 25 s); the database's clock is the test's, as in test_bridge.py.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from redis import Redis

from dialplans.render import DialplanParams, render_contexts, to_update_config
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactRole,
    ContactState,
    Status,
)
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.conftest import AMI_MEDIA
from tests.voicebridge.rig import Bridged, connected
from voicebridge.ami.codec import Message
from voicebridge.ami.session import AmiError, AmiSession, AmiTarget, Timing
from voicebridge.runtime import Runtime, build_runtime

URL = os.environ.get("VOICEBRIDGE_TEST_AMI", "")
ADMIN_URL = os.environ.get("VOICEBRIDGE_TEST_AMI_ADMIN", "") or URL
"""The suite's own account (pushes the dialplan, sets AstDB keys); by default the same.
Give voicebridge's account only the classes of the README to check they suffice."""
pytestmark = pytest.mark.skipif(
    not URL,
    reason="the real-Asterisk suite: set VOICEBRIDGE_TEST_AMI=ami://user:secret@host:5038 "
    "to an Asterisk 22 loaded with shared/asterisk/conf and voicebridge's prompts "
    "(see this file's docstring and README, 'Asterisk')",
)

Out = AttemptOutcome
LIMA = Path(__file__).resolve().parents[2] / "routing" / "data" / "lima.yaml"
SIM = "vb-sim"
SIM_CONTEXT = f"""\
[{SIM}]
exten => _X.,1,NoOp(voicebridge test line ${{EXTEN}})
 same => n,Set(VB_SIM=${{DB(vbsim/${{EXTEN}})}})
 same => n,GotoIf($["${{VB_SIM}}" = ""]?ack)
 same => n,Goto(${{VB_SIM}},s,1)
 same => n(ack),Goto(epr-ack-sim,s,1)
"""
MENU = "vb-sim-menu"
MENU_CONTEXT = f"""\
[{MENU}]
exten => s,1,NoOp(a line behind its own menu: an extension, then a responder who accepts)
 same => n,Answer()
 same => n,Read(VB_EXT,,4,,1,5)
 same => n,UserEvent(VbSimMenu,Extension: ${{VB_EXT}})
 same => n,Wait(1)
 same => n,SendDTMF(1)
 same => n,Wait(3600)
"""
LATE = "vb-sim-late"
LATE_CONTEXT = f"""\
[{LATE}]
exten => s,1,NoOp(a responder who listens 4 s, then accepts)
 same => n,Answer()
 same => n,Wait(4)
 same => n,SendDTMF(1)
 same => n,Wait(3600)
"""
OPERATOR_SJL = "012089201"
PNP_1 = "017210668"  # pnp-zarate/1
PNP_2 = "11055"  # pnp-zarate/2, a talkgroup
SERENAZGO_1 = "017208410"
TIMING = Timing(action_timeout=5.0, ping_interval=1.0, ping_timeout=2.0, backoff_max=0.5)


def routing_text(dtmf: str | None) -> str:
    """Lima's routing, dialling into vb-sim; the police's first line behind a menu
    (``dtmf``) if given."""
    text = LIMA.read_text(encoding="utf-8")
    if dtmf is not None:
        line = f'{{phone: "{PNP_1}", label:'
        assert line in text
        text = text.replace(line, f'{{phone: "{PNP_1}", dtmf: "{dtmf}", label:')
    for old, new in (
        ('dial: "PJSIP/{number}@epr-trunk"', f'dial: "Local/{{number}}@{SIM}"'),
        ('tetra_gateway: "PJSIP/{gssi}@tetra-gw"', f'tetra_gateway: "Local/{{gssi}}@{SIM}"'),
        ('  phone: ["3/15m", "7/1h"]', "  phone: none"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def runtime(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    redis_url: str,
    redis: Redis,
    clock: FakeClock,
    tmp_path: Path,
) -> Iterator[Runtime]:
    routing = tmp_path / "routing.yaml"
    routing.write_text(routing_text(getattr(request, "param", None)), encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(routing))
    rt = build_runtime(settings, clock=clock, media=AMI_MEDIA)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


class Asterisk:
    """A second, administrative AMI session: the dialplan, AstDB, inspection."""

    def __init__(self, session: AmiSession) -> None:
        self.session = session
        self.user_events: list[Message] = []
        session.on("UserEvent", self.user_events.append)

    async def push_dialplan(self) -> None:
        contexts = {
            **render_contexts(DialplanParams()),
            SIM: SIM_CONTEXT,
            MENU: MENU_CONTEXT,
            LATE: LATE_CONTEXT,
        }
        for action in to_update_config(contexts):
            await self.session.send("UpdateConfig", action)

    async def line(self, number: str, context: str) -> None:
        """What the line ``number`` does: a simulation context of shared/asterisk/conf."""
        await self.session.send("DBPut", [("Family", "vbsim"), ("Key", number), ("Val", context)])

    async def room(self, room: str) -> set[str]:
        """The Uniqueids in a ConfBridge room (none when it does not exist)."""
        try:
            members = await self.session.list("ConfBridgeList", [("Conference", room)])
        except AmiError:
            return set()
        return {m["Uniqueid"] for m in members if m.get("Event") == "ConfbridgeList"}

    async def hangup(self, channel_id: str) -> None:
        with suppress(AmiError):
            await self.session.send("Hangup", [("Channel", channel_id), ("Cause", "16")])


@pytest.fixture
async def asterisk() -> AsyncIterator[Asterisk]:
    session = AmiSession(AmiTarget.parse(ADMIN_URL), timing=TIMING)
    session.start()
    await asyncio.wait_for(session.connected.wait(), 10)
    a = Asterisk(session)
    with suppress(AmiError):
        await session.send("DBDelTree", [("Family", "vbsim")])
    await a.push_dialplan()
    await a.line(OPERATOR_SJL, "operator-sim")
    yield a
    with suppress(AmiError):
        await session.send("DBDelTree", [("Family", "vbsim")])
    await session.stop()


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock, asterisk: Asterisk) -> AsyncIterator[Bridged]:
    async with connected(runtime, clock, AmiTarget.parse(URL), timing=TIMING) as b:
        yield b
        for leg in runtime.calls.legs("LIM-2026-000001"):  # nothing rings on after the test
            await asterisk.hangup(leg.ref)


def outcomes(rig: Bridged, incident_id: str, agency: str) -> list[Out]:
    return [a.outcome for a in rig.runtime.store.detail(incident_id).attempts if a.agency == agency]


def ended(rig: Bridged, incident_id: str, agency: str, n: int = 1) -> bool:
    tries = outcomes(rig, incident_id, agency)
    return len(tries) >= n and tries[n - 1] not in (Out.PENDING, Out.RINGING, Out.PROMPTING)


async def test_key_one_acknowledges_and_bridges(rig: Bridged, asterisk: Asterisk) -> None:
    incident_id = await rig.dispatch()  # a robbery in San Juan de Lurigancho
    await rig.until(
        lambda: (
            {a.agency for a in rig.runtime.store.detail(incident_id).acks} == {"pnp", "serenazgo"}
        ),
        "both agencies acknowledged by keypress",
        within=30,
    )
    await rig.until(
        lambda: all(leg.state is ContactState.IN_ROOM for leg in rig.legs(incident_id)),
        "every leg in the room",
        within=15,
    )
    detail = rig.runtime.store.detail(incident_id)
    assert {a.method for a in detail.acks} == {AckMethod.KEYPRESS}
    assert outcomes(rig, incident_id, "pnp") == [Out.ACKNOWLEDGED]
    assert detail.incident.status is Status.BRIDGED
    assert await asterisk.room(incident_id) == {leg.ref for leg in rig.legs(incident_id)}


async def test_key_two_declines_and_the_talkgroup_is_patched(
    rig: Bridged, asterisk: Asterisk
) -> None:
    await asterisk.line(PNP_1, "epr-decline-sim")
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "pnp"), "pnp's first try ended", within=30)
    assert outcomes(rig, incident_id, "pnp") == [Out.DECLINED]
    assert await rig.run_due() == 1  # no wait after a decline
    await rig.until(lambda: ended(rig, incident_id, "pnp", 2), "the talkgroup patched", within=15)
    assert outcomes(rig, incident_id, "pnp") == [Out.DECLINED, Out.PATCHED]
    talkgroup = rig.leg(incident_id, "pnp", n=1)
    assert talkgroup.address == f"Local/{PNP_2}@{SIM}"
    await rig.until(
        lambda: rig.leg(incident_id, "pnp", n=1).state is ContactState.IN_ROOM, "in the room"
    )
    assert talkgroup.ref in await asterisk.room(incident_id)


@pytest.mark.parametrize(
    ("line", "outcome", "cause"),
    [
        ("epr-busy-sim", Out.BUSY, "ocupado"),
        ("epr-congestion-sim", Out.CONGESTION, "red congestionada"),
        ("epr-reject-sim", Out.FAILED, "rechazó la llamada (Call Rejected, 21)"),
        ("epr-noanswer-sim", Out.NO_ANSWER, "no contestó"),
    ],
)
async def test_every_try_records_its_outcome(
    rig: Bridged, asterisk: Asterisk, line: str, outcome: Out, cause: str
) -> None:
    await asterisk.line(PNP_1, line)
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "pnp"), "pnp's first try ended", within=40)
    await rig.settled()
    [attempt] = [a for a in rig.runtime.store.detail(incident_id).attempts if a.agency == "pnp"]
    assert attempt.outcome is outcome
    assert (attempt.cause or "").startswith(cause)
    assert rig.leg(incident_id, "pnp").state in (ContactState.FAILED, ContactState.ENDED)


async def test_the_operator_adds_a_line_and_drops_it(rig: Bridged, asterisk: Asterisk) -> None:
    incident_id = await rig.dispatch()
    guest = await rig.add_line(incident_id, "987654321", "Vecino")
    await rig.until(
        lambda: rig.leg(incident_id, role=ContactRole.GUEST).state is ContactState.IN_ROOM,
        "the guest joined",
        within=15,
    )
    assert guest.ref in await asterisk.room(incident_id)
    await rig.drop_line(incident_id, guest.ref)
    await rig.until(
        lambda: rig.leg(incident_id, role=ContactRole.GUEST).state is ContactState.ENDED, "hung up"
    )
    assert guest.ref not in await asterisk.room(incident_id)


async def test_cancelling_hangs_up_every_leg(rig: Bridged, asterisk: Asterisk) -> None:
    await asterisk.line(PNP_1, "epr-silent-sim")  # prompting, no key yet
    await asterisk.line(SERENAZGO_1, "epr-noanswer-sim")
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: rig.leg(incident_id, "pnp").state is ContactState.ANSWERED,
        "pnp answered",
        within=15,
    )
    await asyncio.to_thread(
        rig.runtime.store.transition,
        incident_id,
        Status.CANCELLED,
        actor="operator:test",
        cause="llamada falsa",
    )
    rig.runtime.wakeup.local()
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(incident_id)),
        "every leg ended",
        within=15,
    )
    assert await asterisk.room(incident_id) == set()
    assert {a.state for a in rig.runtime.calls.dispatches.assignments(incident_id)} == {
        AssignmentState.CANCELLED
    }


@pytest.mark.parametrize("runtime", ["w25#"], indirect=True)
async def test_a_line_behind_a_menu_gets_its_extension(rig: Bridged, asterisk: Asterisk) -> None:
    await asterisk.line(PNP_1, MENU)  # its routing target has dtmf "w25#"
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: "pnp" in {a.agency for a in rig.runtime.store.detail(incident_id).acks},
        "the police acknowledged after the menu",
        within=30,
    )
    menu = [e for e in asterisk.user_events if e.get("UserEvent") == "VbSimMenu"]
    assert [e.get("Extension") for e in menu] == ["25"]  # "#" ends Read


class LinkProxy:
    """The network between voicebridge and Asterisk: forwards AMI connections; ``cut()``
    drops every one of them and leaves new ones without an answer until ``mend()``."""

    def __init__(self, upstream: AmiTarget) -> None:
        self.upstream = upstream
        self.open = asyncio.Event()
        self.open.set()
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    @property
    def target(self) -> AmiTarget:
        assert self.server is not None
        port = int(self.server.sockets[0].getsockname()[1])
        up = self.upstream
        return AmiTarget(host="127.0.0.1", port=port, username=up.username, secret=up.secret)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connected, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def cut(self) -> None:
        self.open.clear()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def mend(self) -> None:
        self.open.set()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.append(writer)
        try:
            await self.open.wait()  # while cut: accepted, never answered (no banner)
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream.host, self.upstream.port
            )
            self.writers.append(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            self.tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


async def test_a_key_pressed_while_the_link_was_down_is_not_lost(
    runtime: Runtime, clock: FakeClock, asterisk: Asterisk
) -> None:
    await asterisk.line(PNP_1, LATE)
    await asterisk.line(SERENAZGO_1, "epr-noanswer-sim")
    proxy = LinkProxy(AmiTarget.parse(URL))
    await proxy.start()
    try:
        async with connected(runtime, clock, proxy.target, timing=TIMING) as rig:
            incident_id = await rig.dispatch()
            responder = rig.leg(incident_id, "pnp")
            try:
                await rig.until(
                    lambda: rig.leg(incident_id, "pnp").state is ContactState.ANSWERED,
                    "the police's line answered",
                    within=10,
                )
                proxy.cut()  # from here on voicebridge hears nothing
                for _ in range(200):
                    if responder.ref in await asterisk.room(incident_id):
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the responder never joined the room")
                assert rig.runtime.store.detail(incident_id).acks == ()
                rig.clock.advance(1)  # the database's clock is the test's
                proxy.mend()
                await rig.until(
                    lambda: (
                        [a.agency for a in rig.runtime.store.detail(incident_id).acks] == ["pnp"]
                    ),
                    "the acknowledgement recovered",
                    within=20,
                )
                detail = rig.runtime.store.detail(incident_id)
                assert detail.acks[0].method is AckMethod.KEYPRESS
                assert outcomes(rig, incident_id, "pnp") == [Out.ACKNOWLEDGED]
                assert detail.incident.status is Status.BRIDGED
                assert [leg.agency for leg in rig.legs(incident_id)].count("pnp") == 1
            finally:
                for leg in rig.legs(incident_id):
                    await asterisk.hangup(leg.ref)
    finally:
        await proxy.stop()


async def test_an_asterisk_restart_is_survived(rig: Bridged, asterisk: Asterisk) -> None:
    await asterisk.line(SERENAZGO_1, "epr-silent-sim")  # in the prompt when Asterisk goes
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: rig.runtime.store.get(incident_id).status is Status.BRIDGED,
        "pnp bridged",
        within=20,
    )
    await rig.until(
        lambda: rig.leg(incident_id, "serenazgo").state is ContactState.ANSWERED,
        "serenazgo prompting",
        within=10,
    )
    rig.clock.advance(1)
    with suppress(AmiError, ConnectionError, TimeoutError):
        await asterisk.session.send("Command", [("Command", "core restart now")], wait=2)
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(incident_id)),
        "every leg of the restarted Asterisk ended",
        within=30,
    )
    detail = rig.runtime.store.detail(incident_id)
    assert detail.incident.status is Status.ACKNOWLEDGED  # the room is gone
    serenazgo = [a for a in detail.attempts if a.agency == "serenazgo"]
    assert [a.outcome for a in serenazgo] == [Out.ANSWERED]
    # serenazgo's escalation goes on with the new Asterisk: its line now accepts
    await asyncio.wait_for(asterisk.session.connected.wait(), 30)
    await asyncio.wait_for(rig.session.connected.wait(), 30)
    await asterisk.line(SERENAZGO_1, "epr-ack-sim")
    rig.clock.advance(120)
    assert await rig.run_due() == 1
    await rig.until(
        lambda: "serenazgo" in {a.agency for a in rig.runtime.store.detail(incident_id).acks},
        "serenazgo acknowledged on the second try",
        within=30,
    )
    assert [leg.agency for leg in rig.legs(incident_id)].count("serenazgo") == 2
