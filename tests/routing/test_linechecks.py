"""Responder lines checked before an emergency (issue 10, point 4), on SQLite and on
PostgreSQL: the directory's phone lines, checks asked for by hand and by the schedule,
never while the line is part of a live incident, past its rate limits or out of its
hours; what the voice adapter reports as each check's result; a line failing twice in a
row raised to the supervisors once, listed as failing and marked in the routing
explanation."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from routing.calls import CallStore
from routing.config import RoutingConfig, parse_config
from routing.db import Database
from routing.decide import Facts, decide
from routing.linechecks import (
    HOLD,
    STUCK,
    CheckResult,
    CheckState,
    Line,
    LineChecks,
    Schedule,
    directory_lines,
)
from routing.models import AttemptOutcome, Medium, Priority, Status
from routing.outbox import Outbox, Purpose
from routing.ratelimits import Limit
from routing.schedule import parse_window
from routing.store import IncidentStore
from tests.conftest import FakeClock
from tests.routing.configs import SMALL
from tests.routing.conftest import CountingLimiter
from tests.routing.test_calls import dispatched

R = CheckResult
# the supervisors read SMS and Telegram too
WITH_READERS = SMALL.replace(
    '    - {phone: "014270000", label: Supervisión, rate_limit: none}\n',
    '    - {phone: "014270000", label: Supervisión, rate_limit: none}\n'
    '    - {sms: "+51931377917", label: Supervisor de turno, rate_limit: none}\n'
    '    - {telegram: "-1001234567", label: Grupo de supervisión, rate_limit: none}\n',
)
pytestmark = pytest.mark.usefixtures("revision")
GUARDIA = "pnp-miraflores/1"  # 014451111, 3/15m and 7/1h
OFICINA = "serenazgo-miraflores/1"  # staffed lun-vie 08:00-18:00


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return parse_config(WITH_READERS)


@pytest.fixture
def checks(
    db: Database, clock: FakeClock, limiter: CountingLimiter, config: RoutingConfig
) -> LineChecks:
    store = IncidentStore(db, clock=clock)
    return LineChecks(db, clock, limiter, Outbox(db, store, clock=clock), lambda: config)


def line(checks: LineChecks, line_id: str) -> Line:
    (found,) = checks.lines(line=line_id)
    return found


def run_check(checks: LineChecks, line_id: str, result: CheckResult, cause: str = "") -> str:
    """A check asked for, placed and ended with ``result``, ten minutes after the last
    (the line's rate limits: 3 calls in 15 minutes, 7 in an hour); its ref."""
    assert isinstance(checks.clock, FakeClock)
    checks.clock.advance(600)
    (requested,) = checks.request([line(checks, line_id)], actor="test")
    assert requested.new
    assert requested.check.state is CheckState.PENDING
    placed = checks.claim("test")
    assert [p.ref for p in placed] == [requested.check.ref]
    assert checks.finished(requested.check.ref, result, cause or result.label)
    return requested.check.ref


def supervision(db: Database) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from routing import schema as t

    m = t.outbound_messages.c
    with db.read() as conn:
        rows = conn.execute(
            select(m.channel, m.chat, m.body).where(m.purpose == Purpose.SUPERVISION.value)
        ).all()
    return [(r.channel, r.chat, r.body) for r in rows]


def test_the_directory_lines_are_the_agencies_phone_lines(config: RoutingConfig) -> None:
    lines = {x.id: x for x in directory_lines(config)}
    # talkgroups, SMS, the supervisors' and operators' lines are not responder lines
    assert set(lines) == {
        "pnp-miraflores/1", "pnp-san-antonio/1", "pnp-105/1", "serenazgo-miraflores/1",
        "serenazgo-miraflores/2", "serenazgo-otros/1", "lds/1",
    }  # fmt: skip
    san_antonio = lines["pnp-san-antonio/1"]
    assert san_antonio.agency == "pnp"
    assert san_antonio.planned.target.dial == "Local/014452222@epr-sim"
    assert san_antonio.planned.target.dtmf == "ww12#"


def test_a_check_confirmed_is_the_lines_last_result(checks: LineChecks) -> None:
    (requested,) = checks.request([line(checks, GUARDIA)], actor="cli:ana")
    ref = requested.check.ref
    assert ref.startswith("vbchk-")
    # asked again while in flight: the same check
    (again,) = checks.request([line(checks, GUARDIA)], actor="cli:ana")
    assert not again.new
    assert again.check.ref == ref
    (placed,) = checks.claim("serve-1")
    assert (placed.dial, placed.dtmf) == ("Local/014451111@epr-sim", None)
    assert checks.claim("serve-2") == []  # placed once
    checks.answered(ref)
    assert checks.finished(ref, R.CONFIRMED, "confirmó con la tecla 1")
    assert not checks.finished(ref, R.FAILED, "heard twice")  # idempotent: the first stands
    (status,) = checks.status([line(checks, GUARDIA)])
    assert status.last is not None
    assert status.last.result is R.CONFIRMED
    assert status.last.actor == "cli:ana"
    assert not status.last.scheduled
    assert (status.failures, status.failing) == (0, False)


def test_what_a_hangup_says(checks: LineChecks) -> None:
    # answered, then hung up without the key
    (r1,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")
    checks.answered(r1.check.ref)
    assert checks.hung_up(r1.check.ref, None, "colgó (fin normal de la llamada, Q.850 16)")
    assert checks.get([r1.check.ref])[0].result is R.ANSWERED
    # not answered, a cause that says nothing (a Local channel's Cause 0): the
    # Originate's report decides
    (r2,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")
    assert not checks.hung_up(r2.check.ref, None, "causa desconocida")
    assert checks.finished(r2.check.ref, R.BUSY, "ocupado")
    # not answered, busy by its Hangup's Cause
    (r3,) = checks.request([line(checks, "pnp-105/1")], actor="t")
    checks.claim("s")
    assert checks.hung_up(r3.check.ref, AttemptOutcome.BUSY, "ocupado (usuario ocupado, Q.850 17)")
    found = checks.get([r3.check.ref])[0]
    assert (found.result, found.cause) == (R.BUSY, "ocupado (usuario ocupado, Q.850 17)")


def test_two_failures_in_a_row_raise_the_line_once(checks: LineChecks, db: Database) -> None:
    run_check(checks, GUARDIA, R.NO_ANSWER, "no contestó")
    assert supervision(db) == []
    assert checks.failing() == {}
    second = run_check(checks, GUARDIA, R.BUSY, "ocupado")
    sent = supervision(db)
    assert [(c, chat) for c, chat, _ in sent] == [
        ("sms", "+51931377917"),
        ("telegram", "-1001234567"),
    ]  # the phone supervisor gets no message
    body = sent[0][2]
    assert "«Guardia» (pnp-miraflores/1, 014451111) falló dos pruebas seguidas" in body
    assert "no contestó; ocupado" in body
    assert checks.get([second])[0].raised
    assert checks.failing() == {GUARDIA: "no contestó; ocupado"}
    (status,) = checks.status([line(checks, GUARDIA)])
    assert (status.failures, status.failing) == (2, True)
    # a third failure is no new alarm
    run_check(checks, GUARDIA, R.FAILED, "número inexistente")
    assert len(supervision(db)) == 2
    # a check that says nothing of the line (interrupted) leaves the streak as it is
    run_check(checks, GUARDIA, R.INTERRUPTED, "se cortó")
    (status,) = checks.status([line(checks, GUARDIA)])
    assert status.failures == 3
    assert status.last is not None
    assert status.last.result is R.INTERRUPTED
    assert status.last_verdict is not None
    assert status.last_verdict.result is R.FAILED
    # confirmed: the line works again; two new failures raise it again
    run_check(checks, GUARDIA, R.CONFIRMED)
    assert checks.failing() == {}
    run_check(checks, GUARDIA, R.NO_ANSWER)
    run_check(checks, GUARDIA, R.NO_ANSWER)
    assert len(supervision(db)) == 4


def test_answered_without_the_key_is_no_failure(checks: LineChecks, db: Database) -> None:
    run_check(checks, GUARDIA, R.NO_ANSWER)
    run_check(checks, GUARDIA, R.ANSWERED)
    run_check(checks, GUARDIA, R.NO_ANSWER)
    assert checks.failing() == {}
    assert supervision(db) == []


def test_never_while_the_line_is_part_of_a_live_incident(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    incident_id, _ = dispatched(calls, config, clock)  # a robbery in Miraflores: PNP first
    (requested,) = checks.request([line(checks, GUARDIA)], actor="t")
    assert requested.check.result is R.SKIPPED
    assert requested.check.cause == f"es parte del incidente en curso {incident_id}"
    # a line of another district's unit is free
    (other,) = checks.request([line(checks, "lds/1")], actor="t")
    assert other.check.state is CheckState.PENDING
    # resolved: the line is free again
    calls.incidents.transition(incident_id, Status.RESOLVED, actor="t", cause="atendido")
    (after,) = checks.request([line(checks, GUARDIA)], actor="t")
    assert after.check.state is CheckState.PENDING


def test_a_line_an_incident_takes_is_not_called_or_is_hung_up(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    (pending,) = checks.request([line(checks, GUARDIA)], actor="t")
    (placed,) = checks.request([line(checks, "pnp-105/1")], actor="t")
    assert [p.ref for p in checks.claim("s", limit=1)] == [pending.check.ref]
    # now a robbery in Miraflores: its escalation may call both PNP lines
    incident_id, _ = dispatched(calls, config, clock)
    assert checks.claim("s") == []  # the other one is not placed: skipped
    skipped = checks.get([placed.check.ref])[0]
    assert skipped.result is R.SKIPPED
    assert incident_id in (skipped.cause or "")
    # the one on the phone is to be hung up (asked again until it ended); its end is
    # recorded interrupted (no verdict), whatever its hang-up looked like
    assert checks.to_hang_up() == [(pending.check.ref, CheckState.PLACING)]
    assert checks.to_hang_up() == [(pending.check.ref, CheckState.PLACING)]
    assert checks.hung_up(pending.check.ref, AttemptOutcome.NO_ANSWER, "no contestó")
    found = checks.get([pending.check.ref])[0]
    assert (found.result, found.cause) == (
        R.INTERRUPTED,
        f"se cortó: la línea pasó al incidente en curso {incident_id}",
    )
    assert checks.to_hang_up() == []


def test_a_withdrawn_check_the_pbx_no_longer_has_ends_interrupted(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    (requested,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")
    checks.answered(requested.check.ref)
    assert not checks.gone(requested.check.ref)  # not withdrawn: nothing to say
    dispatched(calls, config, clock)
    assert checks.to_hang_up() == [(requested.check.ref, CheckState.ANSWERED)]
    # a key pressed just before the hang-up still confirms the line
    assert checks.finished(requested.check.ref, R.CONFIRMED, "confirmó con la tecla 1")
    assert checks.to_hang_up() == []
    assert not checks.gone(requested.check.ref)


def test_a_call_of_an_incident_waits_for_the_check_on_its_line(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    (requested,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")  # on the phone with the Guardia
    incident_id, _ = dispatched(calls, config, clock)
    claimed = {p.contact.address for p in calls.contacts.claim(Medium.VOICE, "serve-1")}
    assert "Local/014451111@epr-sim" not in claimed  # it would find the line busy
    checks.to_hang_up()
    checks.hung_up(requested.check.ref, None, "colgó")  # the check's call ended
    (guardia,) = calls.contacts.claim(Medium.VOICE, "serve-1")
    assert guardia.contact.address == "Local/014451111@epr-sim"
    assert guardia.room == incident_id


def test_a_check_that_never_ends_holds_a_call_no_longer_than_its_longest(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock
) -> None:
    checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")  # and its adapter dies
    dispatched(calls, config, clock)
    claimed = {p.contact.address for p in calls.contacts.claim(Medium.VOICE, "serve-1")}
    assert "Local/014451111@epr-sim" not in claimed
    clock.advance(HOLD.total_seconds() + 1)
    (guardia,) = calls.contacts.claim(Medium.VOICE, "serve-1")
    assert guardia.contact.address == "Local/014451111@epr-sim"


def test_at_most_two_checks_are_on_the_phone(checks: LineChecks) -> None:
    lines = [line(checks, x) for x in (GUARDIA, "pnp-105/1", "lds/1")]
    first, second, third = (r.check.ref for r in checks.request(lines, actor="t"))
    assert [p.ref for p in checks.claim("s", limit=20)] == [first, second]
    assert checks.claim("s") == []
    checks.finished(first, R.CONFIRMED, "confirmó")
    assert [p.ref for p in checks.claim("s")] == [third]


def test_one_check_of_a_line_at_a_time_whoever_asks(
    checks: LineChecks, limiter: CountingLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = checks.request([line(checks, GUARDIA)], actor="serve-1")
    # another replica asks at the same moment: it did not see the first one yet
    monkeypatch.setattr(checks, "_in_flight", lambda conn, line_id: None)
    with pytest.raises(IntegrityError):
        checks.request([line(checks, GUARDIA)], actor="serve-2")  # no row to fall back on
    monkeypatch.undo()
    assert limiter.held() == {"phone:014451111": 1}  # the loser's use was given back
    monkeypatch.setattr(checks, "_in_flight", _seen_after_the_race(checks))
    (second,) = checks.request([line(checks, GUARDIA)], actor="serve-2")
    assert (second.new, second.check.ref) == (False, first.check.ref)
    assert limiter.held() == {"phone:014451111": 1}


def _seen_after_the_race(checks: LineChecks) -> Callable[..., object]:
    """``_in_flight`` that misses the other replica's check once (the race), then finds
    it (the read after the refused insert)."""
    real = LineChecks._in_flight
    calls = iter([False])

    def in_flight(conn: object, line_id: str) -> object:
        return None if next(calls, True) is False else real(checks, conn, line_id)  # type: ignore[arg-type]

    return in_flight


def test_a_result_reported_by_two_replicas_is_recorded_once(checks: LineChecks) -> None:
    (requested,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")
    with checks.db.read() as conn:
        stale = checks._row(conn, requested.check.ref)  # both replicas read it pending
    assert stale is not None
    now = checks.clock.now()
    with checks.db.write() as conn:
        assert checks._end(conn, stale, R.CONFIRMED, "confirmó con la tecla 1", now)
    with checks.db.write() as conn:
        assert not checks._end(conn, stale, R.INTERRUPTED, "se cortó", now)
    assert checks.get([requested.check.ref])[0].result is R.CONFIRMED


def test_a_check_never_placed_gives_its_rate_limit_use_back(
    checks: LineChecks, calls: CallStore, config: RoutingConfig, clock: FakeClock,
    limiter: CountingLimiter,
) -> None:  # fmt: skip
    checks.request([line(checks, GUARDIA)], actor="t")
    assert limiter.held() == {"phone:014451111": 1}
    dispatched(calls, config, clock)  # before any serve placed it
    assert limiter.held()["phone:014451111"] == 2  # the check's, and the incident's call
    assert checks.claim("s") == []
    assert limiter.released == ["phone:014451111"]
    assert limiter.held()["phone:014451111"] == 1  # the incident's call only


def test_never_past_the_lines_rate_limits_nor_out_of_its_hours(
    checks: LineChecks, limiter: CountingLimiter, clock: FakeClock
) -> None:
    for _ in range(3):  # the Guardia takes 3 calls in 15 minutes
        (ok,) = checks.request([line(checks, GUARDIA)], actor="t")
        assert checks.finished(ok.check.ref, R.CONFIRMED, "confirmó")
    (refused,) = checks.request([line(checks, GUARDIA)], actor="t")
    assert refused.check.result is R.SKIPPED
    assert (refused.check.cause or "").startswith("llegó a su límite de llamadas (3 en 15 min)")
    assert limiter.held()["phone:014451111"] == 3  # the refused one counted nothing
    clock.current = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 18:30 in Lima
    (closed,) = checks.request([line(checks, OFICINA)], actor="t")
    assert closed.check.result is R.SKIPPED
    assert closed.check.cause == "fuera de su horario (lun-vie 08:00-18:00)"


def test_the_schedule_checks_each_line_in_its_window_at_the_centres_rate(
    checks: LineChecks, clock: FakeClock, config: RoutingConfig
) -> None:
    schedule = Schedule(
        windows=(parse_window("lun-vie 10:00-12:00"),),
        rate=Limit(count=4, seconds=3600),
        every=timedelta(days=7),
    )
    clock.current = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 09:00 in Lima
    assert checks.schedule(schedule) == []
    clock.current = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # 10:30
    first = checks.schedule(schedule)
    assert len(first) == 4  # the centre's rate
    assert all(c.scheduled and c.actor == "system:line-checks" for c in first)
    assert checks.schedule(schedule) == []  # the rate: the rest wait
    clock.advance(3600)
    second = checks.schedule(schedule)
    all_lines = {x.id for x in directory_lines(config)}
    assert {c.line for c in first} | {c.line for c in second} == all_lines
    assert not {c.line for c in first} & {c.line for c in second}
    for c in [*first, *second]:
        checks.finished(c.ref, R.CONFIRMED, "confirmó")
    clock.current = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # Friday 10:30
    assert checks.schedule(schedule) == []  # every line is checked once a week
    clock.current = datetime(2026, 12, 2, 15, 31, tzinfo=UTC)  # a week after the first
    assert {c.line for c in checks.schedule(schedule)} == {c.line for c in first}


def test_an_interrupted_check_does_not_count_as_the_lines_weekly_one(
    checks: LineChecks, clock: FakeClock
) -> None:
    schedule = Schedule(
        windows=(parse_window("24h"),), rate=Limit(count=100, seconds=3600),
        every=timedelta(days=7),
    )  # fmt: skip
    first = {c.line: c.ref for c in checks.schedule(schedule)}
    for line_id, ref in first.items():
        result = R.INTERRUPTED if line_id == GUARDIA else R.CONFIRMED
        checks.finished(ref, result, result.label)
    clock.advance(3600)
    assert [c.line for c in checks.schedule(schedule)] == [GUARDIA]


def test_a_check_its_adapter_lost_ends_interrupted(checks: LineChecks, clock: FakeClock) -> None:
    (requested,) = checks.request([line(checks, GUARDIA)], actor="t")
    checks.claim("s")
    assert checks.stuck() == []
    clock.advance(STUCK.total_seconds() + 1)
    assert checks.stuck() == [requested.check.ref]
    found = checks.get([requested.check.ref])[0]
    assert found.result is R.INTERRUPTED


def test_the_routing_explanation_marks_a_failing_line(
    checks: LineChecks, config: RoutingConfig, clock: FakeClock
) -> None:
    run_check(checks, GUARDIA, R.NO_ANSWER, "no contestó")
    run_check(checks, GUARDIA, R.FAILED, "número inexistente (número no asignado, Q.850 1)")
    facts = Facts(category="robo", district="150122", priority=Priority.HIGH, at=clock.now())
    plan = decide(config, facts, failing=checks.failing()).plan("pnp")
    marked = [r for r in plan.reasons if "pruebas de línea" in r]
    assert marked == [
        "Atención: «Guardia» de «Comisaría PNP Miraflores» falló sus dos últimas pruebas de "
        "línea (no contestó; falló (número inexistente (número no asignado, Q.850 1))); se "
        "llama igual, y si no responde sigue el próximo destino."
    ]
    assert plan.targets[0].target.id == GUARDIA  # called all the same
