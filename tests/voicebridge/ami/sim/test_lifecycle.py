"""The fake Asterisk's life: ``core restart now`` (08b), a dropped AMI link (the calls go
on), a held (half-open) link, stop."""

import asyncio

import pytest

from tests.voicebridge.ami.sim.test_session import (
    SPEED,
    Client,
    check_shapes,
    connect,
    logged_in,
    names,
    running,
)
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk

RESTART_SPEED = 0.1
"""A restart's boot at a tenth of the lab's time."""
REFUSED_SPEED = 0.5
"""Where a test sees connections refused while Asterisk is down: the restart's 0.2 s of
the lab are 100 ms here, which the client's first try cannot miss on a busy machine (at
a tenth, 20 ms, it could)."""


async def reconnect(port: int) -> tuple[Client, int]:
    """Connect until accepted; the number of refused attempts."""
    refused = 0
    while True:
        try:
            return await Client.open(port), refused
        except ConnectionRefusedError:
            refused += 1
            await asyncio.sleep(0.002)


async def test_08b_core_restart_now() -> None:
    """Shutdown (Cleanly, Restart: True) to the observer, both sockets closed, the
    restarting session gets no Response; refused for a while; the first login of the new
    process gets FullyBooted in the restart's order with Uptime 0."""
    async with running(speed=REFUSED_SPEED) as sim:
        a = await connect(sim)
        b = await connect(sim, events="off")
        a.send(
            "Originate",
            ("Channel", "Local/s@operator-sim"),
            ("Application", "ConfBridge"),
            ("Data", "9001,default_bridge,quiet_user"),
            ("Async", "true"),
        )
        await a.event("ConfbridgeJoin")
        b.send("Command", ("Command", "core restart now"), action_id="cmd-restart")
        shutdown = await a.event("Shutdown")
        assert list(shutdown.fields.items()) == [
            ("Event", "Shutdown"),
            ("Privilege", "system,all"),
            ("Shutdown", "Cleanly"),
            ("Restart", "True"),
        ]
        await a.closed()
        await b.closed()
        assert [m for m in b.log if m.action_id == "cmd-restart"] == []
        assert sim.channels == {}
        assert sim.rooms == {}
        c, refused = await reconnect(sim.port)
        assert refused > 0
        await c.login()
        auth = await c.event("SuccessfulAuth")
        booted = await c.event("FullyBooted")
        assert c.log.index(auth) < c.log.index(booted)
        assert list(booted.fields.items()) == [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Status", "Fully Booted"),
            ("Uptime", "0"),
            ("LastReload", "0"),
        ]
        d = await connect(sim)
        later = await d.event("FullyBooted")
        assert names(later) == ["Privilege", "Uptime", "LastReload", "Status"]
        _, items = await d.listing("CoreShowChannels")
        assert [m["ListItems"] for m in items] == ["0"]
        check_shapes([*a.log, *c.log, *d.log])
        for x in (a, b, c, d):
            await x.close()


async def test_restart_method_refuses_connections_for_down_seconds() -> None:
    async with running(speed=REFUSED_SPEED) as sim:
        a = await connect(sim)
        loop = asyncio.get_running_loop()
        start = loop.time()
        restart = asyncio.create_task(sim.restart(down=0.5))
        await a.closed()
        assert a.events("Shutdown")
        b, refused = await reconnect(sim.port)
        assert refused > 0
        assert loop.time() - start >= 0.5 * REFUSED_SPEED
        await restart
        await b.login()
        assert names(await b.event("FullyBooted")) == [
            "Privilege",
            "Status",
            "Uptime",
            "LastReload",
        ]
        await a.close()
        await b.close()


async def test_a_dropped_link_leaves_the_calls_and_rooms_running() -> None:
    """An outage of the AMI link only: no Shutdown, no Goodbye; a new session lists the
    channels and the room's members, and the calls' events go on."""
    async with running(read_timeout=60.0) as sim, logged_in(sim) as client:
        await _dropped_link(sim, client)


async def _dropped_link(sim: FakeAsterisk, client: Client) -> None:
    sim.script("Local/s@slow-ack", Endpoint(behaviour=Behaviour.PRESS, after=20.0))
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "ConfBridge"),
        ("Data", "9001,default_bridge,quiet_user"),
        ("ChannelId", "op-1"),
        ("Async", "true"),
    )
    client.send(
        "Originate",
        ("Channel", "Local/s@slow-ack"),
        ("Context", "ack-prompt"),
        ("Exten", "s"),
        ("Variable", "CONFROOM=9001"),
        ("ChannelId", "epr-1"),
        ("Async", "true"),
    )
    await client.event("ConfbridgeJoin")
    await client.event("Newexten", Channel="Local/s@slow-ack-00000001;1", Application="Read")
    await sim.drop_connections()
    await client.closed()
    assert client.events("Shutdown") == []
    assert {"op-1", "epr-1"} <= set(sim.channels)
    async with logged_in(sim) as again:
        _, items = await again.listing("CoreShowChannels")
        assert {m.get("Uniqueid") for m in items[:-1]} == set(sim.channels)
        assert items[-1]["ListItems"] == "4"
        _, members = await again.listing("ConfBridgeList", ("Conference", "9001"))
        assert [m.get("Uniqueid") for m in members[:-1]] == ["op-1"]
        ack = await again.event("UserEvent", within=2.0)
        assert (ack["Uniqueid"], ack["Digit"]) == ("epr-1", "1")
        await again.event("ConfbridgeJoin", Uniqueid="epr-1")
        assert sim.rooms == {"9001": {"op-1", "epr-1"}}


async def test_held_link_writes_nothing_until_released(sim: FakeAsterisk, client: Client) -> None:
    sim.hold_events(True)
    action_id = client.send("Ping")
    await asyncio.sleep(0.05)
    assert [m for m in client.log if m.action_id == action_id] == []
    sim.hold_events(False)
    assert (await client.response(action_id))["Ping"] == "Pong"


async def test_stop_closes_every_connection() -> None:
    sim = FakeAsterisk(speed=0.01)
    await sim.start()
    a = await connect(sim)
    idle = await Client.open(sim.port)
    await sim.stop()
    await a.closed()
    await idle.closed()
    with pytest.raises(ConnectionRefusedError):
        await Client.open(sim.port)
    await a.close()
    await idle.close()


# ---------------------------------------------------------------- the boot window

BOOT_WINDOW = 20.0
"""Seconds of Asterisk's boot: 0.2 s here at SPEED, 2 s at RESTART_SPEED."""
INTO_VB_ACK = (
    ("Channel", "Local/s@epr-ack-sim"),
    ("Context", "vb-ack"),
    ("Exten", "s"),
    ("Priority", "1"),
    ("Async", "true"),
)
BOOT_FULLYBOOTED = [
    ("Event", "FullyBooted"),
    ("Privilege", "system,all"),
    ("Status", "Fully Booted"),
    ("Uptime", "0"),
    ("LastReload", "0"),
]


def refused(action_id: str) -> bytes:
    """What Asterisk 22.10.1 answered an Originate before its dialplan was loaded."""
    return (
        f"Response: Error\r\nActionID: {action_id}\r\nMessage: Extension does not exist.\r\n\r\n"
    ).encode()


async def _booting(sim: FakeAsterisk, client: Client, since: float, window: float) -> None:
    """In the window: logged in, no FullyBooted, an Originate into a context refused
    (async or not); at its end FullyBooted (08b's order), and the dialplan runs."""
    await client.event("SuccessfulAuth")
    assert sim.booting
    assert client.events("FullyBooted") == []
    for action_id, headers in (("early-1", INTO_VB_ACK), ("early-2", INTO_VB_ACK[:-1])):
        client.send("Originate", *headers, action_id=action_id)
        assert (await client.response(action_id))["Message"] == "Extension does not exist."
        assert refused(action_id) in client.raw
    booted = await client.event("FullyBooted")
    loop = asyncio.get_running_loop()
    assert loop.time() - since >= window
    assert list(booted.fields.items()) == BOOT_FULLYBOOTED
    assert sim.booted_at is not None
    assert (sim.booting, sim.booted_at - since >= window) == (False, True)
    ok = client.send("Originate", *INTO_VB_ACK, ("ChannelId", "vb-after-boot"))
    assert (await client.response(ok))["Message"] == "Originate successfully queued"
    answered = await client.event("OriginateResponse", ActionID=ok)
    assert (answered["Response"], answered["Uniqueid"]) == ("Success", "vb-after-boot")
    await client.event("Newexten", Uniqueid="vb-after-boot", Context="vb-ack")


async def test_boot_window_logins_wait_for_fullybooted_and_originate_is_refused() -> None:
    """README, "Restart (08b)": Asterisk takes Login, and Originate, before its dialplan
    is loaded; an Originate into a context then is ``Extension does not exist.``, and
    FullyBooted comes at the boot's end, to every session logged in (not to one with
    ``Events: off``)."""
    loop = asyncio.get_running_loop()
    since = loop.time()
    async with running(boot_window=BOOT_WINDOW) as sim:
        a = await connect(sim)
        quiet = await connect(sim, events="off")
        await _booting(sim, a, since, BOOT_WINDOW * SPEED)
        b = await connect(sim)  # booted: FullyBooted right after the Login, 01a's order
        assert names(await b.event("FullyBooted")) == [
            "Privilege",
            "Uptime",
            "LastReload",
            "Status",
        ]
        assert quiet.events() == []
        check_shapes([*a.log, *b.log])
        for x in (a, b, quiet):
            await x.close()


async def test_a_restart_boots_for_the_boot_window_again() -> None:
    """The window starts again when the restarted Asterisk listens."""
    async with running(speed=RESTART_SPEED, boot_window=BOOT_WINDOW / 10) as sim:
        a = await connect(sim)
        await a.event("FullyBooted")
        # it listens again 0.2 s (of Asterisk's time) after the restart, not before
        listening = asyncio.get_running_loop().time() + 0.2 * RESTART_SPEED
        restart = asyncio.create_task(sim.restart(down=0.2))
        await a.closed()
        b, _ = await reconnect(sim.port)
        await restart
        await b.login()
        await _booting(sim, b, listening, BOOT_WINDOW / 10 * RESTART_SPEED)
        check_shapes(b.log)
        await a.close()
        await b.close()
