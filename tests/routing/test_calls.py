"""Calls driven by what the adapters of every medium report through the contact ledger
and by the escalation jobs, on SQLite and on PostgreSQL: contacts, tries,
acknowledgements, races, cancellation, rate limits, the media configured and the
resumption of stalled escalations."""

import threading
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from routing.calls import RESUME_GRACE, CallStore
from routing.categories import category_by_code
from routing.config import RoutingConfig, parse_config
from routing.db import Database
from routing.decide import Decision, Facts, decide
from routing.errors import Conflict
from routing.escalation import StepKind
from routing.events import (
    Acknowledged,
    AttemptEnded,
    Calling,
    EscalationResumed,
    EventKind,
    RateLimited,
    StatusChanged,
    TargetSkipped,
)
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    Contact,
    ContactRole,
    ContactState,
    Medium,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from routing.tasks import TaskStore
from tests.conftest import FakeClock
from tests.routing.configs import SMALL
from tests.routing.conftest import CountingLimiter

Out = AttemptOutcome
VOICE = Medium.VOICE
UNKNOWN_REF = "vb-00000000000000000000"  # a contact voicebridge never placed

# Enel is reached by SMS first, then by its phone line
ENEL_SMS_THEN_PHONE = SMALL.replace(
    'targets: [{sms: "+51987000111", label: Guardia Enel}]',
    'targets: [{sms: "+51987000111", label: Guardia Enel}, '
    '{phone: "016170111", label: Central Enel}]',
)


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return parse_config(SMALL)


def create(calls: CallStore, category: str = "robo", district: str = "150122") -> str:
    incident, _ = calls.incidents.create_incident(
        NewIncident(
            category=category, district=district, report=NewReport(source=Source.API, text="robo")
        ),
        actor="operator:k1",
    )
    return incident.id


def decision_for(
    calls: CallStore, incident_id: str, config: RoutingConfig, clock: FakeClock
) -> Decision:
    incident = calls.incidents.get(incident_id)
    return decide(
        config,
        Facts(
            category=incident.category,
            district=incident.district,
            priority=incident.priority,
            at=clock.now(),
        ),
    )


def dispatched(
    calls: CallStore,
    config: RoutingConfig,
    clock: FakeClock,
    category: str = "robo",
    district: str = "150122",
) -> tuple[str, Decision]:
    incident_id = create(calls, category, district)
    decision = decision_for(calls, incident_id, config, clock)
    calls.dispatch(incident_id, decision, revision_id=1, actor="operator:k1")
    return incident_id, decision


def contacts_of(calls: CallStore, incident_id: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for contact in calls.legs(incident_id):
        out.setdefault(contact.agency or contact.role.value, []).append(
            (contact.label, contact.state.value)
        )
    return out


def contact(calls: CallStore, incident_id: str, ref: str) -> Contact:
    return next(c for c in calls.legs(incident_id) if c.ref == ref)


def outcomes(calls: CallStore, incident_id: str, agency: str) -> list[AttemptOutcome]:
    return [a.outcome for a in calls.incidents.detail(incident_id).attempts if a.agency == agency]


def kinds(calls: CallStore, incident_id: str) -> list[str]:
    return [e.kind.value for e in calls.incidents.events(incident_id)]


def tasks_due(db: Database, clock: FakeClock) -> list[tuple[str, dict[str, object]]]:
    store = TaskStore(db, clock=clock)
    return [(t.key, t.args) for t in store.claim(500)]


pytestmark = pytest.mark.usefixtures("revision")


def test_dispatch_calls_the_operator_and_each_agency_s_first_target(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    assert contacts_of(calls, incident_id) == {
        "operator": [("Consola", "pending")],
        "serenazgo": [("Oficina", "pending")],
        "pnp": [("Guardia", "pending")],
    }
    contacts = {c.role: c for c in calls.legs(incident_id)}
    operator, responder = contacts[ContactRole.OPERATOR], contacts[ContactRole.RESPONDER]
    assert (operator.medium, operator.address) == (VOICE, "Local/016171000@epr-sim")
    assert responder.medium is VOICE
    assert responder.asks_for_ack is True
    assert operator.asks_for_ack is False
    assert not any(c.withdraw for c in contacts.values())
    events = calls.incidents.events(incident_id)
    assert [e.kind for e in events] == [
        "created",
        "status_changed",
        "leg_requested",
        "calling",
        "calling",
    ]
    assert events[1].payload == StatusChanged(
        from_="received",
        to="dispatched",
        rule="robo en Miraflores",
        revision=1,
        agencies=("serenazgo", "pnp"),
    )
    assert events[3].payload == Calling(
        agency="serenazgo", target="serenazgo-miraflores/1", number=1, medium="voice"
    )
    # each try names the contact that makes it
    attempts = calls.incidents.detail(incident_id).attempts
    refs = {c.attempt_id: c.ref for c in calls.legs(incident_id) if c.attempt_id is not None}
    assert [(a.agency, a.medium, a.outcome) for a in attempts] == [
        ("serenazgo", VOICE, Out.PENDING),
        ("pnp", VOICE, Out.PENDING),
    ]
    assert all(a.contact == refs[a.id] for a in attempts)


def test_a_contact_is_claimed_by_one_owner_only(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    claimed: list[str] = []
    barrier = threading.Barrier(4)

    def owner(name: str) -> None:
        barrier.wait()
        claimed.extend(c.contact.ref for c in calls.contacts.claim(VOICE, name))

    threads = [threading.Thread(target=owner, args=(f"serve-{n}",)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(claimed) == len(set(claimed)) == 3
    assert {c.state for c in calls.legs(incident_id)} == {ContactState.PLACING}
    assert calls.incidents.get(incident_id).status is Status.RINGING
    assert calls.contacts.claim(VOICE, "serve-5") == []


def test_each_adapter_claims_the_contacts_of_its_own_medium(
    calls: CallStore, clock: FakeClock
) -> None:
    """Enel's only target is an SMS number: the SMS adapter places it, not the phone."""
    incident_id, _ = dispatched(
        calls, parse_config(SMALL), clock, category="corte_energia", district="150101"
    )
    [attempt] = calls.incidents.detail(incident_id).attempts
    assert (attempt.agency, attempt.medium, attempt.outcome) == ("enel", Medium.SMS, Out.PENDING)
    assert [c.contact.agency for c in calls.contacts.claim(VOICE, "ami")] == [None]  # operator
    [sms] = calls.contacts.claim(Medium.SMS, "sms")
    assert (sms.contact.ref, sms.contact.medium, sms.contact.address) == (
        attempt.contact,
        Medium.SMS,
        "+51987000111",
    )
    assert sms.contact.asks_for_ack  # a person reads it and may reply
    assert calls.contacts.claim(Medium.SMS, "sms") == []
    assert outcomes(calls, incident_id, "enel") == [Out.RINGING]


def test_no_answer_then_the_retry_follows_the_policy(
    calls: CallStore, db: Database, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, pnp] = calls.contacts.claim(VOICE, "serve-1")
    assert (serenazgo.contact.asks_for_ack, serenazgo.ring_seconds) == (True, 40)  # "slow"
    assert (serenazgo.room, serenazgo.category, serenazgo.summary, serenazgo.dtmf) == (
        incident_id,
        "robo",
        "robo",
        None,
    )
    assert serenazgo.category_label == category_by_code("robo").label
    clock.advance(40)
    calls.contacts.not_reached(pnp.contact.ref, Out.NO_ANSWER, "no contestó")
    found = contact(calls, incident_id, pnp.contact.ref)
    assert (found.state, found.cause, found.ended_at) == (
        ContactState.FAILED,
        "no contestó",
        clock.now(),
    )
    attempts = calls.incidents.detail(incident_id).attempts
    assert [(a.agency, a.outcome) for a in attempts] == [
        ("serenazgo", Out.RINGING),
        ("pnp", Out.NO_ANSWER),
    ]
    # pnp in Miraflores follows the policy "slow" of the rule: 1 try, 300 s apart
    [(key, args)] = [t for t in tasks_due(db, clock) if "esc_pnp" in t[0]]
    assert key == f"{incident_id}--esc_pnp--1"
    assert args == {"incident_id": incident_id, "agency": "pnp", "after": 1}
    clock.advance(300)
    step = calls.escalate(incident_id, "pnp", 1)
    assert step is not None
    assert step.target is not None
    assert step.target.target.id == "pnp-miraflores/2"
    assert contacts_of(calls, incident_id)["pnp"] == [
        ("Guardia", "failed"),
        ("TG Miraflores", "pending"),
    ]
    assert calls.escalate(incident_id, "pnp", 1) is None  # taken: a second job does nothing
    assert len(calls.legs(incident_id)) == 4


def test_a_talkgroup_is_patched_in_and_the_next_line_gets_its_extension(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, _, pnp] = calls.contacts.claim(VOICE, "ami")
    calls.contacts.not_reached(pnp.contact.ref, Out.BUSY, "ocupado")
    clock.advance(300)
    calls.escalate(incident_id, "pnp", 1)
    assert calls.contacts.claim(VOICE, "ami") == []  # the talkgroup has its own adapter
    [radio] = calls.contacts.claim(Medium.TALKGROUP, "radio")
    assert (radio.contact.medium, radio.contact.address) == (
        Medium.TALKGROUP,
        "Local/11022@tetra-sim",
    )
    assert not radio.contact.asks_for_ack  # it hears, it cannot accept
    calls.contacts.joined(radio.contact.ref)
    assert outcomes(calls, incident_id, "pnp") == [Out.BUSY, Out.PATCHED]
    assert calls.incidents.detail(incident_id).acks == ()
    clock.advance(300)  # nobody acknowledged for pnp meanwhile: its next target
    calls.escalate(incident_id, "pnp", 2)
    [line] = calls.contacts.claim(VOICE, "ami")
    assert (line.contact.label, line.dtmf) == ("Guardia", "ww12#")
    assert line.contact.address == "Local/014452222@epr-sim"


def test_an_acknowledgement_acknowledges_and_the_responder_joins(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, _] = calls.contacts.claim(VOICE, "serve-1")
    calls.contacts.answered(operator.contact.ref)
    calls.contacts.joined(operator.contact.ref)
    calls.contacts.answered(serenazgo.contact.ref)
    assert contact(calls, incident_id, serenazgo.contact.ref).state is ContactState.ANSWERED
    assert outcomes(calls, incident_id, "serenazgo") == [Out.PROMPTING]
    calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó con la tecla 1")
    detail = calls.incidents.detail(incident_id)
    assert [(a.agency, a.method.value) for a in detail.acks] == [("serenazgo", "keypress")]
    assert detail.incident.status is Status.ACKNOWLEDGED
    assignments = calls.dispatches.assignments(incident_id)
    assert {a.agency: a.state for a in assignments}["serenazgo"] is AssignmentState.ACKNOWLEDGED
    calls.contacts.joined(serenazgo.contact.ref)
    assert calls.incidents.get(incident_id).status is Status.BRIDGED
    calls.contacts.left(serenazgo.contact.ref)
    calls.contacts.ended(serenazgo.contact.ref, "colgó (fin normal de la llamada, Q.850 16)")
    assert calls.incidents.get(incident_id).status is Status.ACKNOWLEDGED
    assert contact(calls, incident_id, serenazgo.contact.ref).state is ContactState.ENDED
    # the other agency goes on on its own
    assert {a.agency: a.state for a in calls.dispatches.assignments(incident_id)}[
        "pnp"
    ] is AssignmentState.PENDING
    events = calls.incidents.events(incident_id)
    since_the_operator_joined = [
        (e.kind.value, e.data.get("to") or e.data.get("agency") or e.data.get("role"))
        for e in events[-7:]
    ]
    assert since_the_operator_joined == [
        ("leg_joined", "operator"),
        ("acknowledged", "serenazgo"),
        ("status_changed", "acknowledged"),
        ("leg_joined", "serenazgo"),
        ("status_changed", "bridged"),
        ("leg_left", "serenazgo"),
        ("status_changed", "acknowledged"),
    ]
    assert events[-6].payload == Acknowledged(agency="serenazgo", method="keypress")


def test_an_ack_only_counts_from_the_contact_placed_for_that_agency(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, _] = calls.contacts.claim(VOICE, "serve-1")
    version = calls.incidents.get(incident_id).version
    calls.contacts.acknowledged(UNKNOWN_REF, AckMethod.KEYPRESS, "aceptó")  # not ours
    calls.contacts.acknowledged(operator.contact.ref, AckMethod.KEYPRESS, "aceptó")  # operator
    calls.contacts.declined(operator.contact.ref, "rechazó")
    calls.contacts.no_choice(operator.contact.ref, "no marcó ninguna opción")
    assert calls.incidents.get(incident_id).version == version  # nothing at all
    calls.contacts.answered(serenazgo.contact.ref)
    calls.contacts.no_choice(serenazgo.contact.ref, "no marcó ninguna opción")  # a timeout
    detail = calls.incidents.detail(incident_id)
    assert detail.acks == ()
    [attempt] = [a for a in detail.attempts if a.agency == "serenazgo"]
    assert (attempt.outcome, attempt.cause) == (Out.ANSWERED, "no marcó ninguna opción")
    assert detail.events[-1].payload == AttemptEnded(
        agency="serenazgo", number=1, outcome="answered", target="serenazgo-miraflores/1"
    )


def test_an_ack_for_a_call_that_ended_without_a_choice_comes_too_late(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.contacts.claim(VOICE, "serve-1")
    calls.contacts.answered(serenazgo.contact.ref)
    calls.contacts.no_choice(serenazgo.contact.ref, "no marcó ninguna opción")  # a timeout
    calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó")  # too late
    detail = calls.incidents.detail(incident_id)
    assert detail.acks == ()
    assert [a.outcome for a in detail.attempts if a.agency == "serenazgo"] == [Out.ANSWERED]


def test_a_decline_takes_the_next_step_in_the_same_transaction(
    calls: CallStore, db: Database, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.contacts.claim(VOICE, "serve-1")
    calls.contacts.answered(serenazgo.contact.ref)
    calls.contacts.declined(serenazgo.contact.ref, "rechazó con la tecla 2")
    # at once, with no job in between: the next target is there to be placed
    assert contacts_of(calls, incident_id)["serenazgo"] == [
        ("Oficina", "answered"),  # the line hears the goodbye; its try ended
        ("Central 24 h", "pending"),
    ]
    assert outcomes(calls, incident_id, "serenazgo") == [Out.DECLINED, Out.PENDING]
    assert kinds(calls, incident_id)[-2:] == ["attempt_ended", "calling"]
    assert not [key for key, _ in tasks_due(db, clock) if "esc_serenazgo" in key]
    assert calls.escalate(incident_id, "serenazgo", 1) is None  # a stale job does nothing
    assert len(contacts_of(calls, incident_id)["serenazgo"]) == 2


def test_to_the_supervisor_then_unanswered(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock, category="incendio")  # serenazgo only
    after = 0
    while claimed := [
        c for c in calls.contacts.claim(VOICE, "s") if c.contact.role is not ContactRole.OPERATOR
    ]:
        [call] = claimed
        calls.contacts.not_reached(call.contact.ref, Out.BUSY, "ocupado")
        after += 1
        clock.advance(600)
        calls.escalate(incident_id, "serenazgo", after)
    assert after == 3
    made = [(c.role.value, c.label, c.address) for c in calls.legs(incident_id) if c.agency]
    assert made == [
        ("responder", "Oficina", "Local/016171111@epr-sim"),
        ("responder", "Central 24 h", "Local/016172222@epr-sim"),
        ("supervisor", "Supervisión", "Local/014270000@epr-sim"),
    ]
    detail = calls.incidents.detail(incident_id)
    assert detail.incident.status is Status.UNANSWERED
    # the supervisors' try ended: the end was taken with it, with no job in between
    assert [e.kind for e in detail.events][-4:] == [
        "supervisor_called",
        "attempt_ended",
        "unanswered",
        "status_changed",
    ]
    assert detail.events[-2].cause == ("Serenazgo no respondió y la supervisión ya fue avisada.")
    [assignment] = calls.dispatches.assignments(incident_id)
    assert assignment.state is AssignmentState.UNANSWERED
    assert calls.escalate(incident_id, "serenazgo", 3) is None


def test_an_ack_and_a_retry_racing_never_call_after_the_ack(
    calls: CallStore, limiter: CountingLimiter, config: RoutingConfig, clock: FakeClock
) -> None:
    """The retry job runs once the manual ack committed: it sees the ack and does
    nothing, and counts no rate limit."""
    incident_id, _ = dispatched(calls, config, clock, category="incendio")
    [_, call] = calls.contacts.claim(VOICE, "s")
    calls.contacts.not_reached(call.contact.ref, Out.NO_ANSWER, "no contestó")
    clock.advance(300)
    assert calls.acknowledge(
        incident_id, "serenazgo", actor="supervisor:s1", cause="confirmó por radio"
    )
    asked = list(limiter.asked)
    assert calls.escalate(incident_id, "serenazgo", 1) is None
    assert limiter.asked == asked
    assert [c.label for c in calls.legs(incident_id) if c.agency] == ["Oficina"]
    assert not calls.acknowledge(incident_id, "serenazgo", actor="supervisor:s1", cause="x")


def test_an_ack_and_a_retry_racing_for_real(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """Whichever commits first, no contact of the agency is left to place after the
    acknowledgement."""
    incident_id, _ = dispatched(calls, config, clock, category="incendio")
    [_, call] = calls.contacts.claim(VOICE, "s")
    calls.contacts.not_reached(call.contact.ref, Out.NO_ANSWER, "no contestó")
    clock.advance(300)
    barrier = threading.Barrier(2)

    def retry() -> None:
        barrier.wait()
        calls.escalate(incident_id, "serenazgo", 1)

    def ack() -> None:
        barrier.wait()
        calls.acknowledge(incident_id, "serenazgo", actor="supervisor:s1", cause="por radio")

    threads = [threading.Thread(target=retry), threading.Thread(target=ack)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    made = [c for c in calls.legs(incident_id) if c.agency]
    assert not [c for c in made if c.state is ContactState.PENDING or c.state.live]
    assert calls.contacts.claim(VOICE, "s") == []
    assert outcomes(calls, incident_id, "serenazgo")[1:] in ([], [Out.CANCELLED])


def test_a_manual_ack_withdraws_the_agency_s_contact_in_flight(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.contacts.claim(VOICE, "s")
    calls.acknowledge(incident_id, "serenazgo", actor="supervisor:s1", cause="por radio")
    [to_end] = calls.contacts.to_withdraw(VOICE)
    assert (to_end.ref, to_end.withdraw) == (serenazgo.contact.ref, True)
    assert calls.contacts.to_withdraw(Medium.SMS) == []
    detail = calls.incidents.detail(incident_id)
    assert [(a.agency, a.method.value, a.actor) for a in detail.acks] == [
        ("serenazgo", "manual", "supervisor:s1")
    ]
    assert [a.outcome for a in detail.attempts if a.agency == "serenazgo"] == [Out.CANCELLED]
    # the medium does not say why it ended: a contact withdrawn ends all the same
    calls.contacts.ended(serenazgo.contact.ref, "colgó (fin normal de la llamada, Q.850 16)")
    ended = contact(calls, incident_id, serenazgo.contact.ref)
    assert (ended.state, ended.cause) == (
        ContactState.FAILED,
        "colgado a pedido; colgó (fin normal de la llamada, Q.850 16)",
    )
    assert calls.contacts.to_withdraw(VOICE) == []


def test_cancelling_the_incident_stops_every_contact(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, *_] = calls.contacts.claim(VOICE, "s")
    calls.contacts.answered(operator.contact.ref)
    calls.contacts.joined(operator.contact.ref)
    calls.incidents.transition(
        incident_id, Status.CANCELLED, actor="supervisor:s1", cause="llamada falsa"
    )
    assert {c.ref for c in calls.contacts.to_withdraw(VOICE)} == {
        c.ref for c in calls.legs(incident_id)
    }
    assert {a.state for a in calls.dispatches.assignments(incident_id)} == {
        AssignmentState.CANCELLED
    }
    assert {a.outcome for a in calls.incidents.detail(incident_id).attempts} == {Out.CANCELLED}
    clock.advance(600)
    assert calls.escalate(incident_id, "pnp", 1) is None
    assert calls.resume_stalled() == []


def test_what_an_adapter_s_reconciliation_reports_after_its_link_came_back(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """While the link was down the operator and serenazgo's responder (who accepted)
    went into the room and pnp's call ended: the adapter finds out and reports it."""
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, pnp] = calls.contacts.claim(VOICE, "s")
    clock.advance(30)
    live = calls.contacts.live(VOICE, clock.now())
    assert sorted((c.ref, c.state, c.room) for c in live) == sorted(
        (c.contact.ref, ContactState.PLACING, incident_id) for c in (operator, serenazgo, pnp)
    )
    calls.contacts.joined(operator.contact.ref)
    calls.contacts.joined(serenazgo.contact.ref)  # let in: it accepted
    calls.contacts.ended(pnp.contact.ref, "el canal ya no existe", Out.FAILED)
    detail = calls.incidents.detail(incident_id)
    assert [(a.agency, a.method) for a in detail.acks] == [("serenazgo", AckMethod.KEYPRESS)]
    assert detail.incident.status is Status.BRIDGED
    outcome = {a.agency: a.outcome for a in detail.attempts}
    assert outcome == {"serenazgo": Out.ACKNOWLEDGED, "pnp": Out.FAILED}
    # pnp's next try was scheduled, not placed: the live ones are the two in the room
    clock.advance(1)
    live = calls.contacts.live(VOICE, clock.now())
    assert {(c.ref, c.state) for c in live} == {
        (operator.contact.ref, ContactState.IN_ROOM),
        (serenazgo.contact.ref, ContactState.IN_ROOM),
    }
    # then both are gone: they ended, out of the room
    for gone in live:
        calls.contacts.ended(gone.ref, "el canal ya no existe", Out.FAILED)
    assert {c.state for c in calls.legs(incident_id)} == {
        ContactState.ENDED,
        ContactState.FAILED,
    }
    # the first to leave ends the conference (bridged -> acknowledged)
    assert kinds(calls, incident_id)[-3:] == ["leg_left", "status_changed", "leg_left"]
    assert calls.incidents.get(incident_id).status is Status.ACKNOWLEDGED
    clock.advance(1)
    assert calls.contacts.live(VOICE, clock.now()) == []
    # reported again (a second replica, a second pass): nothing changes
    version = calls.incidents.get(incident_id).version
    for ref in (operator.contact.ref, serenazgo.contact.ref):
        calls.contacts.joined(ref)
        calls.contacts.ended(ref, "el canal ya no existe", Out.FAILED)
    calls.contacts.ended(pnp.contact.ref, "el canal ya no existe", Out.FAILED)
    assert calls.incidents.get(incident_id).version == version


def test_the_live_contacts_of_a_medium_are_those_older_than_asked(
    calls: CallStore, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(
        calls, parse_config(ENEL_SMS_THEN_PHONE), clock, "corte_energia", "150101"
    )
    snapshot = clock.now()
    clock.advance(1)
    [operator] = calls.contacts.claim(VOICE, "s")  # after the snapshot began
    [sms] = calls.contacts.claim(Medium.SMS, "sms")
    assert calls.contacts.live(VOICE, snapshot) == []
    clock.advance(5)
    [found] = calls.contacts.live(VOICE, clock.now())
    assert (found.ref, found.state, found.room, found.updated_at) == (
        operator.contact.ref,
        ContactState.PLACING,
        incident_id,
        snapshot + timedelta(seconds=1),
    )
    assert [c.ref for c in calls.contacts.live(Medium.SMS, clock.now())] == [sms.contact.ref]
    calls.contacts.answered(operator.contact.ref)
    assert calls.contacts.live(VOICE, clock.now()) == []  # changed since: newer
    clock.advance(1)
    [found] = calls.contacts.live(VOICE, clock.now())
    assert found.state is ContactState.ANSWERED
    calls.contacts.delivered(sms.contact.ref)
    assert calls.contacts.live(Medium.SMS, clock.now() + timedelta(seconds=1)) == []


def test_a_contact_found_answered_or_gone_by_its_adapter(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """The replica that claimed them died before placing the operator's and pnp's:
    they are gone; serenazgo's was answered unseen."""
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, pnp] = calls.contacts.claim(VOICE, "s")
    clock.advance(11)
    calls.contacts.answered(serenazgo.contact.ref)
    for gone in (operator, pnp):
        calls.contacts.ended(gone.contact.ref, "el canal ya no existe en Asterisk", Out.FAILED)
    states = {c.ref: c.state for c in calls.legs(incident_id)}
    assert states == {
        operator.contact.ref: ContactState.FAILED,
        serenazgo.contact.ref: ContactState.ANSWERED,
        pnp.contact.ref: ContactState.FAILED,
    }
    [attempt] = [a for a in calls.incidents.detail(incident_id).attempts if a.agency == "pnp"]
    assert (attempt.outcome, attempt.cause) == (Out.FAILED, "el canal ya no existe en Asterisk")
    assert outcomes(calls, incident_id, "serenazgo") == [Out.PROMPTING]
    [failed] = [e for e in calls.incidents.events(incident_id) if e.kind == "leg_failed"]
    assert failed.cause == "«Consola»: el canal ya no existe en Asterisk"


def test_a_claimed_contact_not_placed_after_all_is_pending_again(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.contacts.claim(VOICE, "s")
    calls.contacts.unclaim(serenazgo.contact.ref)
    assert contact(calls, incident_id, serenazgo.contact.ref).state is ContactState.PENDING
    assert outcomes(calls, incident_id, "serenazgo") == [Out.PENDING]
    [again] = calls.contacts.claim(VOICE, "s")
    assert again.contact.ref == serenazgo.contact.ref
    assert outcomes(calls, incident_id, "serenazgo") == [Out.RINGING]


def test_reports_come_twice(calls: CallStore, config: RoutingConfig, clock: FakeClock) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, _] = calls.contacts.claim(VOICE, "s")
    for _ in range(2):
        calls.contacts.answered(serenazgo.contact.ref)
        calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó")
        calls.contacts.joined(serenazgo.contact.ref)
    detail = calls.incidents.detail(incident_id)
    assert len(detail.acks) == 1
    assert [e.kind for e in detail.events].count(EventKind.ACKNOWLEDGED) == 1
    assert [e.kind for e in detail.events].count(EventKind.LEG_JOINED) == 1


def test_a_contact_that_ends_before_it_is_answered_keeps_its_adapter_s_words(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [operator, _, pnp] = calls.contacts.claim(VOICE, "s")
    # the medium cannot tell why (a Local channel's first half): not conclusive
    calls.contacts.ended(pnp.contact.ref, "causa desconocida (0)")
    assert contact(calls, incident_id, pnp.contact.ref).state is ContactState.PLACING
    assert outcomes(calls, incident_id, "pnp") == [Out.RINGING]
    calls.contacts.ended(
        pnp.contact.ref, "rechazó la llamada (llamada rechazada, Q.850 21)", Out.FAILED
    )
    calls.contacts.ended(
        operator.contact.ref,
        "no contestó (timbró sin que nadie contestara, Q.850 19)",
        Out.NO_ANSWER,
    )
    detail = calls.incidents.detail(incident_id)
    [attempt] = [a for a in detail.attempts if a.agency == "pnp"]
    assert (attempt.outcome, attempt.cause) == (
        Out.FAILED,
        "rechazó la llamada (llamada rechazada, Q.850 21)",
    )
    # the operator's line has no attempt: its failure is in the timeline all the same
    [failed] = [e for e in detail.events if e.kind == "leg_failed"]
    assert (
        failed.cause
        == f"«{operator.contact.label}»: no contestó (timbró sin que nadie contestara, Q.850 19)"
    )
    with pytest.raises(ValueError, match="answered is not a way of not being reached"):
        calls.contacts.not_reached(operator.contact.ref, Out.ANSWERED, "x")


def test_a_double_dispatch_takes_no_rate_limit_slot(
    calls: CallStore, limiter: CountingLimiter, config: RoutingConfig, clock: FakeClock
) -> None:
    """Three calls in 15 minutes to a line (the routing file's "3/15m"): a dispatch
    refused because the incident is dispatched already counts none of them."""
    first, decision = dispatched(calls, config, clock)
    guardia, oficina = "phone:014451111", "phone:016171111"
    assert limiter.held() == {oficina: 1, guardia: 1}
    for _ in range(3):
        with pytest.raises(Conflict, match="ya fue despachado"):
            calls.dispatch(first, decision, revision_id=1, actor="operator:k2")
    assert limiter.held() == {oficina: 1, guardia: 1}
    assert limiter.asked == [oficina, guardia]  # the refused ones asked for nothing
    # so two more incidents still reach Guardia; a fourth in the 15 minutes does not
    for _ in range(2):
        clock.advance(60)
        incident_id, _ = dispatched(calls, config, clock)
        assert outcomes(calls, incident_id, "pnp") == [Out.PENDING]
    clock.advance(60)
    fourth, _ = dispatched(calls, config, clock)
    assert outcomes(calls, fourth, "pnp") == [Out.HELD_BACK, Out.PENDING]
    assert contacts_of(calls, fourth)["pnp"] == [("TG Miraflores", "pending")]
    [held] = [e for e in calls.incidents.events(fourth) if e.kind == "rate_limited"][:1]
    assert held.payload == RateLimited(
        agency="serenazgo",
        target="serenazgo-miraflores/1",
        destination=oficina,
        limit="3/15m",
        retry_in=720.0,
    )
    assert limiter.released == []


def test_slots_taken_by_a_dispatch_that_fails_are_given_back(
    calls: CallStore, limiter: CountingLimiter, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id = create(calls)
    decision = decision_for(calls, incident_id, config, clock)
    limiter.broken.add("phone:014451111")  # pnp's, counted after serenazgo's
    with pytest.raises(RuntimeError, match="counter of phone:014451111 failed"):
        calls.dispatch(incident_id, decision, revision_id=1, actor="operator:k1")
    assert limiter.released == ["phone:016171111"]
    assert limiter.held() == {}
    assert calls.incidents.get(incident_id).status is Status.RECEIVED
    assert calls.legs(incident_id) == []
    limiter.broken.clear()
    calls.dispatch(incident_id, decision, revision_id=1, actor="operator:k1")
    assert limiter.held() == {"phone:016171111": 1, "phone:014451111": 1}


@pytest.mark.parametrize("media", [frozenset(Medium) - {Medium.SMS}])
def test_a_target_whose_medium_is_not_configured_is_skipped(
    calls: CallStore, limiter: CountingLimiter, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(
        calls, parse_config(ENEL_SMS_THEN_PHONE), clock, "corte_energia", "150101"
    )
    attempts = [a for a in calls.incidents.detail(incident_id).attempts if a.agency == "enel"]
    assert [(a.target, a.medium, a.outcome) for a in attempts] == [
        ("enel/1", Medium.SMS, Out.SKIPPED),
        ("enel/2", VOICE, Out.PENDING),
    ]
    assert attempts[0].contact is None  # never placed
    assert attempts[0].ended_at == clock.now()
    assert attempts[0].cause == (
        "«Guardia Enel»: el canal de SMS no está configurado; se pasa al siguiente destino."
    )
    events = calls.incidents.events(incident_id)
    [skipped] = [e for e in events if e.kind == "target_skipped"]
    assert skipped.payload == TargetSkipped(agency="enel", target="enel/1", medium="sms", number=1)
    assert skipped.cause == attempts[0].cause
    assert [e.kind for e in events][-2:] == ["target_skipped", "calling"]
    assert events[-1].payload == Calling(agency="enel", target="enel/2", number=2, medium="voice")
    assert contacts_of(calls, incident_id)["enel"] == [("Central Enel", "pending")]
    assert "sms:+51987000111" not in limiter.asked
    assert calls.contacts.claim(Medium.SMS, "sms") == []


def test_a_stalled_escalation_is_resumed_once_its_step_is_overdue(
    calls: CallStore, db: Database, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, _, pnp] = calls.contacts.claim(VOICE, "s")
    calls.contacts.not_reached(pnp.contact.ref, Out.NO_ANSWER, "no contestó")
    due = clock.now() + timedelta(seconds=300)  # policy "slow"
    key = f"{incident_id}--esc_pnp--1"
    tasks = TaskStore(db, clock=clock)
    assert [t.key for t in tasks.claim()] == [key]
    # serenazgo's call rings all along: a try in flight is never resumed
    for seconds in (100, 199, RESUME_GRACE.total_seconds()):  # not at 300 s: see below
        clock.advance(seconds)
        assert calls.resume_stalled() == []
    assert clock.now() == due + RESUME_GRACE - timedelta(seconds=1)  # in its grace yet
    tasks.fail(key, "the worker died")  # its job failed for good
    assert calls.resume_stalled() == []
    clock.advance(2)
    [resumed] = calls.resume_stalled()
    assert (resumed.incident_id, resumed.agency) == (incident_id, "pnp")
    assert resumed.late == RESUME_GRACE + timedelta(seconds=1)
    assert resumed.step.target is not None
    assert resumed.step.target.target.id == "pnp-miraflores/2"
    events = calls.incidents.events(incident_id)
    assert [e.kind for e in events][-2:] == ["escalation_resumed", "calling"]
    assert events[-2].payload == EscalationResumed(
        agency="pnp", after=1, due_at=due.isoformat(), late_seconds=11.0
    )
    assert events[-2].actor == "system:reconciliation"
    assert events[-2].cause == (
        "el siguiente paso de Policía Nacional del Perú estaba pendiente desde hace 11 s; se retoma"
    )
    assert contacts_of(calls, incident_id)["pnp"] == [
        ("Guardia", "failed"),
        ("TG Miraflores", "pending"),
    ]
    assert calls.resume_stalled() == []  # its try is in flight now
    assert calls.escalate(incident_id, "pnp", 1) is None  # the job, had it come late
    clock.advance(600)
    assert calls.resume_stalled() == []


def test_a_step_due_right_now_is_not_resumed(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    dispatched(calls, config, clock)
    [_, _, pnp] = calls.contacts.claim(VOICE, "s")
    calls.contacts.not_reached(pnp.contact.ref, Out.NO_ANSWER, "no contestó")
    clock.advance(300)  # exactly when its job is due: the job has its grace
    assert calls.resume_stalled() == []


def test_an_acknowledgement_after_the_agency_acknowledged_changes_nothing(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    [_, serenazgo, pnp] = calls.contacts.claim(VOICE, "s")
    calls.contacts.answered(serenazgo.contact.ref)
    calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó")
    calls.acknowledge(incident_id, "pnp", actor="supervisor:s1", cause="por radio")
    version = calls.incidents.get(incident_id).version
    clock.advance(5)
    calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó otra vez")
    calls.contacts.acknowledged(pnp.contact.ref, AckMethod.KEYPRESS, "aceptó tarde")
    detail = calls.incidents.detail(incident_id)
    assert detail.incident.version == version
    assert [(a.agency, a.method, a.at) for a in detail.acks] == [
        ("serenazgo", AckMethod.KEYPRESS, clock.now() - timedelta(seconds=5)),
        ("pnp", AckMethod.MANUAL, clock.now() - timedelta(seconds=5)),
    ]
    assert [e.kind for e in detail.events].count(EventKind.ACKNOWLEDGED) == 2
    assert {a.agency: a.outcome for a in detail.attempts} == {
        "serenazgo": Out.ACKNOWLEDGED,
        "pnp": Out.CANCELLED,
    }


def test_a_reply_to_a_delivered_message_acknowledges_and_withdraws_the_other_try(
    calls: CallStore, db: Database, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(
        calls, parse_config(ENEL_SMS_THEN_PHONE), clock, "corte_energia", "150101"
    )
    [sms] = calls.contacts.claim(Medium.SMS, "sms")
    calls.contacts.delivered(sms.contact.ref)
    message = contact(calls, incident_id, sms.contact.ref)
    assert (message.state, message.cause) == (ContactState.DELIVERED, "entregado")
    assert outcomes(calls, incident_id, "enel") == [Out.DELIVERED]
    # nobody replied within the policy's interval: the phone line is called
    assert [k for k, _ in tasks_due(db, clock)] == [f"{incident_id}--esc_enel--1"]
    clock.advance(300)
    calls.escalate(incident_id, "enel", 1)
    [phone] = [c for c in calls.contacts.claim(VOICE, "ami") if c.contact.agency == "enel"]
    assert outcomes(calls, incident_id, "enel") == [Out.DELIVERED, Out.RINGING]
    clock.advance(10)
    calls.contacts.acknowledged(sms.contact.ref, AckMethod.SMS, "respondió 1 al SMS")
    detail = calls.incidents.detail(incident_id)
    [ack] = detail.acks
    assert (ack.agency, ack.method, ack.actor) == ("enel", AckMethod.SMS, "responder:enel")
    assert ack.attempt_id == detail.attempts[0].id
    assert [a.outcome for a in detail.attempts] == [Out.ACKNOWLEDGED, Out.CANCELLED]
    assert detail.incident.status is Status.ACKNOWLEDGED
    assert [c.ref for c in calls.contacts.to_withdraw(VOICE)] == [phone.contact.ref]
    # a second reply changes nothing
    calls.contacts.acknowledged(sms.contact.ref, AckMethod.SMS, "respondió 1 otra vez")
    assert len(calls.incidents.detail(incident_id).acks) == 1


def test_a_withdrawn_contact_that_was_never_placed_is_not_placed_again(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """Claimed, then its agency acknowledged by hand, then the adapter could not place
    it after all (unclaim): it is cancelled, not pending again."""
    incident_id, _ = dispatched(calls, config, clock)
    placed = calls.contacts.claim(Medium.VOICE, "serve-1")
    pnp = next(p for p in placed if p.contact.agency == "pnp")
    assert calls.acknowledge(incident_id, "pnp", actor="supervisor:k1", cause="por radio")
    calls.contacts.unclaim(pnp.contact.ref)
    assert [p.contact.agency for p in calls.contacts.claim(Medium.VOICE, "serve-2")] == []
    assert outcomes(calls, incident_id, "pnp") == [Out.CANCELLED]
    [contact] = [c for c in calls.legs(incident_id) if c.ref == pnp.contact.ref]
    assert contact.state is ContactState.CANCELLED


def test_dropping_a_responder_s_contact_before_it_is_placed_moves_its_agency_on(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)
    pnp = next(c for c in calls.legs(incident_id) if c.agency == "pnp")
    dropped = calls.drop_leg(incident_id, pnp.ref, actor="operator:k1")
    assert dropped.state is ContactState.CANCELLED
    assert outcomes(calls, incident_id, "pnp") == [Out.CANCELLED]
    clock.advance(3600)
    calls.resume_stalled()  # its next step (the retry after the interval) is taken
    assert len(outcomes(calls, incident_id, "pnp")) == 2


@pytest.mark.parametrize("placed", [False, True], ids=["pending", "in the room"])
def test_dropping_a_leg_twice_answers_the_same_and_logs_it_once(
    calls: CallStore, config: RoutingConfig, clock: FakeClock, placed: bool
) -> None:
    """A retried DELETE (issue 8, findings 9): the second changes nothing and writes no
    second leg_dropped entry."""
    incident_id, _ = dispatched(calls, config, clock)
    pnp = next(c for c in calls.legs(incident_id) if c.agency == "pnp")
    if placed:
        calls.contacts.claim(VOICE, "s")
        calls.contacts.joined(pnp.ref)
    first = calls.drop_leg(incident_id, pnp.ref, actor="operator:k1")
    second = calls.drop_leg(incident_id, pnp.ref, actor="operator:k1")
    assert second == first
    assert kinds(calls, incident_id).count("leg_dropped") == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_claim_leaves_alone_the_contacts_of_an_incident_another_writer_holds(
    calls: CallStore, config: RoutingConfig, clock: FakeClock, database_url: str
) -> None:
    """Claims lock the incident before its contacts, as every writer does (so none
    deadlocks): an incident locked by another transaction is skipped, not waited on,
    and claimed once it is free."""
    incident_id, _ = dispatched(calls, config, clock)
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as holder:
        holder.execute("SELECT id FROM incidents WHERE public_id = %s FOR UPDATE", (incident_id,))
        assert calls.contacts.claim(Medium.VOICE, "serve-1") == []
        holder.rollback()
    assert len(calls.contacts.claim(Medium.VOICE, "serve-1")) == 3


def test_an_escalation_job_that_runs_a_little_early_takes_its_step(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """RQ's scheduler may start a job a moment before its time: the step is taken, not
    scheduled again under the key of the job that runs it (a duplicate task key)."""
    incident_id, _ = dispatched(calls, config, clock)
    [_, _, pnp] = calls.contacts.claim(VOICE, "s")
    calls.contacts.not_reached(pnp.contact.ref, Out.NO_ANSWER, "no contestó")
    clock.advance(300 - 0.5)  # policy "slow": due in half a second
    step = calls.escalate(incident_id, "pnp", 1)
    assert step is not None
    assert step.kind is StepKind.CALL
    assert outcomes(calls, incident_id, "pnp") == [Out.NO_ANSWER, Out.PENDING]


# ------------------------------------------------------------ a room lost with its server

LOST = "se perdió la llamada"
WHY = "el reinicio de la central"


def bridged_with_pnp_prompting(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> tuple[str, str, str, str]:
    """The operator and serenazgo (it accepted) in the room, pnp hearing its prompt:
    the refs of the three and the incident's id."""
    incident_id, _ = dispatched(calls, config, clock)
    [operator, serenazgo, pnp] = calls.contacts.claim(VOICE, "s")
    calls.contacts.answered(operator.contact.ref)
    calls.contacts.joined(operator.contact.ref)
    calls.contacts.answered(serenazgo.contact.ref)
    calls.contacts.acknowledged(serenazgo.contact.ref, AckMethod.KEYPRESS, "aceptó con la tecla 1")
    calls.contacts.joined(serenazgo.contact.ref)
    calls.contacts.answered(pnp.contact.ref)
    assert calls.incidents.get(incident_id).status is Status.BRIDGED
    return incident_id, operator.contact.ref, serenazgo.contact.ref, pnp.contact.ref


def recalled_events(calls: CallStore, incident_id: str) -> list[tuple[str, str | None, str]]:
    return [
        (e.data["role"], e.data.get("agency"), e.cause)
        for e in calls.incidents.events(incident_id)
        if e.kind == EventKind.LEG_RECALLED
    ]


def test_a_lost_room_calls_the_operator_back_then_the_agency_that_acknowledged(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    clock.advance(1)
    recalled = calls.contacts.dropped([operator, serenazgo, pnp], LOST, WHY)
    assert len(recalled) == 2
    detail = calls.incidents.detail(incident_id)
    assert detail.incident.status is Status.ACKNOWLEDGED  # nobody is in the room
    states = {c.ref: c.state for c in calls.legs(incident_id)}
    assert [states[ref] for ref in (operator, serenazgo, pnp)] == [ContactState.ENDED] * 3
    [operator_again, serenazgo_again] = [contact(calls, incident_id, ref) for ref in recalled]
    assert (operator_again.role, operator_again.state, operator_again.label) == (
        ContactRole.OPERATOR,
        ContactState.PENDING,
        "Consola",
    )
    # a reconnection, not a try: no attempt, the acknowledgement stands
    assert (serenazgo_again.role, serenazgo_again.agency, serenazgo_again.attempt_id) == (
        ContactRole.RESPONDER,
        "serenazgo",
        None,
    )
    assert serenazgo_again.address == contact(calls, incident_id, serenazgo).address
    assert outcomes(calls, incident_id, "serenazgo") == [Out.ACKNOWLEDGED]
    assert [a.agency for a in detail.acks] == ["serenazgo"]
    # pnp had not acknowledged: its try ended, and its policy goes on (a retry later)
    assert outcomes(calls, incident_id, "pnp") == [Out.ANSWERED]
    assert not any(c.agency == "pnp" and c.ref != pnp for c in calls.legs(incident_id))
    assert recalled_events(calls, incident_id) == [
        ("operator", None, f"conferencia restablecida tras {WHY}: se vuelve a llamar al "
         "operador («Consola»)"),
        ("responder", "serenazgo", f"reconexión tras {WHY}: se vuelve a llamar a «Oficina» "
         "(Serenazgo) a la sala cuando el operador esté de vuelta en la sala; su "
         "confirmación sigue en pie, no es un nuevo intento"),
    ]  # fmt: skip
    # the operator first; serenazgo once the operator is back in the room
    [placed] = calls.contacts.claim(VOICE, "s")
    assert placed.contact.ref == operator_again.ref
    assert calls.contacts.claim(VOICE, "s") == []
    calls.contacts.answered(operator_again.ref)
    assert calls.contacts.claim(VOICE, "s") == []
    calls.contacts.joined(operator_again.ref)
    [placed] = calls.contacts.claim(VOICE, "s")
    assert placed.contact.ref == serenazgo_again.ref
    assert placed.contact.asks_for_ack  # the incident's prompt again: 1 lets it in
    assert (placed.ring_seconds, placed.dtmf) == (40, None)  # serenazgo's policy, "slow"
    calls.contacts.answered(serenazgo_again.ref)
    calls.contacts.acknowledged(serenazgo_again.ref, AckMethod.KEYPRESS, "aceptó con la tecla 1")
    calls.contacts.joined(serenazgo_again.ref)
    detail = calls.incidents.detail(incident_id)
    assert detail.incident.status is Status.BRIDGED
    assert [a.agency for a in detail.acks] == ["serenazgo"]
    assert outcomes(calls, incident_id, "serenazgo") == [Out.ACKNOWLEDGED]


def test_a_loss_reported_again_calls_nobody_twice(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """Another replica, a second reconciliation, a re-login: the loss is reported again
    while the callbacks are pending, then while they ring."""
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    first = calls.contacts.dropped([operator, serenazgo, pnp], LOST, WHY)
    version = calls.incidents.get(incident_id).version
    assert calls.contacts.dropped([operator, serenazgo, pnp], LOST, WHY) == []
    calls.contacts.ended(operator, LOST, Out.FAILED)
    calls.contacts.claim(VOICE, "s")
    assert calls.contacts.dropped([operator, serenazgo], LOST, WHY) == []
    assert calls.incidents.get(incident_id).version == version
    assert len(calls.legs(incident_id)) == 3 + len(first)


def test_a_lost_callback_is_called_back_once_more(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """The server fell again while the callbacks rang or were in the room: one more
    callback each, for the new loss."""
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    lost = [operator, serenazgo, pnp]
    [operator_again, serenazgo_again] = calls.contacts.dropped(lost, LOST, WHY)
    calls.contacts.claim(VOICE, "s")
    calls.contacts.joined(operator_again)
    calls.contacts.claim(VOICE, "s")
    calls.contacts.answered(serenazgo_again)
    calls.contacts.joined(serenazgo_again)
    third = calls.contacts.dropped([operator_again, serenazgo_again], LOST, WHY)
    assert [(c.role, c.state) for c in calls.legs(incident_id) if c.ref in third] == [
        (ContactRole.OPERATOR, ContactState.PENDING),
        (ContactRole.RESPONDER, ContactState.PENDING),
    ]


@pytest.mark.parametrize("end", [Status.RESOLVED, Status.CANCELLED])
def test_the_room_of_an_incident_that_ended_is_not_restored(
    calls: CallStore, config: RoutingConfig, clock: FakeClock, end: Status
) -> None:
    """Closed while its legs were still up (their hang-ups on the way): their loss is
    the end they were asked for."""
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    calls.incidents.transition(incident_id, end, actor="operator:k1", cause="atendido")
    assert all(c.withdraw for c in calls.legs(incident_id))
    assert calls.contacts.dropped([operator, serenazgo, pnp], LOST, WHY) == []
    assert {c.state for c in calls.legs(incident_id)} == {ContactState.ENDED}
    assert recalled_events(calls, incident_id) == []
    assert calls.contacts.claim(VOICE, "s") == []


def test_legs_asked_to_end_and_guests_are_not_called_back(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """The operator dropped its own leg (its hang-up on the way) and a guest was in the
    room: neither is called back; serenazgo waits for an operator back in the room."""
    incident_id, operator, serenazgo, _ = bridged_with_pnp_prompting(calls, config, clock)
    [target] = decision_for(calls, incident_id, config, clock).plans[0].targets[:1]
    guest = calls.add_leg(incident_id, target, actor="operator:k1")
    calls.contacts.claim(VOICE, "s")
    calls.contacts.joined(guest.ref)
    calls.drop_leg(incident_id, operator, actor="operator:k1")
    [serenazgo_again] = calls.contacts.dropped([operator, serenazgo, guest.ref], LOST, WHY)
    assert contact(calls, incident_id, serenazgo_again).agency == "serenazgo"
    assert calls.contacts.claim(VOICE, "s") == []  # no operator in the room
    back = calls.add_leg(
        incident_id,
        decision_for(calls, incident_id, config, clock).operator,  # type: ignore[arg-type]
        actor="operator:k1",
        role=ContactRole.OPERATOR,
    )
    [placed] = calls.contacts.claim(VOICE, "s")
    assert placed.contact.ref == back.ref
    calls.contacts.joined(back.ref)
    [placed] = calls.contacts.claim(VOICE, "s")
    assert placed.contact.ref == serenazgo_again


def test_two_replicas_reporting_the_same_loss_at_once_call_the_operator_once(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    barrier = threading.Barrier(4)
    recalled: list[str] = []

    def replica() -> None:
        barrier.wait()
        recalled.extend(calls.contacts.dropped([pnp, serenazgo, operator], LOST, WHY))

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recalled) == 2
    roles = [c.role for c in calls.legs(incident_id) if c.state is ContactState.PENDING]
    assert sorted(roles) == [ContactRole.OPERATOR, ContactRole.RESPONDER]
    assert len(recalled_events(calls, incident_id)) == 2


def test_a_citizen_s_call_in_the_room_is_a_contact_nobody_places_or_calls_back(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    """The IVR's caller, moved into the room by the dialplan: recorded once (a second
    report of the same call changes nothing), never claimed to be placed, in and out
    of the room like every leg, and not called back when the room is lost (the operator
    is)."""
    incident_id, operator, serenazgo, pnp = bridged_with_pnp_prompting(calls, config, clock)
    citizen = "1764900000.7"  # the channel's Uniqueid: Asterisk's name, not ours
    args = (incident_id, citizen, Medium.VOICE, "+51987654321", "Ciudadano +51987654321")
    assert calls.contacts.arrived(*args, actor="citizen:phone")
    assert not calls.contacts.arrived(*args, actor="citizen:phone")
    caller = contact(calls, incident_id, citizen)
    assert (caller.role, caller.state, caller.attempt_id) == (
        ContactRole.CITIZEN,
        ContactState.ANSWERED,
        None,
    )
    requested = [e for e in calls.incidents.events(incident_id) if e.data.get("leg") == citizen]
    assert [(e.kind, e.data["role"]) for e in requested] == [(EventKind.LEG_REQUESTED, "citizen")]
    assert calls.contacts.claim(VOICE, "s") == []  # nothing for an adapter to place
    calls.contacts.joined(citizen)
    assert contact(calls, incident_id, citizen).state is ContactState.IN_ROOM
    clock.advance(1)
    recalled = calls.contacts.dropped([operator, serenazgo, pnp, citizen], LOST, WHY)
    assert contact(calls, incident_id, citizen).state is ContactState.ENDED
    assert [r[0] for r in recalled_events(calls, incident_id)] == ["operator", "responder"]
    assert len(recalled) == 2
    assert [c.ref for c in calls.legs(incident_id) if c.role is ContactRole.CITIZEN] == [citizen]


def test_a_citizen_s_contact_ends_only_on_its_way_and_comes_back_if_found_waiting(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, *_ = bridged_with_pnp_prompting(calls, config, clock)
    citizen = "1764900000.8"
    args = (incident_id, citizen, Medium.VOICE, "", "Ciudadano (número oculto)")
    assert calls.contacts.arrived(*args, actor="citizen:phone")
    # the medium lost sight of the call on its way: it ended, and says so
    calls.contacts.not_arrived(citizen, "colgó antes de pasar a la sala")
    assert contact(calls, incident_id, citizen).state is ContactState.ENDED
    kinds = [e.kind for e in calls.incidents.events(incident_id) if e.data.get("leg") == citizen]
    assert kinds == [EventKind.LEG_REQUESTED, EventKind.LEG_FAILED]
    # then the caller was found still waiting, and is put into the room after all
    assert calls.contacts.arrived(*args, actor="citizen:phone")
    assert contact(calls, incident_id, citizen).state is ContactState.ANSWERED
    calls.contacts.joined(citizen)
    # in the room, it is the medium's to end: "not arrived" changes nothing
    calls.contacts.not_arrived(citizen, "colgó antes de pasar a la sala")
    assert contact(calls, incident_id, citizen).state is ContactState.IN_ROOM
    assert not calls.contacts.arrived(*args, actor="citizen:phone")  # in the room already


def test_an_incident_that_ended_has_no_room_for_a_citizen(
    calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, *_ = bridged_with_pnp_prompting(calls, config, clock)
    calls.incidents.transition(incident_id, Status.RESOLVED, actor="operator:test", cause="ok")
    with pytest.raises(Conflict, match="no tiene sala"):
        calls.contacts.arrived(
            incident_id, "1764900000.9", Medium.VOICE, "", "Ciudadano", actor="citizen:phone"
        )
    assert not any(c.role is ContactRole.CITIZEN for c in calls.legs(incident_id))
