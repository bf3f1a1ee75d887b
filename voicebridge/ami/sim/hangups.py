"""How calls end in the fake Asterisk: the event sequences of a hangup of the near end
(``;1``: Hangup action, end of the application, ``Hangup()``, a kick) and of the far end
(``;2``), as traces 02a, 03, 04, 08a and the lab's recorded them."""

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicebridge.ami.sim.model import CAUSE_TEXT, Call, SimChannel

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx
    from voicebridge.ami.sim.rooms import Rooms


class Hangups:
    """Hangups; ``run_h`` runs the ``h`` extension of a channel that ran dialplan."""

    def __init__(self, pbx: "Pbx", rooms: "Rooms", *, run_h: Callable[[SimChannel], None]) -> None:
        self.pbx = pbx
        self.rooms = rooms
        self.run_h = run_h

    def stop(self, ch: SimChannel) -> None:
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
        self.stop(ch)
        self.pbx.chan_event(
            "Hangup", ch, ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))
        )
        ch.gone = True
        self.pbx.channels.pop(ch.uniqueid, None)
        self.pbx.half_gone(ch)

    def end_call(self, call: Call | None) -> None:
        if call is None:
            return
        task = call.far_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if not call.result.done():
            call.result.set_result(False)
        self.pbx.calls.discard(call)

    def near(
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
        self.stop(one)
        self.rooms.leave(one, result)
        if one.in_dialplan if soft is None else soft:
            self.pbx.chan_event("SoftHangupRequest", one, ("Cause", "16"))
        self.run_h(one)
        two = one.peer
        if two is not None and not two.gone:
            self.stop(two)
            self.pbx.chan_event("HangupRequest", two, ("Cause", str(cause)))
            if call is not None and not call.answered:
                self.pbx.originate_response(call, False, 1)
            self.gone(one, cause)
            self.pbx.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.gone(two, cause)
        else:
            self.pbx.chan_event("HangupRequest", one, ("Cause", str(cause)))
            if call is not None and not call.answered:
                self.pbx.originate_response(call, False, 1)
            self.gone(one, cause)
        self.end_call(call)

    def far(self, call: Call, cause: int) -> None:
        """The far end hangs up (``;2`` runs ``Hangup()``, or a Hangup action on ``;2``):
        ``SoftHangupRequest ;2``, ``HangupRequest ;1``, ``Hangup ;2`` as 03's reject;
        then ``;1``: its application's last events (lab ack-hangup: Read's ``VB_KEY``,
        ``READSTATUS: HANGUP``), its room, ``SoftHangupRequest``, its ``h`` extension,
        ``Hangup``."""
        one, two = call.one, call.two
        if two is not None and not two.gone:
            self.stop(two)
            self.pbx.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            if one is not None and not one.gone:
                self.pbx.chan_event("HangupRequest", one, ("Cause", str(cause)))
            self.gone(two, cause)
        elif one is not None and not one.gone:
            self.pbx.chan_event("HangupRequest", one, ("Cause", str(cause)))
        if one is not None and not one.gone:
            self.stop(one)
            self.rooms.leave(one, "HANGUP")
            if not call.answered:
                self.pbx.originate_response(call, False, 1)
            if two is not None:
                self.pbx.chan_event("SoftHangupRequest", one, ("Cause", "16"))
            self.run_h(one)
            self.gone(one, cause)
        self.end_call(call)

    def shutdown(self) -> None:
        """Asterisk's shutdown hangs every channel up (``ast_softhangup_all``, the lab's
        Asterisk 22.10.1 on ``core restart now`` with a call in a room): a
        ``SoftHangupRequest`` with ``Cause: 4`` (AST_SOFTHANGUP_SHUTDOWN) on each half,
        then the channel's own hangup: its room's ConfbridgeLeave, its ``h`` extension,
        ``Hangup`` with Cause 16 (Normal Clearing)."""
        for one in [ch for ch in self.pbx.channels.values() if ch.half != 2]:
            if one.gone:
                continue
            for half in (one, one.peer):
                if half is not None and not half.gone:
                    self.pbx.chan_event("SoftHangupRequest", half, ("Cause", "4"))
            self.near(one, 16, soft=False)

    def kick(self, ch: SimChannel) -> None:
        """ConfBridgeKick: the user leaves (CONFBRIDGE_RESULT KICKED first, 04); one that
        ran the ConfBridge Application hangs up, one in dialplan goes on with its next
        priority (``Hangup()`` in every context that joins a room)."""
        if ch.in_dialplan and ch.left is not None:
            self.rooms.leave(ch, None, kicked=True)
            return
        self.stop(ch)
        self.rooms.leave(ch, None, kicked=True)
        self.near(ch, 16)
