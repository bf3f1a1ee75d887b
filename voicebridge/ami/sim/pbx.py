"""The fake Asterisk's PBX: its channels, rooms and calls, Asterisk's clock (every wait
is multiplied by ``speed``), and the events a channel gives.

:class:`Pbx` holds the state and writes the events; what the channels *do* is done by
the collaborators it builds and owns, each given what it needs:

- :class:`~voicebridge.ami.sim.variables.Variables`: ``${...}``, dialplan functions;
- :class:`~voicebridge.ami.sim.apps.Applications`: the dialplan applications that
  return at once (Set, GotoIf, While, UserEvent...) and the ``h`` extension;
- :class:`~voicebridge.ami.sim.media.Media`: the sound applications (Playback, Read...);
- :class:`~voicebridge.ami.sim.rooms.Rooms`: ConfBridge rooms;
- :class:`~voicebridge.ami.sim.hangups.Hangups`: the hangup sequences;
- :class:`~voicebridge.ami.sim.interpreter.Interpreter`: the dialplan, run priority by
  priority;
- :class:`~voicebridge.ami.sim.far.FarEnd`: what the dialled far end does;
- :class:`~voicebridge.ami.sim.calls.CallPlacer`: Originate and Redirect.

The event sequences are the ones recorded against Asterisk 22.10.1
(``shared/asterisk/traces``); each method's docstring names the trace it follows. Field
lists and their order come from :meth:`SimChannel.snapshot` and
:meth:`Conference.snapshot`.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from dialplans.render import CitizenLine
from voicebridge.ami.sim.apps import Applications
from voicebridge.ami.sim.calls import CallPlacer
from voicebridge.ami.sim.config import ConfigStore
from voicebridge.ami.sim.dialplan import (
    Dialplan,
    Extension,
    build_dialplan,
    builtin_contexts,
    find_extension,
)
from voicebridge.ami.sim.far import DTMF_SECONDS, FarEnd
from voicebridge.ami.sim.hangups import Hangups
from voicebridge.ami.sim.interpreter import Interpreter
from voicebridge.ami.sim.media import Media
from voicebridge.ami.sim.model import (
    UNKNOWN,
    Call,
    ChannelState,
    Conference,
    Endpoint,
    LogMessage,
    SimChannel,
)
from voicebridge.ami.sim.rooms import Rooms
from voicebridge.ami.sim.variables import Variables
from voicebridge.ami.sim.wire import Field

Emit = Callable[[list[Field]], None]


def _device(dial: str) -> str:
    """The device of a dial string: ``Local/s@vbsim-key1/n`` -> ``Local/s@vbsim-key1``."""
    tech, _, resource = dial.partition("/")
    return f"{tech}/{resource.split('/')[0]}"


class Pbx:
    """Channels, rooms, calls and their events; the collaborators that run them. Times
    are seconds of the lab, scaled by ``speed`` when waited for."""

    def __init__(
        self,
        *,
        emit: Emit,
        speed: float,
        ack_contexts: Iterable[str],
        room_contexts: Iterable[str],
        read_timeout: float | None,
        prompt_seconds: float | None,
        sounds: Mapping[str, float],
        device_states: bool,
        default: Endpoint,
        citizen_lines: tuple[CitizenLine, ...] = (),
    ) -> None:
        self.emit = emit
        self.speed = speed
        self.device_states = device_states
        self.config = ConfigStore()
        own = set(build_dialplan(self.config.extensions))
        self.builtin = builtin_contexts(
            [c for c in dict.fromkeys(ack_contexts) if c not in own],
            [c for c in dict.fromkeys(room_contexts) if c not in own],
            citizen_lines,
        )
        """voicebridge's ack and room contexts, its line check and its citizen IVR, run
        when the loaded dialplan lacks them."""
        self.channels: dict[str, SimChannel] = {}
        self.confs: dict[str, Conference] = {}
        self.calls: set[Call] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []
        """Exceptions raised inside the fake's own tasks (a test may assert it is empty)."""
        self.log: list[LogMessage] = []
        """What Asterisk logged of the fake's doings (the bad lines of extensions.conf at
        each load of the dialplan), oldest first; a restart keeps it, as a log file."""
        self.dialplan: Dialplan = {}
        self.globals: dict[str, str] = {}
        self.calls_processed = 0
        self.sent_dtmf: dict[str, str] = {}
        """Uniqueid -> the digits SendDTMF sent on that channel."""
        self._uid_count = 0
        self._seq = 0
        self._up: dict[str, str] = {}
        """Uniqueid -> device of the Local halves whose INUSE was sent."""
        self.variables = Variables(self)
        self.apps = Applications(self, self.variables)
        self.media = Media(
            self, read_timeout=read_timeout, prompt_seconds=prompt_seconds, sounds=sounds
        )
        self.rooms = Rooms(self)
        self.hangups = Hangups(self, self.rooms, run_h=self.apps.run_h)
        self.interpreter = Interpreter(self, self.hangups, self.rooms, self.apps, self.media)
        self.far = FarEnd(self, self.variables, self.hangups, default=default)
        self.placer = CallPlacer(self, self.hangups, self.rooms, self.interpreter, self.far)
        self.reset()

    # ------------------------------------------------------------ plumbing

    def reset(self) -> None:
        """A fresh process (``core restart now``): no channel, no room, counters at 0;
        the dialplan is what extensions.conf holds."""
        for task in list(self.tasks):
            task.cancel()
        for call in self.calls:
            if not call.result.done():
                call.result.set_result(False)
        self.channels.clear()
        self.confs.clear()
        self.calls.clear()
        self.globals.clear()
        self._up.clear()
        self.calls_processed = self._uid_count = self._seq = 0
        self.reload_dialplan()

    def reload_dialplan(self) -> None:
        """Load extensions.conf (``dialplan reload``, an UpdateConfig's ``Reload``, a
        boot): its bad lines skipped, Asterisk's messages about them in :attr:`log`."""
        self.dialplan = build_dialplan(self.config.extensions, self.log)

    def extension(self, context: str, exten: str) -> Extension | None:
        """What ``context,exten`` runs: the loaded dialplan, else the built-in copy of
        voicebridge's contexts."""
        if context in self.dialplan:
            return find_extension(self.dialplan, context, exten)
        return find_extension(self.builtin, context, exten)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.errors.append(error)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) * self.speed)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def uid(self, chosen: str = "") -> str:
        """``<epoch>.<counter>`` (no SystemName, README); a ChannelId/OtherChannelId
        replaces it but still uses up a counter value (02a -> 02b numbering)."""
        n, self._uid_count = self._uid_count, self._uid_count + 1
        return chosen or f"{int(time.time())}.{n}"

    def next_seq(self) -> int:
        """The 8-hex-digit sequence of Local and CBAnn channel names (02a: operator 0,
        responder 1, the room's announcer 2)."""
        n, self._seq = self._seq, self._seq + 1
        return n

    def find(self, name: str) -> SimChannel | None:
        """By name (any case) or Uniqueid, as Asterisk's ast_channel_get_by_name()."""
        if name in self.channels:
            return self.channels[name]
        low = name.lower()
        return next((c for c in self.channels.values() if c.name.lower() == low), None)

    def add_channel(self, **kwargs: Any) -> SimChannel:
        ch = SimChannel(**kwargs)
        ch.created = self.now()
        self.channels[ch.uniqueid] = ch
        return ch

    # ------------------------------------------------------------ events

    def chan_event(self, event: str, ch: SimChannel, *extra: Field, cls: str = "call") -> None:
        self.emit([("Event", event), ("Privilege", f"{cls},all"), *ch.snapshot(), *extra])

    def dial_event(self, event: str, ch: SimChannel, *extra: Field) -> None:
        self.emit([("Event", event), ("Privilege", "call,all"), *ch.snapshot("Dest"), *extra])

    def newexten(self, ch: SimChannel, priority: int, app: str, data: str) -> None:
        ch.priority, ch.app, ch.appdata = priority, app, data
        self.chan_event(
            "Newexten",
            ch,
            ("Extension", ch.exten),
            ("Application", app),
            ("AppData", data),
            cls="dialplan",
        )

    def varset(self, ch: SimChannel, name: str, value: str) -> None:
        ch.variables[name] = value
        self.chan_event("VarSet", ch, ("Variable", name), ("Value", value), cls="dialplan")

    def unset(self, ch: SimChannel, name: str) -> None:
        """``pbx_builtin_setvar_helper(..., NULL)``: VarSet with an empty value only if
        it had a value."""
        if ch.variables.pop(name, ""):
            self.chan_event("VarSet", ch, ("Variable", name), ("Value", ""), cls="dialplan")

    def device(self, name: str, state: str) -> None:
        """DeviceStateChange (only with ``device_states``: the lab Asterisk
        sent them, the recordings of shared/asterisk/traces did not)."""
        if self.device_states:
            self.emit(
                [
                    ("Event", "DeviceStateChange"),
                    ("Privilege", "call,all"),
                    ("Device", name),
                    ("State", state),
                ]
            )

    def half_up(self, ch: SimChannel) -> None:
        """A Local half is up: its device (the dial string) is INUSE (lab: one
        DeviceStateChange after each half's Newstate Up)."""
        if ch.tech.lower() == "local" and ch.call is not None and ch.uniqueid not in self._up:
            self._up[ch.uniqueid] = _device(ch.call.req.dial)
            self.device(self._up[ch.uniqueid], "INUSE")

    def half_gone(self, ch: SimChannel) -> None:
        """After its Hangup: the device's state, NOT_INUSE unless a half of another
        call of that device is still up (lab bad-room: 38 INUSE, 6 NOT_INUSE)."""
        device = self._up.pop(ch.uniqueid, None)
        if device is None:
            return
        others = [u for u, d in self._up.items() if d == device]
        busy = any(
            (c := self.channels.get(u)) is not None and c.call is not ch.call for u in others
        )
        self.device(device, "INUSE" if busy else "NOT_INUSE")

    def newstate(self, ch: SimChannel, state: ChannelState) -> None:
        ch.state = state
        self.chan_event("Newstate", ch)

    def user_event(self, ch: SimChannel, name: str, *fields: Field) -> None:
        """``UserEvent``: the channel snapshot, ``UserEvent: <name>``, then the custom
        headers in dialplan order (02a ``ResponderAck``, 05 ``IncidentReport``)."""
        self.chan_event("UserEvent", ch, ("UserEvent", name), *fields, cls="user")

    def answer(self, ch: SimChannel) -> None:
        """Answer(): Newstate Up, unless it is up already."""
        if ch.state != ChannelState.UP:
            self.newstate(ch, ChannelState.UP)

    def originate_response(self, call: Call, success: bool, reason: int) -> None:
        """OriginateResponse (02a, 03): ActionID right after Privilege; on failure
        ``Channel`` is the dial string and ``Uniqueid: <unknown>``. A synchronous
        Originate gets none (03, README)."""
        req, one = call.req, call.one
        if call.result.done():
            return
        call.result.set_result(success)
        if not req.asynchronous:
            return
        fields: list[Field] = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if req.action_id:
            fields.append(("ActionID", req.action_id))
        up = success and one is not None
        fields += [
            ("Response", "Success" if success else "Failure"),
            ("Channel", one.name if up and one else req.dial),
        ]
        if req.application:
            fields += [("Application", req.application), ("Data", req.data)]
        else:
            fields += [("Context", req.context), ("Exten", req.exten)]
        num, name = (
            (one.caller_num, one.caller_name) if up and one else (req.caller_num, req.caller_name)
        )
        fields += [
            ("Reason", str(reason)),
            ("Uniqueid", one.uniqueid if up and one else UNKNOWN),
            ("CallerIDNum", num or UNKNOWN),
            ("CallerIDName", name or UNKNOWN),
        ]
        self.emit(fields)

    # ------------------------------------------------------------ DTMF

    async def dtmf(self, ch: SimChannel, digit: str) -> None:
        """A digit from the far end: DTMFBegin, DTMFEnd (DurationMs 100) 100 ms later,
        both ``Direction: Received`` on the channel receiving it (02a); the application
        taking keys gets it at DTMFEnd, any other drops it (lab ack-early: a key during
        Playback was lost)."""
        if ch.gone:
            return
        self.chan_event("DTMFBegin", ch, ("Digit", digit), ("Direction", "Received"), cls="dtmf")
        await self.sleep(DTMF_SECONDS)
        if not ch.alive():
            return
        self.chan_event(
            "DTMFEnd",
            ch,
            ("Digit", digit),
            ("DurationMs", "100"),
            ("Direction", "Received"),
            cls="dtmf",
        )
        if ch.keys is not None:
            ch.keys.put_nowait(digit)

    async def wait_digit(self, ch: SimChannel, seconds: float) -> str:
        """A key within ``seconds`` (one that came already first), or ``""``; without
        an application taking keys, just the wait."""
        keys = ch.keys
        if keys is None:
            await self.sleep(seconds)
            return ""
        if not keys.empty():
            return keys.get_nowait()
        if seconds <= 0:
            return ""
        try:
            return await asyncio.wait_for(keys.get(), seconds * self.speed)
        except TimeoutError:
            return ""
