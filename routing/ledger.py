"""The contact ledger's building blocks: every contact transaction is made of them.

Each method works inside the caller's transaction (``conn``), on rows the caller has
locked through the incident (:meth:`IncidentStore.locked`, or :meth:`Ledger.contact_row`
with ``lock``). :class:`routing.calls.CallStore` (what dispatch, escalation jobs and
people do) and :class:`routing.contacts.ContactLedger` (what the adapters of every medium
report) are made of them.

A try that ends takes its agency's next step in the same transaction: at once when it is
due now (a decline, a target passed over), else as a delayed ``escalate`` task.
"""

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from routing import schema as t
from routing.decide import AgencyPlan, PlannedTarget, plan_from_json
from routing.escalation import IN_FLIGHT, Step, StepKind, Try, choose
from routing.events import (
    Acknowledged,
    AttemptEnded,
    Calling,
    LegLeft,
    RateLimited,
    StatusChanged,
    SupervisorCalled,
    TargetSkipped,
    Unanswered,
    event,
)
from routing.lifecycle import FINAL as ENDED
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactRole,
    ContactState,
    Medium,
    Status,
    Task,
)
from routing.ratelimits import Grant, Limiter
from routing.store import IncidentStore

Out = AttemptOutcome
FINAL = frozenset(set(Out) - IN_FLIGHT)
FINAL_VALUES = frozenset(o.value for o in FINAL)
IN_FLIGHT_VALUES = tuple(o.value for o in IN_FLIGHT)
LIVE = tuple(s.value for s in ContactState if s.live)
SYSTEM = "system:calls"

SPOKEN = {
    Out.NO_ANSWER: "no contestó", Out.BUSY: "ocupado", Out.CONGESTION: "red congestionada",
    Out.FAILED: "falló", Out.ANSWERED: "contestó sin elegir una opción",
    Out.DECLINED: "rechazó", Out.ACKNOWLEDGED: "aceptó",
    Out.CANCELLED: "cancelado", Out.HELD_BACK: "retenido por el límite de llamadas",
    Out.SKIPPED: "omitido: su canal no está configurado",
    Out.PATCHED: "enlazado a la sala (radio)", Out.DELIVERED: "mensaje entregado",
}  # fmt: skip


def _outcome_and_cause(outcome: AttemptOutcome, cause: str) -> str:
    """``ocupado (usuario ocupado, ...)``: the outcome in words, then the medium's
    cause unless it begins with the same words."""
    spoken = SPOKEN.get(outcome, outcome.label)
    if not cause or cause.startswith(spoken):
        return cause or spoken
    return f"{spoken}; {cause}"


def escalation_task(incident_id: str, agency: str, after: int, when: datetime) -> Task:
    """The job that takes the agency's next step once try ``after`` ended."""
    slug = agency.replace("-", "_")
    return Task(
        key=f"{incident_id}--esc_{slug}--{after}",
        name="escalate",
        args={"incident_id": incident_id, "agency": agency, "after": after},
        not_before=when,
    )


def new_ref() -> str:
    """The name of a new contact, chosen before it is placed (``vb-`` and 20 hex)."""
    return f"vb-{secrets.token_hex(10)}"


def address_of(planned: PlannedTarget) -> str:
    """What the adapter of the target's medium reaches: a dial string for calls and
    talkgroups, the number, chat or radio otherwise."""
    target = planned.target
    if target.kind.medium in (Medium.VOICE, Medium.TALKGROUP) and target.dial:
        return target.dial
    return target.address


@dataclass(frozen=True, kw_only=True, slots=True)
class EscalationState:
    row_id: int
    plan: AgencyPlan
    tries: list[Try]


class Slots:
    """Rate-limit slots counted inside a transaction, given back if it does not commit."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter
        self.taken: list[tuple[Grant, PlannedTarget]] = []

    def add(self, grant: Grant | None, target: PlannedTarget) -> None:
        if grant is not None:
            self.taken.append((grant, target))

    def give_back(self) -> None:
        for grant, target in self.taken:
            self.limiter.release(grant, target.target.limits)
        self.taken = []


class Ledger:
    def __init__(
        self, incidents: IncidentStore, limiter: Limiter, media: Collection[Medium]
    ) -> None:
        """``media``: the media with an adapter configured; a target of another medium
        is skipped."""
        self.incidents = incidents
        self.db = incidents.db
        self.clock = incidents.clock
        self.limiter = limiter
        self.media = frozenset(media)

    @contextmanager
    def writing(self) -> Iterator[tuple[Connection, Slots]]:
        """A write transaction; the rate-limit slots taken in it are given back if it
        does not commit (a refused dispatch, a lost race, a failure)."""
        slots = Slots(self.limiter)
        try:
            with self.db.write() as conn:
                yield conn, slots
        except BaseException:
            slots.give_back()
            raise

    # ----------------------------------------------------------- escalation

    def take(
        self,
        conn: Connection,
        slots: Slots,
        row_id: int,
        incident_id: str,
        plan: AgencyPlan,
        tries: Sequence[Try],
        now: datetime,
        *,
        early: timedelta = timedelta(0),
    ) -> Step:
        """Choose and take the agency's next step: record the targets passed over, then
        a contact (attempt + contact), the end (unanswered), or a job to come back
        later. The step's rate-limit slot is counted here, in the transaction. A step
        due within ``early`` counts as due (a scheduled job may run a little early)."""
        choice = choose(plan, tries, now + early, self.limiter, self.media)
        step = choice.step
        if step.target is not None:
            slots.add(choice.grant, step.target)
        agency = plan.agency
        number = len(tries)
        for passed in choice.passed_over:
            number += 1
            skipped = passed.target.target
            self.new_attempt(
                conn,
                row_id,
                agency,
                passed.target,
                number,
                passed.outcome,
                now,
                cause=passed.reason,
                ended=True,
            )
            if passed.outcome is Out.SKIPPED:
                payload: Any = TargetSkipped(
                    agency=agency, target=skipped.id, medium=skipped.kind.medium, number=number
                )
            else:
                verdict = passed.verdict
                payload = RateLimited(
                    agency=agency,
                    target=skipped.id,
                    destination=skipped.destination,
                    limit=str(verdict.limit or "") if verdict else "",
                    retry_in=round(verdict.retry_in, 1) if verdict else 0.0,
                )
            self.incidents.log(conn, row_id, now, event(payload, actor=SYSTEM, cause=passed.reason))
        if step.kind in (StepKind.CALL, StepKind.SUPERVISOR) and step.target is not None:
            if not step.due(now + early):
                self.incidents.add_tasks(
                    conn,
                    [escalation_task(incident_id, agency, number, step.not_before or now)],
                    now,
                )
                return step
            number += 1
            target = step.target
            attempt_id = self.new_attempt(conn, row_id, agency, target, number, Out.PENDING, now)
            supervisor = step.kind is StepKind.SUPERVISOR
            role = ContactRole.SUPERVISOR if supervisor else ContactRole.RESPONDER
            self.new_contact(
                conn,
                row_id,
                role,
                target,
                actor=SYSTEM,
                now=now,
                agency=agency,
                attempt_id=attempt_id,
            )
            medium = target.target.kind.medium
            payload = (SupervisorCalled if supervisor else Calling)(
                agency=agency, target=target.target.id, number=number, medium=medium
            )
            self.incidents.log(conn, row_id, now, event(payload, actor=SYSTEM, cause=step.reason))
        elif step.kind is StepKind.UNANSWERED:
            self.set_assignment(conn, row_id, agency, AssignmentState.UNANSWERED, now)
            self.incidents.log(
                conn, row_id, now, event(Unanswered(agency=agency), actor=SYSTEM, cause=step.reason)
            )
            self.settle_status(conn, row_id, now)
        return step

    def advance(
        self, conn: Connection, slots: Slots, row_id: int, agency: str, now: datetime
    ) -> Step | None:
        """After a try of ``agency`` ended: its next step, in this transaction, if its
        escalation is still on."""
        found = self.escalation_state(conn, row_id, agency, None)
        if found is None:
            return None
        incident_id = self.public_id(conn, row_id)
        return self.take(conn, slots, row_id, incident_id, found.plan, found.tries, now)

    def escalation_state(
        self, conn: Connection, row_id: int, agency: str, after: int | None
    ) -> EscalationState | None:
        """The agency's plan and tries if its escalation waits for a step (after try
        ``after``, when given); None if acknowledged, ended, cancelled, a newer try
        exists or a try is in flight."""
        row = conn.execute(
            select(t.incidents.c.status, t.assignments.c.state, t.assignments.c.plan)
            .join(t.assignments, t.assignments.c.incident_id == t.incidents.c.id)
            .where(t.incidents.c.id == row_id, t.assignments.c.agency == agency)
        ).first()
        if row is None or row.state != AssignmentState.PENDING.value:
            return None
        if Status(row.status) in ENDED:
            return None
        tries = self.tries(conn, row_id, agency)
        if after is not None and len(tries) != after:
            return None
        if tries and tries[-1].outcome not in FINAL:
            return None
        return EscalationState(row_id=row_id, plan=plan_from_json(row.plan), tries=tries)

    # ----------------------------------------------------------- rows

    def new_contact(
        self,
        conn: Connection,
        row_id: int,
        role: ContactRole,
        target: PlannedTarget,
        *,
        actor: str,
        now: datetime,
        agency: str | None = None,
        attempt_id: int | None = None,
    ) -> str:
        ref = new_ref()
        conn.execute(
            insert(t.contacts).values(
                incident_id=row_id,
                ref=ref,
                medium=target.target.kind.medium.value,
                role=role.value,
                state=ContactState.PENDING.value,
                address=address_of(target),
                label=target.target.label or target.target.id,
                agency=agency,
                attempt_id=attempt_id,
                withdraw=False,
                actor=actor,
                created_at=now,
                updated_at=now,
            )
        )
        if attempt_id is not None:
            conn.execute(
                update(t.attempts).where(t.attempts.c.id == attempt_id).values(contact=ref)
            )
        return ref

    def new_attempt(
        self,
        conn: Connection,
        row_id: int,
        agency: str,
        target: PlannedTarget,
        number: int,
        outcome: AttemptOutcome,
        now: datetime,
        *,
        cause: str | None = None,
        ended: bool = False,
    ) -> int:
        return int(
            conn.execute(
                insert(t.attempts)
                .values(
                    incident_id=row_id,
                    agency=agency,
                    target=target.target.id,
                    medium=target.target.kind.medium.value,
                    number=number,
                    outcome=outcome.value,
                    cause=cause,
                    started_at=now,
                    ended_at=now if ended else None,
                )
                .returning(t.attempts.c.id)
            ).scalar_one()
        )

    def tries(self, conn: Connection, row_id: int, agency: str) -> list[Try]:
        a = t.attempts.c
        return [
            Try(target=r.target, outcome=AttemptOutcome(r.outcome), ended_at=r.ended_at)
            for r in conn.execute(
                select(a.target, a.outcome, a.ended_at)
                .where(a.incident_id == row_id, a.agency == agency)
                .order_by(a.number)
            ).all()
        ]

    def plan(self, conn: Connection, row_id: int, agency: str | None) -> AgencyPlan | None:
        if agency is None:
            return None
        data = conn.execute(
            select(t.assignments.c.plan).where(
                t.assignments.c.incident_id == row_id, t.assignments.c.agency == agency
            )
        ).scalar_one_or_none()
        return None if data is None else plan_from_json(data)

    def agency_name(self, conn: Connection, row_id: int, agency: str) -> str:
        """The agency's name as it was dispatched (its plan), for the causes people read."""
        plan = self.plan(conn, row_id, agency)
        return plan.agency_name if plan is not None else agency

    def public_id(self, conn: Connection, row_id: int) -> str:
        return str(
            conn.execute(
                select(t.incidents.c.public_id).where(t.incidents.c.id == row_id)
            ).scalar_one()
        )

    def status(self, conn: Connection, row_id: int) -> Status:
        return Status(
            conn.execute(
                select(t.incidents.c.status).where(t.incidents.c.id == row_id)
            ).scalar_one()
        )

    # ----------------------------------------------------------- tries

    def end_attempt(
        self,
        conn: Connection,
        slots: Slots,
        contact: Row[Any],
        attempt: Row[Any],
        outcome: AttemptOutcome,
        now: datetime,
        cause: str,
    ) -> None:
        """The try ended with ``outcome``; its agency's next step is taken."""
        conn.execute(
            update(t.attempts)
            .where(t.attempts.c.id == attempt.id)
            .values(outcome=outcome.value, cause=cause, ended_at=now)
        )
        self.incidents.log(
            conn,
            contact.incident_id,
            now,
            event(
                AttemptEnded(
                    agency=attempt.agency,
                    number=attempt.number,
                    outcome=outcome.value,
                    target=attempt.target,
                ),
                actor=SYSTEM,
                cause=f"«{contact.label}»: {_outcome_and_cause(outcome, cause)}",
            ),
        )
        self.advance(conn, slots, contact.incident_id, attempt.agency, now)

    def record_ack(
        self,
        conn: Connection,
        row_id: int,
        agency: str,
        attempt_id: int | None,
        method: AckMethod,
        actor: str,
        now: datetime,
        cause: str,
    ) -> None:
        exists = conn.execute(
            select(t.acks.c.id).where(t.acks.c.incident_id == row_id, t.acks.c.agency == agency)
        ).first()
        if exists is None:
            conn.execute(
                insert(t.acks).values(
                    incident_id=row_id,
                    agency=agency,
                    attempt_id=attempt_id,
                    method=method.value,
                    at=now,
                    actor=actor,
                )
            )
        self.set_assignment(conn, row_id, agency, AssignmentState.ACKNOWLEDGED, now)
        self.incidents.log(
            conn,
            row_id,
            now,
            event(Acknowledged(agency=agency, method=method.value), actor=actor, cause=cause),
        )
        status = self.status(conn, row_id)
        if status in (Status.DISPATCHED, Status.RINGING, Status.UNANSWERED):
            self.incidents.log(
                conn,
                row_id,
                now,
                event(
                    StatusChanged(from_=status.value, to=Status.ACKNOWLEDGED.value),
                    actor=actor,
                    cause=f"{self.agency_name(conn, row_id, agency)} confirmó la atención",
                ),
                status=(status, Status.ACKNOWLEDGED),
            )

    def set_assignment(
        self, conn: Connection, row_id: int, agency: str, state: AssignmentState, now: datetime
    ) -> None:
        conn.execute(
            update(t.assignments)
            .where(
                t.assignments.c.incident_id == row_id,
                t.assignments.c.agency == agency,
            )
            .values(state=state.value, updated_at=now)
        )

    def settle_status(self, conn: Connection, row_id: int, now: datetime) -> None:
        """Every agency's escalation ended and none acknowledged: unanswered."""
        states = set(
            conn.execute(
                select(t.assignments.c.state).where(t.assignments.c.incident_id == row_id)
            ).scalars()
        )
        if states == {AssignmentState.UNANSWERED.value}:
            status = self.status(conn, row_id)
            if status in (Status.DISPATCHED, Status.RINGING):
                self.incidents.log(
                    conn,
                    row_id,
                    now,
                    event(
                        StatusChanged(from_=status.value, to=Status.UNANSWERED.value),
                        actor=SYSTEM,
                        cause="ninguna entidad respondió; la supervisión fue avisada",
                    ),
                    status=(status, Status.UNANSWERED),
                )

    def settle_bridge(self, conn: Connection, row_id: int, now: datetime) -> None:
        """Bridged while the operator and an acknowledged responder share the room."""
        c = t.contacts.c
        in_room = set(
            conn.execute(
                select(c.role).where(c.incident_id == row_id, c.state == ContactState.IN_ROOM.value)
            ).scalars()
        )
        status = self.status(conn, row_id)
        both = {ContactRole.OPERATOR.value, ContactRole.RESPONDER.value} <= in_room
        if both and status is Status.ACKNOWLEDGED:
            change, cause = (
                (Status.ACKNOWLEDGED, Status.BRIDGED),
                "operador y entidad en conferencia",
            )
        elif not both and status is Status.BRIDGED:
            change = (Status.BRIDGED, Status.ACKNOWLEDGED)
            cause = "la conferencia quedó sin operador o sin entidad"
        else:
            return
        self.incidents.log(
            conn,
            row_id,
            now,
            event(
                StatusChanged(from_=change[0].value, to=change[1].value), actor=SYSTEM, cause=cause
            ),
            status=change,
        )

    def left_room(self, conn: Connection, contact: Row[Any], now: datetime) -> None:
        self.incidents.log(
            conn,
            contact.incident_id,
            now,
            event(
                LegLeft(leg=contact.ref, role=contact.role, agency=contact.agency),
                actor=SYSTEM,
                cause=f"«{contact.label}» salió de la sala",
            ),
        )
        self.settle_bridge(conn, contact.incident_id, now)

    def contact_row(self, conn: Connection, ref: str, *, lock: bool = False) -> Row[Any] | None:
        """The contact named ``ref``; with ``lock``, its incident's row is locked first
        (the order every writer takes, so none deadlocks). SQLite's write transactions
        hold the whole database already."""
        if lock and self.db.dialect == "postgresql":
            c, i = t.contacts.c, t.incidents.c
            conn.execute(
                select(i.id)
                .join(t.contacts, c.incident_id == i.id)
                .where(c.ref == ref)
                .with_for_update(of=t.incidents)
            )
        return conn.execute(select(t.contacts).where(t.contacts.c.ref == ref)).first()


def stop_agency(
    conn: Connection,
    row_id: int,
    agency: str,
    now: datetime,
    why: str,
    *,
    including_room: bool = False,
    keep: str | None = None,
) -> None:
    """Cancel the agency's tries in flight; withdraw its contacts still being placed
    or answered (and with ``including_room`` those in the room too), but ``keep``."""
    a = t.attempts.c
    conn.execute(
        update(t.attempts)
        .where(a.incident_id == row_id, a.agency == agency, a.outcome.in_(IN_FLIGHT_VALUES))
        .values(outcome=Out.CANCELLED.value, cause=why, ended_at=now)
    )
    c = t.contacts.c
    mine = (c.incident_id == row_id, c.agency == agency, c.ref != (keep or ""))
    conn.execute(
        update(t.contacts)
        .where(*mine, c.state == ContactState.PENDING.value)
        .values(state=ContactState.CANCELLED.value, updated_at=now)
    )
    live = [ContactState.PLACING.value, ContactState.ANSWERED.value]
    if including_room:
        live.append(ContactState.IN_ROOM.value)
    conn.execute(
        update(t.contacts).where(*mine, c.state.in_(live)).values(withdraw=True, updated_at=now)
    )


def stop_all(conn: Connection, row_id: int, now: datetime, why: str) -> None:
    """The incident ended (resolved, cancelled, merged): every escalation stops and every
    contact is withdrawn, in the caller's transaction."""
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
        stop_agency(conn, row_id, agency, now, why, including_room=True)
    c = t.contacts.c
    conn.execute(
        update(t.contacts)
        .where(c.incident_id == row_id, c.state == ContactState.PENDING.value)
        .values(state=ContactState.CANCELLED.value, updated_at=now)
    )
    conn.execute(
        update(t.contacts)
        .where(c.incident_id == row_id, c.state.in_(LIVE))
        .values(withdraw=True, updated_at=now)
    )
