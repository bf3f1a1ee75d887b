"""Dispatch: the decision frozen on the incident, one assignment per agency with its
plan, and the tries each agency's escalation makes (see :mod:`routing.escalation`)."""

from datetime import datetime

from sqlalchemy import Connection, insert, select

from routing import schema as t
from routing.decide import Decision, decision_from_json, decision_to_json, plan_to_json
from routing.errors import Conflict
from routing.events import StatusChanged, event
from routing.lifecycle import check_transition
from routing.models import Assignment, AssignmentState, Incident, Status
from routing.store import FollowUp, IncidentStore


class DispatchStore:
    def __init__(self, incidents: IncidentStore) -> None:
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock

    def dispatch(
        self,
        incident_id: str,
        decision: Decision,
        *,
        revision_id: int,
        actor: str,
        follow_up: FollowUp | None = None,
    ) -> Incident:
        """Freeze ``decision`` on the incident and move it to ``dispatched``, with one
        assignment per agency; all in one transaction. Refused with :class:`Conflict` if
        the incident's category, district or priority changed since the decision."""
        now = self.clock.now()
        with self.db.write() as conn:
            row_id = self.freeze(
                conn, incident_id, decision, revision_id=revision_id, actor=actor, now=now
            )
            incident = self.incidents.read(conn, row_id)
            if follow_up is not None:
                self.incidents.add_tasks(conn, follow_up(incident), now)
        return incident

    def freeze(
        self,
        conn: Connection,
        incident_id: str,
        decision: Decision,
        *,
        revision_id: int,
        actor: str,
        now: datetime,
    ) -> int:
        """:meth:`dispatch` inside the caller's transaction; the incident's row id."""
        row = self.incidents.locked(conn, incident_id)
        current = Status(row.status)
        if current is Status.DISPATCHED:
            raise Conflict(f"{incident_id} ya fue despachado")
        check_transition(incident_id, current, Status.DISPATCHED)
        facts = decision.facts
        if (facts.category, facts.district, facts.priority.value) != (
            row.category,
            row.district,
            row.priority,
        ):
            raise Conflict(f"{incident_id} cambió después de la decisión: decida de nuevo")
        conn.execute(
            insert(t.dispatches).values(
                incident_id=row.id,
                revision_id=revision_id,
                decided_at=now,
                actor=actor,
                decision=decision_to_json(decision),
            )
        )
        if decision.plans:
            conn.execute(
                insert(t.assignments),
                [
                    {
                        "incident_id": row.id,
                        "agency": plan.agency,
                        "priority": plan.priority,
                        "state": AssignmentState.PENDING.value,
                        "plan": plan_to_json(plan),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for plan in decision.plans
                ],
            )
        self.incidents.log(
            conn,
            row.id,
            now,
            event(
                StatusChanged(
                    from_=current.value,
                    to=Status.DISPATCHED.value,
                    rule=decision.rule,
                    revision=revision_id,
                    agencies=tuple(p.agency for p in decision.plans),
                ),
                actor=actor,
                cause=f"despachado según la regla «{decision.rule}»",
            ),
            status=(current, Status.DISPATCHED),
        )
        return int(row.id)

    def decision(self, incident_id: str) -> tuple[Decision, int, datetime, str] | None:
        """The decision frozen at the incident's latest dispatch: ``(decision, revision,
        when, who)``; None if it was never dispatched."""
        d = t.dispatches.c
        with self.db.read() as conn:
            row = conn.execute(
                select(t.dispatches)
                .join(t.incidents, t.incidents.c.id == d.incident_id)
                .where(t.incidents.c.public_id == incident_id)
                .order_by(d.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return decision_from_json(row.decision), row.revision_id, row.decided_at, row.actor

    def assignments(self, incident_id: str) -> list[Assignment]:
        a = t.assignments.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.assignments)
                .join(t.incidents, t.incidents.c.id == a.incident_id)
                .where(t.incidents.c.public_id == incident_id)
                .order_by(a.priority, a.id)
            ).all()
        return [
            Assignment(
                incident_id=incident_id,
                agency=r.agency,
                priority=r.priority,
                state=AssignmentState(r.state),
                plan=dict(r.plan),
            )
            for r in rows
        ]
