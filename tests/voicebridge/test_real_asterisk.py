"""The end-to-end scenarios against a real Asterisk (opt-in).

Set ``VOICEBRIDGE_TEST_AMI=ami://user:secret@host:port`` to an Asterisk 22 loaded with
``shared/asterisk/conf`` (its ``epr-*-sim`` and ``operator-sim`` contexts stand in for
people), with voicebridge's prompts in its sounds (``voicebridge prompts build --out
/tmp/vb`` then copy ``/tmp/vb/es/vb`` to ``<sounds>/es/vb``) and Debian's Spanish core
sounds. The suite pushes the dialplan, sets AstDB keys, lists the rooms, hangs up what
is left, restarts Asterisk and hears the test lines' UserEvents with its own session, on
``VOICEBRIDGE_TEST_AMI_ADMIN`` if set (``write = config,system,reporting,command,
originate`` and ``read = user,system,dialplan`` for that, see :data:`CLASSES`), else on
the same account; voicebridge's
bridge needs only the classes the README lists (run with an account that has just those,
they suffice). An action Asterisk refuses with ``Permission denied`` fails the test
naming the class the suite's account lacks. Each test pushes voicebridge's contexts
(``vb-ack``, ``vb-room``, the line check ``vb-check``, the citizen IVR) and the
simulation contexts with UpdateConfig; ``vb-sim`` sends each dialled number to
the simulation context named by the AstDB key ``vbsim/<number>`` (``epr-ack-sim`` when
there is none).

The calls run in Asterisk's real time (a busy line ends at once, an unanswered one after
the policy's 25 s); the database's clock is the test's, as in test_bridge.py.
"""

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from dialplans.render import CitizenLine, DialplanParams, render_contexts, to_update_config
from dialplans.templateset import PARAMETERS
from routing.config import parse_config
from routing.events import EventKind
from routing.linechecks import CheckResult
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    Contact,
    ContactRole,
    ContactState,
    IncidentQuery,
    Status,
)
from tests.conftest import FakeClock, free_port, make_settings
from tests.voicebridge.conftest import AMI_MEDIA
from tests.voicebridge.rig import Bridged, connected, line_checker
from voicebridge.ami.citizens import CallTaker
from voicebridge.ami.codec import Message
from voicebridge.ami.linechecks import LineChecker
from voicebridge.ami.protocol import LinkLost, from_panoramisk
from voicebridge.ami.session import AmiError, AmiSession, AmiTarget, Timing
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.ami.sim.far import citizen_call
from voicebridge.blocking import Blocking
from voicebridge.dialplan_admin import checker as dialplan_checker
from voicebridge.dialplan_push import Pusher
from voicebridge.ivr import CitizenCalls
from voicebridge.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)

URL = os.environ.get("VOICEBRIDGE_TEST_AMI", "")
ADMIN_URL = os.environ.get("VOICEBRIDGE_TEST_AMI_ADMIN", "") or URL
"""The suite's own account (see :data:`CLASSES`); by default the same. Give
voicebridge's account only the classes of the README to check they suffice."""
SKIPPED = (
    "the real-Asterisk suite: set VOICEBRIDGE_TEST_AMI=ami://user:secret@host:5038 "
    "to an Asterisk 22 loaded with shared/asterisk/conf and voicebridge's prompts "
    "(see this file's docstring and README, 'Asterisk')"
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
SLOW = "vb-sim-slow"
SLOW_CONTEXT = f"""\
[{SLOW}]
exten => s,1,NoOp(a responder who presses 1 a while after the ack message ends)
 same => n,Answer()
 same => n,Wait({{SLOW_SECONDS}})
 same => n,SendDTMF(1)
 same => n,Wait(3600)
"""
SLOW_SECONDS = 34
"""When the slow responder presses 1: about 15 s after the ack message (a pause, the
intro, six digits, the category, the menu: some 19 s) has played, so after a 10 s read
and within a 20 s one."""
CALLER = "vb-caller-sim"
CALLER_CONTEXT = f"""\
[{CALLER}]
exten => s,1,NoOp(a citizen who presses VBSIM_KEYS, one dash-separated group every 2 s)
 same => n,Answer()
 same => n,Set(VB_I=1)
 same => n(next),Set(VB_KEY=${{CUT(VBSIM_KEYS,-,${{VB_I}})}})
 same => n,GotoIf($["${{VB_KEY}}" = ""]?stay)
 same => n,Wait(2)
 same => n,SendDTMF(${{VB_KEY}})
 same => n,Set(VB_I=$[${{VB_I}} + 1])
 same => n,Goto(next)
 same => n(stay),GotoIf($["${{VBSIM_HANGUP}}" = ""]?forever)
 same => n,Wait($[${{VBSIM_HANGUP}} - 2 * (${{VB_I}} - 1)])
 same => n,Hangup()
 same => n(forever),Wait(3600)
"""
MIRAFLORES = "018022000"  # the Miraflores central's number (routing/data/lima.yaml)
CENTRE = "018990000"  # the centre's: every district, the code asked
OPERATOR_MIRAFLORES = "015099744"
OPERATOR_SJL = "012089201"
PNP_1 = "017210668"  # pnp-zarate/1
PNP_2 = "11055"  # pnp-zarate/2, a talkgroup
SERENAZGO_1 = "017208410"
TIMING = Timing(action_timeout=5.0, ping_interval=1.0, ping_timeout=2.0, backoff_max=0.5)

DENIED = "Permission denied"  # Asterisk's answer to an action the account may not send
CLASSES = {
    # what the suite's account needs in manager.conf for each of its actions (Asterisk
    # 22.10.1); and ``read = user,system,dialplan``: the test lines' UserEvents, the
    # FullyBooted its session waits for, the IVR's Newexten the citizen tests read
    "UpdateConfig": "write = config",
    "Originate": "write = originate (the citizens' calls)",
    "DBPut": "write = system",
    "DBDelTree": "write = system",
    "ConfBridgeList": "write = reporting",
    "Hangup": "write = system (or call)",
    "Command": "write = command",
}
NO_ROOM = ("No active conferences.", "No Conference by that name found.")
NO_KEYS = ("Database entry not found",)
NO_CHANNEL = ("No such channel",)


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


def pushed_contexts() -> dict[str, str]:
    """What :meth:`Asterisk.push_dialplan` installs: every context voicebridge renders
    (with Lima's citizens' numbers) and the simulation's."""
    lines = parse_config(LIMA.read_text(encoding="utf-8"), str(LIMA)).citizen_lines()
    return {
        **render_contexts(DialplanParams(citizen_lines=CitizenLine.from_routing(lines))),
        CALLER: CALLER_CONTEXT,
        SIM: SIM_CONTEXT,
        MENU: MENU_CONTEXT,
        LATE: LATE_CONTEXT,
        SLOW: SLOW_CONTEXT.format(SLOW_SECONDS=SLOW_SECONDS),
    }


class Asterisk:
    """A second, administrative AMI session: the dialplan, AstDB, inspection."""

    def __init__(self, session: AmiSession, *, reconnect: float = 30.0) -> None:
        self.session = session
        self.reconnect = reconnect  # seconds a teardown waits for a session to log in again
        self.user_events: list[Message] = []
        session.on("UserEvent", self.user_events.append)

    async def send(
        self,
        action: str,
        headers: Sequence[tuple[str, str]],
        *,
        expected: Sequence[str] = (),
        wait: float | None = None,
    ) -> Any:
        """The response to one of the suite's actions, None for an error Asterisk gives as
        ``expected``; ``Permission denied`` fails the test naming the class the account
        lacks, any other error is raised (:class:`AmiError`)."""
        try:
            return await self.session.send(action, headers, wait=wait)
        except AmiError as exc:
            if exc.message in expected:
                return None
            if exc.message == DENIED:
                pytest.fail(
                    f"Asterisk refused {action} to the suite's account {self.session.target}: "
                    f"{DENIED}. Give that account {CLASSES.get(action, 'the class of ' + action)} "
                    "in manager.conf (README, 'The fake Asterisk and the real-Asterisk suite')",
                    pytrace=False,
                )
            raise

    async def cleanup(
        self, action: str, headers: Sequence[tuple[str, str]], *, expected: Sequence[str] = ()
    ) -> bool:
        """An action of a test's teardown. On a link that is down (Asterisk restarting)
        it waits for the session to log in again, up to ``reconnect`` seconds, then gives
        up with a log line (False) rather than fail the test."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reconnect
        while True:
            try:
                if not self.session.connected.is_set():
                    left = max(deadline - loop.time(), 0.01)
                    await asyncio.wait_for(self.session.connected.wait(), left)
                await self.send(action, headers, expected=expected)
                return True
            except (LinkLost, TimeoutError) as exc:
                if loop.time() >= deadline:
                    log.warning(
                        "clean-up %s skipped: the suite's AMI session to %s is down (%s)",
                        action,
                        self.session.target,
                        self.session.last_error or type(exc).__name__,
                    )
                    return False
                await asyncio.sleep(0.1)

    async def push_dialplan(self) -> None:
        for action in to_update_config(pushed_contexts()):
            await self.send("UpdateConfig", action)

    async def line(self, number: str, context: str) -> None:
        """What the line ``number`` does: a simulation context of shared/asterisk/conf."""
        await self.send("DBPut", [("Family", "vbsim"), ("Key", number), ("Val", context)])

    async def room(self, room: str) -> set[str]:
        """The Uniqueids in a ConfBridge room (none when it does not exist)."""
        result = await self.send("ConfBridgeList", [("Conference", room)], expected=NO_ROOM)
        if result is None:
            return set()
        members = [from_panoramisk(m) for m in (result if isinstance(result, list) else [result])]
        return {m["Uniqueid"] for m in members if m.get("Event") == "ConfbridgeList"}

    async def hangup(self, channel_id: str) -> bool:
        """Hang a channel up if it is still there (False: the link did not come back)."""
        headers = [("Channel", channel_id), ("Cause", "16")]
        return await self.cleanup("Hangup", headers, expected=NO_CHANNEL)


@pytest.fixture
async def asterisk() -> AsyncIterator[Asterisk]:
    if not URL:
        pytest.skip(SKIPPED)
    session = AmiSession(AmiTarget.parse(ADMIN_URL), timing=TIMING)
    session.start()
    try:
        try:
            await asyncio.wait_for(session.connected.wait(), 10)
        except TimeoutError:
            pytest.fail(
                f"the suite's account is not logged in to {session.target} after 10 s: "
                f"{session.last_error}",
                pytrace=False,
            )
        a = Asterisk(session)
        await a.send("DBDelTree", [("Family", "vbsim")], expected=NO_KEYS)
        await a.push_dialplan()
        await a.line(OPERATOR_SJL, "operator-sim")
        yield a
        await a.cleanup("DBDelTree", [("Family", "vbsim")], expected=NO_KEYS)
    finally:
        await session.stop()


@pytest.fixture
async def rig(asterisk: Asterisk, runtime: Runtime, clock: FakeClock) -> AsyncIterator[Bridged]:
    async with connected(runtime, clock, AmiTarget.parse(URL), timing=TIMING) as b:
        yield b
        for leg in runtime.calls.legs("LIM-2026-000001"):  # nothing rings on after the test
            if not await asterisk.hangup(leg.ref):
                break  # the link is gone: so are the calls, or they end without us


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
    # the talkgroup was taken in the transaction that recorded the decline: no job
    assert outcomes(rig, incident_id, "pnp")[0] is Out.DECLINED
    assert len(outcomes(rig, incident_id, "pnp")) == 2
    assert await rig.run_due() == 0
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
        ("epr-reject-sim", Out.FAILED, "rechazó la llamada (llamada rechazada, Q.850 21)"),
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
    assert menu, "no UserEvent reached the suite's account: it needs read = user"
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
    asterisk: Asterisk, runtime: Runtime, clock: FakeClock
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


async def restart(asterisk: Asterisk) -> None:
    with suppress(LinkLost, TimeoutError):  # Asterisk goes without answering (trace 08b)
        await asterisk.send("Command", [("Command", "core restart now")], wait=2)


def recalled(rig: Bridged, incident_id: str) -> list[Contact]:
    """The contacts that call lost legs back into the room, by line (operator, agency)."""
    refs = {
        e.data["leg"]
        for e in rig.runtime.store.events(incident_id)
        if e.kind == EventKind.LEG_RECALLED
    }
    return sorted((c for c in rig.legs(incident_id) if c.ref in refs), key=lambda c: c.agency or "")


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
    before = {leg.ref for leg in rig.legs(incident_id)}
    rig.clock.advance(1)
    await restart(asterisk)
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(incident_id) if leg.ref in before),
        "every leg of the restarted Asterisk ended",
        within=30,
    )
    detail = rig.runtime.store.detail(incident_id)
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


async def test_after_a_restart_the_operator_and_the_agencies_are_back_in_the_room(
    rig: Bridged, asterisk: Asterisk
) -> None:
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: all(leg.state is ContactState.IN_ROOM for leg in rig.legs(incident_id)),
        "the operator and both agencies in the room",
        within=30,
    )
    rig.clock.advance(1)
    await restart(asterisk)

    def back() -> bool:
        again = recalled(rig, incident_id)
        return (
            [c.agency or c.role.value for c in again] == ["operator", "pnp", "serenazgo"]
            and all(c.state is ContactState.IN_ROOM for c in again)
            and rig.runtime.store.get(incident_id).status is Status.BRIDGED
        )

    await rig.until(back, "the operator, then both agencies, back in the room", within=60)
    await asyncio.wait_for(asterisk.session.connected.wait(), 30)
    again = recalled(rig, incident_id)
    assert await asterisk.room(incident_id) == {c.ref for c in again}
    assert len(rig.legs(incident_id)) == 6  # each line called back once
    detail = rig.runtime.store.detail(incident_id)
    assert sorted(a.agency for a in detail.acks) == ["pnp", "serenazgo"]
    assert [a.outcome for a in detail.attempts] == [Out.ACKNOWLEDGED] * 2  # no new try
    [operator_back] = [
        e.cause
        for e in rig.runtime.store.events(incident_id)
        if e.kind == EventKind.LEG_RECALLED and e.data["role"] == "operator"
    ]
    assert operator_back.startswith(
        "conferencia restablecida tras el reinicio de Asterisk: se vuelve a llamar al operador"
    )


# ------------------------------------------------------------ the suite's own helpers
# These need no Asterisk: a loopback stand-in answers as Asterisk does (trace 01b).


BOOTED = (
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 0\r\nLastReload: 0\r\n"
    b"Status: Fully Booted\r\n\r\n"
)  # as trace 01a has it


class Refusing:
    """An Asterisk whose account has no class: Login and Ping succeed (they need none),
    any other action is refused with ``Permission denied``, but for the actions
    ``errors`` gives another error. It records the actions it received."""

    def __init__(self, errors: dict[str, str] | None = None, port: int = 0) -> None:
        self.errors = errors or {}
        self.port = port
        self.received: list[str] = []
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        with suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                block = (await reader.readuntil(b"\r\n\r\n")).decode()
                fields = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
                action = fields["Action"]
                if action in ("Login", "Ping"):
                    answer = "Response: Success\r\n"
                else:
                    self.received.append(action)
                    answer = f"Response: Error\r\nMessage: {self.errors.get(action, DENIED)}\r\n"
                writer.write(f"{answer}ActionID: {fields['ActionID']}\r\n\r\n".encode())
                if action == "Login":  # a booted Asterisk says so to every new session
                    writer.write(BOOTED)
        writer.close()


def suite_session(port: int) -> AmiSession:
    return AmiSession(AmiTarget.parse(f"ami://suite:s3cret@127.0.0.1:{port}"), timing=TIMING)


@asynccontextmanager
async def logged_in(errors: dict[str, str] | None = None) -> AsyncIterator[Asterisk]:
    """The suite's helpers on a session logged in to a :class:`Refusing` Asterisk."""
    peer = Refusing(errors)
    await peer.start()
    session = suite_session(peer.port)
    session.start()
    try:
        await asyncio.wait_for(session.connected.wait(), 5)
        yield Asterisk(session)
    finally:
        await session.stop()
        await peer.stop()


async def test_the_push_installs_the_line_check_with_the_other_contexts() -> None:
    """Without a real Asterisk: what the suite pushes, sent to the fake one, is live
    after the last action's reload, ``vb-check`` (its ``s`` and ``h``) included."""
    fake = FakeAsterisk()
    await fake.start()
    session = AmiSession(
        AmiTarget.parse(f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}"), timing=TIMING
    )
    session.start()
    try:
        await asyncio.wait_for(session.connected.wait(), 5)
        await Asterisk(session).push_dialplan()
        live = fake.pbx.dialplan
    finally:
        await session.stop()
        await fake.stop()
    assert set(pushed_contexts()) <= set(live)  # beside the lab's own contexts
    assert {"vb-ack", "vb-room", "vb-check", "vb-citizen", SIM} <= set(live)
    assert not [name for name in live if name.endswith("-staging")]
    assert [e.name for e in live["vb-check"]] == ["h", "s"]


@pytest.mark.parametrize(
    ("call", "action", "missing"),
    [
        pytest.param(lambda a: a.push_dialplan(), "UpdateConfig", "write = config", id="dialplan"),
        pytest.param(lambda a: a.line(PNP_1, "epr-busy-sim"), "DBPut", "write = system", id="line"),
        pytest.param(
            lambda a: a.room("LIM-2026-000001"), "ConfBridgeList", "write = reporting", id="room"
        ),
        pytest.param(
            lambda a: a.hangup("vb-0123456789abcdef0123"),
            "Hangup",
            "write = system (or call)",
            id="hangup",
        ),
        pytest.param(
            lambda a: a.send("Command", [("Command", "core restart now")]),
            "Command",
            "write = command",
            id="restart",
        ),
    ],
)
async def test_a_permission_denied_fails_naming_the_class_the_account_lacks(
    call: Callable[[Asterisk], Awaitable[object]], action: str, missing: str
) -> None:
    async with logged_in() as asterisk:
        with pytest.raises(pytest.fail.Exception) as failed:
            await call(asterisk)
        target = asterisk.session.target
    assert str(failed.value) == (
        f"Asterisk refused {action} to the suite's account {target}: Permission denied. "
        f"Give that account {missing} in manager.conf "
        "(README, 'The fake Asterisk and the real-Asterisk suite')"
    )


async def test_only_the_errors_a_helper_expects_are_tolerated() -> None:
    errors = {
        "ConfBridgeList": "No Conference by that name found.",
        "Hangup": "No such channel",
        "DBDelTree": "Database entry not found",
    }
    async with logged_in(errors) as asterisk:
        assert await asterisk.room("LIM-2026-000001") == set()  # no such room: nobody in it
        assert await asterisk.hangup("vb-0123456789abcdef0123") is True  # gone already
        assert await asterisk.cleanup("DBDelTree", [("Family", "vbsim")], expected=NO_KEYS)
        errors["ConfBridgeList"] = "No Conference name provided."
        with pytest.raises(AmiError, match=r"^ConfBridgeList: No Conference name provided\.$"):
            await asterisk.room("")


async def test_a_teardown_waits_for_a_session_that_is_reconnecting() -> None:
    port = free_port()
    session = suite_session(port)  # Asterisk restarting: nothing listens yet
    session.start()
    peer = Refusing({"Hangup": "No such channel"}, port=port)
    try:
        cleanup = asyncio.create_task(Asterisk(session).hangup("vb-0123456789abcdef0123"))
        await asyncio.sleep(0.3)
        assert not cleanup.done()
        await peer.start()  # Asterisk is back
        assert await asyncio.wait_for(cleanup, 5) is True
        assert peer.received == ["Hangup"]
    finally:
        await session.stop()
        await peer.stop()


async def test_a_teardown_on_a_link_that_stays_down_is_skipped_with_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = suite_session(free_port())  # nothing listens
    session.start()
    try:
        assert await Asterisk(session, reconnect=0.3).hangup("vb-0123456789abcdef0123") is False
    finally:
        await session.stop()
    [record] = [r for r in caplog.records if r.name == __name__]
    assert record.getMessage().startswith(
        f"clean-up Hangup skipped: the suite's AMI session to {session.target} is down ("
    )


async def test_a_list_asterisk_refuses_is_an_error_and_an_empty_one_is_empty() -> None:
    """The session's ``list`` (the bridge's reconciliation reads CoreShowChannels with
    it): a refusal must never be taken for "no channels", which would end every live
    contact; Asterisk's "nothing there" errors are an empty list."""
    errors = {"ConfBridgeListRooms": NO_ROOM[0], "ConfBridgeList": NO_ROOM[1]}
    async with logged_in(errors) as asterisk:
        session = asterisk.session
        with pytest.raises(AmiError, match=DENIED):
            await session.list("CoreShowChannels")
        assert await session.list("ConfBridgeListRooms") == []
        assert await session.list("ConfBridgeList", [("Conference", "LIM-2026-000001")]) == []


# ---------------------------------------------------------------- the citizen IVR


@pytest.fixture
async def ivr(rig: Bridged, asterisk: Asterisk) -> AsyncIterator[CallTaker]:
    """voicebridge's taker of the IVR's calls on the rig's session."""
    await asterisk.line(OPERATOR_MIRAFLORES, "operator-sim")
    blocking = Blocking(2)
    try:
        yield CallTaker(rig.session, CitizenCalls(rig.runtime), blocking)
    finally:
        blocking.shutdown()


async def citizen_calls(
    asterisk: Asterisk, dialled: str, keys: str, *, hangup: int | None = None
) -> Message:
    """A citizen dials ``dialled`` and presses ``keys`` (dash-separated groups, 2 s
    apart); the IVR's CitizenReport (its channel is the ``;1`` half)."""
    seen = len(asterisk.user_events)
    keyed = keys.split("-") if keys else []
    headers = citizen_call(dialled, '"Vecino" <987654321>', keys=keyed, hangup=hangup)
    await asterisk.send("Originate", headers)
    for _ in range(900):  # three silent menus take 3 x (prompt + 6 s)
        for m in asterisk.user_events[seen:]:
            if m.get("UserEvent") == "CitizenReport":
                return m
        await asyncio.sleep(0.1)
    raise AssertionError("no CitizenReport")


def incident_of(rig: Bridged, m: Message) -> str:
    for incident in rig.runtime.store.search(IncidentQuery(limit=50)).items:
        detail = rig.runtime.store.detail(incident.id)
        if any(r.external_id == f"ivr:{m['Uniqueid']}" for r in detail.reports):
            return incident.id
    raise AssertionError(f"no incident for call {m['Uniqueid']}")


async def test_ivr_a_fire_is_filed_its_number_said_and_the_caller_meets_the_operator(
    rig: Bridged, asterisk: Asterisk, ivr: CallTaker
) -> None:
    steps: list[Message] = []
    asterisk.session.on("Newexten", steps.append)
    m = await citizen_calls(asterisk, MIRAFLORES, "3")
    assert (m["Choice"], m["District"], m["Line"], m["Caller"], m["Status"]) == (
        "3",
        "22",
        MIRAFLORES,
        "987654321",
        "CHOSEN",
    )
    await ivr.idle()
    incident_id = incident_of(rig, m)
    incident = rig.runtime.store.get(incident_id)
    assert (incident.category, incident.district) == ("incendio", "150122")
    [taken] = ivr.taken
    assert taken.incident == incident_id
    operator = [leg for leg in rig.legs(incident_id) if leg.role is ContactRole.OPERATOR]
    assert len(operator) == 1
    room: set[str] = set()
    for _ in range(300):  # the number said (six digits) and the bridge prompt first
        room = await asterisk.room(incident_id)
        if {m["Uniqueid"], operator[0].ref} <= room:
            break
        await asyncio.sleep(0.1)
    assert {m["Uniqueid"], operator[0].ref} <= room
    # the caller heard the incident's number, digit by digit, before joining
    said = [
        s["AppData"]
        for s in steps
        if s.get("Uniqueid") == m["Uniqueid"] and s.get("Application") == "SayDigits"
    ]
    assert said == [incident_id.rsplit("-", 1)[-1]]
    # the caller is a contact of the room (from the ConfbridgeJoin), and leaves it ended
    # when they hang up, never called back
    caller = m["Uniqueid"]

    def state() -> ContactState | None:
        found = [c for c in rig.legs(incident_id) if c.ref == caller]
        return found[0].state if found else None

    await rig.until(lambda: state() is ContactState.IN_ROOM, "the caller's contact in the room")
    assert rig.leg_by_ref(incident_id, caller).role is ContactRole.CITIZEN
    await asterisk.hangup(caller)
    await rig.until(lambda: state() is ContactState.ENDED, "the caller's contact ended")
    citizens = [c for c in rig.legs(incident_id) if c.role is ContactRole.CITIZEN]
    assert [c.ref for c in citizens] == [caller]


async def test_ivr_a_district_code_is_confirmed_on_the_centre_s_number(
    rig: Bridged, asterisk: Asterisk, ivr: CallTaker
) -> None:
    m = await citizen_calls(asterisk, CENTRE, "2-22-1")  # an accident, Miraflores, yes
    assert (m["Choice"], m["District"], m["Status"]) == ("2", "22", "CHOSEN")
    await ivr.idle()
    incident = rig.runtime.store.get(incident_of(rig, m))
    assert (incident.category, incident.district) == ("accidente_transito", "150122")
    assert incident.status is Status.RECEIVED  # not bridged: the operators dispatch it


@pytest.mark.parametrize(("keys", "what"), [("", "a silent caller"), ("7-8-9", "invalid keys")])
async def test_ivr_three_failed_menus_go_to_the_operator(
    rig: Bridged, asterisk: Asterisk, ivr: CallTaker, keys: str, what: str
) -> None:
    m = await citizen_calls(asterisk, MIRAFLORES, keys)
    assert (m["Choice"], m["Status"]) == ("", "OPERATOR"), what
    await ivr.idle()
    incident_id = incident_of(rig, m)
    assert rig.runtime.store.get(incident_id).category == "sin_clasificar"
    [leg] = [g for g in rig.legs(incident_id) if g.role is not ContactRole.CITIZEN]
    assert leg.role is ContactRole.OPERATOR
    await asterisk.hangup(m["Uniqueid"])


# ---------------------------------------------------------------- line checks


@pytest.fixture
async def checker(rig: Bridged) -> AsyncIterator[LineChecker]:
    async with line_checker(rig) as found:
        yield found


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ("epr-ack-sim", CheckResult.CONFIRMED),
        ("epr-silent-sim", CheckResult.ANSWERED),
        ("epr-busy-sim", CheckResult.BUSY),
        ("epr-noanswer-sim", CheckResult.NO_ANSWER),
    ],
)
async def test_a_responder_line_is_checked(
    rig: Bridged, asterisk: Asterisk, checker: LineChecker, context: str, expected: CheckResult
) -> None:
    await asterisk.line(PNP_1, context)
    checks = rig.runtime.linechecks
    line = next(x for x in checks.lines() if x.planned.target.address == PNP_1)
    (requested,) = await asyncio.to_thread(checks.request, [line], actor="test")
    rig.runtime.wakeup.local()
    ref = requested.check.ref
    await rig.until(lambda: checks.get([ref])[0].done, f"the check's result ({context})", 60)
    found = checks.get([ref])[0]
    assert found.result is expected, found.cause
    if expected is CheckResult.ANSWERED:  # the message played twice, then no key
        assert found.cause == "contestó y no marcó ninguna tecla"
    await asterisk.hangup(ref)


# ---------------------------------------------------------------- dialplan administration


async def _first_try(rig: Bridged, asterisk: Asterisk) -> Out:
    """A robbery in San Juan de Lurigancho; the police's first line (the slow responder):
    its first try's outcome."""
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "pnp"), "the police's first try", 90)
    for leg in rig.legs(incident_id):
        await asterisk.hangup(leg.ref)
    return outcomes(rig, incident_id, "pnp")[0]


async def test_a_switched_revision_is_what_responders_hear_and_a_bad_line_never_goes_live(
    rig: Bridged, asterisk: Asterisk
) -> None:
    """Issue 14, point 5: a revision that lengthens the ack prompt's read to 20 s is
    tried and switched in; a responder who presses 1 some 15 s after the message takes
    the incident, which the shipped 10 s read did not let happen; a revision with a line
    Asterisk skips is caught by the trial (whatever the validation said) and never goes
    live; a rollback brings the 10 s read back."""
    runtime = rig.runtime
    store = runtime.dialplans
    store.seed()
    config, _ = runtime.rules.current()
    lines = CitizenLine.from_routing(config.citizen_lines())
    blocking = Blocking(2)
    pusher = Pusher(store, asterisk.session, blocking, runtime.redis, citizen_lines=lines)
    await asterisk.line(PNP_1, SLOW)
    try:
        assert await _first_try(rig, asterisk) is not Out.ACKNOWLEDGED  # the 10 s read

        base = store.latest(PARAMETERS)
        longer, _ = store.propose(
            PARAMETERS,
            base.content.replace("read_timeout: 10", "read_timeout: 20"),
            base=base.id,
            comment="20 s para marcar",
            author="admin:test",
            check=dialplan_checker(lines),
        )
        trial = await pusher.trial(longer.id, "admin:test")
        assert trial.ok, trial.problems
        switched = await pusher.switch(longer.id, "admin:test")
        assert switched.ok, switched.problems
        assert await _first_try(rig, asterisk) is Out.ACKNOWLEDGED

        room = store.latest("vb-room")
        broken, _ = store.propose(
            "vb-room",
            room.content.replace(" same => n,Answer()\n", " same => n(x,Answer()\n", 1),
            base=room.id,
            comment="una línea rota",
            author="admin:test",
            check=lambda _: [],  # as if the validation had missed it
        )
        blind = Pusher(
            store, asterisk.session, blocking, runtime.redis, citizen_lines=lines, lint=False
        )
        failed = await blind.switch(broken.id, "admin:test")
        assert not failed.ok
        assert any("prioridades" in p.es for p in failed.problems), failed.problems
        assert store.pointers()["vb-room"] == room.id
        gone = await asterisk.send(
            "ShowDialPlan",
            [("Context", f"vb-t{broken.id}-room")],
            expected=(f"Did not find context vb-t{broken.id}-room",),
        )
        assert gone is None  # the trial's contexts were removed

        back = await pusher.rollback("admin:test")
        assert back.ok, back.problems
        assert store.pointers()[PARAMETERS] == base.id
        assert await _first_try(rig, asterisk) is not Out.ACKNOWLEDGED
    finally:
        blocking.shutdown()
