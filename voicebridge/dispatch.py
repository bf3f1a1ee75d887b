"""Dispatch and its explanation, the escalation steps, and what people do to calls.

Synchronous (the API runs it in its I/O threads, the worker in its jobs). ``wake`` tells
the AMI bridge that legs are waiting to be originated."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from routing.calls import CallStore
from routing.decide import Decision, Facts, PlannedTarget, decide
from routing.dispatching import DispatchStore
from routing.escalation import Step, choose
from routing.models import Incident, Leg, LegRole
from routing.ports import Clock
from routing.ratelimits import Limiter
from routing.store import IncidentStore
from voicebridge.rules import RulesInForce


@dataclass(frozen=True, kw_only=True, slots=True)
class Explanation:
    incident: Incident
    decision: Decision
    revision: int
    frozen: bool  # the decision of the dispatch (else: what the rules in force would do)
    decided_at: datetime | None = None
    decided_by: str | None = None


class Dispatcher:
    def __init__(
        self,
        store: IncidentStore,
        calls: CallStore,
        rules: RulesInForce,
        limiter: Limiter,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.calls = calls
        self.dispatches: DispatchStore = calls.dispatches
        self.rules = rules
        self.limiter = limiter
        self.clock = clock
        self.wake = wake

    def decide(self, incident: Incident) -> tuple[Decision, int]:
        config, revision = self.rules.current()
        facts = Facts(
            category=incident.category,
            district=incident.district,
            priority=incident.priority,
            at=self.clock.now(),
        )
        return decide(config, facts), revision.id

    def dispatch(self, incident_id: str, *, actor: str) -> Explanation:
        """Decide with the rules in force, freeze the decision on the incident and start
        the calls: the district operator into the room, each agency's first target."""
        incident = self.store.get(incident_id)
        decision, revision = self.decide(incident)
        now = self.clock.now()
        choices = {p.agency: choose(p, [], now, self.limiter) for p in decision.plans}
        incident = self.calls.dispatch(
            incident_id, decision, choices, revision_id=revision, actor=actor
        )
        self.wake()
        return Explanation(
            incident=incident,
            decision=decision,
            revision=revision,
            frozen=True,
            decided_at=now,
            decided_by=actor,
        )

    def explain(self, incident_id: str) -> Explanation:
        """The frozen decision of a dispatched incident; for one not dispatched yet, what
        the rules in force decide now."""
        incident = self.store.get(incident_id)
        frozen = self.dispatches.decision(incident_id)
        if frozen is not None:
            decision, revision, decided_at, actor = frozen
            return Explanation(
                incident=incident,
                decision=decision,
                revision=revision,
                frozen=True,
                decided_at=decided_at,
                decided_by=actor,
            )
        decision, revision = self.decide(incident)
        return Explanation(incident=incident, decision=decision, revision=revision, frozen=False)

    def escalate(self, incident_id: str, agency: str, after: int) -> Step | None:
        """The agency's next step once try ``after`` ended, by its frozen plan, with the
        destinations' rate limits; None when there is nothing (more) to do."""
        found = self.calls.pending_step(incident_id, agency, after)
        if found is None:
            return None
        plan, tries = found
        choice = choose(plan, tries, self.clock.now(), self.limiter)
        step = self.calls.escalate(incident_id, agency, after, choice)
        if step is not None:
            self.wake()
        return step

    def acknowledge(self, incident_id: str, agency: str, *, actor: str, cause: str) -> bool:
        done = self.calls.acknowledge(incident_id, agency, actor=actor, cause=cause)
        self.wake()
        return done

    def add_leg(
        self,
        incident_id: str,
        target: PlannedTarget,
        *,
        actor: str,
        role: LegRole = LegRole.GUEST,
    ) -> Leg:
        leg = self.calls.add_leg(incident_id, target, actor=actor, role=role)
        self.wake()
        return leg

    def drop_leg(self, incident_id: str, channel_id: str, *, actor: str) -> Leg:
        leg = self.calls.drop_leg(incident_id, channel_id, actor=actor)
        self.wake()
        return leg
