"""Responder lines checked over a real AMI socket (issue 10, point 4): voicebridge's
line checker against the fake Asterisk, which runs ``vb-check`` as rendered, recording
into the database. Each line's far end is scripted: it presses 1, answers and presses
nothing, hangs up during the message, is busy, does not answer, rejects the call; a line
an incident takes is hung up; a check Asterisk lost while the link was down ends
interrupted; calls of incidents and checks share the session without hearing each
other's channels."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from routing.linechecks import CheckResult, Line
from tests.conftest import FakeClock
from tests.voicebridge.rig import Rig, bridged, line_checker
from tests.voicebridge.rig import headers as headers_of
from voicebridge.ami.linechecks import LineChecker
from voicebridge.ami.sim import Behaviour
from voicebridge.runtime import Runtime

R = CheckResult


@dataclass
class Checking:
    rig: Rig
    checker: LineChecker

    def line(self, agency: str = "pnp", n: int = 0) -> Line:
        return self.rig.runtime.linechecks.lines(agency=agency)[n]

    async def check(self, line: Line) -> str:
        (requested,) = await asyncio.to_thread(
            self.rig.runtime.linechecks.request, [line], actor="test"
        )
        self.rig.runtime.wakeup.local()
        return requested.check.ref

    async def result(self, ref: str, within: float = 10.0) -> tuple[CheckResult, str]:
        checks = self.rig.runtime.linechecks

        def done() -> bool:
            return checks.get([ref])[0].done

        await self.rig.until(done, f"the result of {ref}", within)
        found = checks.get([ref])[0]
        assert found.result is not None
        return found.result, found.cause or ""


@pytest.fixture
async def checking(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Checking]:
    async with bridged(runtime, clock) as rig, line_checker(rig) as checker:
        yield Checking(rig=rig, checker=checker)


@pytest.fixture
async def slow_checking(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Checking]:
    """Asterisk's time five times slower than the rig's: a press seconds after a
    switchboard's digits stays 200 ms of real time after them, not 40 ms."""
    async with bridged(runtime, clock, speed=0.05) as rig, line_checker(rig) as checker:
        yield Checking(rig=rig, checker=checker)


@pytest.mark.parametrize(
    ("behaviour", "kwargs", "expected"),
    [
        (Behaviour.PRESS, {"digit": "1", "after": 1.0}, (R.CONFIRMED, "confirmó con la tecla 1")),
        (Behaviour.PRESS, {"digit": "5", "after": 1.0}, (R.ANSWERED, "marcó 5, no 1")),
        (Behaviour.SILENT, {}, (R.ANSWERED, "contestó y no marcó ninguna tecla")),
        (
            Behaviour.SILENT,
            {"hangup_after": 2.0},
            (R.ANSWERED, "colgó durante el mensaje, sin marcar"),
        ),
        (Behaviour.BUSY, {}, (R.BUSY, "ocupado")),
        (Behaviour.NO_ANSWER, {}, (R.NO_ANSWER, "no contestó")),
        (Behaviour.CONGESTION, {}, (R.FAILED, "red congestionada")),
        (
            Behaviour.REJECT,
            {},
            (R.FAILED, "rechazó la llamada (llamada rechazada, Q.850 21)"),
        ),
    ],
    ids=["confirmed", "other-key", "silent", "hung-up", "busy", "no-answer", "congestion",
         "rejected"],
)  # fmt: skip
async def test_each_line_gets_its_result(
    checking: Checking, behaviour: Behaviour, kwargs: dict[str, object], expected: object
) -> None:
    line = checking.line()
    dial = line.planned.target.dial or ""
    checking.rig.script(dial, behaviour, **kwargs)
    ref = await checking.check(line)
    assert await checking.result(ref) == expected
    (sent,) = checking.rig.originated(ref)
    assert sent["Channel"] == dial
    assert (sent["Context"], sent["Exten"], sent["Priority"]) == ("vb-check", "s", "1")
    assert sent["CallerID"] == '"CIC-SC prueba" <0>'
    assert sent["Timeout"] == "20000"


async def test_the_lines_extension_is_dialled(
    slow_checking: Checking,
) -> None:
    checking = slow_checking
    found = checking.line()  # a line behind a switchboard: its extension once it answers
    target = replace(found.planned.target, dtmf="ww12#")
    line = replace(found, planned=replace(found.planned, target=target))
    # the switchboard puts the call through (its digits end about 2 s after answer); the
    # responder presses 1 during the message, seconds clear of both its ends
    checking.rig.script(target.dial or "", Behaviour.PRESS, digit="1", after=6.0)
    ref = await checking.check(line)
    assert (await checking.result(ref))[0] is R.CONFIRMED
    (sent,) = checking.rig.originated(ref)
    assert sent["Variable"] == f"VB_DTMF={line.planned.target.dtmf}"


async def test_a_check_is_hung_up_when_an_incident_takes_its_line_which_waits_for_it(
    checking: Checking,
) -> None:
    rig = checking.rig
    incident_id = rig.create()  # a robbery in SJL
    plan = rig.runtime.dispatcher.explain(incident_id).decision.plans[0]
    first = plan.targets[0].target
    target_line = next(x for x in rig.runtime.linechecks.lines() if x.id == first.id)
    rig.script(first.dial or "", Behaviour.SILENT)  # the check's message plays on
    ref = await checking.check(target_line)
    await rig.until(lambda: ref in rig.fake.channels, "the check on the phone")
    rig.script(first.dial or "", Behaviour.PRESS, digit="1", after=1.0)
    await asyncio.to_thread(rig.runtime.dispatcher.dispatch, incident_id, actor="operator:t")
    rig.runtime.wakeup.local()
    result, cause = await checking.result(ref)
    assert (result, cause) == (
        R.INTERRUPTED,
        f"se cortó: la línea pasó al incidente en curso {incident_id}",
    )
    await rig.until(lambda: ref not in rig.fake.channels, "the check hung up")
    hangups = [r for r in rig.fake.actions("Hangup") if headers_of(r)["Channel"] == ref]
    assert headers_of(hangups[0])["Cause"] == "16"
    # the incident's call to that line was placed once the check had hung up, and the
    # police acknowledged on it
    leg = rig.leg(incident_id, plan.agency)
    await rig.until(
        lambda: plan.agency in [a.agency for a in rig.runtime.store.detail(incident_id).acks],
        "the police acknowledged",
    )
    (originate,) = [r for r in rig.fake.actions("Originate")
                    if headers_of(r).get("ChannelId") == leg.ref]  # fmt: skip
    assert headers_of(originate)["Channel"] == first.dial
    assert originate.at > hangups[0].at


async def test_checks_and_incident_calls_share_the_session(checking: Checking) -> None:
    rig = checking.rig
    incident_id = await rig.dispatch()  # lines of SJL
    plans = rig.runtime.dispatcher.explain(incident_id).decision.plans
    taken = {t.target.id for p in plans for t in p.targets}
    other = next(x for x in rig.runtime.linechecks.lines() if x.id not in taken)
    ref = await checking.check(other)
    assert (await checking.result(ref))[0] is R.CONFIRMED
    await rig.settled()
    # the check's channel is no contact of the incident, nor the incident's a check
    assert all(not leg.ref.startswith("vbchk-") for leg in rig.legs(incident_id))
    assert checking.checker.originated == 1


async def test_a_check_asterisk_lost_meanwhile_ends_interrupted(checking: Checking) -> None:
    rig = checking.rig
    line = checking.line()
    rig.script(line.planned.target.dial or "", Behaviour.SILENT)
    ref = await checking.check(line)
    await rig.until(lambda: ref in rig.fake.channels, "the check on the phone")
    await rig.fake.restart(down=0.3)
    result, cause = await checking.result(ref)
    assert result is R.INTERRUPTED
    assert "Asterisk" in cause
    status = rig.runtime.linechecks.status([line])[0]
    assert status.failures == 0  # no verdict on the line


async def test_a_check_dropped_while_the_link_was_down_ends_interrupted(
    checking: Checking,
) -> None:
    rig = checking.rig
    line = checking.line()
    rig.script(line.planned.target.dial or "", Behaviour.SILENT)
    ref = await checking.check(line)
    await rig.until(lambda: ref in rig.fake.channels, "the check on the phone")
    await rig.until(
        lambda: rig.runtime.linechecks.get([ref])[0].state.value == "answered", "answered"
    )
    rig.clock.advance(15)  # placed before the reconciliation's grace for Originates
    rig.fake.hold_events(True)  # half-open: voicebridge hears none of what follows
    rig.fake.drop_calls()
    await rig.fake.drop_connections()
    rig.fake.hold_events(False)
    assert await checking.result(ref) == (
        R.INTERRUPTED,
        "Asterisk perdió la llamada de prueba (se reinició o se cayó el enlace)",
    )
