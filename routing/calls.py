"""Calls: the legs of an incident's conference and the tries of each agency's
escalation, as dispatch, the escalation jobs and people (operators, supervisors) move
them on. What Asterisk reports moves them on in :mod:`routing.callevents`.

Every method is one transaction that locks the incident's row, so an acknowledgement,
a retry, a manual acknowledgement and a cancellation that race are serialised, and the
loser sees the winner's result: no call is created for an agency after it acknowledged,
and a leg already being placed when that happens is hung up.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from routing import rows as mapped
from routing import schema as t
from routing.callevents import CallEvents
from routing.decide import AgencyPlan, Decision, PlannedTarget
from routing.dispatching import DispatchStore
from routing.errors import Conflict, NotFound
from routing.escalation import Choice, Step, Try
from routing.ledger import LIVE, Ledger
from routing.lifecycle import FINAL as ENDED
from routing.models import (
    AckMethod,
    AssignmentState,
    Incident,
    Leg,
    LegRole,
    LegState,
    Status,
)
from routing.store import IncidentStore


class CallStore:
    def __init__(self, dispatches: DispatchStore) -> None:
        self.dispatches = dispatches
        self.incidents: IncidentStore = dispatches.incidents
        self.db = dispatches.db
        self.clock = dispatches.clock
        self.ledger = Ledger(self.incidents)
        self.events = CallEvents(self.ledger)

    def dispatch(
        self,
        incident_id: str,
        decision: Decision,
        choices: Mapping[str, Choice],
        *,
        revision_id: int,
        actor: str,
    ) -> Incident:
        """Freeze the decision and start the calls, in one transaction: the operator's
        leg, and for each agency its first step (``choices``, taken with the rate
        limits by the caller)."""
        now = self.clock.now()
        with self.db.write() as conn:
            row_id = self.dispatches.freeze(
                conn, incident_id, decision, revision_id=revision_id, actor=actor, now=now
            )
            if decision.operator is not None:
                self.ledger.new_leg(
                    conn, row_id, LegRole.OPERATOR, decision.operator, actor=actor, now=now
                )
                self.incidents.log(
                    conn,
                    row_id,
                    now,
                    actor=actor,
                    kind="leg_requested",
                    cause=f"se llama al operador ({decision.operator.station_name})",
                    data={"role": "operator"},
                )
            for plan in decision.plans:
                self.ledger.take(conn, row_id, incident_id, plan, choices[plan.agency], [], now)
            return self.incidents.read(conn, row_id)

    def pending_step(
        self, incident_id: str, agency: str, after: int
    ) -> tuple[AgencyPlan, list[Try]] | None:
        """The agency's frozen plan and tries if its escalation waits for the step after
        try ``after``; None if there is nothing to do (acknowledged, cancelled, a newer
        try exists, the try is still in flight)."""
        with self.db.read() as conn:
            found = self.ledger.escalation_state(conn, incident_id, agency, after)
        return None if found is None else (found[1], found[2])

    def escalate(self, incident_id: str, agency: str, after: int, choice: Choice) -> Step | None:
        """Take the agency's next step, chosen by the caller after :meth:`pending_step`.
        Returns the step taken, or None if the state moved on meanwhile (the step is
        then not taken: a job that lost a race does nothing)."""
        now = self.clock.now()
        with self.db.write() as conn:
            self.incidents.locked(conn, incident_id)
            found = self.ledger.escalation_state(conn, incident_id, agency, after)
            if found is None:
                return None
            row_id, plan, tries = found
            self.ledger.take(conn, row_id, incident_id, plan, choice, tries, now)
        return choice.step

    def acknowledge(self, incident_id: str, agency: str, *, actor: str, cause: str) -> bool:
        """A supervisor acknowledges for an agency by hand: its escalation stops, a call
        of it in flight is hung up. False if it had acknowledged already."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.open_incident(conn, incident_id, "acknowledge")
            state = conn.execute(
                select(t.assignments.c.state).where(
                    t.assignments.c.incident_id == row.id, t.assignments.c.agency == agency
                )
            ).scalar_one_or_none()
            if state is None:
                raise NotFound(f"{agency} is not among the agencies dispatched to {incident_id}")
            if state == AssignmentState.ACKNOWLEDGED.value:
                return False
            self.ledger.record_ack(conn, row.id, agency, None, AckMethod.MANUAL, actor, now, cause)
            self.ledger.stop_agency(conn, row.id, agency, now, "confirmada a mano")
            return True

    def open_incident(self, conn: Connection, incident_id: str, what: str) -> Row[Any]:
        """The incident's row, locked, if it is dispatched and still open."""
        row = self.incidents.locked(conn, incident_id)
        status = Status(row.status)
        if status in ENDED or status is Status.RECEIVED:
            raise Conflict(f"{incident_id} is {status.value}: cannot {what}")
        return row

    def stop_all(self, conn: Connection, row_id: int, now: datetime, why: str) -> None:
        """The incident ended (resolved, cancelled, merged): every escalation stops and
        every leg is hung up, in the caller's transaction."""
        conn.execute(
            update(t.assignments)
            .where(
                t.assignments.c.incident_id == row_id,
                t.assignments.c.state == AssignmentState.PENDING.value,
            )
            .values(state=AssignmentState.CANCELLED.value, updated_at=now)
        )
        agencies = (
            conn.execute(
                select(t.attempts.c.agency).where(t.attempts.c.incident_id == row_id).distinct()
            )
            .scalars()
            .all()
        )
        for agency in agencies:
            self.ledger.stop_agency(conn, row_id, agency, now, why, including_room=True)
        conn.execute(
            update(t.legs)
            .where(
                t.legs.c.incident_id == row_id,
                t.legs.c.attempt_id.is_(None),
                t.legs.c.state == LegState.PENDING.value,
            )
            .values(state=LegState.CANCELLED.value, updated_at=now)
        )
        conn.execute(
            update(t.legs)
            .where(
                t.legs.c.incident_id == row_id,
                t.legs.c.state.in_(LIVE),
            )
            .values(hangup=True, updated_at=now)
        )

    def add_leg(
        self,
        incident_id: str,
        target: PlannedTarget,
        *,
        actor: str,
        role: LegRole = LegRole.GUEST,
    ) -> Leg:
        """An operator brings another line into the room (or calls the district's
        operator line again: ``role`` operator)."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.open_incident(conn, incident_id, "call into its room")
            channel_id = self.ledger.new_leg(conn, row.id, role, target, actor=actor, now=now)
            self.incidents.log(
                conn,
                row.id,
                now,
                actor=actor,
                kind="leg_requested",
                cause=f"se llama a «{target.target.label}» a la sala",
                data={"role": role.value, "dial": target.target.dial, "leg": channel_id},
            )
            found = self.ledger.leg_row(conn, channel_id)
            assert found is not None  # noqa: S101 - inserted just above
            return mapped.leg(found, incident_id)

    def drop_leg(self, incident_id: str, channel_id: str, *, actor: str) -> Leg:
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.incidents.locked(conn, incident_id)
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or leg.incident_id != row.id:
                raise NotFound(f"{incident_id} has no leg {channel_id}")
            if leg.state == LegState.PENDING.value:
                conn.execute(
                    update(t.legs)
                    .where(t.legs.c.id == leg.id)
                    .values(state=LegState.CANCELLED.value, updated_at=now)
                )
            elif LegState(leg.state).live:
                conn.execute(
                    update(t.legs).where(t.legs.c.id == leg.id).values(hangup=True, updated_at=now)
                )
            self.incidents.log(
                conn,
                row.id,
                now,
                actor=actor,
                kind="leg_dropped",
                cause=f"se retira «{leg.label}» de la sala",
                data={"leg": channel_id},
            )
            found = self.ledger.leg_row(conn, channel_id)
            assert found is not None  # noqa: S101
            return mapped.leg(found, incident_id)

    def legs(self, incident_id: str) -> list[Leg]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.legs)
                .join(t.incidents, t.incidents.c.id == t.legs.c.incident_id)
                .where(t.incidents.c.public_id == incident_id)
                .order_by(t.legs.c.id)
            ).all()
        return [mapped.leg(r, incident_id) for r in rows]

    def live_channels(self) -> set[str]:
        with self.db.read() as conn:
            return set(
                conn.execute(select(t.legs.c.channel_id).where(t.legs.c.state.in_(LIVE))).scalars()
            )
