"""Dispatch and its explanation, the escalation steps, and what people do to calls.

Synchronous (the API runs it in its I/O threads, the worker in its jobs). Every change
that may have left contacts to place or tasks to relay notifies the :class:`Wakeup` it
was built with."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from routing.calls import CallStore, Resumed
from routing.decide import Decision, Facts, PlannedTarget, decide
from routing.dispatching import DispatchStore
from routing.escalation import Step
from routing.models import Contact, ContactRole, Incident
from routing.ports import Clock
from routing.store import IncidentStore
from voicebridge.rules import RulesInForce
from voicebridge.wakeup import Wakeup

log = logging.getLogger(__name__)


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
        clock: Clock,
        wakeup: Wakeup,
        *,
        failing: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        """``failing``: the lines that failed their last checks, in words
        (:meth:`routing.linechecks.LineChecks.failing`), which the decision marks."""
        self.store = store
        self.calls = calls
        self.dispatches: DispatchStore = calls.dispatches
        self.rules = rules
        self.clock = clock
        self.wakeup = wakeup
        self.failing = failing

    def decide(self, incident: Incident) -> tuple[Decision, int]:
        config, revision = self.rules.current()
        facts = Facts(
            category=incident.category,
            district=incident.district,
            priority=incident.priority,
            at=self.clock.now(),
        )
        return decide(config, facts, failing=self._failing()), revision.id

    def _failing(self) -> Mapping[str, str]:
        """The failing lines to mark; none when they cannot be read (a dispatch never
        fails for the line checks' sake)."""
        try:
            return self.failing()
        except Exception:
            log.exception("dispatch: the failing lines could not be read; not marked")
            return {}

    def dispatch(self, incident_id: str, *, actor: str) -> Explanation:
        """Decide with the rules in force, freeze the decision on the incident and start
        the contacts: the district operator into the room, each agency's first target."""
        incident = self.store.get(incident_id)
        decision, revision = self.decide(incident)
        now = self.clock.now()
        incident = self.calls.dispatch(incident_id, decision, revision_id=revision, actor=actor)
        self.wakeup.notify()
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
        step = self.calls.escalate(incident_id, agency, after)
        if step is not None:
            self.wakeup.notify()
        return step

    def resume_stalled(self) -> list[Resumed]:
        """The reconciliation of the escalations (see :meth:`CallStore.resume_stalled`)."""
        resumed = self.calls.resume_stalled()
        if resumed:
            self.wakeup.notify()
        return resumed

    def acknowledge(self, incident_id: str, agency: str, *, actor: str, cause: str) -> bool:
        done = self.calls.acknowledge(incident_id, agency, actor=actor, cause=cause)
        self.wakeup.notify()
        return done

    def add_leg(
        self,
        incident_id: str,
        target: PlannedTarget,
        *,
        actor: str,
        role: ContactRole = ContactRole.GUEST,
    ) -> Contact:
        leg = self.calls.add_leg(incident_id, target, actor=actor, role=role)
        self.wakeup.notify()
        return leg

    def call_operator(
        self, incident_id: str, operator: PlannedTarget, *, actor: str, cause: str
    ) -> bool:
        """The operator into the room of an incident not dispatched yet (see
        :meth:`CallStore.call_operator`)."""
        started = self.calls.call_operator(incident_id, operator, actor=actor, cause=cause)
        if started:
            self.wakeup.notify()
        return started

    def drop_leg(self, incident_id: str, ref: str, *, actor: str) -> Contact:
        leg = self.calls.drop_leg(incident_id, ref, actor=actor)
        self.wakeup.notify()
        return leg
