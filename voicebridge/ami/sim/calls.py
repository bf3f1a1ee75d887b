"""Originate in the fake Asterisk: the event sequences of an answered or failed call
(traces 02a, 02b, 03, 04, 05, 08a), what its ``;1`` does once answered, and Redirect.

A ``Local/<exten>@<ctx>`` dial string makes two channels (``;1`` runs the destination,
``;2`` the far end); any other known technology makes one channel named like
``PJSIP/epr-trunk-00000005`` (no trace shows one: modelled on the Local ``;1``)."""

import asyncio
from typing import TYPE_CHECKING

from voicebridge.ami.sim.expr import split_args
from voicebridge.ami.sim.far import ANSWERING, FarEnd
from voicebridge.ami.sim.interpreter import Interpreter
from voicebridge.ami.sim.model import (
    Behaviour,
    Call,
    ChannelState,
    OriginateRequest,
    SimChannel,
)

if TYPE_CHECKING:
    from voicebridge.ami.sim.hangups import Hangups
    from voicebridge.ami.sim.pbx import Pbx
    from voicebridge.ami.sim.rooms import Rooms

CID_PRES = ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")


class CallPlacer:
    """Places the calls of Originate and sends channels elsewhere (Redirect)."""

    def __init__(
        self,
        pbx: "Pbx",
        hangups: "Hangups",
        rooms: "Rooms",
        interpreter: Interpreter,
        far: FarEnd,
    ) -> None:
        self.pbx = pbx
        self.hangups = hangups
        self.rooms = rooms
        self.interpreter = interpreter
        self.far = far

    def originate(self, req: OriginateRequest) -> Call:
        """Start a call; ``call.result`` becomes True once answered, False if it fails.
        The events come from a task, so a Response written now precedes them all."""
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        call = Call(req=req, endpoint=self.far.endpoint_for(req.dial, req.variables), result=result)
        self.pbx.calls.add(call)
        call.far_task = self.pbx.spawn(self._dial(call))
        return call

    async def _dial(self, call: Call) -> None:
        if call.endpoint.behaviour is Behaviour.UNREACHABLE:
            # 03 badtech: Failure, Reason 0, at once and without a channel
            self.pbx.originate_response(call, False, 0)
            self.hangups.end_call(call)
            return
        self.pbx.calls_processed += 1
        tech, _, resource = call.req.dial.partition("/")
        if tech.lower() == "local":
            await self._dial_local(call, resource)
        else:
            await self._dial_other(call, tech, resource)

    def _identify(self, call: Call, ch: SimChannel, *, far: bool) -> None:
        """Originate Variables (VarSet) and CallerID (NewCallerid, NewConnectedLine):
        ``;1`` gets its connected line after NewCallerid, ``;2`` both at once (02a);
        the Variables come on ``;1`` last first (lab: VB_CATEGORY ... VB_ROOM)."""
        req = call.req
        # the lab's four Variables came on ;1 in the reverse order, on ;2 in order
        for name, value in req.variables if far else reversed(req.variables):
            self.pbx.varset(ch, name, value)
        if not (req.caller_num or req.caller_name):
            return
        ch.caller_num, ch.caller_name = req.caller_num, req.caller_name
        if far:
            ch.connected_num, ch.connected_name = req.caller_num, req.caller_name
        self.pbx.chan_event("NewCallerid", ch, CID_PRES)
        ch.connected_num, ch.connected_name = req.caller_num, req.caller_name
        self.pbx.chan_event("NewConnectedLine", ch)

    async def _dial_local(self, call: Call, resource: str) -> None:
        """Newchannel ;1 (Down) and ;2 (Ring), ;1's AppDial2, Variables and CallerID on
        each half, LocalBridge, DialBegin, then the far end's context (02a, 03)."""
        req, b = call.req, call.endpoint.behaviour
        exten, _, ctx = resource.partition("@")
        exten, ctx = exten or "s", ctx.split("/")[0] or "default"
        base = f"Local/{exten}@{ctx}-{self.pbx.next_seq():08x}"
        u1, u2 = self.pbx.uid(req.channel_id), self.pbx.uid(req.other_channel_id)
        common = {"context": ctx, "exten": exten, "call": call, "linkedid": u1}
        one = self.pbx.add_channel(name=f"{base};1", uniqueid=u1, half=1, **common)
        two = self.pbx.add_channel(
            name=f"{base};2", uniqueid=u2, half=2, state=ChannelState.RING, **common
        )
        call.one, call.two = one, two
        self.pbx.chan_event("Newchannel", one)
        self.pbx.chan_event("Newchannel", two)
        self.pbx.newexten(one, 1, "AppDial2", "(Outgoing Line)")
        self._identify(call, one, far=False)
        self._identify(call, two, far=True)
        if b is Behaviour.NO_SUCH_CONTEXT:  # 03 badctx: no bridge, no dial, Cause 0
            self.hangups.gone(two, 0)
            self.pbx.originate_response(call, False, 0)
            self.hangups.gone(one, 0)
            self.hangups.end_call(call)
            return
        self.pbx.emit(
            [
                ("Event", "LocalBridge"),
                ("Privilege", "call,all"),
                *one.snapshot("LocalOne"),
                *two.snapshot("LocalTwo"),
                ("Context", ctx),
                ("Exten", exten),
                ("LocalOptimization", "Yes"),
            ]
        )
        self.pbx.dial_event("DialBegin", one, ("DialString", resource))
        steps = self.far.script(call)
        prio = 1
        if steps[0][0] == "NoOp":
            self.pbx.newexten(two, 1, "NoOp", steps[0][1])
            prio = 2
        await self._far_answers(call, one, two, prio)

    async def _far_answers(self, call: Call, one: SimChannel, two: SimChannel, prio: int) -> None:
        """The far end's first steps, and the call's outcome (02a; 03's table:
        no answer Reason 3 / Cause 19, busy 5 / 17, congestion 8 / 34, rejected 0 / 21)."""
        b = call.endpoint.behaviour
        if b in ANSWERING:
            self.pbx.newexten(two, prio, "Answer", "")
            self.pbx.newstate(two, ChannelState.UP)
            self.pbx.half_up(two)
            self._answered(call, prio + 1)
        elif b is Behaviour.NO_ANSWER:
            self.pbx.newexten(two, prio, "Ringing", "")
            self.pbx.newstate(one, ChannelState.RINGING)
            self.pbx.newexten(two, prio + 1, "Wait", "120")
            self.pbx.dial_event("DialState", one, ("DialStatus", "RINGING"))
            await self.pbx.sleep(call.req.timeout)
            self.pbx.chan_event("HangupRequest", two, ("Cause", "19"))
            self.pbx.originate_response(call, False, 3)
            self.hangups.gone(one, 19)
            self.pbx.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.hangups.gone(two, 19)
        elif b in (Behaviour.BUSY, Behaviour.CONGESTION):
            busy = b is Behaviour.BUSY
            self.pbx.newexten(two, prio, "Busy" if busy else "Congestion", "10")
            self.pbx.newstate(two, ChannelState.BUSY)
            self.pbx.dial_event("DialEnd", one, ("DialStatus", "BUSY" if busy else "CONGESTION"))
            self.pbx.chan_event("HangupRequest", two, ("Cause", "0"))
            self.pbx.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.hangups.gone(two, 17 if busy else 34)
            self.hangups.gone(one, 0)
            self.pbx.originate_response(call, False, 5 if busy else 8)
        else:  # REJECT: Hangup(21) before answer
            self.pbx.newexten(two, prio, "Hangup", "21")
            self.pbx.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.pbx.chan_event("HangupRequest", one, ("Cause", "21"))
            self.hangups.gone(two, 21)
            self.pbx.originate_response(call, False, 0)
            self.pbx.dial_event("DialEnd", one, ("DialStatus", "NOANSWER"))
            self.hangups.gone(one, 21)
        if not call.answered:
            self.hangups.end_call(call)

    async def _dial_other(self, call: Call, tech: str, resource: str) -> None:
        """One channel (PJSIP, SIP, IAX2, DAHDI): Newchannel, Variables, CallerID,
        DialBegin, ringing, then answered (Newstate Up, DialEnd ANSWER) or failed
        (DialEnd with the status, Hangup with the cause of 03's table)."""
        req, b = call.req, call.endpoint.behaviour
        peer = resource.rpartition("@")[2].split("/")[0] if "@" in resource else resource
        peer = peer.split("/")[0]
        uid = self.pbx.uid(req.channel_id)
        one = self.pbx.add_channel(
            name=f"{tech}/{peer}-{self.pbx.next_seq():08x}",
            uniqueid=uid,
            linkedid=uid,
            context="default",
            exten="s",
            tech=tech,
            call=call,
        )
        call.one = one
        self.pbx.chan_event("Newchannel", one)
        self._identify(call, one, far=False)
        self.pbx.dial_event("DialBegin", one, ("DialString", resource))
        if b in ANSWERING or b is Behaviour.NO_ANSWER:
            self.pbx.newstate(one, ChannelState.RINGING)
            self.pbx.dial_event("DialState", one, ("DialStatus", "RINGING"))
        if b in ANSWERING:
            self._answered(call, 1)
            return
        status, cause, reason = {
            Behaviour.NO_ANSWER: ("NOANSWER", 19, 3),
            Behaviour.BUSY: ("BUSY", 17, 5),
            Behaviour.CONGESTION: ("CONGESTION", 34, 8),
        }.get(b, ("NOANSWER", 21, 0))
        if b is Behaviour.NO_ANSWER:
            await self.pbx.sleep(req.timeout)
        self.pbx.dial_event("DialEnd", one, ("DialStatus", status))
        self.pbx.originate_response(call, False, reason)
        self.hangups.gone(one, cause)
        self.hangups.end_call(call)

    def _answered(self, call: Call, far_prio: int) -> None:
        """Newstate Up of ``;1``, DialEnd ANSWER, OriginateResponse Reason 4 (its place
        among these varies, README), then the destination and the far end's life."""
        one = call.one
        if one is None:
            return
        now = self.pbx.now()
        one.answered = now
        if call.two is not None:
            call.two.answered = now
        self.pbx.newstate(one, ChannelState.UP)
        self.pbx.dial_event("DialEnd", one, ("DialStatus", "ANSWER"))
        self.pbx.half_up(one)
        call.answered = True
        self.pbx.originate_response(call, True, 4)
        one.runner = self.pbx.spawn(self.run_destination(call))
        call.far_task = self.pbx.spawn(self.far.life(call, far_prio))

    async def run_destination(self, call: Call) -> None:
        """``;1`` once answered: the Application (ConfBridge joins, Wait(n) hangs up
        after n s with Cause 0 as 03's sync Originate did, any other stays), the
        Context, or with neither the far end's own context from priority 2 (03
        orig-nodest, which leaks the call)."""
        one, req = call.one, call.req
        if one is None:
            return
        if req.application:
            one.in_dialplan = False
            one.app, one.appdata = req.application, req.data
            app = req.application.lower()
            if app == "confbridge":
                args = split_args(req.data)
                profile = args[2].strip() if len(args) > 2 else ""
                await self.rooms.join(
                    one, args[0].strip(), announce=self.rooms.announces(one, profile)
                )
            elif app == "wait":
                try:
                    seconds = float(req.data or "0")
                except ValueError:
                    return
                await self.pbx.sleep(seconds)
                self.hangups.near(one, 0)
            return
        if req.context:
            await self.interpreter.run_context(one, req.context, req.exten or "s", req.priority)
            return
        if call.two is not None:
            one.in_dialplan = True
            steps = [s for s in self.far.script(call) if s[0] != "NoOp"]
            for priority, (app, data) in enumerate(steps, start=2):
                self.pbx.newexten(one, priority, app, data)
                if app == "Wait":
                    break

    def redirect(self, ch: SimChannel, context: str, exten: str, priority: int) -> None:
        """Redirect: the channel leaves what it runs (its room included) and runs
        ``context,exten,priority``; a room context joins that room."""
        self.hangups.stop(ch)
        call = ch.call
        if ch.half == 2 and call is not None and call.far_task is not None:
            call.far_task.cancel()
            call.far_task = None
        self.rooms.leave(ch, None)
        ch.runner = self.pbx.spawn(self.interpreter.run_context(ch, context, exten, priority))
