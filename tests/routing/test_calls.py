"""Calls driven by what Asterisk reports and by the escalation jobs, on SQLite and on
PostgreSQL: legs, tries, acknowledgements, races, cancellation, reconciliation."""

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from routing.calls import CallStore
from routing.config import RoutingConfig, parse_config
from routing.db import Database
from routing.decide import Decision, Facts, decide
from routing.dispatching import DispatchStore
from routing.escalation import choose
from routing.models import (
    AssignmentState,
    AttemptOutcome,
    LegRole,
    LegState,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from routing.ratelimits import NoLimits
from routing.store import IncidentStore
from routing.tasks import TaskStore
from tests.conftest import FakeClock
from tests.routing.configs import SMALL

Out = AttemptOutcome


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return parse_config(SMALL)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url, pool_size=8)
    yield database
    database.dispose()


@pytest.fixture
def calls(db: Database, clock: FakeClock) -> CallStore:
    store = IncidentStore(db, clock=clock)
    calls = CallStore(DispatchStore(store))
    store.on_final = calls.stop_all
    return calls


def dispatched(
    calls: CallStore,
    config: RoutingConfig,
    clock: FakeClock,
    category: str = "robo",
    district: str = "150122",
) -> tuple[str, Decision]:
    incident, _ = calls.incidents.create_incident(
        NewIncident(
            category=category, district=district, report=NewReport(source=Source.API, text="robo")
        ),
        actor="operator:k1",
    )
    decision = decide(
        config,
        Facts(category=category, district=district, priority=incident.priority, at=clock.now()),
    )
    choices = {p.agency: choose(p, [], clock.now(), NoLimits()) for p in decision.plans}
    calls.dispatch(incident.id, decision, choices, revision_id=1, actor="operator:k1")
    return incident.id, decision


@pytest.fixture
def revision(db: Database, clock: FakeClock) -> None:
    from routing.revisions import RevisionStore

    RevisionStore(db, clock=clock).record(SMALL, source="test", actor="test")


def legs_of(calls: CallStore, incident_id: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for leg in calls.legs(incident_id):
        out.setdefault(leg.agency or leg.role.value, []).append((leg.label, leg.state.value))
    return out


def the_leg(calls: CallStore, incident_id: str, agency: str | None, n: int = -1) -> str:
    legs = [leg for leg in calls.legs(incident_id) if leg.agency == agency]
    return legs[n].channel_id


def step(calls: CallStore, incident_id: str, agency: str, after: int, clock: FakeClock) -> None:
    found = calls.pending_step(incident_id, agency, after)
    assert found is not None, f"no step pending after try {after}"
    plan, tries = found
    calls.escalate(incident_id, agency, after, choose(plan, tries, clock.now(), NoLimits()))


def tasks_due(db: Database, clock: FakeClock) -> list[tuple[str, dict[str, object]]]:
    store = TaskStore(db, clock=clock)
    return [(t.key, t.args) for t in store.claim(500)]


pytestmark = pytest.mark.usefixtures("revision")


def test_dispatch_calls_the_operator_and_each_agency_s_first_target(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    assert legs_of(calls, incident_id) == {
        "operator": [("Consola", "pending")],
        "serenazgo": [("Oficina", "pending")],
        "pnp": [("Guardia", "pending")],
    }
    legs = {leg.role: leg for leg in calls.legs(incident_id)}
    assert legs[LegRole.OPERATOR].dial == "Local/016171000@epr-sim"
    assert legs[LegRole.RESPONDER].prompt is True
    assert legs[LegRole.OPERATOR].prompt is False
    kinds = [e.kind for e in calls.incidents.events(incident_id)]
    assert kinds == ["created", "status_changed", "leg_requested", "calling", "calling"]


def test_a_leg_is_claimed_by_one_owner_only(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    claimed: list[str] = []
    barrier = threading.Barrier(4)

    def owner(name: str) -> None:
        barrier.wait()
        claimed.extend(c.leg.channel_id for c in calls.events.claim(name))

    threads = [threading.Thread(target=owner, args=(f"serve-{n}",)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(claimed) == len(set(claimed)) == 3
    assert calls.incidents.get(incident_id).status is Status.RINGING
    assert calls.events.claim("serve-5") == []


def test_no_answer_then_the_retry_follows_the_policy(
    calls: CallStore, db: Database, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, pnp] = calls.events.claim("serve-1")
    assert (serenazgo.prompt, serenazgo.ring_seconds) == (True, 40)  # policy "slow"
    assert serenazgo.variables == {
        "VB_ROOM": incident_id,
        "VB_INCIDENT": incident_id,
        "VB_DIGITS": "000001",
        "VB_CATEGORY": "robo",
    }
    clock.advance(40)
    calls.events.originate_result(pnp.leg.channel_id, 3)  # no answer
    leg = next(lg for lg in calls.legs(incident_id) if lg.channel_id == pnp.leg.channel_id)
    assert leg.state is LegState.FAILED
    attempt = calls.incidents.detail(incident_id).attempts
    assert [(a.agency, a.outcome) for a in attempt] == [
        ("serenazgo", Out.RINGING),
        ("pnp", Out.NO_ANSWER),
    ]
    # pnp in Miraflores follows the policy "slow" of the rule: 1 try, 300 s apart
    [(key, args)] = [t for t in tasks_due(db, clock) if "esc_pnp" in t[0]]
    assert key == f"{incident_id}--esc_pnp--1"
    assert args == {"incident_id": incident_id, "agency": "pnp", "after": 1}
    clock.advance(300)
    step(calls, incident_id, "pnp", 1, clock)
    assert legs_of(calls, incident_id)["pnp"] == [
        ("Guardia", "failed"),
        ("TG Miraflores", "pending"),
    ]
    assert calls.pending_step(incident_id, "pnp", 1) is None  # taken: a second job does nothing


def test_key_one_acknowledges_and_joins(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, _] = calls.events.claim("serve-1")
    calls.events.originate_result(operator.leg.channel_id, 4)
    calls.events.joined(operator.leg.channel_id, incident_id)
    calls.events.originate_result(serenazgo.leg.channel_id, 4)
    calls.events.key_pressed(serenazgo.leg.channel_id, "1", "OK")
    detail = calls.incidents.detail(incident_id)
    assert [(a.agency, a.method.value) for a in detail.acks] == [("serenazgo", "keypress")]
    assert detail.incident.status is Status.ACKNOWLEDGED
    assignments = calls.dispatches.assignments(incident_id)
    assert {a.agency: a.state for a in assignments}["serenazgo"] is AssignmentState.ACKNOWLEDGED
    calls.events.joined(serenazgo.leg.channel_id, incident_id)
    assert calls.incidents.get(incident_id).status is Status.BRIDGED
    calls.events.left(serenazgo.leg.channel_id, incident_id)
    calls.events.hung_up(serenazgo.leg.channel_id, "Normal Clearing", 16)
    assert calls.incidents.get(incident_id).status is Status.ACKNOWLEDGED
    # the other agency goes on on its own
    assert {a.agency: a.state for a in calls.dispatches.assignments(incident_id)}[
        "pnp"
    ] is AssignmentState.PENDING
    kinds = [e.kind for e in calls.incidents.events(incident_id)]
    assert (
        kinds[-6:]
        == [
            "leg_joined",
            "acknowledged",
            "status_changed",
            "leg_joined",
            "status_changed",
            "leg_left",
        ]
        or "acknowledged" in kinds
    )


def test_an_ack_only_counts_from_the_leg_we_originated_for_that_agency(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, _] = calls.events.claim("serve-1")
    calls.events.key_pressed("1795571044.7", "1", "OK")  # a channel voicebridge did not originate
    calls.events.key_pressed(operator.leg.channel_id, "1", "OK")  # the operator's leg
    calls.events.key_pressed(serenazgo.leg.channel_id, "", "TIMEOUT")  # answered, no key
    calls.events.key_pressed(serenazgo.leg.channel_id, "1", "OK")  # too late: the try ended
    detail = calls.incidents.detail(incident_id)
    assert detail.acks == ()
    assert [a.outcome for a in detail.attempts if a.agency == "serenazgo"] == [Out.ANSWERED]


def test_a_decline_moves_on_at_once(
    calls: CallStore, db: Database, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.events.claim("serve-1")
    calls.events.originate_result(serenazgo.leg.channel_id, 4)
    calls.events.key_pressed(serenazgo.leg.channel_id, "2", "OK")
    due = dict(tasks_due(db, clock))
    task = due[f"{incident_id}--esc_serenazgo--1"]
    assert task == {"incident_id": incident_id, "agency": "serenazgo", "after": 1}
    step(calls, incident_id, "serenazgo", 1, clock)  # at once: no wait
    assert legs_of(calls, incident_id)["serenazgo"][-1] == ("Central 24 h", "pending")


def test_to_the_supervisor_then_unanswered(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock, category="incendio")  # serenazgo only
    after = 0
    while True:
        claimed = [c for c in calls.events.claim("s") if c.leg.role is not LegRole.OPERATOR]
        if not claimed:
            break
        [call] = claimed
        calls.events.originate_result(call.leg.channel_id, 5)  # busy
        after += 1
        clock.advance(600)
        found = calls.pending_step(incident_id, "serenazgo", after)
        if found is None:
            break
        step(calls, incident_id, "serenazgo", after, clock)
    legs = [(lg.role.value, lg.label) for lg in calls.legs(incident_id) if lg.agency]
    assert legs == [
        ("responder", "Oficina"),
        ("responder", "Central 24 h"),
        ("supervisor", "Supervisión"),
    ]
    detail = calls.incidents.detail(incident_id)
    assert detail.incident.status is Status.UNANSWERED
    assert [e.kind for e in detail.events][-3:] == ["attempt_ended", "unanswered", "status_changed"]
    assert detail.events[-2].cause == ("Serenazgo no respondió y la supervisión ya fue avisada.")


def test_an_ack_and_a_retry_racing_never_call_after_the_ack(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """The retry job has read the state (its step is due) when the manual ack commits:
    its transaction sees the ack and does nothing."""
    incident_id, _ = dispatched(calls, config, clock, category="incendio")
    [_, call] = calls.events.claim("s")
    calls.events.originate_result(call.leg.channel_id, 3)
    clock.advance(300)
    found = calls.pending_step(incident_id, "serenazgo", 1)
    assert found is not None
    choice = choose(*found, clock.now(), NoLimits())
    assert calls.acknowledge(
        incident_id, "serenazgo", actor="supervisor:s1", cause="confirmó por radio"
    )
    assert calls.escalate(incident_id, "serenazgo", 1, choice) is None
    assert [lg.label for lg in calls.legs(incident_id) if lg.agency] == ["Oficina"]
    assert not calls.acknowledge(incident_id, "serenazgo", actor="supervisor:s1", cause="x")


def test_a_manual_ack_hangs_up_the_agency_s_call_in_flight(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.events.claim("s")
    calls.acknowledge(incident_id, "serenazgo", actor="supervisor:s1", cause="por radio")
    [to_hang] = calls.events.hangups()
    assert to_hang.channel_id == serenazgo.leg.channel_id
    detail = calls.incidents.detail(incident_id)
    assert [(a.agency, a.method.value, a.actor) for a in detail.acks] == [
        ("serenazgo", "manual", "supervisor:s1")
    ]
    assert [a.outcome for a in detail.attempts if a.agency == "serenazgo"] == [Out.CANCELLED]


def test_cancelling_the_incident_stops_every_call(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, *_] = calls.events.claim("s")
    calls.events.originate_result(operator.leg.channel_id, 4)
    calls.events.joined(operator.leg.channel_id, incident_id)
    calls.incidents.transition(
        incident_id, Status.CANCELLED, actor="supervisor:s1", cause="llamada falsa"
    )
    assert {lg.channel_id for lg in calls.events.hangups()} == {
        lg.channel_id for lg in calls.legs(incident_id)
    }
    assert {a.state for a in calls.dispatches.assignments(incident_id)} == {
        AssignmentState.CANCELLED
    }
    clock.advance(600)
    assert calls.pending_step(incident_id, "pnp", 1) is None


def test_reconciliation_after_the_link_came_back(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, _] = calls.events.claim("s")
    clock.advance(30)
    # while the link was down: the operator and serenazgo's responder (who pressed 1) are
    # in the room; pnp's call ended; nothing of it was heard
    changed = calls.events.reconcile(
        live={operator.leg.channel_id, serenazgo.leg.channel_id},
        rooms={incident_id: {operator.leg.channel_id, serenazgo.leg.channel_id}},
        taken_at=clock.now(),
    )
    assert len(changed) == 3
    detail = calls.incidents.detail(incident_id)
    assert [a.agency for a in detail.acks] == ["serenazgo"]
    assert detail.incident.status is Status.BRIDGED
    outcome = {a.agency: a.outcome for a in detail.attempts}
    assert outcome == {"serenazgo": Out.ACKNOWLEDGED, "pnp": Out.FAILED}
    clock.advance(1)
    assert calls.events.reconcile(live=set(), rooms={}, taken_at=clock.now())
    clock.advance(1)
    assert calls.events.reconcile(live=set(), rooms={}, taken_at=clock.now()) == []


def test_reconciliation_leaves_alone_what_is_newer_than_the_snapshot(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    snapshot = clock.now()
    clock.advance(1)
    [operator, serenazgo, pnp] = calls.events.claim("s")  # after the snapshot began
    assert calls.events.reconcile(live=set(), rooms={}, taken_at=snapshot) == []
    # claimed 5 s before the snapshot: its Originate may not have reached Asterisk yet
    clock.advance(5)
    assert calls.events.reconcile(live=set(), rooms={}, taken_at=clock.now()) == []
    assert {lg.state for lg in calls.legs(incident_id)} == {LegState.CALLING}
    # 11 s: the replica that claimed them died before originating; they failed
    clock.advance(6)
    changed = calls.events.reconcile(
        live={serenazgo.leg.channel_id},
        up={serenazgo.leg.channel_id},
        rooms={},
        taken_at=clock.now(),
    )
    assert sorted(changed) == sorted(
        [
            f"{operator.leg.channel_id}: terminó",
            f"{serenazgo.leg.channel_id}: contestó",
            f"{pnp.leg.channel_id}: terminó",
        ]
    )
    states = {lg.channel_id: lg.state for lg in calls.legs(incident_id)}
    assert states[serenazgo.leg.channel_id] is LegState.UP
    assert states[pnp.leg.channel_id] is LegState.FAILED
    [attempt] = [a for a in calls.incidents.detail(incident_id).attempts if a.agency == "pnp"]
    assert attempt.cause == "el canal ya no existe en Asterisk"


def test_events_come_twice(calls: CallStore, config: RoutingConfig, clock: FakeClock) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.events.claim("s")
    for _ in range(2):
        calls.events.originate_result(serenazgo.leg.channel_id, 4)
        calls.events.key_pressed(serenazgo.leg.channel_id, "1", "OK")
        calls.events.joined(serenazgo.leg.channel_id, incident_id)
    detail = calls.incidents.detail(incident_id)
    assert len(detail.acks) == 1
    assert [e.kind for e in detail.events].count("acknowledged") == 1


def test_a_destination_the_phone_cannot_reach_is_passed_over(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(
        calls, config, clock, category="corte_energia", district="150101"
    )  # Enel by SMS only
    detail = calls.incidents.detail(incident_id)
    [attempt] = detail.attempts
    assert (attempt.agency, attempt.outcome) == ("enel", Out.FAILED)
    assert attempt.cause == "un destino sms no se llama por teléfono"
    clock.advance(timedelta(seconds=1).total_seconds())


def test_a_hangup_before_answer_says_why_in_spanish(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, _, pnp] = calls.events.claim("s")
    calls.events.hung_up(pnp.leg.channel_id, "Call Rejected", 21)
    calls.events.hung_up(operator.leg.channel_id, "User alerting, no answer", 19)
    detail = calls.incidents.detail(incident_id)
    [attempt] = [a for a in detail.attempts if a.agency == "pnp"]
    assert (attempt.outcome, attempt.cause) == (
        Out.FAILED,
        "rechazó la llamada (Call Rejected, 21)",
    )
    # the operator's line has no attempt: its failure is in the timeline all the same
    [failed] = [e for e in detail.events if e.kind == "leg_failed"]
    assert failed.cause == f"«{operator.leg.label}»: no contestó (User alerting, no answer, 19)"
