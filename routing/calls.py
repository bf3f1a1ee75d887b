"""Calls: each agency's escalation and the contacts of an incident, as dispatch, the
escalation jobs and people (operators, supervisors) move them on. What the media report
moves them on in :mod:`routing.contacts`.

Every method is one transaction that locks the incident's row, so an acknowledgement,
a retry, a manual acknowledgement and a cancellation that race are serialised, and the
loser sees the winner's result: no contact is created for an agency after it
acknowledged, and one already being placed when that happens is withdrawn. Rate-limit
slots are counted in the transaction that places the try, and given back if it does not
commit.

:meth:`CallStore.resume_stalled` is the backstop of the escalations: an agency still
pending, with no try in flight, whose next step is overdue (its job lost or failed in an
outage of Redis, the database, the workers or the scheduler) gets that step taken, with
how late it was in its log.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, exists, select, update

from routing import rows as mapped
from routing import schema as t
from routing.contacts import ContactLedger
from routing.decide import Decision, PlannedTarget
from routing.dispatching import DispatchStore
from routing.errors import Conflict, NotFound
from routing.escalation import LEAVE_TARGET, Step, StepKind, next_step
from routing.events import EscalationResumed, LegDropped, LegRequested, event
from routing.ledger import IN_FLIGHT_VALUES, LIVE, EscalationState, Ledger, Out, stop_agency
from routing.lifecycle import FINAL as ENDED
from routing.models import (
    AckMethod,
    AssignmentState,
    Contact,
    ContactRole,
    ContactState,
    Incident,
    Medium,
    Status,
)
from routing.ratelimits import Limiter
from routing.store import IncidentStore

# a step this late with nothing to take it is taken by the reconciliation
RESUME_GRACE = timedelta(seconds=10)
# a scheduled job may run this much before its time (RQ's scheduler polls about once a
# second): its step is taken, not scheduled again under the key of the job running it
JOB_EARLY = timedelta(seconds=2)


@dataclass(frozen=True, kw_only=True, slots=True)
class Resumed:
    incident_id: str
    agency: str
    step: Step
    late: timedelta


class CallStore:
    def __init__(
        self, dispatches: DispatchStore, limiter: Limiter, media: Collection[Medium]
    ) -> None:
        """``media``: the media with an adapter configured (a target of another medium
        is skipped at once)."""
        self.dispatches = dispatches
        self.incidents: IncidentStore = dispatches.incidents
        self.db = dispatches.db
        self.clock = dispatches.clock
        self.ledger = Ledger(self.incidents, limiter, media)
        self.contacts = ContactLedger(self.ledger)

    def dispatch(
        self, incident_id: str, decision: Decision, *, revision_id: int, actor: str
    ) -> Incident:
        """Freeze the decision and start the contacts, in one transaction: the
        operator's, and for each agency its first step."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            row_id = self.dispatches.freeze(
                conn, incident_id, decision, revision_id=revision_id, actor=actor, now=now
            )
            if decision.operator is not None and not self._operator_on(conn, row_id):
                self.ledger.new_contact(
                    conn, row_id, ContactRole.OPERATOR, decision.operator, actor=actor, now=now
                )
                self.incidents.log(
                    conn,
                    row_id,
                    now,
                    event(
                        LegRequested(role=ContactRole.OPERATOR.value),
                        actor=actor,
                        cause=f"se llama al operador ({decision.operator.station_name})",
                    ),
                )
            for plan in decision.plans:
                self.ledger.take(conn, slots, row_id, incident_id, plan, [], now)
            return self.incidents.read(conn, row_id)

    def call_operator(
        self, incident_id: str, operator: PlannedTarget, *, actor: str, cause: str
    ) -> bool:
        """Call the district operator into the incident's room before it is dispatched
        (a citizen on the phone asked for the operator): whether a call was started (not
        when one is on or on its way already, nor for an incident that ended). The
        incident's dispatch later does not call the operator again while this leg is
        on."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, _):
            row = self.incidents.locked(conn, incident_id)
            if Status(row.status) in ENDED or self._operator_on(conn, row.id):
                return False
            ref = self.ledger.new_contact(
                conn, row.id, ContactRole.OPERATOR, operator, actor=actor, now=now
            )
            self.incidents.log(
                conn,
                row.id,
                now,
                event(
                    LegRequested(role=ContactRole.OPERATOR.value, leg=ref),
                    actor=actor,
                    cause=f"se llama al operador ({operator.station_name}): {cause}",
                ),
            )
            return True

    def _operator_on(self, conn: Connection, row_id: int) -> bool:
        """An operator's leg of the incident is on, or about to be placed."""
        c = t.contacts.c
        found = conn.execute(
            select(c.id).where(
                c.incident_id == row_id,
                c.role == ContactRole.OPERATOR.value,
                c.state.in_((ContactState.PENDING.value, *LIVE)),
            )
        ).first()
        return found is not None

    def escalate(self, incident_id: str, agency: str, after: int) -> Step | None:
        """Take the agency's next step once try ``after`` ended. None if the state moved
        on meanwhile (a job that lost a race does nothing, and counts no rate limit)."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            row = self.incidents.locked(conn, incident_id)
            found = self.ledger.escalation_state(conn, row.id, agency, after)
            if found is None:
                return None
            return self.ledger.take(
                conn, slots, row.id, incident_id, found.plan, found.tries, now, early=JOB_EARLY
            )

    def resume_stalled(self) -> list[Resumed]:
        """Take the overdue next step of every escalation that nothing else will take.
        Every waiting escalation is looked at in one read transaction; only the overdue
        ones are written, each in a transaction of its own that checks again."""
        now = self.clock.now()
        a, s, i = t.attempts.c, t.assignments.c, t.incidents.c
        in_flight = exists().where(
            a.incident_id == s.incident_id, a.agency == s.agency, a.outcome.in_(IN_FLIGHT_VALUES)
        )
        with self.db.read() as conn:
            candidates = conn.execute(
                select(i.id, i.public_id, s.agency)
                .join(t.incidents, i.id == s.incident_id)
                .where(
                    s.state == AssignmentState.PENDING.value,
                    i.status.not_in([st.value for st in ENDED]),
                    ~in_flight,
                )
                .order_by(s.id)
            ).all()
            overdue = [
                (incident_id, agency)
                for row_id, incident_id, agency in candidates
                if self._overdue(conn, row_id, agency, now) is not None
            ]
        resumed = []
        for incident_id, agency in overdue:
            done = self._resume(incident_id, agency, now)
            if done is not None:
                resumed.append(done)
        return resumed

    def _overdue(
        self, conn: Connection, row_id: int, agency: str, now: datetime
    ) -> tuple[EscalationState, datetime] | None:
        """The agency's escalation and when its next step was due, if that is more than
        :data:`RESUME_GRACE` ago."""
        found = self.ledger.escalation_state(conn, row_id, agency, None)
        if found is None or not found.tries:
            return None
        step = next_step(found.plan, found.tries, now)
        if step.kind in (StepKind.WAIT, StepKind.DONE):
            return None
        last = found.tries[-1]
        # a step due at once (after a decline, a target passed over) or the end of the
        # plan was due when the last try ended
        at_once = last.outcome in LEAVE_TARGET or step.not_before is None
        due = last.ended_at if at_once else step.not_before
        if due is None or due > now - RESUME_GRACE:
            return None  # its job has time yet
        return found, due

    def _resume(self, incident_id: str, agency: str, now: datetime) -> Resumed | None:
        with self.ledger.writing() as (conn, slots):
            row = self.incidents.locked(conn, incident_id)
            overdue = self._overdue(conn, row.id, agency, now)
            if overdue is None:
                return None
            found, due = overdue
            late = now - due
            after = len(found.tries)
            self.incidents.log(
                conn,
                row.id,
                now,
                event(
                    EscalationResumed(
                        agency=agency,
                        after=after,
                        due_at=due.isoformat(),
                        late_seconds=round(late.total_seconds(), 1),
                    ),
                    actor="system:reconciliation",
                    cause=f"el siguiente paso de {found.plan.agency_name} estaba pendiente "
                    f"desde hace {round(late.total_seconds())} s; se retoma",
                ),
            )
            taken = self.ledger.take(conn, slots, row.id, incident_id, found.plan, found.tries, now)
            return Resumed(incident_id=incident_id, agency=agency, step=taken, late=late)

    def acknowledge(self, incident_id: str, agency: str, *, actor: str, cause: str) -> bool:
        """A supervisor acknowledges for an agency by hand: its escalation stops, a
        contact of it in flight is withdrawn. False if it had acknowledged already."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.open_incident(conn, incident_id, "registrar una confirmación")
            state = conn.execute(
                select(t.assignments.c.state).where(
                    t.assignments.c.incident_id == row.id, t.assignments.c.agency == agency
                )
            ).scalar_one_or_none()
            if state is None:
                raise NotFound(f"{agency} no está entre las entidades despachadas a {incident_id}")
            if state == AssignmentState.ACKNOWLEDGED.value:
                return False
            self.ledger.record_ack(conn, row.id, agency, None, AckMethod.MANUAL, actor, now, cause)
            stop_agency(conn, row.id, agency, now, "confirmada a mano")
            return True

    def open_incident(self, conn: Connection, incident_id: str, what: str) -> Row[Any]:
        """The incident's row, locked, if it is dispatched and still open."""
        row = self.incidents.locked(conn, incident_id)
        status = Status(row.status)
        if status in ENDED or status is Status.RECEIVED:
            raise Conflict(f"{incident_id} está {status.label}: no se puede {what}")
        return row

    def add_leg(
        self,
        incident_id: str,
        target: PlannedTarget,
        *,
        actor: str,
        role: ContactRole = ContactRole.GUEST,
    ) -> Contact:
        """An operator brings another line into the room (or calls the district's
        operator line again: ``role`` operator)."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.open_incident(conn, incident_id, "llamar a su sala")
            ref = self.ledger.new_contact(conn, row.id, role, target, actor=actor, now=now)
            self.incidents.log(
                conn,
                row.id,
                now,
                event(
                    LegRequested(role=role.value, dial=target.target.dial, leg=ref),
                    actor=actor,
                    cause=f"se llama a «{target.target.label}» a la sala",
                ),
            )
            found = self.ledger.contact_row(conn, ref)
            assert found is not None  # noqa: S101 - inserted just above
            return mapped.contact(found, incident_id)

    def drop_leg(self, incident_id: str, ref: str, *, actor: str) -> Contact:
        """Hang up one leg (a pending one is never placed). A responder's try dropped
        before it was placed ends cancelled, and its agency's escalation goes on. A leg
        already cancelled, ended or being hung up changes nothing and logs nothing: a
        retried request answers as the first did."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            row = self.incidents.locked(conn, incident_id)
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or contact.incident_id != row.id:
                raise NotFound(f"{incident_id} no tiene el tramo {ref}")
            c = t.contacts.c
            if contact.state == ContactState.PENDING.value:
                conn.execute(
                    update(t.contacts)
                    .where(c.id == contact.id, c.state == ContactState.PENDING.value)
                    .values(state=ContactState.CANCELLED.value, updated_at=now)
                )
                if contact.attempt_id is not None:
                    attempt = conn.execute(
                        select(t.attempts).where(t.attempts.c.id == contact.attempt_id)
                    ).one()
                    if attempt.outcome in IN_FLIGHT_VALUES:
                        self.ledger.end_attempt(
                            conn, slots, contact, attempt, Out.CANCELLED, now,
                            "retirado por el operador antes de llamar",
                        )  # fmt: skip
            elif ContactState(contact.state).live and not contact.withdraw:
                conn.execute(
                    update(t.contacts)
                    .where(c.id == contact.id, c.state.in_(LIVE))
                    .values(withdraw=True, updated_at=now)
                )
            else:  # dropped already, or over: nothing to do, nothing to log
                return mapped.contact(contact, incident_id)
            self.incidents.log(
                conn,
                row.id,
                now,
                event(
                    LegDropped(leg=ref),
                    actor=actor,
                    cause=f"se retira «{contact.label}» de la sala",
                ),
            )
            found = self.ledger.contact_row(conn, ref)
            assert found is not None  # noqa: S101
            return mapped.contact(found, incident_id)

    def legs(self, incident_id: str) -> list[Contact]:
        """The incident's contacts, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.contacts)
                .join(t.incidents, t.incidents.c.id == t.contacts.c.incident_id)
                .where(t.incidents.c.public_id == incident_id)
                .order_by(t.contacts.c.id)
            ).all()
        return [mapped.contact(r, incident_id) for r in rows]
