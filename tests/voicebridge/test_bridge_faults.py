"""Faults between voicebridge and Asterisk: the AMI link dropping mid-call (events lost
with it), an Originate whose answer never came back, Asterisk restarting. Nothing
Asterisk did while the link was down is lost (the bridge reconciles from
CoreShowChannels and ConfBridgeList after each login), and no leg is originated twice."""

from collections.abc import AsyncIterator

import pytest

from routing.models import AckMethod, AttemptOutcome, ContactRole, ContactState, Status
from tests.conftest import FakeClock
from tests.voicebridge.rig import Rig, bridged
from voicebridge.ami.sim import Behaviour
from voicebridge.runtime import Runtime

Out = AttemptOutcome
PNP_1 = "PJSIP/017210668@epr-trunk"
SERENAZGO_1 = "PJSIP/017208410@epr-trunk"


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    async with bridged(runtime, clock, speed=0.05) as rig:
        yield rig


def once_each(rig: Rig, incident_id: str) -> bool:
    return all(len(rig.originated(leg.ref)) == 1 for leg in rig.legs(incident_id))


async def test_a_key_pressed_while_the_link_was_down_is_not_lost(
    runtime: Runtime, clock: FakeClock
) -> None:
    async with bridged(runtime, clock, speed=0.1) as rig:
        await _key_while_down(rig)


async def _key_while_down(rig: Rig) -> None:
    rig.script(PNP_1, Behaviour.PRESS, digit="1", after=4.0)  # within the 5 s Read
    rig.script(SERENAZGO_1, Behaviour.SILENT)
    incident_id = await rig.dispatch()
    responder = rig.leg(incident_id, "pnp")
    operator = rig.leg(incident_id, role=ContactRole.OPERATOR)
    await rig.until(
        lambda: rig.leg(incident_id, "pnp").state is ContactState.ANSWERED,
        "pnp's responder answered",
    )
    await rig.settled()
    rig.fake.hold_events(True)  # from here on voicebridge hears nothing
    await rig.until(
        lambda: responder.ref in rig.fake.rooms.get(incident_id, ()),
        "the responder pressed 1 and joined, unheard",
    )
    assert rig.runtime.store.detail(incident_id).acks == ()
    rig.clock.advance(1)
    await rig.fake.drop_connections()  # what was held back is lost with the sockets
    rig.fake.hold_events(False)
    await rig.until(
        lambda: [a.agency for a in rig.runtime.store.detail(incident_id).acks] == ["pnp"],
        "the acknowledgement recovered",
    )
    detail = rig.runtime.store.detail(incident_id)
    [ack] = detail.acks
    assert ack.method is AckMethod.KEYPRESS
    [attempt] = [a for a in detail.attempts if a.agency == "pnp"]
    assert (attempt.outcome, attempt.cause) == (
        Out.ACKNOWLEDGED,
        "«Guardia de prevención» entró a la sala (aceptó)",
    )
    assert detail.incident.status is Status.BRIDGED  # the operator was in the room
    assert {operator.ref, responder.ref} <= rig.fake.rooms[incident_id]
    assert once_each(rig, incident_id)
    assert len(rig.fake.actions("Login")) >= 2


async def test_an_originate_whose_answer_was_lost_is_not_sent_again(rig: Rig) -> None:
    rig.fake.hold_events(True)  # Asterisk takes the Originates; nothing comes back
    incident_id = await rig.dispatch()
    await rig.until(lambda: len(rig.originated()) == 3, "three Originates received")
    await rig.until(lambda: not rig.session.connected.is_set(), "the dead link noticed")
    rig.clock.advance(11)  # past the grace a claimed leg has to reach Asterisk
    await rig.fake.drop_connections()
    rig.fake.hold_events(False)
    # the calls went on meanwhile (both responders press 1 by default): reconciled
    await rig.until(lambda: rig.runtime.store.get(incident_id).status is Status.BRIDGED, "bridged")
    await rig.until(
        lambda: (
            sorted(a.agency for a in rig.runtime.store.detail(incident_id).acks)
            == ["pnp", "serenazgo"]
        ),
        "both acknowledged",
    )
    rig.clock.advance(600)
    await rig.run_due()
    assert len(rig.originated()) == 3
    assert once_each(rig, incident_id)


async def test_an_asterisk_restart_is_survived(rig: Rig) -> None:
    rig.script(SERENAZGO_1, Behaviour.SILENT)  # still in the prompt when Asterisk goes
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: rig.runtime.store.get(incident_id).status is Status.BRIDGED, "pnp bridged"
    )
    await rig.until(
        lambda: rig.leg(incident_id, "serenazgo").state is ContactState.ANSWERED,
        "serenazgo prompting",
    )
    rig.clock.advance(1)
    await rig.fake.restart()
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(incident_id)),
        "every leg of the dead Asterisk ended",
    )
    detail = rig.runtime.store.detail(incident_id)
    assert detail.incident.status is Status.ACKNOWLEDGED  # the room is gone
    serenazgo = [a for a in detail.attempts if a.agency == "serenazgo"]
    assert [a.outcome for a in serenazgo] == [Out.ANSWERED]
    assert serenazgo[0].cause == "colgó sin elegir una opción (el canal ya no existe en Asterisk)"
    # serenazgo's escalation goes on with the new Asterisk
    rig.clock.advance(60)
    assert await rig.run_due() == 1
    second = rig.leg(incident_id, "serenazgo", n=1)
    await rig.until(lambda: rig.originated(second.ref), "serenazgo called again")
    assert once_each(rig, incident_id)
    kinds = [e.kind.value for e in rig.runtime.store.events(incident_id)]
    assert "leg_left" in kinds
