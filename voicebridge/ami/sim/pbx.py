"""The fake Asterisk's channel core: channel events, hangups, ConfBridge rooms, DTMF.

The event sequences are the ones recorded against Asterisk 22.10.1
(``shared/asterisk/traces``); each method's docstring names the trace it follows. Field
lists and their order come from :meth:`SimChannel.snapshot` and
:meth:`Conference.snapshot`.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from voicebridge.ami.sim.config import ConfigStore
from voicebridge.ami.sim.dialplan import (
    Dialplan,
    Extension,
    build_dialplan,
    builtin_contexts,
    find_extension,
)
from voicebridge.ami.sim.model import (
    CAUSE_TEXT,
    UNKNOWN,
    Call,
    ChannelState,
    Conference,
    Endpoint,
    SimChannel,
)
from voicebridge.ami.sim.wire import Field

Emit = Callable[[list[Field]], None]

ONLY_PERSON_SECONDS = 3.1
"""The default user profile plays "you are the only person" before entering an empty
room: 02a's operator joined 3.1 s after answer (README)."""
DTMF_SECONDS = 0.1
"""SendDTMF on the far end -> DTMFBegin 100 ms later -> DTMFEnd 100 ms after (02a)."""


def _device(dial: str) -> str:
    """The device of a dial string: ``Local/s@vbsim-key1/n`` -> ``Local/s@vbsim-key1``."""
    tech, _, resource = dial.partition("/")
    return f"{tech}/{resource.split('/')[0]}"


class PbxCore:
    """Channels, rooms and their events. Times are seconds of the lab, scaled by
    ``speed`` when waited for."""

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
    ) -> None:
        self.emit = emit
        self.speed = speed
        self.read_timeout = read_timeout
        self.prompt_seconds = prompt_seconds
        self.sounds = dict(sounds)
        self.device_states = device_states
        self.default = default
        self.config = ConfigStore()
        own = set(build_dialplan(self.config.extensions))
        self.builtin = builtin_contexts(
            [c for c in dict.fromkeys(ack_contexts) if c not in own],
            [c for c in dict.fromkeys(room_contexts) if c not in own],
        )
        """voicebridge's ack and room contexts, run when the loaded dialplan lacks them."""
        self.channels: dict[str, SimChannel] = {}
        self.confs: dict[str, Conference] = {}
        self.calls: set[Call] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []
        """Exceptions raised inside the fake's own tasks (a test may assert it is empty)."""
        self.dialplan: Dialplan = {}
        self.globals: dict[str, str] = {}
        self.calls_processed = 0
        self.sent_dtmf: dict[str, str] = {}
        """Uniqueid -> the digits SendDTMF sent on that channel."""
        self._uid_count = 0
        self._seq = 0
        self._up: dict[str, str] = {}
        """Uniqueid -> device of the Local halves whose INUSE was sent."""
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
        self.dialplan = build_dialplan(self.config.extensions)

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

    def _half_gone(self, ch: SimChannel) -> None:
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

    # ------------------------------------------------------------ hangups

    def _stop(self, ch: SimChannel) -> None:
        """Stop what the channel runs (not the task calling this); the application's
        own last events first (Read's variables, Playback's status)."""
        abort, ch.on_abort = ch.on_abort, None
        if abort is not None:
            abort()
        current = asyncio.current_task()
        if ch.runner is not None and ch.runner is not current:
            ch.runner.cancel()
        ch.runner = None
        ch.keys = None

    def gone(self, ch: SimChannel, cause: int) -> None:
        """The ``Hangup`` event (Cause, Cause-txt); the channel is no more."""
        if ch.gone:
            return
        self._stop(ch)
        self.chan_event(
            "Hangup", ch, ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))
        )
        ch.gone = True
        self.channels.pop(ch.uniqueid, None)
        self._half_gone(ch)

    def end_call(self, call: Call | None) -> None:
        if call is None:
            return
        task = call.far_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if not call.result.done():
            call.result.set_result(False)
        self.calls.discard(call)

    def run_h(self, ch: SimChannel) -> None:
        """The ``h`` extension of the channel's context (:class:`PbxApps` runs it)."""

    def hangup_near(
        self,
        one: SimChannel,
        cause: int,
        *,
        result: str | None = "HANGUP",
        soft: bool | None = None,
    ) -> None:
        """The channel that runs the destination (``;1``) hangs up: Hangup action, end
        of the Application, dialplan ``Hangup()``, kick.

        The application's own last events, ConfbridgeLeave ... if it is in a room; then
        ``SoftHangupRequest`` of its own if it runs dialplan (02a responder, 02b, 03
        orig-nodest, every lab trace; not 02a operator, 04, 08a, which ran an
        Application) and its ``h`` extension (lab: ``vb-ack``'s); then
        ``HangupRequest ;2``, ``Hangup ;1``, ``SoftHangupRequest ;2`` (Cause 16),
        ``Hangup ;2``, all with ``cause``."""
        if one.gone:
            return
        call = one.call
        self._stop(one)
        self.conf_leave(one, result)
        if one.in_dialplan if soft is None else soft:
            self.chan_event("SoftHangupRequest", one, ("Cause", "16"))
        self.run_h(one)
        two = one.peer
        if two is not None and not two.gone:
            self._stop(two)
            self.chan_event("HangupRequest", two, ("Cause", str(cause)))
            if call is not None and not call.answered:
                self.originate_response(call, False, 1)
            self.gone(one, cause)
            self.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.gone(two, cause)
        else:
            self.chan_event("HangupRequest", one, ("Cause", str(cause)))
            if call is not None and not call.answered:
                self.originate_response(call, False, 1)
            self.gone(one, cause)
        self.end_call(call)

    def hangup_far(self, call: Call, cause: int) -> None:
        """The far end hangs up (``;2`` runs ``Hangup()``, or a Hangup action on ``;2``):
        ``SoftHangupRequest ;2``, ``HangupRequest ;1``, ``Hangup ;2`` as 03's reject;
        then ``;1``: its application's last events (lab ack-hangup: Read's ``VB_KEY``,
        ``READSTATUS: HANGUP``), its room, ``SoftHangupRequest``, its ``h`` extension,
        ``Hangup``."""
        one, two = call.one, call.two
        if two is not None and not two.gone:
            self._stop(two)
            self.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            if one is not None and not one.gone:
                self.chan_event("HangupRequest", one, ("Cause", str(cause)))
            self.gone(two, cause)
        elif one is not None and not one.gone:
            self.chan_event("HangupRequest", one, ("Cause", str(cause)))
        if one is not None and not one.gone:
            self._stop(one)
            self.conf_leave(one, "HANGUP")
            if not call.answered:
                self.originate_response(call, False, 1)
            if two is not None:
                self.chan_event("SoftHangupRequest", one, ("Cause", "16"))
            self.run_h(one)
            self.gone(one, cause)
        self.end_call(call)

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

    # ------------------------------------------------------------ ConfBridge

    def _conf_event(self, event: str, conf: Conference, n: int | None, *extra: Field) -> None:
        self.emit(
            [
                ("Event", event),
                ("Privilege", "call,all"),
                ("Conference", conf.name),
                *conf.snapshot(n),
                *extra,
            ]
        )

    def _user_event(
        self, event: str, conf: Conference, ch: SimChannel, n: int | None, *extra: Field
    ) -> None:
        self._conf_event(event, conf, n, *ch.snapshot(), *extra)

    async def conf_join(self, ch: SimChannel, room: str, *, announce: bool) -> None:
        """ConfBridge(room): the first user creates the room (BridgeCreate with 0
        channels, ConfbridgeStart with 1, the hidden announcer); a user of an announcing
        profile alone in the room hears the "only person" prompt first (02a); then
        BridgeEnter, BRIDGEPEER VarSets, ConfbridgeJoin (Admin, Muted)."""
        conf = self.confs.get(room)
        if conf is None:
            seq = self.next_seq()
            self.uid()
            self.uid()  # the announcer's two halves
            conf = Conference(room, str(uuid.uuid4()), f"CBAnn/{room}-{seq:08x};2")
            self.confs[room] = conf
            self.emit([("Event", "BridgeCreate"), ("Privilege", "call,all"), *conf.snapshot(0)])
            self._conf_event("ConfbridgeStart", conf, 1)
        alone = not conf.members and not conf.pending
        conf.pending.append(ch)
        if ch.app != "ConfBridge":
            ch.app, ch.appdata = "ConfBridge", room
        try:
            if announce and alone:
                await self.sleep(ONLY_PERSON_SECONDS)
        except asyncio.CancelledError:
            if ch in conf.pending:
                conf.pending.remove(ch)
                self._maybe_end(conf)
            raise
        if not ch.alive() or ch not in conf.pending:
            return
        conf.pending.remove(ch)
        if not conf.members:
            self.device(f"confbridge:{room}", "INUSE")
        conf.members.append(ch)
        ch.room = room
        self.emit(
            [("Event", "BridgeEnter"), ("Privilege", "call,all"), *conf.snapshot(), *ch.snapshot()]
        )
        for other in conf.members[:-1]:
            self.varset(other, "BRIDGEPEER", conf.peers_of(other))
        self.varset(ch, "BRIDGEPEER", conf.peers_of(ch))
        self._user_event("ConfbridgeJoin", conf, ch, None, ("Admin", "No"), ("Muted", "No"))

    def conf_leave(self, ch: SimChannel, result: str | None, *, kicked: bool = False) -> None:
        """ConfbridgeLeave (the count before), BRIDGEPEER emptied, BridgeLeave (after),
        the others' BRIDGEPEER, CONFBRIDGE_RESULT; the last one out ends the room:
        ConfbridgeEnd (1, the announcer) and BridgeDestroy (0) (02a, 04)."""
        if ch.room is None:
            for conf in list(self.confs.values()):
                if ch in conf.pending:
                    conf.pending.remove(ch)
                    self._maybe_end(conf)
            return
        conf = self.confs[ch.room]
        if kicked:
            self.varset(ch, "CONFBRIDGE_RESULT", "KICKED")
        self._user_event("ConfbridgeLeave", conf, ch, None, ("Admin", "No"))
        self.varset(ch, "BRIDGEPEER", "")
        conf.members.remove(ch)
        ch.room, ch.muted = None, False
        self.emit(
            [("Event", "BridgeLeave"), ("Privilege", "call,all"), *conf.snapshot(), *ch.snapshot()]
        )
        for other in conf.members:
            self.varset(other, "BRIDGEPEER", conf.peers_of(other))
        if result is not None and not kicked:
            self.varset(ch, "CONFBRIDGE_RESULT", result)
        if ch.left is not None and not ch.left.done():
            ch.left.set_result("KICKED" if kicked else result or "")
        self._maybe_end(conf)

    def _maybe_end(self, conf: Conference) -> None:
        """The last one out: ConfbridgeEnd (1: the announcer) and BridgeDestroy (0);
        with ``device_states``, the room's device NOT_INUSE before, the announcer's
        INUSE and UNKNOWN around BridgeDestroy (lab)."""
        if conf.members or conf.pending or self.confs.get(conf.name) is not conf:
            return
        self.device(f"confbridge:{conf.name}", "NOT_INUSE")
        self._conf_event("ConfbridgeEnd", conf, 1)
        self.device(f"CBAnn/{conf.name}", "INUSE")
        self.emit([("Event", "BridgeDestroy"), ("Privilege", "call,all"), *conf.snapshot(0)])
        self.device(f"CBAnn/{conf.name}", "UNKNOWN")
        del self.confs[conf.name]

    def conf_mute(self, conf: Conference, ch: SimChannel, muted: bool) -> None:
        """ConfbridgeMute / ConfbridgeUnmute: room and channel snapshots, ``Admin`` (04)."""
        ch.muted = muted
        event = "ConfbridgeMute" if muted else "ConfbridgeUnmute"
        self._user_event(event, conf, ch, None, ("Admin", "No"))

    def conf_kick(self, ch: SimChannel) -> None:
        """ConfBridgeKick: the user leaves (CONFBRIDGE_RESULT KICKED first, 04); one that
        ran the ConfBridge Application hangs up, one in dialplan goes on with its next
        priority (``Hangup()`` in every context that joins a room)."""
        if ch.in_dialplan and ch.left is not None:
            self.conf_leave(ch, None, kicked=True)
            return
        self._stop(ch)
        self.conf_leave(ch, None, kicked=True)
        self.hangup_near(ch, 16)
