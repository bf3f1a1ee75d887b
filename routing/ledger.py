"""The ledger of calls: the building blocks every call transaction is made of.

Each method works inside the caller's transaction (``conn``), on rows the caller has
locked through the incident (:meth:`IncidentStore.locked`, or :meth:`Ledger.leg_row`
with ``lock``). :class:`routing.calls.CallStore` (what dispatch, escalation jobs and
people do) and :class:`routing.callevents.CallEvents` (what Asterisk reports) are
made of them.
"""

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from routing import schema as t
from routing.db import Database
from routing.decide import AgencyPlan, PlannedTarget, plan_from_json
from routing.escalation import IN_FLIGHT, Choice, StepKind, Try, next_step
from routing.lifecycle import FINAL as ENDED
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    LegRole,
    LegState,
    Status,
    TargetKind,
    Task,
)
from routing.store import IncidentStore

Out = AttemptOutcome
FINAL = frozenset(set(Out) - IN_FLIGHT)
FINAL_VALUES = frozenset(o.value for o in FINAL)
CALLABLE = frozenset({TargetKind.PHONE, TargetKind.TALKGROUP})
LIVE = tuple(s.value for s in LegState if s.live)
SYSTEM = "system:calls"

SPOKEN = {
    Out.NO_ANSWER: "no contestó", Out.BUSY: "ocupado", Out.CONGESTION: "red congestionada",
    Out.FAILED: "la llamada falló", Out.ANSWERED: "contestó sin marcar una opción",
    Out.DECLINED: "rechazó (tecla 2)", Out.ACKNOWLEDGED: "aceptó (tecla 1)",
    Out.CANCELLED: "llamada cancelada", Out.HELD_BACK: "retenida por el límite de llamadas",
    Out.PATCHED: "enlazado a la sala (radio)",
}  # fmt: skip


def escalation_task(incident_id: str, agency: str, after: int, when: datetime) -> Task:
    """The job that takes the agency's next step once try ``after`` ended."""
    slug = agency.replace("-", "_")
    return Task(
        key=f"{incident_id}--esc_{slug}--{after}",
        name="escalate",
        args={"incident_id": incident_id, "agency": agency, "after": after},
        not_before=when,
    )


class Ledger:
    def __init__(self, incidents: IncidentStore) -> None:
        self.incidents = incidents
        self.db: Database = incidents.db
        self.clock = incidents.clock

    def take(
        self,
        conn: Connection,
        row_id: int,
        incident_id: str,
        plan: AgencyPlan,
        choice: Choice,
        tries: Sequence[Try],
        now: datetime,
    ) -> None:
        """Record the held-back tries, then the step: a call (attempt + leg), a call to
        the supervisors, the end (unanswered), or a job to come back later."""
        agency = plan.agency
        number = len(tries)
        for held in choice.held_back:
            number += 1
            self.new_attempt(
                conn,
                row_id,
                agency,
                held.target,
                number,
                Out.HELD_BACK,
                now,
                cause=held.reason,
                ended=True,
            )
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=SYSTEM,
                kind="rate_limited",
                cause=held.reason,
                data={
                    "agency": agency,
                    "target": held.target.target.id,
                    "destination": held.target.target.destination,
                    "limit": str(held.verdict.limit or ""),
                    "retry_in": round(held.verdict.retry_in, 1),
                },
            )
        step = choice.step
        if step.kind in (StepKind.CALL, StepKind.SUPERVISOR) and step.target is not None:
            if not step.due(now):
                self.incidents.add_tasks(
                    conn,
                    [escalation_task(incident_id, agency, number, step.not_before or now)],
                    now,
                )
                return
            number += 1
            target = step.target
            if target.target.kind not in CALLABLE:
                self.new_attempt(
                    conn,
                    row_id,
                    agency,
                    target,
                    number,
                    Out.FAILED,
                    now,
                    ended=True,
                    cause=f"un destino {target.target.kind.value} no se llama por teléfono",
                )
                self.incidents.add_tasks(
                    conn, [escalation_task(incident_id, agency, number, now)], now
                )
                return
            attempt_id = self.new_attempt(conn, row_id, agency, target, number, Out.PENDING, now)
            role = LegRole.SUPERVISOR if step.kind is StepKind.SUPERVISOR else LegRole.RESPONDER
            self.new_leg(
                conn,
                row_id,
                role,
                target,
                actor=SYSTEM,
                now=now,
                agency=agency,
                attempt_id=attempt_id,
            )
            kind = "supervisor_called" if role is LegRole.SUPERVISOR else "calling"
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=SYSTEM,
                kind=kind,
                cause=step.reason,
                data={"agency": agency, "target": target.target.id, "number": number},
            )
        elif step.kind is StepKind.UNANSWERED:
            self.set_assignment(conn, row_id, agency, AssignmentState.UNANSWERED, now)
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=SYSTEM,
                kind="unanswered",
                cause=step.reason,
                data={"agency": agency},
            )
            self.settle_status(conn, row_id, incident_id, now)

    def new_leg(
        self,
        conn: Connection,
        row_id: int,
        role: LegRole,
        target: PlannedTarget,
        *,
        actor: str,
        now: datetime,
        agency: str | None = None,
        attempt_id: int | None = None,
    ) -> str:
        channel_id = f"vb-{secrets.token_hex(10)}"
        prompt = role is LegRole.RESPONDER and target.target.kind is TargetKind.PHONE
        conn.execute(
            insert(t.legs).values(
                incident_id=row_id,
                channel_id=channel_id,
                role=role.value,
                prompt=prompt,
                state=LegState.PENDING.value,
                dial=target.target.dial or "",
                label=target.target.label or target.target.id,
                agency=agency,
                attempt_id=attempt_id,
                hangup=False,
                actor=actor,
                created_at=now,
                updated_at=now,
            )
        )
        if attempt_id is not None:
            conn.execute(
                update(t.attempts)
                .where(t.attempts.c.id == attempt_id)
                .values(channel_id=channel_id)
            )
        return channel_id

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

    def end_attempt(
        self,
        conn: Connection,
        leg: Row[Any],
        attempt: Row[Any],
        outcome: AttemptOutcome,
        now: datetime,
        cause: str,
        *,
        escalate: bool = True,
    ) -> None:
        conn.execute(
            update(t.attempts)
            .where(t.attempts.c.id == attempt.id)
            .values(outcome=outcome.value, cause=cause, ended_at=now)
        )
        public_id = conn.execute(
            select(t.incidents.c.public_id).where(t.incidents.c.id == leg.incident_id)
        ).scalar_one()
        self.incidents.log(
            conn,
            leg.incident_id,
            now,
            actor=SYSTEM,
            kind="attempt_ended",
            cause=f"«{leg.label}»: {SPOKEN.get(outcome, outcome.value)} ({cause})",
            data={
                "agency": attempt.agency,
                "number": attempt.number,
                "outcome": outcome.value,
                "target": attempt.target,
            },
        )
        if escalate and attempt.agency is not None:
            plan = self.plan(conn, leg.incident_id, attempt.agency)
            if plan is not None:
                tries = self.tries(conn, leg.incident_id, attempt.agency)
                step = next_step(plan, tries, now)
                when = step.not_before or now
                self.incidents.add_tasks(
                    conn, [escalation_task(public_id, attempt.agency, attempt.number, when)], now
                )

    def acknowledge_attempt(
        self,
        conn: Connection,
        leg: Row[Any],
        attempt: Row[Any],
        now: datetime,
        *,
        method: AckMethod,
        actor: str,
        cause: str,
    ) -> None:
        conn.execute(
            update(t.attempts)
            .where(t.attempts.c.id == attempt.id)
            .values(outcome=Out.ACKNOWLEDGED.value, cause=cause, ended_at=now)
        )
        self.record_ack(
            conn, leg.incident_id, attempt.agency, attempt.id, method, actor, now, cause
        )

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
            actor=actor,
            kind="acknowledged",
            cause=cause,
            data={"agency": agency, "method": method.value},
        )
        status = Status(
            conn.execute(
                select(t.incidents.c.status).where(t.incidents.c.id == row_id)
            ).scalar_one()
        )
        if status in (Status.DISPATCHED, Status.RINGING, Status.UNANSWERED):
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=actor,
                kind="status_changed",
                cause=f"{agency} confirmó la atención",
                data={"from": status.value, "to": "acknowledged"},
                status=(status, Status.ACKNOWLEDGED),
            )

    def stop_agency(
        self,
        conn: Connection,
        row_id: int,
        agency: str,
        now: datetime,
        why: str,
        *,
        including_room: bool = False,
    ) -> None:
        """Cancel the agency's tries in flight; hang up its legs still calling or
        prompting (and with ``including_room`` those in the room too)."""
        a = t.attempts.c
        conn.execute(
            update(t.attempts)
            .where(
                a.incident_id == row_id,
                a.agency == agency,
                a.outcome.in_([Out.PENDING.value, Out.RINGING.value, Out.PROMPTING.value]),
            )
            .values(outcome=Out.CANCELLED.value, cause=why, ended_at=now)
        )
        legs = t.legs.c
        conn.execute(
            update(t.legs)
            .where(
                legs.incident_id == row_id,
                legs.agency == agency,
                legs.state == LegState.PENDING.value,
            )
            .values(state=LegState.CANCELLED.value, updated_at=now)
        )
        live = [LegState.CALLING.value, LegState.UP.value]
        if including_room:
            live.append(LegState.IN_ROOM.value)
        conn.execute(
            update(t.legs)
            .where(
                legs.incident_id == row_id,
                legs.agency == agency,
                legs.state.in_(live),
            )
            .values(hangup=True, updated_at=now)
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

    def settle_status(self, conn: Connection, row_id: int, incident_id: str, now: datetime) -> None:
        """Every agency's escalation ended and none acknowledged: unanswered."""
        states = set(
            conn.execute(
                select(t.assignments.c.state).where(t.assignments.c.incident_id == row_id)
            ).scalars()
        )
        if states == {AssignmentState.UNANSWERED.value}:
            status = Status(
                conn.execute(
                    select(t.incidents.c.status).where(t.incidents.c.id == row_id)
                ).scalar_one()
            )
            if status in (Status.DISPATCHED, Status.RINGING):
                self.incidents.log(
                    conn,
                    row_id,
                    now,
                    actor=SYSTEM,
                    kind="status_changed",
                    cause="ninguna entidad respondió; la supervisión fue avisada",
                    data={"from": status.value, "to": "unanswered"},
                    status=(status, Status.UNANSWERED),
                )

    def settle_bridge(self, conn: Connection, row_id: int, now: datetime) -> None:
        """Bridged while the operator and an acknowledged responder share the room."""
        legs = t.legs.c
        in_room = set(
            conn.execute(
                select(legs.role).where(
                    legs.incident_id == row_id, legs.state == LegState.IN_ROOM.value
                )
            ).scalars()
        )
        status = Status(
            conn.execute(
                select(t.incidents.c.status).where(t.incidents.c.id == row_id)
            ).scalar_one()
        )
        both = {LegRole.OPERATOR.value, LegRole.RESPONDER.value} <= in_room
        if both and status is Status.ACKNOWLEDGED:
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=SYSTEM,
                kind="status_changed",
                cause="operador y entidad en conferencia",
                data={"from": "acknowledged", "to": "bridged"},
                status=(Status.ACKNOWLEDGED, Status.BRIDGED),
            )
        elif not both and status is Status.BRIDGED:
            self.incidents.log(
                conn,
                row_id,
                now,
                actor=SYSTEM,
                kind="status_changed",
                cause="la conferencia quedó sin operador o sin entidad",
                data={"from": "bridged", "to": "acknowledged"},
                status=(Status.BRIDGED, Status.ACKNOWLEDGED),
            )

    def left_room(self, conn: Connection, leg: Row[Any], now: datetime) -> None:
        self.incidents.log(
            conn,
            leg.incident_id,
            now,
            actor=SYSTEM,
            kind="leg_left",
            cause=f"«{leg.label}» salió de la sala",
            data={"leg": leg.channel_id, "role": leg.role, "agency": leg.agency},
        )
        self.settle_bridge(conn, leg.incident_id, now)

    def leg_row(self, conn: Connection, channel_id: str, *, lock: bool = False) -> Row[Any] | None:
        """The leg of a channel; with ``lock``, its incident's row is locked first (the
        order every writer takes, so none deadlocks)."""
        leg = conn.execute(select(t.legs).where(t.legs.c.channel_id == channel_id)).first()
        if leg is None or not lock:
            return leg
        public_id = conn.execute(
            select(t.incidents.c.public_id).where(t.incidents.c.id == leg.incident_id)
        ).scalar_one()
        self.incidents.locked(conn, public_id)
        return conn.execute(select(t.legs).where(t.legs.c.channel_id == channel_id)).first()

    def escalation_state(
        self, conn: Connection, incident_id: str, agency: str, after: int
    ) -> tuple[int, AgencyPlan, list[Try]] | None:
        row = conn.execute(
            select(
                t.incidents.c.id, t.incidents.c.status, t.assignments.c.state, t.assignments.c.plan
            )
            .join(t.assignments, t.assignments.c.incident_id == t.incidents.c.id)
            .where(t.incidents.c.public_id == incident_id, t.assignments.c.agency == agency)
        ).first()
        if row is None or row.state != AssignmentState.PENDING.value:
            return None
        if Status(row.status) in ENDED:
            return None
        tries = self.tries(conn, row.id, agency)
        if len(tries) != after or (tries and tries[-1].outcome not in FINAL):
            return None
        return int(row.id), plan_from_json(row.plan), tries
