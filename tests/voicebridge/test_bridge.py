"""Dispatch to conference, end to end over a real AMI socket: voicebridge's session and
bridge against the fake Asterisk, recording into the database. The shipped Lima routing
is in force: a robbery in San Juan de Lurigancho calls the SJL central's operator and
each agency's first line."""

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import pytest
from sqlalchemy import select

from routing import schema as t
from routing.decide import PlannedTarget
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactRole,
    ContactState,
    Status,
    Target,
    TargetKind,
)
from tests.conftest import FakeClock
from tests.voicebridge.rig import Rig, bridged
from tests.voicebridge.rig import headers as headers_of
from tests.voicebridge.test_spanish import english_in
from voicebridge.ami.sim import Behaviour
from voicebridge.runtime import Runtime

Out = AttemptOutcome
OPERATOR_SJL = "PJSIP/012089201@epr-trunk"


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    async with bridged(runtime, clock) as rig:
        yield rig


@pytest.fixture
async def slow_rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    """Asterisk's time five times slower than the rig's: where the test's own steps (a
    write to the database, the bridge's Hangup) must beat a responder's 10 s prompt,
    they have half a second of real time, not 100 ms."""
    async with bridged(runtime, clock, speed=0.05) as rig:
        yield rig


def outcomes(rig: Rig, incident_id: str, agency: str) -> list[Out]:
    detail = rig.runtime.store.detail(incident_id)
    return [a.outcome for a in detail.attempts if a.agency == agency]


def state(rig: Rig, incident_id: str, agency: str) -> AssignmentState:
    return {a.agency: a.state for a in rig.runtime.calls.dispatches.assignments(incident_id)}[
        agency
    ]


async def test_key_one_acknowledges_and_bridges_operator_and_responder(rig: Rig) -> None:
    incident_id = rig.create()
    plan = rig.runtime.dispatcher.explain(incident_id).decision.plans
    first = plan[0].targets[0].target
    rig.script(first.dial or "", Behaviour.PRESS, digit="1", after=2.0)
    incident_id = await rig.dispatch()  # a second incident, the same route
    agency = plan[0].agency
    responder = rig.leg(incident_id, agency)
    operator = rig.leg(incident_id, role=ContactRole.OPERATOR)
    await rig.until(
        lambda: rig.fake.rooms.get(incident_id, set()) >= {responder.ref, operator.ref},
        "operator and responder in the room",
    )
    await rig.settled()
    assert rig.runtime.store.get(incident_id).status is Status.BRIDGED

    # what went over the wire: one Originate per leg, our Uniqueid, the right context
    [orig] = rig.originated(responder.ref)
    assert orig["Channel"] == first.dial
    assert (orig["Context"], orig["Exten"], orig["Priority"]) == ("vb-ack", "s", "1")
    assert orig["OtherChannelId"] == f"{responder.ref}-far"
    assert orig["Async"] == "true"
    assert orig["Timeout"] == str(plan[0].policy.ring_seconds * 1000)
    digits = incident_id.rsplit("-", 1)[1]
    assert orig["Variable"] == [
        f"VB_ROOM={incident_id}",
        f"VB_INCIDENT={incident_id}",
        f"VB_DIGITS={digits}",
        "VB_CATEGORY=robo",
    ]
    [orig] = rig.originated(operator.ref)
    assert (orig["Channel"], orig["Context"]) == (OPERATOR_SJL, "vb-room")

    detail = rig.runtime.store.detail(incident_id)
    [ack] = [a for a in detail.acks if a.agency == agency]
    assert (ack.method, ack.actor) == (AckMethod.KEYPRESS, f"responder:{agency}")
    assert outcomes(rig, incident_id, agency) == [Out.ACKNOWLEDGED]
    assert state(rig, incident_id, agency) is AssignmentState.ACKNOWLEDGED
    assert rig.fake.rooms[incident_id] >= {responder.ref, operator.ref}
    states = {leg.ref: leg.state for leg in rig.legs(incident_id)}
    assert states[responder.ref] is ContactState.IN_ROOM
    assert states[operator.ref] is ContactState.IN_ROOM
    joined = [e.data["leg"] for e in detail.events if e.kind == "leg_joined"]
    assert joined.count(responder.ref) == joined.count(operator.ref) == 1


PNP_1 = "PJSIP/017210668@epr-trunk"  # pnp-zarate/1, a phone
PNP_2 = "PJSIP/11055@tetra-gw"  # pnp-zarate/2, a talkgroup
PNP_3 = "PJSIP/014394131@epr-trunk"  # pnp-canto-rey/1
SERENAZGO_1 = "PJSIP/017208410@epr-trunk"
SERENAZGO_2 = "PJSIP/11114@tetra-gw"
SUPERVISOR = "PJSIP/017817967@epr-trunk"


def ended(rig: Rig, incident_id: str, agency: str, n: int = 1) -> bool:
    tries = outcomes(rig, incident_id, agency)
    return len(tries) >= n and tries[n - 1] not in (Out.PENDING, Out.RINGING, Out.PROMPTING)


async def test_key_two_declines_and_the_next_target_is_called_at_once(rig: Rig) -> None:
    rig.script(PNP_1, Behaviour.PRESS, digit="2", after=1.0)
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "pnp"), "pnp's first try ended")
    detail = rig.runtime.store.detail(incident_id)
    # the next target was taken in the transaction that recorded the decline: no job
    [first, _] = [a for a in detail.attempts if a.agency == "pnp"]
    assert (first.outcome, first.cause) == (
        Out.DECLINED,
        "rechazó con la tecla 2; se pasa al siguiente destino",
    )
    assert await rig.run_due() == 0
    # the talkgroup: patched straight into the room (a radio cannot press keys)
    talkgroup = rig.leg(incident_id, "pnp", n=1)
    assert talkgroup.address == PNP_2
    await rig.until(lambda: ended(rig, incident_id, "pnp", 2), "the talkgroup patched")
    [orig] = rig.originated(talkgroup.ref)
    assert orig["Context"] == "vb-room"
    assert outcomes(rig, incident_id, "pnp") == [Out.DECLINED, Out.PATCHED]
    assert talkgroup.ref in rig.fake.rooms[incident_id]
    # nobody acknowledged for the police meanwhile: the next station after the interval
    # (critical: 30 s, then 60 s)
    rig.clock.advance(59)
    await rig.run_due()
    assert len(outcomes(rig, incident_id, "pnp")) == 2
    rig.clock.advance(1)
    await rig.run_due()
    third = rig.leg(incident_id, "pnp", n=2)
    assert third.address == PNP_3
    await rig.until(lambda: rig.originated(third.ref), "the third try originated")
    assert all(len(rig.originated(leg.ref)) == 1 for leg in rig.legs(incident_id))


@pytest.mark.parametrize(
    ("behaviour", "outcome", "cause"),
    [
        (Behaviour.NO_ANSWER, Out.NO_ANSWER, "no contestó"),
        (Behaviour.BUSY, Out.BUSY, "ocupado"),
        (Behaviour.CONGESTION, Out.CONGESTION, "red congestionada"),
        (Behaviour.REJECT, Out.FAILED, "rechazó la llamada (llamada rechazada, Q.850 21)"),
        (
            Behaviour.UNREACHABLE,
            Out.FAILED,
            "Asterisk no pudo hacer la llamada (código de resultado 0)",
        ),
        (Behaviour.SILENT, Out.ANSWERED, "no marcó ninguna opción"),
    ],
)
async def test_every_try_records_its_outcome(
    rig: Rig, behaviour: Behaviour, outcome: Out, cause: str
) -> None:
    rig.script(PNP_1, behaviour)
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "pnp"), "pnp's first try ended")
    await rig.settled()
    [attempt] = [a for a in rig.runtime.store.detail(incident_id).attempts if a.agency == "pnp"]
    assert attempt.outcome is outcome
    assert attempt.cause is not None
    assert attempt.cause.startswith(cause)
    # the timeline says it once, in Spanish, with no parentheses within parentheses
    [said] = [
        e.cause
        for e in rig.runtime.store.events(incident_id)
        if e.kind == "attempt_ended" and e.data["agency"] == "pnp"
    ]
    assert said.startswith("«Guardia de prevención»: "), said
    assert "))" not in said, said
    assert english_in(said) == [], said
    leg = rig.leg(incident_id, "pnp")
    assert leg.state in (ContactState.FAILED, ContactState.ENDED)
    assert leg.ref not in rig.fake.channels
    # the next try is scheduled by the policy (critical: 30 s after the try ended)
    assert rig.due_escalations() == []  # not yet
    rig.clock.advance(30)
    assert [args for _, args in rig.due_escalations()] == [
        {"incident_id": incident_id, "agency": "pnp", "after": 1}
    ]


async def test_the_same_line_is_called_again_after_the_interval(rig: Rig) -> None:
    rig.script(SERENAZGO_1, Behaviour.NO_ANSWER)
    incident_id = await rig.dispatch()
    await rig.until(lambda: ended(rig, incident_id, "serenazgo"), "the first try ended")
    assert await rig.run_due() == 0
    rig.clock.advance(59)
    assert await rig.run_due() == 0
    rig.clock.advance(1)
    assert await rig.run_due() == 1  # standard policy: 60 s
    second = rig.leg(incident_id, "serenazgo", n=1)
    assert second.address == SERENAZGO_1
    await rig.until(lambda: ended(rig, incident_id, "serenazgo", 2), "the second try ended")
    assert [len(rig.originated(leg.ref)) for leg in rig.legs(incident_id)] == [1] * len(
        rig.legs(incident_id)
    )


async def test_an_agency_that_never_answers_ends_with_the_supervisors(rig: Rig) -> None:
    for dial in (SERENAZGO_1, SERENAZGO_2):
        rig.script(dial, Behaviour.NO_ANSWER)
    incident_id = await rig.dispatch()
    for n in range(1, 5):  # the phone twice, the talkgroup twice
        await rig.until(partial(ended, rig, incident_id, "serenazgo", n), f"try {n} ended")
        rig.clock.advance(120)
        assert await rig.run_due() == 1
    # (the serenazgo chief's radio, the directory's last target, is skipped: no radio here)
    supervisor = rig.leg(incident_id, "serenazgo", role=ContactRole.SUPERVISOR)
    assert supervisor.address == SUPERVISOR
    # tries 1-4, the radio's skipped try 5, the supervisor's 6
    await rig.until(lambda: ended(rig, incident_id, "serenazgo", 6), "the supervisor answered")
    [orig] = rig.originated(supervisor.ref)
    assert orig["Context"] == "vb-room"  # the supervision joins the room at once
    assert supervisor.ref in rig.fake.rooms[incident_id]
    rig.clock.advance(120)
    await rig.run_due()  # the second supervisor line is an SMS: not called; then unanswered
    assert state(rig, incident_id, "serenazgo") is AssignmentState.UNANSWERED
    assert state(rig, incident_id, "pnp") is AssignmentState.ACKNOWLEDGED  # on its own
    kinds = [e.kind.value for e in rig.runtime.store.events(incident_id)]
    assert kinds.count("supervisor_called") == 1
    assert kinds[-1] == "unanswered"


async def test_the_operator_adds_a_line_and_drops_it(rig: Rig) -> None:
    incident_id = await rig.dispatch()
    guest = await rig.add_line(incident_id, "987654321", "Vecino")
    await rig.until(
        lambda: rig.leg(incident_id, role=ContactRole.GUEST).state is ContactState.IN_ROOM, "joined"
    )
    [orig] = rig.originated(guest.ref)
    assert (orig["Channel"], orig["Context"]) == ("PJSIP/987654321@epr-trunk", "vb-room")
    await rig.drop_line(incident_id, guest.ref)
    await rig.until(
        lambda: rig.leg(incident_id, role=ContactRole.GUEST).state is ContactState.ENDED, "hung up"
    )
    [hangup] = [headers_of(h) for h in rig.fake.actions("Hangup")]
    assert hangup["Channel"] == guest.ref
    assert hangup["Cause"] == "16"
    mine = [
        e.kind
        for e in rig.runtime.store.events(incident_id)
        if (e.data or {}).get("leg") == guest.ref
    ]
    assert mine == ["leg_requested", "leg_joined", "leg_dropped", "leg_left"]


async def test_cancelling_hangs_up_every_leg_and_calls_no_one_else(slow_rig: Rig) -> None:
    rig = slow_rig
    rig.script(PNP_1, Behaviour.SILENT)  # prompting, no key yet
    rig.script(SERENAZGO_1, Behaviour.NO_ANSWER)
    incident_id = await rig.dispatch()
    operator = rig.leg(incident_id, role=ContactRole.OPERATOR)
    await rig.until(lambda: operator.ref in rig.fake.rooms.get(incident_id, ()), "joined")
    await rig.until(lambda: len(rig.fake.channels) >= 3, "the responders' lines ringing")
    await asyncio.to_thread(
        rig.runtime.store.transition,
        incident_id,
        Status.CANCELLED,
        actor="operator:test",
        cause="llamada falsa",
    )
    rig.runtime.wakeup.local()
    await rig.until(
        lambda: all(not leg.state.live for leg in rig.legs(incident_id)), "every leg ended"
    )
    hung = [headers_of(h)["Channel"] for h in rig.fake.actions("Hangup")]
    # the operator, pnp's prompt, serenazgo's ringing line, each once, by our Uniqueid
    assert sorted(hung) == sorted(leg.ref for leg in rig.legs(incident_id))
    assert not rig.fake.channels
    assert {a.state for a in rig.runtime.calls.dispatches.assignments(incident_id)} == {
        AssignmentState.CANCELLED
    }
    rig.clock.advance(600)
    assert await rig.run_due() == 0
    assert len(rig.originated()) == 3


async def test_a_manual_ack_hangs_up_the_agency_s_call_in_flight(slow_rig: Rig) -> None:
    rig = slow_rig
    rig.script(SERENAZGO_1, Behaviour.PRESS, digit="1", after=300.0)  # too late
    incident_id = await rig.dispatch()
    leg = rig.leg(incident_id, "serenazgo")
    await rig.until(lambda: leg.ref in rig.fake.channels, "serenazgo's line up")
    done = await asyncio.to_thread(
        rig.runtime.dispatcher.acknowledge,
        incident_id,
        "serenazgo",
        actor="supervisor:test",
        cause="confirmado por radio",
    )
    assert done
    await rig.until(lambda: leg.ref not in rig.fake.channels, "hung up")
    await rig.until(lambda: not rig.leg(incident_id, "serenazgo").state.live, "recorded")
    [hangup] = [headers_of(h) for h in rig.fake.actions("Hangup")]
    assert (hangup["Channel"], hangup["Cause"]) == (leg.ref, "16")
    assert (
        rig.leg(incident_id, "serenazgo").cause
        == "colgado a pedido; colgó (fin normal de la llamada, Q.850 16)"
    )
    assert outcomes(rig, incident_id, "serenazgo") == [Out.CANCELLED]
    rig.clock.advance(600)
    await rig.run_due()
    assert len(rig.legs(incident_id)) == 3  # nobody else was called for serenazgo
    [ack] = [a for a in rig.runtime.store.detail(incident_id).acks if a.agency == "serenazgo"]
    assert ack.method is AckMethod.MANUAL


async def test_a_key_from_a_channel_voicebridge_did_not_originate_counts_for_nothing(
    rig: Rig,
) -> None:
    rig.script(SERENAZGO_1, Behaviour.NO_ANSWER)
    incident_id = await rig.dispatch()
    leg = rig.leg(incident_id, "serenazgo")
    # someone else's Originate into the prompt, for the same room, pressing 1, with a
    # Uniqueid of ours and one that is not
    rig.script("Local/s@forger", Behaviour.PRESS, digit="1", after=1.0)
    for channel_id in ("vb-00000000000000000000", "1795571044.99", f"{leg.ref}-far"):
        await rig.session.send(
            "Originate",
            [
                ("Channel", "Local/s@forger"),
                ("Context", "vb-ack"),
                ("Exten", "s"),
                ("Priority", "1"),
                ("ChannelId", channel_id),
                ("Async", "true"),
                ("Variable", f"VB_ROOM={incident_id}"),
            ],
        )
    await rig.until(lambda: len(rig.fake.rooms.get(incident_id, ())) >= 4, "the forgers joined")
    await rig.until(lambda: rig.runtime.store.detail(incident_id).acks, "pnp's key")
    await rig.settled()
    assert [a.agency for a in rig.runtime.store.detail(incident_id).acks] == ["pnp"]
    assert state(rig, incident_id, "serenazgo") is AssignmentState.PENDING


async def test_two_replicas_originate_each_leg_once(
    runtime: Runtime, clock: FakeClock, rig: Rig
) -> None:
    async with bridged(runtime, clock, rig.fake, owner="serve-2") as other:
        # both listen to the same wake-up (as the Redis one does): both race for each leg
        # three: a fourth call within 15 min to the same line would be held back
        incidents = [await rig.dispatch() for _ in range(3)]
        await rig.until(
            lambda: all(rig.runtime.store.get(i).status is Status.BRIDGED for i in incidents),
            "every incident bridged",
            within=10,
        )
        await rig.settled()
        await other.settled()
    legs = [leg for i in incidents for leg in rig.legs(i)]
    assert len(legs) == 9
    assert [len(rig.originated(leg.ref)) for leg in legs] == [1] * 9
    assert set(_owners(runtime)) <= {"test-serve", "serve-2"}
    for incident_id in incidents:
        detail = rig.runtime.store.detail(incident_id)
        assert sorted(a.agency for a in detail.acks) == ["pnp", "serenazgo"]
        assert [e.kind.value for e in detail.events].count("acknowledged") == 2


def _owners(runtime: Runtime) -> list[str]:
    with runtime.db.read() as conn:
        return list(conn.execute(select(t.contacts.c.owner).distinct()).scalars())


async def test_a_contact_that_cannot_be_originated_safely_fails_and_nothing_else_stops(
    rig: Rig,
) -> None:
    """An Originate refused before it is sent (CR/LF in a header: UnsafeAction) ends its
    contact as failed; the bridge goes on placing the others."""
    incident_id = await rig.dispatch()
    bad = PlannedTarget(
        target=Target(
            id="manual/1",
            kind=TargetKind.PHONE,
            address="1",
            label="Línea dañada",
            dial="Local/1@epr-sim\r\nAction: Command",
        ),
        station="manual",
        station_name="agregado a mano",
    )
    leg = await asyncio.to_thread(
        rig.runtime.dispatcher.add_leg, incident_id, bad, actor="operator:test"
    )
    await rig.until(
        lambda: rig.leg_by_ref(incident_id, leg.ref).state is ContactState.FAILED, "failed"
    )
    failed = rig.leg_by_ref(incident_id, leg.ref)
    assert failed.cause == "los datos de la llamada no son válidos para Asterisk"
    assert rig.originated(leg.ref) == []
    assert rig.fake.actions("Command") == []
    guest = await rig.add_line(incident_id, "987654321", "Vecino")
    await rig.until(lambda: rig.originated(guest.ref), "the next contact is originated")
