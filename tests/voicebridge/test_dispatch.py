"""Dispatch with the rules in force, frozen on the incident; the next call of an
agency, held back by a destination's rate limit; revisions of the rules."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from routing.config import ConfigError
from routing.errors import Conflict, InvalidValue
from routing.models import AttemptOutcome, Medium, NewIncident, NewReport, Source, Status
from tests.conftest import FakeClock, make_settings
from tests.routing.configs import SMALL
from tests.voicebridge.conftest import AMI_MEDIA
from voicebridge.runtime import Runtime, build_runtime


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture
def rt(
    sqlite_url: str, redis_url: str, redis: Redis, clock: FakeClock, rules_file: Path
) -> Iterator[Runtime]:
    runtime = build_runtime(
        make_settings(sqlite_url, redis_url, routing_file=str(rules_file)),
        clock=clock,
        media=AMI_MEDIA,
    )
    runtime.rules.load_file(actor="test")
    yield runtime
    runtime.close()


def report(rt: Runtime, category: str = "robo", district: str | None = "150122") -> str:
    incident, _ = rt.store.create_incident(
        NewIncident(
            category=category,
            district=district,
            report=NewReport(source=Source.API, text="robo de celular"),
        ),
        actor="operator:test",
    )
    return incident.id


def test_dispatch_freezes_the_decision_and_logs_it(rt: Runtime) -> None:
    incident_id = report(rt)
    explained = rt.dispatcher.dispatch(incident_id, actor="operator:k1")
    assert explained.frozen
    assert explained.incident.status is Status.DISPATCHED
    assert explained.decision.rule == "robo en Miraflores"
    assignments = rt.dispatcher.dispatches.assignments(incident_id)
    assert [(a.agency, a.priority, a.state.value) for a in assignments] == [
        ("serenazgo", 1, "pending"),
        ("pnp", 2, "pending"),
    ]
    events = rt.store.events(incident_id)
    [event] = [e for e in events if e.kind == "status_changed"]
    assert event.actor == "operator:k1"
    assert event.cause == "despachado según la regla «robo en Miraflores»"
    assert event.data == {
        "from": "received",
        "to": "dispatched",
        "rule": "robo en Miraflores",
        "revision": explained.revision,
        "agencies": ["serenazgo", "pnp"],
    }
    assert [e.kind for e in events][2:] == ["leg_requested", "calling", "calling"]
    with pytest.raises(Conflict, match="ya fue despachado"):
        rt.dispatcher.dispatch(incident_id, actor="operator:k1")


def test_no_district_no_dispatch(rt: Runtime) -> None:
    incident_id = report(rt, district=None)
    with pytest.raises(InvalidValue, match="necesita su distrito"):
        rt.dispatcher.dispatch(incident_id, actor="operator:k1")
    assert rt.store.get(incident_id).status is Status.RECEIVED


def test_editing_the_rules_never_changes_a_running_escalation(
    rt: Runtime, rules_file: Path, clock: FakeClock
) -> None:
    first = report(rt, district="150141")  # Surquillo: pnp-105, then serenazgo-otros
    before = rt.dispatcher.dispatch(first, actor="operator:k1")
    plan_before = before.decision.plan("pnp")
    assert plan_before.policy.attempts_per_target == 2
    # the central 105's number changes and the policy becomes a single try
    rules_file.write_text(
        SMALL.replace('"0105"', '"0106"').replace(
            "fast: {ring_seconds: 20, attempts_per_target: 2",
            "fast: {ring_seconds: 20, attempts_per_target: 1",
        ),
        encoding="utf-8",
    )
    revision, changed = rt.rules.load_file(actor="admin:a1")
    assert changed
    assert revision.id == before.revision + 1
    assert '-          - {phone: "0105", label: Central 105, rate_limit: none}' in revision.diff

    again = rt.dispatcher.explain(first)
    assert again.frozen
    assert again.revision == before.revision
    assert again.decision.plan("pnp") == plan_before
    # the first try of pnp did not answer: the second follows the frozen plan
    calls = rt.dispatcher.calls
    [pnp] = [c for c in calls.contacts.claim(Medium.VOICE, "serve-1") if c.contact.agency == "pnp"]
    assert pnp.contact.address == "Local/0105@epr-sim"
    calls.contacts.not_reached(pnp.contact.ref, AttemptOutcome.NO_ANSWER, "no contestó")
    clock.advance(60)
    step = rt.dispatcher.escalate(first, "pnp", 1)
    assert step is not None
    assert step.target is not None
    assert (step.target.target.address, step.number) == ("0105", 2)  # 2 tries, old number

    second = report(rt, category="robo", district="150141")
    after = rt.dispatcher.dispatch(second, actor="operator:k1")
    assert after.revision == revision.id
    assert after.decision.plan("pnp").policy.attempts_per_target == 1
    assert {leg.address for leg in calls.legs(second) if leg.agency == "pnp"} == {
        "Local/0106@epr-sim"
    }


def test_a_full_line_moves_the_call_to_the_next_target_and_the_log_says_so(
    rt: Runtime, redis: Redis
) -> None:
    # three other incidents already rang the comisaría's line in the last minutes
    limiter = rt.calls.ledger.limiter
    config, _ = rt.rules.current()
    line = config.station("pnp-miraflores").targets[0]
    for _ in range(3):
        assert limiter.acquire(line.destination, line.limits).allowed
    incident_id = report(rt)  # Miraflores: pnp starts with the comisaría's line
    rt.dispatcher.dispatch(incident_id, actor="operator:k1")
    pnp = [leg for leg in rt.dispatcher.calls.legs(incident_id) if leg.agency == "pnp"]
    assert [(leg.label, leg.address) for leg in pnp] == [("TG Miraflores", "Local/11022@tetra-sim")]
    detail = rt.store.detail(incident_id)
    assert [(a.target, a.outcome, a.number) for a in detail.attempts if a.agency == "pnp"] == [
        ("pnp-miraflores/1", AttemptOutcome.HELD_BACK, 1),
        ("pnp-miraflores/2", AttemptOutcome.PENDING, 2),
    ]
    [event] = [e for e in detail.events if e.kind == "rate_limited"]
    assert event.cause == (
        "«Guardia» alcanzó su límite de llamadas (3 en 15 min): se pasa al siguiente destino."
    )
    assert event.data["destination"] == "phone:014451111"
    assert event.data["limit"] == "3/15m"


def test_revisions_are_recorded_once_per_content_and_shared(
    rt: Runtime, rules_file: Path, sqlite_url: str, redis_url: str, clock: FakeClock
) -> None:
    first = rt.rules.revisions.current()
    assert first is not None
    revision, changed = rt.rules.load_file(actor="test")
    assert (revision.id, changed) == (first.id, False)
    # another process (a worker, a replica) sees the revision in force from the database
    other = build_runtime(make_settings(sqlite_url, redis_url), clock=clock)
    try:
        config, in_force = other.rules.current()
        assert in_force.id == first.id
        assert "pnp-miraflores" in {s.code for a in config.agencies.values() for s in a.stations}
    finally:
        other.close()


def test_an_invalid_file_changes_nothing(rt: Runtime, rules_file: Path) -> None:
    before = rt.rules.revisions.current()
    rules_file.write_text(SMALL.replace("policy: fast", "policy: rapid"), encoding="utf-8")
    expected = r"routing.yaml:22: agencies\[0\].policy: no hay ninguna política"
    with pytest.raises(ConfigError, match=expected):
        rt.rules.load_file(actor="admin:a1")
    assert rt.rules.revisions.current() == before
