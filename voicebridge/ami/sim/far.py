"""The far end of a dialled line in the fake Asterisk: who answers what (the lab's
``*-sim`` contexts, or a test's :class:`~voicebridge.ami.sim.model.Endpoint`), the
steps its context runs, and its life once answered: the digits it presses, its
hang-up (traces 02a, 02b, 03, 05)."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from voicebridge.ami.sim.model import Behaviour, Call, Endpoint, seconds_text
from voicebridge.ami.sim.variables import Variables

if TYPE_CHECKING:
    from voicebridge.ami.sim.hangups import Hangups
    from voicebridge.ami.sim.pbx import Pbx

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
CALLER_SIM = "Local/s@vb-caller-sim"
"""A citizen played over AMI alone (``voicebridge demo call``, the real-Asterisk suite):
Originate it with ``Variable: VBSIM_KEYS=3-22-1`` (each group of keys pressed
:data:`CALLER_PAUSE` s after the previous one, the first after answer) and, if it hangs
up, ``VBSIM_HANGUP=<seconds after answer>``; a real Asterisk runs the same as a context
that answers, waits and SendDTMF()s each group."""
CALLER_PAUSE = 2.0
DTMF_SECONDS = 0.1
"""SendDTMF on the far end -> DTMFBegin 100 ms later -> DTMFEnd 100 ms after (02a)."""


def citizen_call(
    dialled: str,
    caller_id: str,
    *,
    keys: Sequence[str] = (),
    hangup: float | None = None,
    dial: str = CALLER_SIM,
) -> list[tuple[str, str]]:
    """The headers (after ``Action``) of an Originate that places a citizen's call into
    ``vb-citizen`` at the number ``dialled``: by default the caller :data:`CALLER_SIM`
    pressing ``keys`` (groups, one every :data:`CALLER_PAUSE` s) and hanging up
    ``hangup`` s after answer; ``dial``: a caller the test scripts itself."""
    variables = [("Variable", f"VBSIM_KEYS={'-'.join(keys)}")] if keys else []
    if hangup is not None:
        variables.append(("Variable", f"VBSIM_HANGUP={hangup:g}"))
    return [
        ("Channel", dial),
        ("Context", "vb-citizen"),
        ("Exten", dialled),
        ("Priority", "1"),
        ("CallerID", caller_id),
        *variables,
        ("Async", "true"),
    ]


def caller_sim(variables: dict[str, str]) -> Endpoint:
    """The caller :data:`CALLER_SIM` plays with these Originate variables."""
    groups = [g for g in variables.get("VBSIM_KEYS", "").split("-") if g]
    keys = ["".join(c for c in g if c in "0123456789*#") for g in groups]
    presses = [(CALLER_PAUSE, k) for k in keys if k]
    try:
        hangup: float | None = float(variables["VBSIM_HANGUP"])
    except (KeyError, ValueError):
        hangup = None
    if not presses:
        return Endpoint(behaviour=Behaviour.SILENT, hangup_after=hangup)
    (after, digit), *more = presses
    return Endpoint(
        behaviour=Behaviour.PRESS, digit=digit, after=after, more=tuple(more), hangup_after=hangup
    )


class FarEnd:
    """The far ends: :attr:`endpoints` by dial string (the lab's, then a test's
    scripts), else ``default``."""

    def __init__(
        self, pbx: "Pbx", variables: Variables, hangups: "Hangups", *, default: Endpoint
    ) -> None:
        self.pbx = pbx
        self.variables = variables
        self.hangups = hangups
        self.default = default
        self.endpoints: dict[str, Endpoint] = dict(LAB_ENDPOINTS)

    def endpoint_for(self, dial: str, variables: tuple[tuple[str, str], ...] = ()) -> Endpoint:
        """The scripted endpoint of this exact dial string, else the lab's (options of a
        Local channel such as ``/n`` ignored), else a caller played by the Originate's
        variables (:data:`CALLER_SIM`), else UNREACHABLE for a technology not loaded,
        else the default."""
        if dial in self.endpoints:
            return self.endpoints[dial]
        if dial == CALLER_SIM:
            return caller_sim(dict(variables))
        tech, _, resource = dial.partition("/")
        if tech.lower() not in TECHNOLOGIES:
            return Endpoint(behaviour=Behaviour.UNREACHABLE)
        if tech.lower() == "local":
            bare = "Local/" + resource.split("/")[0]
            if bare in self.endpoints:
                return self.endpoints[bare]
        return self.default

    def script(self, call: Call) -> list[tuple[str, str]]:
        """The steps the far end (``;2``) runs: a NoOp when the loaded context starts
        with one (its text), then what the behaviour does (the lab's *-sim contexts)."""
        steps: list[tuple[str, str]] = []
        two = call.two
        if two is not None:
            first = self.pbx.extension(two.context, two.exten)
            step = first.step(1) if first is not None else None
            if step is not None and step.app == "NoOp":
                steps.append(("NoOp", self.variables.expand(two, step.data)))
        ep = call.endpoint
        match ep.behaviour:
            case Behaviour.PRESS:
                steps += [("Answer", ""), ("Wait", seconds_text(ep.after)), ("SendDTMF", ep.digit)]
                for after, digits in ep.more:
                    steps += [("Wait", seconds_text(after)), ("SendDTMF", digits)]
                steps.append(("Wait", "3600"))
            case Behaviour.ANSWER | Behaviour.SILENT:
                steps += [("Answer", ""), ("Wait", "3600")]
            case Behaviour.NO_ANSWER:
                steps += [("Ringing", ""), ("Wait", "120")]
            case Behaviour.BUSY:
                steps.append(("Busy", "10"))
            case Behaviour.CONGESTION:
                steps.append(("Congestion", "10"))
            case _:
                steps.append(("Hangup", "21"))
        if two is not None and steps[-1] == ("Wait", "3600"):
            # the loaded context's own wait where it has one (citizen-sim-silent:
            # Wait(10), 05; the lab's vbsim-hangup: Wait(13) before its Hangup())
            found = self.pbx.extension(two.context, two.exten)
            last = found.step(len(steps)) if found is not None else None
            if last is not None and last.app == "Wait":
                steps[-1] = ("Wait", last.data)
        return steps

    async def life(self, call: Call, prio: int) -> None:
        """After answer the far end waits, presses its digits (SendDTMF; DTMFBegin/End
        on ``;1`` 100 ms apart), and its further ones (``more``), and waits on, or hangs
        up ``hangup_after`` s after answer."""
        ep, one, two = call.endpoint, call.one, call.two
        if one is None:
            return
        start = self.pbx.now()
        deadline = None if ep.hangup_after is None else ep.hangup_after

        def left() -> float:
            return (
                float("inf")
                if deadline is None
                else deadline - (self.pbx.now() - start) / self.pbx.speed
            )

        presses = ((ep.after, ep.digit), *ep.more) if ep.behaviour is Behaviour.PRESS else ()
        for wait, digits in presses:
            if two is not None:
                self.pbx.newexten(two, prio, "Wait", seconds_text(wait))
                prio += 1
            if left() <= wait:
                await self.pbx.sleep(left())
                self.hangs_up(call, prio)
                return
            await self.pbx.sleep(wait)
            if two is not None:
                self.pbx.newexten(two, prio, "SendDTMF", digits)
                prio += 1
            for digit in digits:
                await self.pbx.sleep(DTMF_SECONDS)
                await self.pbx.dtmf(one, digit)
            await self.pbx.sleep(DTMF_SECONDS / 2)
        if two is not None:
            self.pbx.newexten(two, prio, "Wait", self.script(call)[-1][1])
            prio += 1
        if deadline is not None:
            await self.pbx.sleep(left())
            self.hangs_up(call, prio)

    def hangs_up(self, call: Call, prio: int) -> None:
        if call.two is not None and not call.two.gone:
            self.pbx.newexten(call.two, prio, "Hangup", "")
        self.hangups.far(call, 16)
