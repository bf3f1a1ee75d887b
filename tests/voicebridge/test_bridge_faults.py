"""Faults between voicebridge and Asterisk: the AMI link dropping mid-call (events lost
with it), an Originate whose answer never came back, Asterisk restarting. Nothing
Asterisk did while the link was down is lost (the bridge reconciles from
CoreShowChannels and ConfBridgeList after each login), and no leg is originated twice.
A room Asterisk lost (a restart, or calls dropped while the link was down) is restored:
the operator is called back once, then the agencies that had acknowledged."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import pytest

from routing.events import EventKind
from routing.models import (
    AckMethod,
    AttemptOutcome,
    Contact,
    ContactRole,
    ContactState,
    Status,
)
from tests.conftest import FakeClock
from tests.voicebridge.rig import Bridged, Rig, bridged
from voicebridge.ami.codec import Message
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


# ------------------------------------------------------------ a room Asterisk lost

RESTARTED = "el reinicio de Asterisk"
LOST = "una caída de Asterisk mientras el enlace estaba cortado"


def recalled(rig: Bridged, incident_id: str) -> list[Contact]:
    """The contacts that call lost legs back into the room, by line (operator, agency)."""
    refs = {
        e.data["leg"]
        for e in rig.runtime.store.events(incident_id)
        if e.kind == EventKind.LEG_RECALLED
    }
    return sorted((c for c in rig.legs(incident_id) if c.ref in refs), key=lambda c: c.agency or "")


def back_in_the_room(rig: Bridged, incident_id: str, *agencies: str) -> bool:
    again = recalled(rig, incident_id)
    return (
        [c.agency or c.role.value for c in again] == ["operator", *sorted(agencies)]
        and all(c.state is ContactState.IN_ROOM for c in again)
        and rig.runtime.store.get(incident_id).status is Status.BRIDGED
    )


def why(rig: Bridged, incident_id: str) -> list[str]:
    return [
        e.cause for e in rig.runtime.store.events(incident_id) if e.kind == EventKind.LEG_RECALLED
    ]


async def calls_dropped_unheard(rig: Rig) -> None:
    """The link goes half-open, Asterisk drops every call meanwhile, then the sockets go:
    voicebridge heard none of it."""
    rig.fake.hold_events(True)
    rig.fake.drop_calls()
    await rig.fake.drop_connections()
    rig.fake.hold_events(False)


async def relogin(rig: Rig) -> None:
    """The link drops, the calls go on: voicebridge logs in again and reconciles."""
    logins, reconciled = len(rig.fake.actions("Login")), rig.bridge.reconciled
    await rig.fake.drop_connections()
    await rig.until(
        lambda: len(rig.fake.actions("Login")) > logins and rig.bridge.reconciled > reconciled,
        "logged in and reconciled again",
    )
    await rig.settled()


async def bridged_with_both(rig: Rig) -> str:
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: all(leg.state is ContactState.IN_ROOM for leg in rig.legs(incident_id)),
        "the operator, pnp and serenazgo in the room",
    )
    assert rig.runtime.store.get(incident_id).status is Status.BRIDGED
    return incident_id


async def test_after_a_restart_the_operator_is_called_back_once_then_the_agency_that_accepted(
    rig: Rig,
) -> None:
    rig.script(SERENAZGO_1, Behaviour.SILENT)  # still in the prompt when Asterisk goes
    loop = asyncio.get_running_loop()
    joins: dict[str, float] = {}

    def joined(m: Message) -> None:
        joins.setdefault(m.get("Uniqueid"), loop.time())

    rig.session.on("ConfbridgeJoin", joined)
    incident_id = await rig.dispatch()
    await rig.until(
        lambda: rig.runtime.store.get(incident_id).status is Status.BRIDGED, "pnp bridged"
    )
    await rig.until(
        lambda: rig.leg(incident_id, "serenazgo").state is ContactState.ANSWERED,
        "serenazgo prompting",
    )
    before = {leg.ref for leg in rig.legs(incident_id)}
    rig.clock.advance(1)
    await rig.fake.restart()
    await rig.until(
        lambda: back_in_the_room(rig, incident_id, "pnp"),
        "the operator, then pnp, back in the room",
        within=10,
    )
    assert all(not leg.state.live for leg in rig.legs(incident_id) if leg.ref in before)
    operator, pnp = recalled(rig, incident_id)
    assert rig.fake.rooms[incident_id] == {operator.ref, pnp.ref}
    # pnp only once the operator was back
    [pnp_call] = rig.fake.actions("Originate")[-1:]
    assert dict(pnp_call.headers)["ChannelId"] == pnp.ref
    assert pnp_call.at > joins[operator.ref]
    # a reconnection: pnp's acknowledgement stands, no new try
    detail = rig.runtime.store.detail(incident_id)
    assert [(a.agency, a.method) for a in detail.acks] == [("pnp", AckMethod.KEYPRESS)]
    assert [a.outcome for a in detail.attempts if a.agency == "pnp"] == [Out.ACKNOWLEDGED]
    assert (operator.attempt_id, pnp.attempt_id) == (None, None)
    assert why(rig, incident_id) == [
        f"conferencia restablecida tras {RESTARTED}: se vuelve a llamar al operador "
        "(«Consola del operador»)",
        f"reconexión tras {RESTARTED}: se vuelve a llamar a «Guardia de prevención» "
        "(Policía Nacional del Perú) a la sala cuando el operador esté de vuelta en la sala; "
        "su confirmación sigue en pie, no es un nuevo intento",
    ]
    # serenazgo had not accepted: its try ended, not called back; its escalation goes on
    serenazgo = [a for a in detail.attempts if a.agency == "serenazgo"]
    assert [a.outcome for a in serenazgo] == [Out.ANSWERED]
    assert (
        serenazgo[0].cause
        == "colgó sin elegir una opción (Asterisk se reinició y cortó la llamada)"
    )
    # a re-login while they are back calls nobody again
    rig.clock.advance(1)
    await relogin(rig)
    assert len(recalled(rig, incident_id)) == 2
    assert back_in_the_room(rig, incident_id, "pnp")
    rig.clock.advance(60)
    assert await rig.run_due() == 1
    second = rig.leg(incident_id, "serenazgo", n=1)
    await rig.until(lambda: rig.originated(second.ref), "serenazgo called again")
    assert second.attempt_id is not None  # its policy's second try
    assert once_each(rig, incident_id)


# Spanish words that an English log line has no business holding, unless quoted
_SPANISH = frozenset({
    "caída", "contestó", "cortado", "de", "del", "el", "en", "enlace", "estaba", "fuera",
    "la", "las", "los", "mientras", "reinicio", "sala", "terminó", "tras", "un", "una", "y",
})  # fmt: skip


def spanish_in(line: str) -> list[str]:
    """The Spanish words of a log line (a value quoted as ``cause="..."`` aside)."""
    unquoted = re.sub(r'"[^"]*"', " ", line)
    words = [w.strip(".,;:()[]") for w in unquoted.lower().split()]
    return [w for w in words if w in _SPANISH]


async def test_after_a_lost_link_where_asterisk_dropped_the_calls_the_room_is_restored(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voicebridge.ami.bridge")
    incident_id = await bridged_with_both(rig)
    rig.clock.advance(1)
    await calls_dropped_unheard(rig)
    await rig.until(
        lambda: back_in_the_room(rig, incident_id, "pnp", "serenazgo"),
        "the operator, then both agencies, back in the room",
        within=10,
    )
    assert why(rig, incident_id)[0] == (
        f"conferencia restablecida tras {LOST}: se vuelve a llamar al operador "
        "(«Consola del operador»)"
    )
    detail = rig.runtime.store.detail(incident_id)
    assert sorted(a.agency for a in detail.acks) == ["pnp", "serenazgo"]
    assert {a.outcome for a in detail.attempts} == {Out.ACKNOWLEDGED}
    assert len(detail.attempts) == 2
    assert len(rig.legs(incident_id)) == 6
    assert once_each(rig, incident_id)
    # the service's log is English for its operators (issue 8, finding 14)
    lines = [r.getMessage() for r in caplog.records if r.name == "voicebridge.ami.bridge"]
    assert any("lost with Asterisk" in line for line in lines), lines
    assert [(line, spanish_in(line)) for line in lines if spanish_in(line)] == []


async def test_after_a_lost_link_where_the_calls_survived_nobody_is_called_again(
    rig: Rig,
) -> None:
    incident_id = await bridged_with_both(rig)
    legs = {leg.ref for leg in rig.legs(incident_id)}
    rig.clock.advance(1)
    for _ in range(2):  # and a second reconciliation, after a second login
        await relogin(rig)
        assert {leg.ref for leg in rig.legs(incident_id)} == legs
        assert rig.fake.rooms[incident_id] == legs
        assert rig.runtime.store.get(incident_id).status is Status.BRIDGED
        assert recalled(rig, incident_id) == []
    assert len(rig.originated()) == 3
    # the same room lost by a restart later is restored
    await rig.fake.restart()
    await rig.until(
        lambda: back_in_the_room(rig, incident_id, "pnp", "serenazgo"), "restored", within=10
    )
    assert once_each(rig, incident_id)


async def test_an_incident_closed_before_asterisk_lost_its_room_is_not_bridged_again(
    rig: Rig,
) -> None:
    """Resolved while the link was down (the hang-ups of its legs unheard), then
    Asterisk restarted: its legs end, nobody is called back; the open incident's room is
    restored."""
    open_one = await bridged_with_both(rig)
    closed = await rig.dispatch(district="150122")  # Miraflores
    await rig.until(
        lambda: all(leg.state is ContactState.IN_ROOM for leg in rig.legs(closed)), "bridged"
    )
    rig.clock.advance(1)
    rig.fake.hold_events(True)
    await asyncio.to_thread(
        rig.runtime.store.transition, closed, Status.RESOLVED, actor="operator:test", cause="ok"
    )
    rig.runtime.wakeup.local()
    rig.clock.advance(1)
    await rig.fake.restart()
    rig.fake.hold_events(False)
    await rig.until(
        lambda: back_in_the_room(rig, open_one, "pnp", "serenazgo"), "restored", within=10
    )
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(closed)), "the closed one's legs ended"
    )
    await rig.settled()
    assert recalled(rig, closed) == []
    assert len(rig.legs(closed)) == 3
    assert closed not in rig.fake.rooms
    # found gone by the reconciliation, or hung up by a sweep after the login
    assert all((leg.cause or "").startswith("colgado a pedido; ") for leg in rig.legs(closed))
    assert rig.runtime.store.get(closed).status is Status.RESOLVED
    assert once_each(rig, closed)
    assert once_each(rig, open_one)


@pytest.mark.parametrize("fault", ["restart", "calls dropped unheard"])
async def test_two_replicas_call_the_operator_back_once(
    runtime: Runtime, clock: FakeClock, fault: str
) -> None:
    """Both hear the restart's hang-ups, or both reconcile after their logins at once."""
    async with (
        bridged(runtime, clock, speed=0.05, owner="serve-a") as a,
        bridged(runtime, clock, a.fake, owner="serve-b") as b,
    ):
        await asyncio.wait_for(b.session.connected.wait(), 5)
        incident_id = await bridged_with_both(a)
        clock.advance(1)
        if fault == "restart":
            await a.fake.restart()
        else:
            await calls_dropped_unheard(a)
        await a.until(
            lambda: back_in_the_room(a, incident_id, "pnp", "serenazgo"), "restored", within=10
        )
        await a.settled()
        await b.settled()
        assert len(recalled(a, incident_id)) == 3
        assert len(rig_legs := a.legs(incident_id)) == 6, rig_legs
        assert once_each(a, incident_id)
        assert a.bridge.originated + b.bridge.originated == 6
