"""The fake Asterisk (``voicebridge.ami.sim``): framing, login and session behaviour.

The expectations below are literal, written from the recordings of a real Asterisk
22.10.1 (``shared/asterisk/traces``, which these tests do not need): field names in
order per event type, texts of the messages, the order of responses and events. The
client side is plain asyncio streams with the project's codec. The helpers of this
module are shared by the other tests of the fake (this package).
"""

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest

from voicebridge.ami.codec import Decoder, Message, encode_action
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.ami.sim.wire import ActionParser

SPEED = 0.01
"""1 s of the lab is 10 ms here."""
WAIT = 2.0
"""Real seconds a test waits for a message before failing."""

# ---------------------------------------------------------------- field lists (literal)

SNAP = [
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
    "Priority", "Uniqueid", "Linkedid",
]  # fmt: skip
BRIDGE = [
    "BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
    "BridgeNumChannels", "BridgeVideoSourceMode",
]  # fmt: skip
SECURITY = ["Privilege", "EventTV", "Severity", "Service", "EventVersion"]
WHERE = ["SessionID", "LocalAddress", "RemoteAddress"]

FIELDS: dict[str, list[list[str]]] = {
    "Newchannel": [["Privilege", *SNAP]],
    "Newstate": [["Privilege", *SNAP]],
    "NewConnectedLine": [["Privilege", *SNAP]],
    "NewCallerid": [["Privilege", *SNAP, "CID-CallingPres"]],
    "Newexten": [["Privilege", *SNAP, "Extension", "Application", "AppData"]],
    "VarSet": [["Privilege", *SNAP, "Variable", "Value"]],
    "Hangup": [["Privilege", *SNAP, "Cause", "Cause-txt"]],
    "HangupRequest": [["Privilege", *SNAP, "Cause"]],
    "SoftHangupRequest": [["Privilege", *SNAP, "Cause"]],
    "DTMFBegin": [["Privilege", *SNAP, "Digit", "Direction"]],
    "DTMFEnd": [["Privilege", *SNAP, "Digit", "DurationMs", "Direction"]],
    "LocalBridge": [
        [
            "Privilege",
            *(f"LocalOne{f}" for f in SNAP),
            *(f"LocalTwo{f}" for f in SNAP),
            "Context",
            "Exten",
            "LocalOptimization",
        ]
    ],
    "DialBegin": [["Privilege", *(f"Dest{f}" for f in SNAP), "DialString"]],
    "DialState": [["Privilege", *(f"Dest{f}" for f in SNAP), "DialStatus"]],
    "DialEnd": [["Privilege", *(f"Dest{f}" for f in SNAP), "DialStatus"]],
    "OriginateResponse": [
        [
            "Privilege",
            "ActionID",
            "Response",
            "Channel",
            "Context",
            "Exten",
            "Reason",
            "Uniqueid",
            "CallerIDNum",
            "CallerIDName",
        ],
        [
            "Privilege",
            "ActionID",
            "Response",
            "Channel",
            "Application",
            "Data",
            "Reason",
            "Uniqueid",
            "CallerIDNum",
            "CallerIDName",
        ],
    ],
    "BridgeCreate": [["Privilege", *BRIDGE]],
    "BridgeDestroy": [["Privilege", *BRIDGE]],
    "BridgeEnter": [["Privilege", *BRIDGE, *SNAP]],
    "BridgeLeave": [["Privilege", *BRIDGE, *SNAP]],
    "ConfbridgeStart": [["Privilege", "Conference", *BRIDGE]],
    "ConfbridgeEnd": [["Privilege", "Conference", *BRIDGE]],
    "ConfbridgeJoin": [["Privilege", "Conference", *BRIDGE, *SNAP, "Admin", "Muted"]],
    "ConfbridgeLeave": [["Privilege", "Conference", *BRIDGE, *SNAP, "Admin"]],
    "ConfbridgeMute": [["Privilege", "Conference", *BRIDGE, *SNAP, "Admin"]],
    "ConfbridgeUnmute": [["Privilege", "Conference", *BRIDGE, *SNAP, "Admin"]],
    "UserEvent": [
        ["Privilege", *SNAP, "UserEvent", "Digit", "ReadStatus", "Room"],
        ["Privilege", *SNAP, "UserEvent", "Type", "CallerID"],
    ],
    "FullyBooted": [
        ["Privilege", "Uptime", "LastReload", "Status"],
        ["Privilege", "Status", "Uptime", "LastReload"],
    ],
    "Shutdown": [["Privilege", "Shutdown", "Restart"]],
    "SuccessfulAuth": [
        [*SECURITY, "AccountID", *WHERE, "UsingPassword", "SessionTV"],
    ],
    "InvalidPassword": [[*SECURITY, "AccountID", *WHERE, "SessionTV"]],
    "InvalidAccountID": [[*SECURITY, "AccountID", *WHERE, "SessionTV"]],
    "RequestNotAllowed": [[*SECURITY, "AccountID", *WHERE, "RequestType", "SessionTV"]],
    "RequestBadFormat": [[*SECURITY, *WHERE, "RequestType", "SessionTV", "AccountID"]],
    "CoreShowChannel": [
        ["ActionID", *SNAP, "Application", "ApplicationData", "Duration", "BridgeId"]
    ],
    "CoreShowChannelsComplete": [["ActionID", "EventList", "ListItems"]],
    "Status": [
        [
            "Privilege",
            *SNAP,
            "Type",
            "DNID",
            "EffectiveConnectedLineNum",
            "EffectiveConnectedLineName",
            "TimeToHangup",
            "BridgeID",
            "Application",
            "Data",
            "Nativeformats",
            "Readformat",
            "Readtrans",
            "Writeformat",
            "Writetrans",
            "Callgroup",
            "Pickupgroup",
            "Seconds",
            "ActionID",
        ],
    ],
    "StatusComplete": [["ActionID", "EventList", "ListItems", "Items"]],
    "ConfbridgeListRooms": [["ActionID", "Conference", "Parties", "Marked", "Locked", "Muted"]],
    "ConfbridgeListRoomsComplete": [["ActionID", "EventList", "ListItems"]],
    "ConfbridgeList": [
        [
            "ActionID",
            "Conference",
            "Admin",
            "MarkedUser",
            "WaitMarked",
            "EndMarked",
            "EndMarkedAny",
            "Waiting",
            "Muted",
            "Talking",
            "AnsweredTime",
            *SNAP,
        ],
    ],
    "ConfbridgeListComplete": [["ActionID", "EventList", "ListItems"]],
}
"""Every event type of the recordings and its field names in order (after ``Event``)."""


CLASSES = {
    "call": [
        "Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "LocalBridge",
        "DialBegin", "DialState", "DialEnd", "OriginateResponse", "Hangup", "HangupRequest",
        "SoftHangupRequest", "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy",
        "ConfbridgeStart", "ConfbridgeEnd", "ConfbridgeJoin", "ConfbridgeLeave",
        "ConfbridgeMute", "ConfbridgeUnmute",
    ],
    "dialplan": ["Newexten", "VarSet"],
    "dtmf": ["DTMFBegin", "DTMFEnd"],
    "user": ["UserEvent"],
    "system": ["FullyBooted", "Shutdown"],
    "security": [
        "SuccessfulAuth", "InvalidPassword", "InvalidAccountID", "RequestNotAllowed",
        "RequestBadFormat",
    ],
}  # fmt: skip
"""README, "Event classes": the first token of ``Privilege`` (``call,all`` ...)."""
PRIVILEGE = {event: f"{cls},all" for cls, events in CLASSES.items() for event in events}


def names(m: Message) -> list[str]:
    return list(m.fields)[1:]


def check_shapes(messages: Iterable[Message]) -> None:
    """Every event has exactly a recorded field list; Privilege classes as recorded."""
    for m in messages:
        if m.event is None:
            continue
        assert m.event in FIELDS, f"unexpected event {m.event}"
        assert names(m) in FIELDS[m.event], f"{m.event}: {names(m)}"
        if m.event == "Status":
            assert m["Privilege"] == "Call"  # capital C, no ",all" (README)
        elif "Privilege" in m:
            assert m["Privilege"] == PRIVILEGE[m.event], m


def by_channel(messages: Iterable[Message]) -> dict[str, list[str]]:
    """Event names per channel (Channel, DestChannel, LocalOneChannel), without
    OriginateResponse, whose place varies (README)."""
    out: dict[str, list[str]] = {}
    for m in messages:
        if m.event is None or m.event == "OriginateResponse" or "ActionID" in m:
            continue
        for key in ("Channel", "DestChannel", "LocalOneChannel"):
            if key in m:
                out.setdefault(m[key], []).append(m.event)
                break
    return out


# ---------------------------------------------------------------- a small AMI client


class Client:
    """An AMI client on asyncio streams and the project's codec. ``log`` holds every
    message received; ``wait_for`` consumes them in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = Decoder()
        self.raw = bytearray()
        self.log: list[Message] = []
        self.eof = False
        self._next = 0
        self._ids = 0
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int) -> "Client":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                self.raw += data
                self.log += self.decoder.feed(data)
                self._arrived.set()
        except ConnectionError:
            pass
        self.eof = True
        self._arrived.set()

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        with suppress(Exception):
            await self.writer.wait_closed()

    def send(self, action: str, *headers: tuple[str, str], action_id: str | None = None) -> str:
        if action_id is None:
            self._ids += 1
            action_id = f"{action.lower()}-{self._ids:03d}"
        self.writer.write(encode_action(action, headers, action_id=action_id))
        return action_id

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def wait_for(
        self, pred: Callable[[Message], bool], within: float = WAIT, *, anywhere: bool = False
    ) -> Message:
        """The next message matching ``pred`` (``anywhere``: the first one in the whole
        log, not only after the last one found)."""
        if anywhere:
            found = next((m for m in self.log if pred(m)), None)
            if found is not None:
                return found

        async def find() -> Message:
            while True:
                while self._next < len(self.log):
                    m = self.log[self._next]
                    self._next += 1
                    if pred(m):
                        return m
                if self.eof:
                    raise EOFError("connection closed")
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), within)

    async def response(self, action_id: str, within: float = WAIT) -> Message:
        return await self.wait_for(
            lambda m: m.response is not None and m.action_id == action_id, within, anywhere=True
        )

    async def event(
        self, name: str, within: float = WAIT, *, anywhere: bool = False, **values: str
    ) -> Message:
        return await self.wait_for(
            lambda m: m.event == name and all(m.get(k) == v for k, v in values.items()),
            within,
            anywhere=anywhere,
        )

    async def act(self, action: str, *headers: tuple[str, str]) -> Message:
        return await self.response(self.send(action, *headers))

    async def listing(
        self, action: str, *headers: tuple[str, str]
    ) -> tuple[Message, list[Message]]:
        action_id = self.send(action, *headers)
        first = await self.response(action_id)
        items: list[Message] = []
        if first.get("EventList") != "start":
            return first, items
        while True:
            m = await self.wait_for(lambda m: m.action_id == action_id)
            items.append(m)
            if (m.event or "").endswith("Complete"):
                return first, items

    async def login(self, events: str = "on", **kw: str) -> Message:
        headers = [("Username", kw.get("username", "voicebridge"))]
        headers.append(("Secret", kw.get("secret", "voicebridge")))
        headers.append(("Events", events))
        return await self.act("Login", *headers)

    async def closed(self, within: float = WAIT) -> None:
        async def gone() -> None:
            while not self.eof:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(gone(), within)

    def events(self, name: str | None = None) -> list[Message]:
        return [m for m in self.log if m.event and (name is None or m.event == name)]


@asynccontextmanager
async def running(**kwargs: Any) -> AsyncIterator[FakeAsterisk]:
    """A started fake (speed SPEED unless given); stopped, and checked for errors."""
    fake = FakeAsterisk(**{"speed": SPEED, **kwargs})
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    assert fake.errors == []


@asynccontextmanager
async def logged_in(fake: FakeAsterisk, events: str = "on") -> AsyncIterator[Client]:
    c = await Client.open(fake.port)
    assert (await c.login(events)).get("Message") == "Authentication accepted"
    try:
        yield c
    finally:
        await c.close()


async def connect(sim: FakeAsterisk, events: str | None = "on") -> Client:
    c = await Client.open(sim.port)
    if events is not None:
        await c.login(events)
    return c


# ---------------------------------------------------------------- the action parser


def test_parser_ends_lines_at_crlf_or_lf_and_keeps_a_bare_cr() -> None:
    """07c: a bare LF ends a line; 07d: a bare CR stays in the value."""
    parser = ActionParser()
    got = parser.feed(b"Action: Setvar\r\nValue: abc\n\nAction: Ping\nActionID: X\r\n\r\n")
    assert [r.fields for r in got] == [
        (("Action", "Setvar"), ("Value", "abc")),
        (("Action", "Ping"), ("ActionID", "X")),
    ]
    (req,) = parser.feed(b"Action: Setvar\r\nValue: abc\r\rAction: Ping\r\n\r\n")
    assert req.get("value") == "abc\r\rAction: Ping"


def test_parser_first_header_wins_and_chunks_anywhere() -> None:
    """07b: the first occurrence of a header wins; lookups ignore case."""
    parser = ActionParser()
    data = b"Action: Setvar\r\nValue: x\r\nVariable: FIRST\r\nVariable: SECOND\r\n\r\n"
    got = [r for i in range(len(data)) for r in parser.feed(data[i : i + 1])]
    assert len(got) == 1
    assert got[0].get("VARIABLE") == "FIRST"
    assert got[0].all("Variable") == ["FIRST", "SECOND"]


def test_parser_an_empty_line_alone_is_an_action_without_action() -> None:
    (req,) = ActionParser().feed(b"\r\n")
    assert req.fields == ()


# ---------------------------------------------------------------- login


async def test_banner_at_once_then_login_response_fullybooted_successfulauth(
    sim: FakeAsterisk,
) -> None:
    """01a: one bare banner line at once; Response, FullyBooted, SuccessfulAuth."""
    c = await Client.open(sim.port)
    await asyncio.sleep(0.02)
    assert bytes(c.raw) == b"Asterisk Call Manager/11.0.0\r\n"
    c.send("Login", ("Username", "voicebridge"), ("Secret", "voicebridge"), action_id="login-1")
    booted = await c.event("FullyBooted")
    auth = await c.event("SuccessfulAuth")
    assert re.match(
        rb"Asterisk Call Manager/11\.0\.0\r\n"
        rb"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n"
        rb"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: \d+\r\nLastReload: \d+\r\n"
        rb"Status: Fully Booted\r\n\r\nEvent: SuccessfulAuth\r\n",
        bytes(c.raw),
    )
    check_shapes([booted, auth])
    assert c.log.index(booted) < c.log.index(auth)
    assert auth.get("Privilege") == "security,all"
    assert (auth["Severity"], auth["Service"], auth["EventVersion"]) == (
        "Informational",
        "AMI",
        "1",
    )
    assert (auth["AccountID"], auth["UsingPassword"]) == ("voicebridge", "0")
    assert auth["LocalAddress"] == f"IPV4/TCP/127.0.0.1/{sim.port}"
    assert re.fullmatch(r"IPV4/TCP/127\.0\.0\.1/\d+", auth["RemoteAddress"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", auth["EventTV"])
    assert re.fullmatch(r"0x[0-9a-f]+", auth["SessionID"])
    await c.close()


@pytest.mark.parametrize(
    ("headers", "event", "account"),
    [
        (
            [("Username", "voicebridge"), ("Secret", "wrong-secret")],
            "InvalidPassword",
            "voicebridge",
        ),
        ([("Username", "nosuchuser"), ("Secret", "x")], "InvalidAccountID", "nosuchuser"),
        ([("Username", "voicebridge")], "InvalidPassword", "voicebridge"),
    ],
    ids=["bad-secret", "unknown-user", "no-secret"],
)
async def test_failed_login_waits_one_second_answers_error_and_closes(
    sim: FakeAsterisk, headers: list[tuple[str, str]], event: str, account: str
) -> None:
    """01b: the others see the security event; after 1.0 s ``Authentication failed``,
    then the server closes the socket."""
    observer = await connect(sim)
    c = await Client.open(sim.port)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    action_id = c.send("Login", *headers)
    reply = await c.response(action_id)
    assert loop.time() - sent >= 1.0 * SPEED
    assert (reply.response, reply.get("Message")) == ("Error", "Authentication failed")
    assert names(reply) == ["ActionID", "Message"]
    await c.closed()
    seen = await observer.event(event)
    check_shapes([seen])
    assert (seen["AccountID"], seen["Severity"]) == (account, "Error")
    assert seen["EventVersion"] == ("2" if event == "InvalidPassword" else "1")
    assert seen["SessionTV"] == "1970-01-01T00:00:00.000+0000"
    await observer.close()
    await c.close()


async def test_actions_before_login_are_denied_and_the_socket_stays_open(sim: FakeAsterisk) -> None:
    """01b C: ``Permission denied``, ``RequestNotAllowed`` to the others, still open."""
    observer = await connect(sim)
    c = await Client.open(sim.port)
    for action in ("Ping", "Command", "Originate"):
        reply = await c.act(action)
        assert (reply.response, reply.get("Message")) == ("Error", "Permission denied")
        seen = await observer.event("RequestNotAllowed", RequestType=f"Action: {action}")
        check_shapes([seen])
        assert seen["AccountID"] == ""
    assert (await c.login()).get("Message") == "Authentication accepted"
    assert not c.events("RequestNotAllowed")
    await c.close()
    await observer.close()


async def test_second_login_is_already_authenticated(client: Client) -> None:
    reply = await client.login()
    assert (reply.response, reply.get("Message")) == ("Success", "Already authenticated")


async def test_idle_unauthenticated_socket_is_closed_after_30_s(sim: FakeAsterisk) -> None:
    """01c: closed silently after authtimeout (30 s); a logged-in one stays."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    idle = await Client.open(sim.port)
    logged = await connect(sim)
    await idle.closed(within=30 * SPEED + 1)
    assert loop.time() - start >= 29 * SPEED
    assert idle.log == []
    assert bytes(idle.raw) == b"Asterisk Call Manager/11.0.0\r\n"
    await idle.close()
    await asyncio.sleep(5 * SPEED)
    assert not logged.eof
    await logged.close()


async def test_security_events_reach_every_logged_in_session(sim: FakeAsterisk) -> None:
    """01b D: a session gets its own SuccessfulAuth too; an ``Events: off`` one none."""
    observer = await connect(sim)
    quiet = await connect(sim, events="off")
    newcomer = await connect(sim)
    await newcomer.event("SuccessfulAuth")
    assert len(observer.events("SuccessfulAuth")) >= 1
    await observer.event(
        "SuccessfulAuth", SessionID=newcomer.events("SuccessfulAuth")[0]["SessionID"]
    )
    await quiet.act("Ping")
    assert quiet.events() == []
    for c in (observer, quiet, newcomer):
        await c.close()


async def test_md5_challenge_login(sim: FakeAsterisk) -> None:
    c = await Client.open(sim.port)
    challenge = (await c.act("Challenge", ("AuthType", "md5")))["Challenge"]
    key = hashlib.md5(f"{challenge}voicebridge".encode(), usedforsecurity=False).hexdigest()
    headers = [("AuthType", "md5"), ("Username", "voicebridge"), ("Key", key)]
    assert (await c.act("Login", *headers)).get("Message") == "Authentication accepted"
    await c.close()


# ---------------------------------------------------------------- Ping, Logoff, errors


async def test_ping_with_and_without_action_id(client: Client) -> None:
    """08a: ``Ping: Pong`` and a Timestamp, no Message; no ActionID without one."""
    reply = await client.act("Ping")
    assert names(reply) == ["ActionID", "Ping", "Timestamp"]
    assert reply["Ping"] == "Pong"
    assert re.fullmatch(r"\d+\.\d{6}", reply["Timestamp"])
    client.send_raw(b"Action: Ping\r\n\r\n")
    bare = await client.wait_for(lambda m: m.response == "Success" and "ActionID" not in m)
    assert names(bare) == ["Ping", "Timestamp"]


async def test_logoff_says_goodbye_and_closes(sim: FakeAsterisk) -> None:
    """01a: ``Goodbye`` / ``Thanks for all the fish.``, then EOF (before login too)."""
    for events in ("on", None):
        c = await connect(sim, events)
        c.send("Logoff", action_id="logoff-001")
        await c.closed()
        await c.close()
        assert bytes(c.raw).endswith(
            b"Response: Goodbye\r\nActionID: logoff-001\r\n"
            b"Message: Thanks for all the fish.\r\n\r\n"
        )


async def test_unknown_action_and_message_without_action(client: Client) -> None:
    """08a: the exact texts, each followed by a RequestBadFormat event."""
    reply = await client.act("NoSuchAction")
    assert (reply.response, reply["Message"]) == (
        "Error",
        "Invalid/unknown command: NoSuchAction. "
        "Use Action: ListCommands to show available commands.",
    )
    bad = await client.event("RequestBadFormat")
    assert bad["RequestType"] == "Action: NoSuchAction"
    client.send_raw(b"ActionID: no-action-header\r\nFoo: bar\r\n\r\n")
    reply = await client.response("no-action-header")
    assert (reply.response, reply["Message"]) == ("Error", "Missing action in request")
    bad = await client.event("RequestBadFormat")
    assert (bad["RequestType"], bad["AccountID"]) == ("Action: NONE", "voicebridge")
    check_shapes(client.log)


async def test_events_action_switches_this_session(sim: FakeAsterisk, client: Client) -> None:
    reply = await client.act("Events", ("EventMask", "off"))
    assert names(reply) == ["ActionID", "Events"]
    assert reply["Events"] == "Off"
    other = await connect(sim)  # its SuccessfulAuth is not for us any more
    await other.event("SuccessfulAuth")
    before = len(client.events())
    assert (await client.act("Events", ("EventMask", "on")))["Events"] == "On"
    assert len(client.events()) == before
    await other.close()


# ---------------------------------------------------------------- header injection (07)


async def test_crlf_crlf_inside_a_value_runs_a_second_action(sim: FakeAsterisk) -> None:
    """7a/7e: two responses; the injected Command runs."""
    c = await connect(sim, events="off")
    c.send_raw(
        b"Action: Setvar\r\nActionID: inj-7a\r\nVariable: VB_INJ_A\r\nValue: abc\r\n\r\n"
        b"Action: Ping\r\nActionID: INJECTED-PING\r\n\r\n"
    )
    assert (await c.response("inj-7a"))["Message"] == "Variable Set"
    assert (await c.response("INJECTED-PING"))["Ping"] == "Pong"
    assert (await c.act("Getvar", ("Variable", "VB_INJ_A")))["Value"] == "abc"
    c.send_raw(
        b"Action: UserEvent\r\nActionID: inj-7e\r\nUserEvent: IncidentNote\r\n"
        b"Note: caller said hello\r\n\r\nAction: Command\r\nActionID: INJECTED-CMD\r\n"
        b"Command: core show version\r\n\r\n"
    )
    assert (await c.response("inj-7e"))["Message"] == "Event Sent"
    out = await c.response("INJECTED-CMD")
    assert out.all("Output") == [
        "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-25 01:33:28 UTC"
    ]
    assert [r.action for r in sim.actions("command")] == ["Command"]
    await c.close()


async def test_an_injected_header_before_the_real_one_wins(client: Client) -> None:
    """7b: Asterisk uses the first occurrence of a header."""
    client.send_raw(
        b"Action: Setvar\r\nActionID: inj-7b\r\nValue: harmless\r\n"
        b"Variable: VB_INJ_OVERRIDE\r\nVariable: VB_INJ_INTENDED\r\n\r\n"
    )
    await client.response("inj-7b")
    assert (await client.act("Getvar", ("Variable", "VB_INJ_OVERRIDE")))["Value"] == "harmless"
    assert (await client.act("Getvar", ("Variable", "VB_INJ_INTENDED")))["Value"] == ""


async def test_bare_lf_ends_a_line_and_bare_cr_is_echoed_raw(client: Client) -> None:
    """7c, 7d."""
    client.send_raw(
        b"Action: Setvar\r\nActionID: inj-7c\r\nVariable: VB_INJ_C\r\nValue: abc\n\n"
        b"Action: Ping\nActionID: INJECTED-LF\r\n\r\n"
    )
    await client.response("inj-7c")
    assert (await client.response("INJECTED-LF"))["Ping"] == "Pong"
    client.send_raw(
        b"Action: Setvar\r\nActionID: inj-7d\r\nVariable: VB_INJ_D\r\n"
        b"Value: abc\r\rAction: Ping\r\n\r\n"
    )
    await client.response("inj-7d")
    client.send_raw(b"Action: Getvar\r\nActionID: get-d\r\nVariable: VB_INJ_D\r\n\r\n")
    await client.response("get-d")
    assert b"Variable: VB_INJ_D\r\nValue: abc\r\rAction: Ping\r\n\r\n" in bytes(client.raw)


async def test_a_sanitised_value_is_one_action(client: Client) -> None:
    """7f: CR/LF replaced by spaces: one action, one response."""
    value = "abc    Action: Ping  ActionID: INJECTED-PING-2"
    await client.act("Setvar", ("Variable", "VB_INJ_F"), ("Value", value))
    assert (await client.act("Getvar", ("Variable", "VB_INJ_F")))["Value"] == value
    assert [m for m in client.log if m.action_id == "INJECTED-PING-2"] == []


async def test_received_keeps_every_action_with_its_headers(
    sim: FakeAsterisk, client: Client
) -> None:
    client.send_raw(
        b"Action: Setvar\r\nActionID: r-1\r\nVariable: A\r\nVariable: B\r\nValue: 1\r\n\r\n"
    )
    await client.response("r-1")
    (setvar,) = sim.actions("SETVAR")
    assert setvar.conn == 1
    assert setvar.headers == (
        ("Action", "Setvar"),
        ("ActionID", "r-1"),
        ("Variable", "A"),
        ("Variable", "B"),
        ("Value", "1"),
    )
    assert [r.action for r in sim.received] == ["Login", "Setvar"]
    assert sim.received[0].at <= setvar.at
