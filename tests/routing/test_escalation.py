"""The escalation of one agency, step by step, from its frozen plan and its tries."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from routing.config import parse_config
from routing.decide import AgencyPlan, Facts, decide
from routing.escalation import Choice, StepKind, Try, choose, next_step
from routing.models import AttemptOutcome, Medium, Priority
from routing.ratelimits import Grant, Limit, NoLimits, Verdict
from tests.routing.configs import SMALL

Out = AttemptOutcome
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan() -> AgencyPlan:
    """PNP in Miraflores, policy "fast": 2 tries per target, 30 then 60 s apart; targets
    pnp-miraflores/1 (phone), /2 (talkgroup), pnp-san-antonio/1, pnp-105/1."""
    config = parse_config(SMALL.replace("- {agency: pnp, policy: slow}", "- agency: pnp"))
    decision = decide(
        config, Facts(category="robo", district="150122", priority=Priority.HIGH, at=T0)
    )
    return decision.plan("pnp")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tries(*spec: tuple[str, AttemptOutcome, float | None]) -> list[Try]:
    return [Try(target=t, outcome=o, ended_at=None if e is None else at(e)) for t, o, e in spec]


def test_the_first_call_goes_at_once(plan: AgencyPlan) -> None:
    step = next_step(plan, [], T0)
    assert step.kind is StepKind.CALL
    assert step.target is not None
    assert step.target.target.id == "pnp-miraflores/1"
    assert (step.not_before, step.number) == (T0, 1)
    assert step.reason == "Intento 1 de 2 a «Guardia» (Comisaría PNP Miraflores)."


def test_retries_wait_the_policy_s_intervals(plan: AgencyPlan) -> None:
    one = tries(("pnp-miraflores/1", Out.NO_ANSWER, 25))
    step = next_step(plan, one, at(26))
    assert step.target is not None
    assert (step.target.target.id, step.not_before, step.number) == ("pnp-miraflores/1", at(55), 2)
    assert not step.due(at(54))
    assert step.due(at(55))
    two = [*one, *tries(("pnp-miraflores/1", Out.BUSY, 60))]
    step = next_step(plan, two, at(61))
    assert step.target is not None
    assert (step.target.target.id, step.not_before) == ("pnp-miraflores/2", at(120))  # 60 s
    three = [*two, *tries(("pnp-miraflores/2", Out.ANSWERED, 150))]  # answered, no key
    step = next_step(plan, three, at(151))
    assert step.not_before == at(210)  # the last interval repeats


def test_a_decline_moves_to_the_next_target_at_once(plan: AgencyPlan) -> None:
    step = next_step(plan, tries(("pnp-miraflores/1", Out.DECLINED, 40)), at(41))
    assert step.target is not None
    assert (step.target.target.id, step.not_before) == ("pnp-miraflores/2", at(41))


def test_a_talkgroup_patched_into_the_room_is_not_patched_again(plan: AgencyPlan) -> None:
    done = tries(
        ("pnp-miraflores/1", Out.NO_ANSWER, 25),
        ("pnp-miraflores/1", Out.NO_ANSWER, 80),
        ("pnp-miraflores/2", Out.PATCHED, 150),  # still in the room, nobody acknowledged
    )
    step = next_step(plan, done, at(151))
    assert step.target is not None
    # the next target, after the interval (the radio had its chance to be heard)
    assert (step.target.target.id, step.not_before) == ("pnp-san-antonio/1", at(210))


def test_an_acknowledgement_ends_it_and_a_call_in_flight_is_waited_for(plan: AgencyPlan) -> None:
    assert (
        next_step(plan, tries(("pnp-miraflores/1", Out.ACKNOWLEDGED, 20)), at(30)).kind
        is StepKind.DONE
    )
    assert (
        next_step(plan, tries(("pnp-miraflores/1", Out.RINGING, None)), at(5)).kind is StepKind.WAIT
    )


def everything(plan: AgencyPlan) -> list[Try]:
    made: list[Try] = []
    clock = 0.0
    for planned in plan.targets:
        for _ in range(plan.policy.attempts_per_target):
            clock += 100
            made.append(Try(target=planned.target.id, outcome=Out.NO_ANSWER, ended_at=at(clock)))
    return made


def test_after_every_target_the_supervisor_then_unanswered(plan: AgencyPlan) -> None:
    made = everything(plan)
    assert len(made) == 8
    step = next_step(plan, made, at(900))
    assert step.kind is StepKind.SUPERVISOR
    assert step.target is not None
    assert step.target.target.id == "centre/supervisor/1"
    assert step.reason == (
        "Policía Nacional del Perú no respondió en ningún destino: se avisa a «Supervisión»."
    )
    made.append(Try(target="centre/supervisor/1", outcome=Out.ANSWERED, ended_at=at(950)))
    step = next_step(plan, made, at(951))
    assert step.kind is StepKind.UNANSWERED


class FakeLimiter:
    """A limiter whose ``full`` destinations are at their limit; it grants the others."""

    def __init__(self, full: Sequence[str]) -> None:
        self.full = set(full)
        self.asked: list[str] = []
        self.released: list[Grant] = []

    def acquire(self, destination: str, limits: Sequence[Limit]) -> Verdict:
        self.asked.append(destination)
        if limits and destination in self.full:
            return Verdict(allowed=False, limit=limits[0], retry_in=300)
        return Verdict(allowed=True, grant=Grant(destination=destination, token="t"))

    def release(self, grant: Grant, limits: Sequence[Limit]) -> None:
        self.released.append(grant)


def test_a_held_back_destination_is_skipped_and_said(plan: AgencyPlan) -> None:
    limiter = FakeLimiter(["phone:014451111"])
    choice: Choice = choose(plan, [], T0, limiter)
    assert choice.step.target is not None
    assert choice.step.target.target.id == "pnp-miraflores/2"
    assert choice.step.number == 2
    [held] = choice.passed_over
    assert (held.target.target.id, held.number, held.outcome) == (
        "pnp-miraflores/1",
        1,
        Out.HELD_BACK,
    )
    assert held.verdict is not None
    assert (str(held.verdict.limit), held.verdict.retry_in) == ("3/15m", 300)
    assert held.reason == (
        "«Guardia» alcanzó su límite de llamadas (3 en 15 min): se pasa al siguiente destino."
    )
    assert limiter.asked == ["phone:014451111", "talkgroup:11022"]
    # the slot counted is the chosen call's, for the caller to give back if not placed
    assert choice.grant == Grant(destination="talkgroup:11022", token="t")
    assert limiter.released == []


def test_a_target_whose_medium_has_no_adapter_is_skipped_at_once(plan: AgencyPlan) -> None:
    limiter = FakeLimiter([])
    no_voice = frozenset(Medium) - {Medium.VOICE}
    choice = choose(plan, [], T0, limiter, no_voice)
    assert choice.step.target is not None
    assert (choice.step.target.target.id, choice.step.number) == ("pnp-miraflores/2", 2)
    [skipped] = choice.passed_over
    assert (skipped.target.target.id, skipped.number, skipped.outcome, skipped.verdict) == (
        "pnp-miraflores/1",
        1,
        Out.SKIPPED,
        None,
    )
    assert skipped.reason == (
        "«Guardia»: el canal de telefonía no está configurado; se pasa al siguiente destino."
    )
    assert limiter.asked == ["talkgroup:11022"]  # a skipped target takes no slot
    # with no medium of any target, every target is skipped and then the supervisors'
    # line too: nothing is left but to give up
    choice = choose(plan, [], T0, limiter, frozenset({Medium.SMS}))
    assert choice.step.kind is StepKind.UNANSWERED
    assert [(p.target.target.id, p.outcome) for p in choice.passed_over] == [
        ("pnp-miraflores/1", Out.SKIPPED),
        ("pnp-miraflores/2", Out.SKIPPED),
        ("pnp-san-antonio/1", Out.SKIPPED),
        ("pnp-105/1", Out.SKIPPED),
        ("centre/supervisor/1", Out.SKIPPED),
    ]
    assert [p.number for p in choice.passed_over] == [1, 2, 3, 4, 5]
    assert choice.grant is None


def test_a_skipped_target_is_not_tried_again(plan: AgencyPlan) -> None:
    made = tries(("pnp-miraflores/1", Out.SKIPPED, 0))
    step = next_step(plan, made, at(1))
    assert step.target is not None
    # the next target, at once: the skipped one never rang
    assert (step.target.target.id, step.not_before, step.number) == ("pnp-miraflores/2", at(1), 2)


def test_a_call_not_yet_due_takes_nothing_from_the_limits(plan: AgencyPlan) -> None:
    limiter = FakeLimiter([])
    choice = choose(plan, tries(("pnp-miraflores/1", Out.NO_ANSWER, 25)), at(26), limiter)
    assert choice.step.not_before == at(55)
    assert choice.grant is None
    assert limiter.asked == []


def test_when_every_destination_left_is_full_the_supervisors_hear_of_it(plan: AgencyPlan) -> None:
    limiter = FakeLimiter([t.target.destination for t in plan.targets])
    # the talkgroup and the 105 central have no limits: they were tried and did not answer
    made = tries(
        ("pnp-miraflores/2", Out.NO_ANSWER, 30),
        ("pnp-miraflores/2", Out.NO_ANSWER, 90),
        ("pnp-105/1", Out.NO_ANSWER, 150),
        ("pnp-105/1", Out.NO_ANSWER, 210),
    )
    choice = choose(plan, made, at(400), limiter)
    assert choice.step.kind is StepKind.SUPERVISOR
    assert [(h.target.target.id, h.outcome) for h in choice.passed_over] == [
        ("pnp-miraflores/1", Out.HELD_BACK),
        ("pnp-san-antonio/1", Out.HELD_BACK),
    ]


def test_no_limits_at_all() -> None:
    verdict = NoLimits().acquire("phone:1", [Limit(count=1, seconds=1)])
    assert verdict.allowed
    assert verdict.grant is None  # nothing counted: nothing to give back
