"""What the fake Asterisk knows about: endpoints, channels, conferences, and the field
lists of the snapshots its events carry (``shared/asterisk/traces``)."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from voicebridge.ami.sim.wire import Field


class Behaviour(StrEnum):
    """What the far end of a dialled line does (README, "Originate / Local channels")."""

    ANSWER = "answer"
    """Answers and stays on the line (``operator-sim``)."""
    PRESS = "press"
    """Answers, then presses ``digit`` after ``after`` seconds (``epr-ack-sim``)."""
    SILENT = "silent"
    """Answers and never presses (``epr-silent-sim``, a voicemail)."""
    NO_ANSWER = "no_answer"
    """Rings until the Originate Timeout: Reason 3, Hangup Cause 19 (``epr-noanswer-sim``)."""
    BUSY = "busy"
    """Reason 5, Hangup Cause 17 "User busy" (``epr-busy-sim``)."""
    CONGESTION = "congestion"
    """Reason 8, Hangup Cause 34 "Circuit/channel congestion" (``epr-congestion-sim``)."""
    REJECT = "reject"
    """Hung up before answer with cause 21: Reason 0 (``epr-reject-sim``)."""
    UNREACHABLE = "unreachable"
    """Channel technology not loaded: Failure Reason 0 at once, no channel events."""
    NO_SUCH_CONTEXT = "no_such_context"
    """``Local/s@<a context that does not exist>``: both halves are created and hung up
    (Cause 0), Reason 0 (trace 03, "nonexistent context"). Not a default: script it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Endpoint:
    """The far end of one dial string."""

    behaviour: Behaviour
    digit: str = "1"
    after: float = 1.0
    """Seconds after answer before the digit (PRESS)."""
    hangup_after: float | None = None
    """The far end hangs up this long after answer (None: it stays)."""
    more: tuple[tuple[float, str], ...] = ()
    """PRESS: further presses, each (seconds after the previous one, digits); the lab's
    ``vbsim-repeat`` is ``digit="9", after=14, more=((13, "1"),)``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Received:
    """One action the fake received, for tests to assert on."""

    conn: int
    """Connection number, from 1."""
    at: float
    """Loop time."""
    action: str
    headers: tuple[tuple[str, str], ...]
    """All headers as received, in order, repeats kept."""
    refused: str = ""
    """The error Asterisk answered without running the action (``Too many lines in
    message or allocation failure``, ``Failed to parse message: line too long``)."""


@dataclass(frozen=True, slots=True)
class LogMessage:
    """One message Asterisk writes to its log and console (``ast_log()``), for tests to
    assert on: its ``level`` (``WARNING``, ``ERROR``) and its ``text`` exactly as
    Asterisk formats it, without the log line's date, thread and source prefix or the
    final newline."""

    level: str
    text: str


class ChannelState(IntEnum):
    """``ChannelState`` of the events; ``.desc`` is ``ChannelStateDesc``."""

    DOWN = 0
    RSRVD = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7

    @property
    def desc(self) -> str:
        return _STATE_DESC[self]


_STATE_DESC = {
    ChannelState.DOWN: "Down",
    ChannelState.RSRVD: "Rsrvd",
    ChannelState.OFFHOOK: "OffHook",
    ChannelState.DIALING: "Dialing",
    ChannelState.RING: "Ring",
    ChannelState.RINGING: "Ringing",
    ChannelState.UP: "Up",
    ChannelState.BUSY: "Busy",
}

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    127: "Interworking, unspecified",
}
"""``Cause-txt`` of the Hangup event (Asterisk's ast_cause2str; 0/16/17/19/21/34 seen)."""

UNKNOWN = "<unknown>"


@dataclass(eq=False)
class SimChannel:
    """A live channel. ``state`` is a :class:`ChannelState` (an int: ``ch.state == 6``)."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: ChannelState = ChannelState.DOWN
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    """``Language``: ``Set(CHANNEL(language)=es)`` changes it on both halves (lab)."""
    variables: dict[str, str] = field(default_factory=dict)
    room: str | None = None
    """The conference it is in (after ConfbridgeJoin), else None."""
    app: str = ""
    appdata: str = ""
    tech: str = "Local"
    half: int = 0
    """1 or 2 for the halves of a Local channel, 0 for any other technology."""
    muted: bool = False
    created: float = 0.0
    answered: float | None = None
    in_dialplan: bool = False
    """Running dialplan (not an Originate Application): its hangup starts with a
    SoftHangupRequest of its own (traces 02a, 03) and runs its ``h`` extension."""
    call: "Call | None" = None
    runner: "asyncio.Task[None] | None" = None
    keys: "asyncio.Queue[str] | None" = None
    """Set while an application takes keys (Read, Background, WaitExten): the keys
    not yet taken; a key that comes when none is set is dropped (Playback, SayDigits,
    Wait)."""
    on_abort: Callable[[], None] | None = None
    """What the running application does when the channel hangs up under it (Read sets
    its variable and ``READSTATUS: HANGUP``, Playback its ``PLAYBACKSTATUS``)."""
    left: "asyncio.Future[str] | None" = None
    """Resolved when the channel leaves the room its ConfBridge() joined (kicked)."""
    hangup_cause: int = 0
    conf_user: dict[str, str] = field(default_factory=dict)
    """``CONFBRIDGE(user,<option>)`` set on the channel (over its user profile)."""
    gone: bool = False

    def alive(self) -> bool:
        """Not hung up (a method: it may change across an ``await``)."""
        return not self.gone

    @property
    def peer(self) -> "SimChannel | None":
        """The other half of a Local channel."""
        if self.call is None:
            return None
        return self.call.two if self.half == 1 else self.call.one if self.half == 2 else None

    def snapshot(self, prefix: str = "") -> list[Field]:
        """The channel snapshot every channel event carries, in the traces' order
        (``Dest`` prefix in Dial*, ``LocalOne``/``LocalTwo`` in LocalBridge)."""
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(int(self.state))),
            (f"{p}ChannelStateDesc", self.state.desc),
            (f"{p}CallerIDNum", self.caller_num or UNKNOWN),
            (f"{p}CallerIDName", self.caller_name or UNKNOWN),
            (f"{p}ConnectedLineNum", self.connected_num or UNKNOWN),
            (f"{p}ConnectedLineName", self.connected_name or UNKNOWN),
            (f"{p}Language", self.language),
            (f"{p}AccountCode", ""),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]


@dataclass(frozen=True, kw_only=True)
class OriginateRequest:
    """The parts of an Originate action the call needs."""

    dial: str
    action_id: str = ""
    application: str = ""
    data: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    timeout: float = 30.0
    """Seconds (Asterisk's default Timeout is 30000 ms)."""
    caller_num: str = ""
    caller_name: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    channel_id: str = ""
    other_channel_id: str = ""
    asynchronous: bool = True
    """``Async: true``; a synchronous Originate gets no OriginateResponse event (03)."""


@dataclass(eq=False)
class Call:
    """One Originate: the channel that runs the destination (``one``: ``;1`` or the only
    channel) and, for Local, the far end (``two``: ``;2``)."""

    req: OriginateRequest
    endpoint: Endpoint
    result: "asyncio.Future[bool]"
    one: SimChannel | None = None
    two: SimChannel | None = None
    answered: bool = False
    far_task: "asyncio.Task[None] | None" = None


@dataclass(eq=False)
class Conference:
    """A ConfBridge room. ``members`` in join order; ``pending`` are users still hearing
    the "only person" prompt (02a: the operator joined 3.1 s after answer)."""

    name: str
    bridge_id: str
    announcer: str
    """``CBAnn/<room>-<seq>;2``: counted in BridgeNumChannels, never in a BridgeEnter."""
    members: list[SimChannel] = field(default_factory=list)
    pending: list[SimChannel] = field(default_factory=list)

    def snapshot(self, num_channels: int | None = None) -> list[Field]:
        """The bridge snapshot (BridgeCreate ... BridgeVideoSourceMode); the announcer
        counts (README: ConfbridgeStart says 1, the first real join 2)."""
        n = 1 + len(self.members) if num_channels is None else num_channels
        return [
            ("BridgeUniqueid", self.bridge_id),
            ("BridgeType", "base"),
            ("BridgeTechnology", "softmix"),
            ("BridgeCreator", "ConfBridge"),
            ("BridgeName", self.name),
            ("BridgeNumChannels", str(n)),
            ("BridgeVideoSourceMode", "none"),
        ]

    def peers_of(self, ch: SimChannel) -> str:
        """``BRIDGEPEER``: the announcer, then the other members (02a)."""
        return ",".join([self.announcer, *(m.name for m in self.members if m is not ch)])


def parse_callerid(value: str) -> tuple[str, str]:
    """``"EPR Unit 12" <112>`` -> ("112", "EPR Unit 12"); ``112`` -> ("112", "")."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, num = value[:-1].rpartition("<")
        name = name.strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1]
        return num.strip(), name
    if value.replace("+", "").replace("-", "").isdigit():
        return value, ""
    return "", value.strip('"')


def seconds_text(value: float) -> str:
    """A duration as a dialplan argument: 1.0 -> ``1``, 0.5 -> ``0.5``."""
    return f"{value:g}"
