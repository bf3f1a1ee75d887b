"""The AMI session against the fake Asterisk and against raw sockets that misbehave:
login, refused/reset/EOF-before-banner alike, backoff, Ping liveness, action timeouts,
no replay after a reconnect, UTF-8 split across reads, refusal of CR/LF and commas."""

import asyncio
import dataclasses
import logging
import socket
import struct
from collections.abc import AsyncIterator, Callable

import pytest

from tests.conftest import free_port
from voicebridge.ami.codec import Message, UnsafeAction
from voicebridge.ami.protocol import LinkLost
from voicebridge.ami.session import AmiSession, AmiTarget, Timing
from voicebridge.ami.sim import FakeAsterisk

TIMING = Timing(
    action_timeout=1.0,
    ping_interval=0.1,
    ping_timeout=0.2,
    connect_timeout=0.5,
    backoff_min=0.01,
    backoff_max=0.1,
)
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def target(port: int, secret: str = "voicebridge") -> AmiTarget:  # noqa: S107 - the fake's
    return AmiTarget(host="127.0.0.1", port=port, username="voicebridge", secret=secret)


async def until(condition: Callable[[], object], what: str, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk(speed=0.01)
    await server.start()
    yield server
    errors = list(server.errors)
    await server.stop()
    assert errors == []


@pytest.fixture
async def session(fake: FakeAsterisk) -> AsyncIterator[AmiSession]:
    s = AmiSession(target(fake.port), timing=TIMING)
    s.start()
    await asyncio.wait_for(s.connected.wait(), 5)
    yield s
    await s.stop()


def ami_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "voicebridge.ami.session"]


def test_the_url() -> None:
    t = AmiTarget.parse("ami://vb:s%40cret@10.1.2.3:5039")
    assert (t.host, t.port, t.username, t.secret) == ("10.1.2.3", 5039, "vb", "s@cret")
    assert str(t) == "ami://vb@10.1.2.3:5039"  # never the secret
    assert AmiTarget.parse("ami://vb:x@pbx").port == 5038


async def test_login_and_an_action(fake: FakeAsterisk, session: AmiSession) -> None:
    [login] = fake.actions("Login")
    assert dict(login.headers)["Username"] == "voicebridge"
    pong = await session.send("Ping")
    assert pong["Ping"] == "Pong"
    assert session.last_error is None


async def test_a_refused_login_waits_the_longest_backoff(
    fake: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voicebridge.ami.session")
    s = AmiSession(target(fake.port, secret="wrong"), timing=TIMING)
    s.start()
    try:
        await until(lambda: len(fake.actions("Login")) >= 2, "a second login")
        assert not s.connected.is_set()
        assert s.last_error == "login refused (Authentication failed)"
        first, second = fake.actions("Login")[:2]
        # 1 s (x speed) for Asterisk's answer, then the longest backoff
        assert second.at - first.at >= TIMING.backoff_max
    finally:
        await s.stop()
    assert ami_lines(caplog) == [
        f"AMI: Asterisk at {s.target} is unreachable: login refused (Authentication failed); "
        "reconnecting"
    ]


async def _closing_server(
    port: int, on_connect: Callable[[socket.socket], None]
) -> tuple[asyncio.Server, list[int]]:
    """A server on ``port`` that does ``on_connect`` to each connection; counts them."""
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(1)
        on_connect(writer.get_extra_info("socket"))
        writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    return server, seen


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize(
    "misbehaviour",
    [
        pytest.param(None, id="refused"),
        pytest.param(lambda sock: None, id="eof-before-banner"),
        pytest.param(_reset, id="reset"),
    ],
)
async def test_refused_reset_and_eof_before_the_banner_are_all_try_again(
    misbehaviour: Callable[[socket.socket], None] | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voicebridge.ami.session")
    port = free_port()
    server, seen = (None, [1, 1, 1])
    if misbehaviour is not None:
        server, seen = await _closing_server(port, misbehaviour)
    s = AmiSession(target(port), timing=TIMING)
    s.start()
    try:
        if server is None:
            await asyncio.sleep(0.3)  # several refused connects
        else:
            await until(lambda: len(seen) >= 3, "three attempts")
            server.close()
            await server.wait_closed()
        assert not s.connected.is_set()
        fake = FakeAsterisk(speed=0.01)
        await fake.start(port=port)
        try:
            await asyncio.wait_for(s.connected.wait(), 5)
            assert (await s.send("Ping"))["Ping"] == "Pong"
        finally:
            await s.stop()
            await fake.stop()
    finally:
        await s.stop()
    lines = ami_lines(caplog)
    assert len(lines) == 2, lines  # once down, once back, however many attempts
    assert lines[0].startswith(f"AMI: Asterisk at {s.target} is unreachable: ")
    assert lines[1] == f"AMI: Asterisk is back at {s.target}"


async def test_a_half_open_link_is_found_by_ping_and_replaced(
    fake: FakeAsterisk, session: AmiSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voicebridge.ami.session")
    fake.hold_events(True)  # the socket stays open, nothing comes back
    await until(lambda: not session.connected.is_set(), "the link declared dead")
    fake.hold_events(False)
    await asyncio.wait_for(session.connected.wait(), 5)
    assert len(fake.actions("Login")) == 2
    assert ami_lines(caplog) == [
        f"AMI: Asterisk at {session.target} is unreachable: no Pong within 0.2 s (a half-open "
        "link); reconnecting",
        f"AMI: Asterisk is back at {session.target}",
    ]


async def test_every_action_has_a_timeout(fake: FakeAsterisk, session: AmiSession) -> None:
    fake.hold_events(True)
    with pytest.raises(TimeoutError):
        await session.send("CoreShowChannels", wait=0.05)


async def test_nothing_is_sent_again_after_a_reconnect(
    fake: FakeAsterisk, session: AmiSession
) -> None:
    fake.hold_events(True)  # Asterisk takes the Originate; its answer never comes back
    pending = asyncio.ensure_future(
        session.send(
            "Originate",
            [("Channel", "Local/s@operator-sim"), ("Application", "Wait"), ("Data", "1")],
        )
    )
    await until(lambda: fake.actions("Originate"), "the Originate received")
    await fake.drop_connections()
    fake.hold_events(False)
    with pytest.raises(LinkLost):
        await pending
    await asyncio.wait_for(session.connected.wait(), 5)
    await session.send("Ping")
    assert len(fake.actions("Originate")) == 1  # the caller decides; nothing replayed


async def test_a_character_split_across_two_reads_survives() -> None:
    name = "Peña Ñúñez".encode()
    event = (
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/x-1\r\n"
        b"CallerIDName: " + name + b"\r\nUniqueid: 1.1\r\n\r\n"
    )
    cut = event.index("ñ".encode()) + 1  # inside the two bytes of the first ñ

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        login = await reader.readuntil(b"\r\n\r\n")
        action_id = next(
            line.split(b": ", 1)[1]
            for line in login.split(b"\r\n")
            if line.startswith(b"ActionID: ")
        )
        writer.write(b"Response: Success\r\nActionID: " + action_id + b"\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        for part in (event[:cut], event[cut:]):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.05)  # two TCP reads
        await reader.read()
        writer.close()  # 3.11's Server.close() leaves accepted sockets to the handler
        await writer.wait_closed()
        handled.set()

    handled = asyncio.Event()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    got: list[Message] = []
    s = AmiSession(target(port), timing=Timing(ping_interval=60))
    s.on("Newchannel", got.append)
    s.start()
    try:
        await until(lambda: got, "the event")
    finally:
        await s.stop()
        await asyncio.wait_for(handled.wait(), 5)
        server.close()
        await server.wait_closed()
    assert got[0]["CallerIDName"] == "Peña Ñúñez"


async def test_cr_lf_and_variable_commas_never_reach_asterisk(
    fake: FakeAsterisk, session: AmiSession
) -> None:
    before = len(fake.received)
    bad: list[tuple[str, str]] = [
        ("Channel", "Local/s@x\r\nAction: Command"),
        ("Channel", "Local/s@x\nCommand: core stop now"),
        ("Channel", "Local/s@x\r"),
        ("Variable", "VB_ROOM=LIM-2026-000001,VB_X=1"),
        ("Bad Key", "x"),
        ("Key:", "x"),
    ]
    for header in bad:
        with pytest.raises(UnsafeAction):
            await session.send("Originate", [header])
    with pytest.raises(UnsafeAction, match="Variable VB_ROOM: a comma would split the value"):
        await session.send("Originate", [("Variable", "VB_ROOM=a,b")])
    await session.send("Ping")
    assert [r.action for r in fake.received[before:]] == ["Ping"]


async def test_actions_refused_while_asterisk_shuts_down_end_the_link_not_the_session(
    fake: FakeAsterisk, session: AmiSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Seen on Asterisk 22.10.1: between the Shutdown event and the sockets closing,
    every action, Ping included, is answered "Asterisk is shutting down"."""
    caplog.set_level(logging.INFO, "voicebridge.ami.session")
    # 0.3 s of refusals (x speed 0.01): pings, every 0.1 s, fall in it
    await fake.restart(down=0.2, shutdown=30.0)
    await asyncio.wait_for(session.connected.wait(), 5)
    assert (await session.send("Ping"))["Ping"] == "Pong"
    # the Logins tried while it was still shutting down were refused the same way
    assert len(fake.actions("Login")) >= 2
    assert ami_lines(caplog) == [
        f"AMI: Asterisk at {session.target} is unreachable: Ping refused: Asterisk is "
        "shutting down; reconnecting",
        f"AMI: Asterisk is back at {session.target}",
    ]


async def test_ready_only_once_asterisk_has_booted(caplog: pytest.LogCaptureFixture) -> None:
    """Asterisk takes a Login before it has booted (README of the traces, "Restart
    (08b)"): the session is not ``connected``, and runs no ``on_connected`` hook, until
    this login's FullyBooted; it pings meanwhile, and says once that it is waiting."""
    caplog.set_level(logging.INFO, "voicebridge.ami.session")
    fake = FakeAsterisk(speed=0.01, boot_window=50.0)  # 0.5 s
    await fake.start()
    s = AmiSession(target(fake.port), timing=dataclasses.replace(TIMING, boot_wait=0.2))
    hooked: list[float] = []

    async def hook() -> None:
        hooked.append(asyncio.get_running_loop().time())

    s.on_connected(hook)
    s.start()
    try:
        await until(lambda: fake.actions("Login"), "logged in")
        assert fake.booting
        assert not s.connected.is_set()
        waiting = s.last_error  # (a local: the attribute changes across the awaits)
        assert waiting == "logged in, waiting for Asterisk's FullyBooted"
        await asyncio.wait_for(s.connected.wait(), 5)
        assert fake.booted_at is not None
        await until(lambda: hooked, "the on_connected hook")
        assert hooked[0] >= fake.booted_at
        assert [p for p in fake.actions("Ping") if p.at < fake.booted_at]  # alive meanwhile
        assert s.last_error is None
    finally:
        await s.stop()
        await fake.stop()
    assert fake.errors == []
    assert ami_lines(caplog) == [
        f"AMI: logged in to {s.target}, but no FullyBooted within 0.2 s: not originating "
        "until it comes (is Asterisk still booting? does the account read 'system'?)",
        f"AMI: connected to {s.target}",
    ]


async def test_a_session_without_events_still_hears_fullybooted(fake: FakeAsterisk) -> None:
    s = AmiSession(target(fake.port), timing=TIMING, events=False)
    s.start()
    try:
        await asyncio.wait_for(s.connected.wait(), 5)
    finally:
        await s.stop()
    [login] = fake.actions("Login")
    assert dict(login.headers)["Events"] == "system"


async def test_a_cancel_that_comes_with_the_answer_is_not_lost() -> None:
    """stop() cancels the session's task once. On Python 3.11, ``asyncio.wait_for``
    returns an answer that arrives in the loop turn of the cancel and drops the cancel
    (CPython #86296): a session caught in a Ping then never stopped (seen against a real
    Asterisk). ``send`` must end cancelled."""

    class Stub:
        closed = False

        def __init__(self) -> None:
            self.answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

        def send_safe(self, action: object) -> "asyncio.Future[Message]":
            return self.answer

    session = AmiSession(AmiTarget(host="127.0.0.1", port=1, username="u", secret="s"))
    stub = Stub()
    session.protocol = stub  # type: ignore[assignment]
    task = asyncio.ensure_future(session.send("Ping"))
    await asyncio.sleep(0)  # it awaits the answer now
    stub.answer.set_result(Message({"Response": "Success"}))
    task.cancel()  # in the same turn
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_fullybooted_read_apart_from_the_login_answer_is_heard_at_once() -> None:
    """Asterisk may send FullyBooted in a read of its own after the Login answer (a
    login while it boots; a hop between): the session is ready when it comes, not at
    the next Ping (the default 5 s later; a dialplan push gave up first)."""
    fake = FakeAsterisk(speed=0.01, boot_window=5.0)  # FullyBooted 50 ms after the login
    await fake.start()
    s = AmiSession(target(fake.port))  # the default timing: Ping every 5 s
    s.start()
    try:
        await until(lambda: fake.actions("Login"), "logged in")
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(s.connected.wait(), 5)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert fake.actions("Ping") == []  # it did not take a Ping to notice
    finally:
        await s.stop()
        await fake.stop()
