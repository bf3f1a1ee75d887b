"""What to do next for one agency of one incident, from its frozen plan and its tries.

Pure: the jobs that place calls (and the tests) feed it the tries so far and act on the
:class:`Step` it returns. The order is the plan's: each target ``attempts_per_target``
times, ``retry_after`` seconds apart; a target whose responder pressed 2 (declined) or
whose rate limit held a call back, or whose medium has no adapter, is left at once for
the next; a talkgroup patched into
the room is not patched again (the next target comes after the interval, unless someone
acknowledges for the agency meanwhile); after the last target
the centre's supervisor line(s); then the agency is unanswered on that incident.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from routing.decide import AgencyPlan, PlannedTarget
from routing.models import AttemptOutcome, Medium
from routing.ratelimits import Grant, Limiter, Verdict

Out = AttemptOutcome
IN_FLIGHT = frozenset({Out.PENDING, Out.RINGING, Out.PROMPTING})
PASSED_OVER = frozenset({Out.HELD_BACK, Out.SKIPPED})  # never placed
LEAVE_TARGET = frozenset({Out.DECLINED}) | PASSED_OVER  # move on at once
# not tried again: left at once, or (a talkgroup patched into the room, still listening)
# left once the retry interval has passed without an acknowledgement
NO_REPEAT = LEAVE_TARGET | {Out.PATCHED}


@dataclass(frozen=True, kw_only=True, slots=True)
class Try:
    target: str  # the target's id
    outcome: AttemptOutcome
    ended_at: datetime | None = None


class StepKind(StrEnum):
    CALL = "call"  # call one of the agency's targets
    SUPERVISOR = "supervisor"  # call the centre's supervisors about this agency
    WAIT = "wait"  # a try is in flight: its outcome decides
    UNANSWERED = "unanswered"  # nothing left to try
    DONE = "done"  # the agency acknowledged


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    kind: StepKind
    target: PlannedTarget | None = None
    not_before: datetime | None = None  # CALL and SUPERVISOR: not before this time
    number: int = 0  # the number this try will have among the agency's tries
    reason: str = ""

    def due(self, now: datetime) -> bool:
        return self.not_before is None or self.not_before <= now


@dataclass(frozen=True, kw_only=True, slots=True)
class PassedOver:
    """A due target not tried: its rate limit was reached (``verdict``), or no adapter of
    its medium is configured."""

    target: PlannedTarget
    number: int
    outcome: AttemptOutcome  # HELD_BACK or SKIPPED
    verdict: Verdict | None = None

    @property
    def reason(self) -> str:
        name = self.target.target.label or self.target.target.id
        if self.outcome is Out.SKIPPED:
            medium = self.target.target.kind.medium
            return (
                f"«{name}»: el canal de {medium.label} no está configurado; se pasa al "
                "siguiente destino."
            )
        limit = self.verdict.limit if self.verdict is not None else None
        shown = limit.spanish() if limit is not None else "su límite"
        return f"«{name}» alcanzó su límite de llamadas ({shown}): se pasa al siguiente destino."


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    step: Step
    passed_over: tuple[PassedOver, ...] = field(default_factory=tuple)
    grant: Grant | None = None  # the rate-limit slot counted for the step's call


def next_step(plan: AgencyPlan, tries: Sequence[Try], now: datetime) -> Step:
    if any(t.outcome is Out.ACKNOWLEDGED for t in tries):
        return Step(kind=StepKind.DONE, reason="La entidad confirmó la atención.")
    if tries and tries[-1].outcome in IN_FLIGHT and tries[-1].ended_at is None:
        return Step(kind=StepKind.WAIT, reason="Hay una llamada en curso.")
    made: dict[str, int] = {}
    left: set[str] = set()
    for t in tries:
        made[t.target] = made.get(t.target, 0) + 1
        if t.outcome in NO_REPEAT:
            left.add(t.target)
    number = len(tries) + 1
    when = _when(plan, tries, now)
    for planned in plan.targets:
        tid = planned.target.id
        if tid not in left and made.get(tid, 0) < plan.policy.attempts_per_target:
            n = made.get(tid, 0) + 1
            return Step(
                kind=StepKind.CALL,
                target=planned,
                not_before=when,
                number=number,
                reason=f"Intento {n} de {plan.policy.attempts_per_target} a "
                f"«{planned.target.label or tid}» ({planned.station_name}).",
            )
    for planned in plan.supervisor:
        tid = planned.target.id
        if tid not in left and made.get(tid, 0) == 0:
            return Step(
                kind=StepKind.SUPERVISOR,
                target=planned,
                not_before=when,
                number=number,
                reason=f"{plan.agency_name} no respondió en ningún destino: se avisa a "
                f"«{planned.target.label or tid}».",
            )
    return Step(
        kind=StepKind.UNANSWERED,
        reason=f"{plan.agency_name} no respondió y la supervisión ya fue avisada.",
    )


def _when(plan: AgencyPlan, tries: Sequence[Try], now: datetime) -> datetime:
    """The next try waits ``retry_after`` after the previous call ended; after a decline
    or a call held back it may go at once."""
    if not tries or tries[-1].outcome in LEAVE_TARGET:
        return now
    calls = sum(1 for t in tries if t.outcome not in PASSED_OVER)
    ended = tries[-1].ended_at or now
    return ended + timedelta(seconds=plan.policy.wait_before(calls + 1))


def choose(
    plan: AgencyPlan,
    tries: Sequence[Try],
    now: datetime,
    limiter: Limiter,
    media: Collection[Medium] = frozenset(Medium),
) -> Choice:
    """The next step, taking into account the media that have an adapter (``media``) and
    the rate limits of the destinations: a due target of another medium is skipped, a due
    call to a destination at its limit is held back, and the plan moves on. The limiter
    counts the call that is returned (it is to be placed now: the caller gives the slot
    back with :meth:`Limiter.release` if it is not)."""
    passed: list[PassedOver] = []
    seen = list(tries)
    while True:
        step = next_step(plan, seen, now)
        if step.target is None or not step.due(now):
            return Choice(step=step, passed_over=tuple(passed))
        target = step.target.target
        if target.kind.medium not in media:
            outcome, verdict = Out.SKIPPED, None
        else:
            verdict = limiter.acquire(target.destination, target.limits)
            if verdict.allowed:
                return Choice(step=step, passed_over=tuple(passed), grant=verdict.grant)
            outcome = Out.HELD_BACK
        passed.append(
            PassedOver(target=step.target, number=step.number, outcome=outcome, verdict=verdict)
        )
        seen.append(Try(target=target.id, outcome=outcome, ended_at=now))
