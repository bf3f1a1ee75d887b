"""Originate in the fake Asterisk: who answers what, and the event sequences of an
answered or failed call (traces 02a, 02b, 03, 04, 05, 08a).

A ``Local/<exten>@<ctx>`` dial string makes two channels (``;1`` runs the destination,
``;2`` the far end); any other known technology makes one channel named like
``PJSIP/epr-trunk-00000005`` (no trace shows one: modelled on the Local ``;1``)."""

import asyncio

from voicebridge.ami.sim.apps import PbxApps
from voicebridge.ami.sim.model import (
    Behaviour,
    Call,
    ChannelState,
    Endpoint,
    OriginateRequest,
    SimChannel,
    seconds_text,
)
from voicebridge.ami.sim.pbx import DTMF_SECONDS

LAB_ENDPOINTS = {
    "Local/s@operator-sim": Endpoint(behaviour=Behaviour.ANSWER),
    "Local/s@epr-ack-sim": Endpoint(behaviour=Behaviour.PRESS, digit="1", after=1.0),
    "Local/s@epr-decline-sim": Endpoint(behaviour=Behaviour.PRESS, digit="2", after=1.0),
    "Local/s@epr-silent-sim": Endpoint(behaviour=Behaviour.SILENT),
    "Local/s@epr-noanswer-sim": Endpoint(behaviour=Behaviour.NO_ANSWER),
    "Local/s@epr-busy-sim": Endpoint(behaviour=Behaviour.BUSY),
    "Local/s@epr-congestion-sim": Endpoint(behaviour=Behaviour.CONGESTION),
    "Local/s@epr-reject-sim": Endpoint(behaviour=Behaviour.REJECT),
    "Local/s@citizen-sim-3": Endpoint(behaviour=Behaviour.PRESS, digit="3", after=1.0),
    "Local/s@citizen-sim-silent": Endpoint(behaviour=Behaviour.SILENT),
}
"""The far ends of the lab's extensions.conf (README, "The simulation dialplan")."""

TECHNOLOGIES = frozenset({"local", "pjsip", "sip", "iax2", "dahdi"})
"""Channel technologies the fake has "loaded"; any other is UNREACHABLE (03 badtech)."""

ANSWERING = frozenset({Behaviour.ANSWER, Behaviour.PRESS, Behaviour.SILENT})
CID_PRES = ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")


class Pbx(PbxApps):
    """The whole fake PBX: :class:`PbxCore` + destinations + Originate."""

    endpoints: dict[str, Endpoint]

    def endpoint_for(self, dial: str) -> Endpoint:
        """The scripted endpoint of this exact dial string, else the lab's (options of a
        Local channel such as ``/n`` ignored), else UNREACHABLE for a technology not
        loaded, else the default."""
        if dial in self.endpoints:
            return self.endpoints[dial]
        tech, _, resource = dial.partition("/")
        if tech.lower() not in TECHNOLOGIES:
            return Endpoint(behaviour=Behaviour.UNREACHABLE)
        if tech.lower() == "local":
            bare = "Local/" + resource.split("/")[0]
            if bare in self.endpoints:
                return self.endpoints[bare]
        return self.default

    def originate(self, req: OriginateRequest) -> Call:
        """Start a call; ``call.result`` becomes True once answered, False if it fails.
        The events come from a task, so a Response written now precedes them all."""
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        call = Call(req=req, endpoint=self.endpoint_for(req.dial), result=result)
        self.calls.add(call)
        call.far_task = self.spawn(self._dial(call))
        return call

    async def _dial(self, call: Call) -> None:
        if call.endpoint.behaviour is Behaviour.UNREACHABLE:
            # 03 badtech: Failure, Reason 0, at once and without a channel
            self.originate_response(call, False, 0)
            self.end_call(call)
            return
        self.calls_processed += 1
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
            self.varset(ch, name, value)
        if not (req.caller_num or req.caller_name):
            return
        ch.caller_num, ch.caller_name = req.caller_num, req.caller_name
        if far:
            ch.connected_num, ch.connected_name = req.caller_num, req.caller_name
        self.chan_event("NewCallerid", ch, CID_PRES)
        ch.connected_num, ch.connected_name = req.caller_num, req.caller_name
        self.chan_event("NewConnectedLine", ch)

    async def _dial_local(self, call: Call, resource: str) -> None:
        """Newchannel ;1 (Down) and ;2 (Ring), ;1's AppDial2, Variables and CallerID on
        each half, LocalBridge, DialBegin, then the far end's context (02a, 03)."""
        req, b = call.req, call.endpoint.behaviour
        exten, _, ctx = resource.partition("@")
        exten, ctx = exten or "s", ctx.split("/")[0] or "default"
        base = f"Local/{exten}@{ctx}-{self.next_seq():08x}"
        u1, u2 = self.uid(req.channel_id), self.uid(req.other_channel_id)
        common = {"context": ctx, "exten": exten, "call": call, "linkedid": u1}
        one = self.add_channel(name=f"{base};1", uniqueid=u1, half=1, **common)
        two = self.add_channel(
            name=f"{base};2", uniqueid=u2, half=2, state=ChannelState.RING, **common
        )
        call.one, call.two = one, two
        self.chan_event("Newchannel", one)
        self.chan_event("Newchannel", two)
        self.newexten(one, 1, "AppDial2", "(Outgoing Line)")
        self._identify(call, one, far=False)
        self._identify(call, two, far=True)
        if b is Behaviour.NO_SUCH_CONTEXT:  # 03 badctx: no bridge, no dial, Cause 0
            self.gone(two, 0)
            self.originate_response(call, False, 0)
            self.gone(one, 0)
            self.end_call(call)
            return
        self.emit(
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
        self.dial_event("DialBegin", one, ("DialString", resource))
        steps = self.far_script(call)
        prio = 1
        if steps[0][0] == "NoOp":
            self.newexten(two, 1, "NoOp", steps[0][1])
            prio = 2
        await self._far_answers(call, one, two, prio)

    async def _far_answers(self, call: Call, one: SimChannel, two: SimChannel, prio: int) -> None:
        """The far end's first steps, and the call's outcome (02a; 03's table:
        no answer Reason 3 / Cause 19, busy 5 / 17, congestion 8 / 34, rejected 0 / 21)."""
        b = call.endpoint.behaviour
        if b in ANSWERING:
            self.newexten(two, prio, "Answer", "")
            self.newstate(two, ChannelState.UP)
            self.half_up(two)
            self._answered(call, prio + 1)
        elif b is Behaviour.NO_ANSWER:
            self.newexten(two, prio, "Ringing", "")
            self.newstate(one, ChannelState.RINGING)
            self.newexten(two, prio + 1, "Wait", "120")
            self.dial_event("DialState", one, ("DialStatus", "RINGING"))
            await self.sleep(call.req.timeout)
            self.chan_event("HangupRequest", two, ("Cause", "19"))
            self.originate_response(call, False, 3)
            self.gone(one, 19)
            self.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.gone(two, 19)
        elif b in (Behaviour.BUSY, Behaviour.CONGESTION):
            busy = b is Behaviour.BUSY
            self.newexten(two, prio, "Busy" if busy else "Congestion", "10")
            self.newstate(two, ChannelState.BUSY)
            self.dial_event("DialEnd", one, ("DialStatus", "BUSY" if busy else "CONGESTION"))
            self.chan_event("HangupRequest", two, ("Cause", "0"))
            self.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.gone(two, 17 if busy else 34)
            self.gone(one, 0)
            self.originate_response(call, False, 5 if busy else 8)
        else:  # REJECT: Hangup(21) before answer
            self.newexten(two, prio, "Hangup", "21")
            self.chan_event("SoftHangupRequest", two, ("Cause", "16"))
            self.chan_event("HangupRequest", one, ("Cause", "21"))
            self.gone(two, 21)
            self.originate_response(call, False, 0)
            self.dial_event("DialEnd", one, ("DialStatus", "NOANSWER"))
            self.gone(one, 21)
        if not call.answered:
            self.end_call(call)

    async def _dial_other(self, call: Call, tech: str, resource: str) -> None:
        """One channel (PJSIP, SIP, IAX2, DAHDI): Newchannel, Variables, CallerID,
        DialBegin, ringing, then answered (Newstate Up, DialEnd ANSWER) or failed
        (DialEnd with the status, Hangup with the cause of 03's table)."""
        req, b = call.req, call.endpoint.behaviour
        peer = resource.rpartition("@")[2].split("/")[0] if "@" in resource else resource
        peer = peer.split("/")[0]
        uid = self.uid(req.channel_id)
        one = self.add_channel(
            name=f"{tech}/{peer}-{self.next_seq():08x}",
            uniqueid=uid,
            linkedid=uid,
            context="default",
            exten="s",
            tech=tech,
            call=call,
        )
        call.one = one
        self.chan_event("Newchannel", one)
        self._identify(call, one, far=False)
        self.dial_event("DialBegin", one, ("DialString", resource))
        if b in ANSWERING or b is Behaviour.NO_ANSWER:
            self.newstate(one, ChannelState.RINGING)
            self.dial_event("DialState", one, ("DialStatus", "RINGING"))
        if b in ANSWERING:
            self._answered(call, 1)
            return
        status, cause, reason = {
            Behaviour.NO_ANSWER: ("NOANSWER", 19, 3),
            Behaviour.BUSY: ("BUSY", 17, 5),
            Behaviour.CONGESTION: ("CONGESTION", 34, 8),
        }.get(b, ("NOANSWER", 21, 0))
        if b is Behaviour.NO_ANSWER:
            await self.sleep(req.timeout)
        self.dial_event("DialEnd", one, ("DialStatus", status))
        self.originate_response(call, False, reason)
        self.gone(one, cause)
        self.end_call(call)

    def _answered(self, call: Call, far_prio: int) -> None:
        """Newstate Up of ``;1``, DialEnd ANSWER, OriginateResponse Reason 4 (its place
        among these varies, README), then the destination and the far end's life."""
        one = call.one
        if one is None:
            return
        now = self.now()
        one.answered = now
        if call.two is not None:
            call.two.answered = now
        self.newstate(one, ChannelState.UP)
        self.dial_event("DialEnd", one, ("DialStatus", "ANSWER"))
        self.half_up(one)
        call.answered = True
        self.originate_response(call, True, 4)
        one.runner = self.spawn(self.run_destination(call))
        call.far_task = self.spawn(self._far_life(call, far_prio))

    async def _far_life(self, call: Call, prio: int) -> None:
        """After answer the far end waits, presses its digits (SendDTMF; DTMFBegin/End
        on ``;1`` 100 ms apart), and its further ones (``more``), and waits on, or hangs
        up ``hangup_after`` s after answer."""
        ep, one, two = call.endpoint, call.one, call.two
        if one is None:
            return
        start = self.now()
        deadline = None if ep.hangup_after is None else ep.hangup_after

        def left() -> float:
            return (
                float("inf") if deadline is None else deadline - (self.now() - start) / self.speed
            )

        presses = ((ep.after, ep.digit), *ep.more) if ep.behaviour is Behaviour.PRESS else ()
        for wait, digits in presses:
            if two is not None:
                self.newexten(two, prio, "Wait", seconds_text(wait))
                prio += 1
            if left() <= wait:
                await self.sleep(left())
                self._far_hangs_up(call, prio)
                return
            await self.sleep(wait)
            if two is not None:
                self.newexten(two, prio, "SendDTMF", digits)
                prio += 1
            for digit in digits:
                await self.sleep(DTMF_SECONDS)
                await self.dtmf(one, digit)
            await self.sleep(DTMF_SECONDS / 2)
        if two is not None:
            self.newexten(two, prio, "Wait", self.far_script(call)[-1][1])
            prio += 1
        if deadline is not None:
            await self.sleep(left())
            self._far_hangs_up(call, prio)

    def _far_hangs_up(self, call: Call, prio: int) -> None:
        if call.two is not None and not call.two.gone:
            self.newexten(call.two, prio, "Hangup", "")
        self.hangup_far(call, 16)

    def redirect(self, ch: SimChannel, context: str, exten: str, priority: int) -> None:
        """Redirect: the channel leaves what it runs (its room included) and runs
        ``context,exten,priority``; a room context joins that room."""
        self._stop(ch)
        call = ch.call
        if ch.half == 2 and call is not None and call.far_task is not None:
            call.far_task.cancel()
            call.far_task = None
        self.conf_leave(ch, None)
        ch.runner = self.spawn(self.run_context(ch, context, exten, priority))
