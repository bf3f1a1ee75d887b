"""The contact port: what the adapter of every medium (voice, talkgroup, SMS, Telegram,
radio SDS) does with the ledger. It claims the contacts of its own medium to place them,
and reports what became of each in the domain's words: answered, not reached (no
answer, busy, congestion, failed, with a cause), declined, acknowledged (by which
means), answered without a choice, delivered, in and out of the room, ended. It knows
no protocol; the adapters translate theirs into these calls.

Every report is one transaction that locks the contact's incident, and is idempotent:
a medium may report twice, from two ``serve`` replicas, or again after a reconnection.
A contact is named by its ``ref``, which voicebridge chose before placing it; a
citizen's own call (:meth:`ContactLedger.arrived`), by the medium's name for it.

A medium whose server lost the calls (restarted, or dropped them while its adapter
could not hear) reports them :meth:`ContactLedger.dropped`: the rooms they were in are
restored. The operator is called back at once; a responder through whom its agency
had acknowledged is called back once an operator is in the room again. Each is a
reconnection (a new contact, no try): the acknowledgement stands and no escalation
starts again. Only the report that ends a live contact recalls it, so a second report
(another replica, another reconciliation) calls nobody twice.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, insert, or_, select, update

from routing import rows as mapped
from routing import schema as t
from routing.categories import category_by_code
from routing.errors import Conflict
from routing.events import (
    LegFailed,
    LegJoined,
    LegRecalled,
    LegRequested,
    RadioStatusReported,
    RadioTalker,
    StatusChanged,
    event,
)
from routing.ledger import (
    FINAL_VALUES,
    IN_FLIGHT_VALUES,
    LIVE,
    SYSTEM,
    Ledger,
    Out,
    Slots,
    address_of,
    new_ref,
    stop_agency,
)
from routing.lifecycle import FINAL as ENDED
from routing.linechecks import holding
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    Contact,
    ContactRole,
    ContactState,
    Medium,
    Status,
    StatusMeaning,
)

Media = Medium | Collection[Medium]  # an adapter may place several media


def _values(media: Media) -> list[str]:
    return [media.value] if isinstance(media, Medium) else [m.value for m in media]


NOT_REACHED = frozenset({Out.NO_ANSWER, Out.BUSY, Out.CONGESTION, Out.FAILED})
# a try that ended reaching someone, who may still answer (a reply, a radio status)
AFTER_REACHED = frozenset({Out.DELIVERED.value, Out.PATCHED.value})
DEFAULT_RING_SECONDS = 30
RECONNECTION = "system:reconnection"  # the actor of a contact that calls a lost leg back
# the media of messages: a reply proves the message arrived, even when no delivery
# report came and its try ended not reached
MESSAGE_VALUES = frozenset({Medium.SMS.value, Medium.TELEGRAM.value, Medium.SDS.value})
ALERTS_LOOKED_AT = 20  # the recent alerts to one address a reply may answer
OPEN_OR_LIVE = (ContactState.PENDING.value, *LIVE)


def placeable(now: datetime) -> ColumnElement[bool]:
    """Whether a pending contact may be placed now: a responder's reconnection (a
    responder's contact with no try) waits until an operator of its incident is in the
    room again, unless the incident never had an operator's contact. A call to a line
    that a check is on waits for the check's end (:func:`routing.linechecks.holding`:
    the check is hung up at once, and the line is not found busy)."""
    c = t.contacts.c
    o = t.contacts.alias("operator")
    operator = (o.c.incident_id == c.incident_id, o.c.role == ContactRole.OPERATOR.value)
    return and_(
        or_(
            c.role != ContactRole.RESPONDER.value,
            c.attempt_id.is_not(None),
            exists().where(*operator, o.c.state == ContactState.IN_ROOM.value),
            ~exists().where(*operator),
        ),
        ~holding(c.address, now),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ToPlace:
    """A contact claimed by an adapter, with what it needs to place it."""

    contact: Contact
    room: str  # the incident's conference room: the incident's id
    category: str  # the incident's category code
    category_label: str  # and its Spanish name
    summary: str
    ring_seconds: int  # how long a call may ring (the agency's policy)
    dtmf: str | None = None  # digits to send once a line answers (an extension)


@dataclass(frozen=True, kw_only=True, slots=True)
class Alerted:
    """A responder's alert that a reply from its address answers (:meth:`ContactLedger.
    alerted`)."""

    ref: str
    incident: str  # its incident's public id
    waiting: bool  # its agency has still to acknowledge, and its try may still be answered
    medium: Medium
    address: str  # where it went
    agency: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LiveContact:
    """A contact in flight, as the ledger has it (for an adapter's reconciliation)."""

    ref: str
    state: ContactState
    room: str
    updated_at: datetime
    role: ContactRole


class ContactLedger:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.incidents = ledger.incidents
        self.db = ledger.db
        self.clock = ledger.clock

    # ------------------------------------------------------------- claims

    def claim(self, media: Media, owner: str, limit: int = 50) -> list[ToPlace]:
        """Take contacts of ``media`` (one medium or several) to place, each by one
        owner only: pending -> placing."""
        now = self.clock.now()
        c = t.contacts.c
        a = t.attempts.c
        # looked for in a read transaction: an adapter that finds nothing (most polls)
        # takes no write lock; the update below checks the state again
        with self.db.read() as conn:
            pending = conn.execute(
                select(c.id, c.incident_id)
                .where(
                    c.medium.in_(_values(media)),
                    c.state == ContactState.PENDING.value,
                    placeable(now),
                )
                .order_by(c.id)
                .limit(limit)
            ).all()
        if not pending:
            return []
        with self.db.write() as conn:
            # the incidents first, the order every writer takes (so none deadlocks); one
            # another replica holds is left for the next claim
            locked = set(
                conn.execute(
                    select(t.incidents.c.id)
                    .where(t.incidents.c.id.in_({r.incident_id for r in pending}))
                    .order_by(t.incidents.c.id)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            to_place = [r.id for r in pending if r.incident_id in locked]
            still_due = or_(
                c.attempt_id.is_(None),
                select(a.id).where(a.id == c.attempt_id, a.outcome == Out.PENDING.value).exists(),
            )
            rows = conn.execute(
                update(t.contacts)
                .where(
                    c.id.in_(to_place),
                    c.state == ContactState.PENDING.value,
                    still_due,
                    placeable(now),
                )
                .values(state=ContactState.PLACING.value, owner=owner, updated_at=now)
                .returning(*t.contacts.c)
            ).all()
            out = []
            for row in sorted(rows, key=lambda r: r.id):
                incident = conn.execute(
                    select(t.incidents).where(t.incidents.c.id == row.incident_id)
                ).one()
                ring, dtmf = DEFAULT_RING_SECONDS, None
                if row.attempt_id is not None:
                    target_id = conn.execute(
                        update(t.attempts)
                        .where(a.id == row.attempt_id, a.outcome == Out.PENDING.value)
                        .values(outcome=Out.RINGING.value)
                        .returning(a.target)
                    ).scalar_one()
                    plan = self.ledger.plan(conn, row.incident_id, row.agency)
                    if plan is not None:
                        ring = plan.policy.ring_seconds
                        dtmf = next(
                            (p.target.dtmf for p in plan.targets if p.target.id == target_id),
                            None,
                        )
                elif row.role == ContactRole.RESPONDER.value:
                    # a reconnection (no try): its line's ring and extension, from its plan
                    plan = self.ledger.plan(conn, row.incident_id, row.agency)
                    if plan is not None:
                        ring = plan.policy.ring_seconds
                        dtmf = next(
                            (p.target.dtmf for p in plan.targets if address_of(p) == row.address),
                            None,
                        )
                contact = mapped.contact(row, incident.public_id)
                out.append(
                    ToPlace(
                        contact=contact,
                        room=incident.public_id,
                        category=incident.category,
                        category_label=category_by_code(incident.category).label,
                        summary=incident.summary,
                        ring_seconds=ring,
                        dtmf=dtmf if contact.asks_for_ack else None,
                    )
                )
                if (
                    row.role == ContactRole.RESPONDER.value
                    and incident.status == Status.DISPATCHED.value
                ):
                    self.incidents.log(
                        conn,
                        incident.id,
                        now,
                        event(
                            StatusChanged(from_="dispatched", to="ringing"),
                            actor=SYSTEM,
                            cause="primer contacto en curso",
                        ),
                        status=(Status.DISPATCHED, Status.RINGING),
                    )
        return out

    def to_withdraw(self, media: Media, limit: int = 50) -> list[Contact]:
        """Live contacts of ``media`` someone asked to end (hang up, leave the room)."""
        c = t.contacts.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.contacts, t.incidents.c.public_id)
                .join(t.incidents, t.incidents.c.id == c.incident_id)
                .where(c.medium.in_(_values(media)), c.withdraw.is_(True), c.state.in_(LIVE))
                .limit(limit)
            ).all()
        return [mapped.contact(r, r.public_id) for r in rows]

    def unclaim(self, ref: str) -> None:
        """The adapter claimed the contact but could not even try to place it (its peer
        was not ready): it is pending again, and nobody was reached."""
        now = self.clock.now()
        with self.db.write() as conn:
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or contact.state != ContactState.PLACING.value:
                return
            # withdrawn meanwhile (its agency acknowledged, the incident ended): it is
            # never placed after all
            state = ContactState.CANCELLED if contact.withdraw else ContactState.PENDING
            conn.execute(
                update(t.contacts)
                .where(t.contacts.c.id == contact.id)
                .values(state=state.value, owner=None, updated_at=now)
            )
            if contact.withdraw:
                return
            if contact.attempt_id is not None:
                conn.execute(
                    update(t.attempts)
                    .where(
                        t.attempts.c.id == contact.attempt_id,
                        t.attempts.c.outcome == Out.RINGING.value,
                    )
                    .values(outcome=Out.PENDING.value)
                )

    def live(self, media: Media, before: datetime) -> list[LiveContact]:
        """The live contacts of ``media`` last changed before ``before``."""
        c = t.contacts.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(c.ref, c.state, c.role, c.updated_at, t.incidents.c.public_id)
                .join(t.incidents, t.incidents.c.id == c.incident_id)
                .where(c.medium.in_(_values(media)), c.state.in_(LIVE), c.updated_at < before)
            ).all()
        return [
            LiveContact(
                ref=r.ref,
                state=ContactState(r.state),
                room=r.public_id,
                updated_at=r.updated_at,
                role=ContactRole(r.role),
            )
            for r in rows
        ]

    def alerted(
        self,
        medium: Medium,
        address: str | Sequence[str],
        since: datetime,
        *,
        oldest_waiting: bool = False,
    ) -> "Alerted | None":
        """The latest responder's alert sent to ``address`` (or any of several ways of
        writing it) on ``medium`` since ``since``, which a reply from there answers
        (:class:`Alerted`); with ``oldest_waiting``, the oldest that still waits for an
        answer, if any does (a radio answering two alerts in turn). None when no alert
        went there (a reply from anyone else changes nothing)."""
        c = t.contacts.c
        addresses = [address] if isinstance(address, str) else sorted(set(address))
        return self._alert(
            c.medium == medium.value,
            c.address.in_(addresses),
            c.created_at >= since,
            oldest_waiting=oldest_waiting,
        )

    def patched(self, agency: str, since: datetime) -> "Alerted | None":
        """The oldest talkgroup of ``agency`` patched into a room since ``since`` whose
        agency still waits for an answer (else the latest): a status or a reply from a
        radio of that agency answers it."""
        c = t.contacts.c
        return self._alert(
            c.medium == Medium.TALKGROUP.value,
            c.agency == agency,
            c.created_at >= since,
            oldest_waiting=True,
        )

    def alerted_among(
        self, conn: Connection, medium: Medium, addresses: Sequence[str], since: datetime
    ) -> set[str]:
        """Which of ``addresses`` a responder's alert went to on ``medium`` since
        ``since`` (a message from there may answer it: :meth:`alerted` says how), in the
        caller's transaction, in one query."""
        if not addresses:
            return set()
        c = t.contacts.c
        return set(
            conn.execute(
                select(c.address).where(
                    c.role == ContactRole.RESPONDER.value,
                    c.medium == medium.value,
                    c.address.in_(sorted(set(addresses))),
                    c.created_at >= since,
                )
            ).scalars()
        )

    def alert(self, ref: str) -> "Alerted | None":
        """The responder's alert ``ref`` (a button pressed names it: it counts only from
        the chat the alert went to)."""
        return self._alert(t.contacts.c.ref == ref)

    def _alert(self, *where: ColumnElement[bool], oldest_waiting: bool = False) -> "Alerted | None":
        c, a, s, i = t.contacts.c, t.attempts.c, t.assignments.c, t.incidents.c
        found: list[Alerted] = []
        with self.db.read() as conn:  # each alert with its agency's state, in one query
            rows = conn.execute(
                select(c.ref, c.medium, c.address, c.agency, a.outcome, i.public_id, s.state)
                .join(t.attempts, a.id == c.attempt_id)
                .join(t.incidents, i.id == c.incident_id)
                .outerjoin(
                    t.assignments, and_(s.incident_id == c.incident_id, s.agency == c.agency)
                )
                .where(c.role == ContactRole.RESPONDER.value, *where)
                .order_by(c.id.desc())
                .limit(ALERTS_LOOKED_AT if oldest_waiting else 1)
            ).all()
            for row in rows:
                answerable = {*IN_FLIGHT_VALUES, *AFTER_REACHED}
                if row.medium in MESSAGE_VALUES:
                    answerable.add(Out.NO_ANSWER.value)  # no report came, a reply is one
                waiting = row.outcome in answerable and row.state in (
                    AssignmentState.PENDING.value,
                    AssignmentState.UNANSWERED.value,
                )
                found.append(
                    Alerted(
                        ref=row.ref,
                        incident=row.public_id,
                        waiting=waiting,
                        medium=Medium(row.medium),
                        address=row.address,
                        agency=row.agency,
                    )
                )
        if not found:
            return None
        open_ones = [x for x in found if x.waiting]
        return open_ones[-1] if oldest_waiting and open_ones else found[0]

    # ------------------------------------------------------------- reports

    def arrived(
        self, incident_id: str, ref: str, medium: Medium, address: str, label: str, *, actor: str
    ) -> bool:
        """A citizen's own call (``ref``: the medium's name for it), answered by the
        medium and being put into the incident's room: a contact of the room that
        voicebridge never places, and never calls back when it is lost. Its medium
        reports it as it reports every other (in and out of the room, ended).

        Whether it is on its way now: a second report of the same call changes nothing
        (False); one whose contact ended before it reached the room (the medium lost
        sight of it, then found the caller still waiting) is on its way again (True).
        An incident that ended has no room to go to: :class:`Conflict`."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.incidents.locked(conn, incident_id)
            status = Status(row.status)
            if status in ENDED:
                raise Conflict(f"{incident_id} está {status.label}: no tiene sala")
            found = self.ledger.contact_row(conn, ref)
            if found is not None:
                if found.incident_id != row.id or found.state in LIVE or found.joined_at:
                    return False
                conn.execute(
                    update(t.contacts)
                    .where(t.contacts.c.id == found.id)
                    .values(
                        state=ContactState.ANSWERED.value,
                        ended_at=None,
                        cause=None,
                        withdraw=False,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    insert(t.contacts).values(
                        incident_id=row.id,
                        ref=ref,
                        medium=medium.value,
                        role=ContactRole.CITIZEN.value,
                        state=ContactState.ANSWERED.value,
                        address=address,
                        label=label,
                        agency=None,
                        attempt_id=None,
                        withdraw=False,
                        actor=actor,
                        created_at=now,
                        updated_at=now,
                    )
                )
            self.incidents.log(
                conn,
                row.id,
                now,
                event(
                    LegRequested(role=ContactRole.CITIZEN.value, leg=ref),
                    actor=actor,
                    cause=f"«{label}», en la línea, pasa a la sala",
                ),
            )
            return True

    def not_arrived(self, ref: str, cause: str) -> None:
        """The citizen's call ended before it reached the room (the caller hung up while
        being put there): its contact ends, if it is still on its way (one in the room,
        or ended, is the medium's to report)."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if (
                contact is not None
                and contact.role == ContactRole.CITIZEN.value
                and contact.state == ContactState.ANSWERED.value
                and contact.joined_at is None
            ):
                self._end_live(conn, slots, contact, cause, Out.FAILED, now)

    def answered(self, ref: str) -> None:
        """Someone answered (a responder now hears the prompt)."""
        now = self.clock.now()
        with self.db.write() as conn:
            contact = self._move(conn, ref, ContactState.PLACING, ContactState.ANSWERED, now)
            if contact is not None and contact.attempt_id is not None:
                conn.execute(
                    update(t.attempts)
                    .where(
                        t.attempts.c.id == contact.attempt_id,
                        t.attempts.c.outcome.in_([Out.PENDING.value, Out.RINGING.value]),
                    )
                    .values(outcome=Out.PROMPTING.value)
                )

    def not_reached(self, ref: str, outcome: AttemptOutcome, cause: str) -> None:
        """Nobody was reached: no answer, busy, congestion, or failed, with a cause."""
        if outcome not in NOT_REACHED:
            raise ValueError(f"{outcome.value} is not a way of not being reached")
        self._end(ref, ContactState.FAILED, outcome, cause)

    def delivered(self, ref: str, cause: str = "") -> None:
        """A message reached its destination (an acknowledgement may follow by reply)."""
        self._end(ref, ContactState.DELIVERED, Out.DELIVERED, cause or "entregado")

    def acknowledged(self, ref: str, method: AckMethod, cause: str) -> None:
        """The responder reached by this contact took the incident for its agency. Counts
        while its agency has not acknowledged, also after the try ended (a reply to a
        message delivered, after an unanswered escalation); never for a contact that
        is not an agency's responder."""
        now = self.clock.now()
        with self.db.write() as conn:
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is not None:
                self._acknowledge(conn, contact, method, cause, now)

    def radio_status(
        self, ref: str, status: int, means: StatusMeaning | None, label: str | None
    ) -> None:
        """A radio reached by the responder's alert ``ref`` sent the status ``status``,
        which its agency's plan says ``means`` (None: the plan does not name it): it is
        logged (en route and on scene are phases of the incident), and one that takes the
        alert acknowledges the agency as a keypress does, while it waits (one that
        declines is :meth:`declined`)."""
        now = self.clock.now()
        with self.db.write() as conn:
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or contact.agency is None:
                return
            said = f"estado {status}" + (f" «{label}»" if label else "")
            self.incidents.log(
                conn,
                contact.incident_id,
                now,
                event(
                    RadioStatusReported(
                        agency=contact.agency,
                        status=status,
                        means=means.value if means is not None else None,
                        label=label,
                        contact=ref,
                    ),
                    actor=f"responder:{contact.agency}",
                    cause=f"«{contact.label}» ({contact.address}) envió el {said}",
                ),
            )
            if means is not None and means.acknowledges:
                why = f"«{contact.label}» respondió por radio el {said}"
                self._acknowledge(conn, contact, AckMethod.TETRA_STATUS, why, now)

    def owned(self, owner: str, refs: Collection[str]) -> set[str]:
        """Which of the contacts ``refs`` the adapter replica ``owner`` placed."""
        if not refs:
            return set()
        c = t.contacts.c
        with self.db.read() as conn:
            return set(
                conn.execute(
                    select(c.ref).where(c.ref.in_(sorted(refs)), c.owner == owner)
                ).scalars()
            )

    def talkgroup_talker(self, addresses: Collection[str], gssi: int, talker: int | None) -> None:
        """A radio user talks now on the talkgroup ``gssi`` (``talker``: its ISSI; None:
        nobody any more): logged on every incident whose room it is patched into (its
        contacts at ``addresses``, in the room)."""
        now = self.clock.now()
        c = t.contacts.c
        with self.db.read() as conn:
            legs = conn.execute(
                select(c.ref, c.incident_id, c.label).where(
                    c.medium == Medium.TALKGROUP.value,
                    c.state == ContactState.IN_ROOM.value,
                    c.address.in_(sorted(addresses)),
                )
            ).all()
        for leg in legs:
            with self.db.write() as conn:
                cause = (
                    f"habla la radio {talker} en «{leg.label}»"
                    if talker is not None
                    else f"nadie habla ya en «{leg.label}»"
                )
                self.incidents.log(
                    conn,
                    leg.incident_id,
                    now,
                    event(
                        RadioTalker(leg=leg.ref, gssi=gssi, talker=talker),
                        actor=SYSTEM,
                        cause=cause,
                    ),
                )

    def declined(self, ref: str, cause: str) -> None:
        """The responder declined: the agency moves to its next target at once."""
        self._settle(ref, Out.DECLINED, cause, also_after=AFTER_REACHED)

    def no_choice(self, ref: str, cause: str) -> None:
        """Answered, but no acknowledgement came (a timeout, another key, a voicemail)."""
        self._settle(ref, Out.ANSWERED, cause)

    def joined(self, ref: str) -> None:
        """In the incident's room. A responder asked to acknowledge is let in only once
        it accepted, which matters when the acceptance itself was not reported (a link
        lost); a talkgroup is patched (it hears, it cannot accept)."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or contact.state == ContactState.IN_ROOM.value:
                return
            if contact.state not in LIVE and contact.state != ContactState.PENDING.value:
                return
            conn.execute(
                update(t.contacts)
                .where(t.contacts.c.id == contact.id)
                .values(state=ContactState.IN_ROOM.value, joined_at=now, updated_at=now)
            )
            self.incidents.log(
                conn,
                contact.incident_id,
                now,
                event(
                    LegJoined(leg=contact.ref, role=contact.role, agency=contact.agency),
                    actor=SYSTEM,
                    cause=f"«{contact.label}» entró a la sala",
                ),
            )
            if contact.attempt_id is not None:
                attempt = self._attempt(conn, contact)
                if attempt.outcome not in FINAL_VALUES:
                    if contact.role != ContactRole.RESPONDER.value:
                        self.ledger.end_attempt(
                            conn, slots, contact, attempt, Out.ANSWERED, now,
                            "la supervisión entró a la sala",
                        )  # fmt: skip
                    elif contact.medium == Medium.TALKGROUP.value:
                        self.ledger.end_attempt(
                            conn, slots, contact, attempt, Out.PATCHED, now,
                            "el grupo de radio quedó enlazado a la sala",
                        )  # fmt: skip
                    else:
                        why = f"«{contact.label}» entró a la sala (aceptó)"
                        self._acknowledge(conn, contact, AckMethod.KEYPRESS, why, now)
            self.ledger.settle_bridge(conn, contact.incident_id, now)

    def left(self, ref: str) -> None:
        """Out of the room, still connected."""
        now = self.clock.now()
        with self.db.write() as conn:
            contact = self._move(conn, ref, ContactState.IN_ROOM, ContactState.ANSWERED, now)
            if contact is not None:
                self.ledger.left_room(conn, contact, now)

    def ended(self, ref: str, cause: str, outcome: AttemptOutcome | None = None) -> None:
        """The contact is over (hung up, dropped). For one not answered yet, ``outcome``
        says why nobody was reached; None when the medium does not tell, and then it is
        not conclusive: the report that says why (or the adapter's reconciliation)
        settles it, unless voicebridge itself asked to end it."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or contact.state not in LIVE:
                return
            placing = contact.state == ContactState.PLACING.value
            if placing and outcome is None and not contact.withdraw:
                return
            self._end_live(conn, slots, contact, cause, outcome or Out.FAILED, now)

    def dropped(self, refs: Collection[str], cause: str, why: str) -> list[str]:
        """The medium lost these contacts through nobody's choice: its server restarted,
        or dropped the calls while the adapter could not hear. Each ends as
        :meth:`ended` ends it (``cause``; one being placed was not reached), and the
        rooms they were in are restored; ``why`` says what happened, for the timeline
        ("el reinicio de ..."). For each incident still open:

        - its operator's contact lost (being placed, answered or in the room) is called
          again at once, unless another operator contact is pending or live;
        - a responder's contact lost through which its agency had acknowledged (or a
          reconnection lost) is called again into the room once an operator is in it
          (:func:`placeable`), unless the agency has a contact pending or live. It is a
          reconnection, not a try: no attempt, the acknowledgement stands, and no
          escalation starts again. An agency that had not acknowledged goes on with its
          policy (:meth:`ended`); guests, supervisors, talkgroups and contacts someone
          asked to end are not called again.

        A contact no longer live is left alone, so only the first report of a loss calls
        anyone: another replica's, a second reconciliation's, change nothing. The new
        contacts' refs are returned."""
        c = t.contacts.c
        with self.db.read() as conn:
            found = conn.execute(
                select(c.incident_id, c.ref).where(c.ref.in_(list(refs)), c.state.in_(LIVE))
            ).all()
        by_incident: dict[int, list[str]] = {}
        for row in found:
            by_incident.setdefault(row.incident_id, []).append(row.ref)
        recalled: list[str] = []
        for row_id in sorted(by_incident):  # one transaction per incident, in lock order
            recalled += self._drop(sorted(by_incident[row_id]), cause, why)
        return recalled

    # ------------------------------------------------------------- helpers

    def _end_live(
        self,
        conn: Connection,
        slots: Slots,
        contact: Row[Any],
        cause: str,
        outcome: AttemptOutcome,
        now: datetime,
    ) -> None:
        """End a live contact: failed if it was being placed, else ended."""
        if contact.withdraw:
            call = contact.medium in (Medium.VOICE.value, Medium.TALKGROUP.value)
            cause = f"{'colgado' if call else 'terminado'} a pedido; {cause}"
        placing = contact.state == ContactState.PLACING.value
        state = ContactState.FAILED if placing else ContactState.ENDED
        self._close(conn, slots, contact, state, outcome, cause, now)

    def _drop(self, refs: list[str], cause: str, why: str) -> list[str]:
        """:meth:`dropped` for the contacts of one incident, in one transaction."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            lost = []
            for ref in refs:
                contact = self.ledger.contact_row(conn, ref, lock=True)
                if contact is None or contact.state not in LIVE:
                    continue  # reported already
                self._end_live(conn, slots, contact, cause, Out.FAILED, now)
                lost.append(contact)
            return self._recall(conn, lost, why, now) if lost else []

    def _recall(self, conn: Connection, lost: list[Row[Any]], why: str, now: datetime) -> list[str]:
        """Call the lost contacts of one incident back into its room (:meth:`dropped`)."""
        row_id = lost[0].incident_id
        status = self.ledger.status(conn, row_id)
        if status in ENDED or status is Status.RECEIVED:
            return []
        c = t.contacts.c

        def none_open(*where: ColumnElement[bool]) -> bool:
            found = conn.execute(
                select(c.id)
                .where(c.incident_id == row_id, c.state.in_(OPEN_OR_LIVE), *where)
                .limit(1)
            ).first()
            return found is None

        recalled = []
        operators = [x for x in lost if x.role == ContactRole.OPERATOR.value and not x.withdraw]
        if operators and none_open(c.role == ContactRole.OPERATOR.value):
            lost_leg = operators[0]
            recalled.append(
                self._call_again(
                    conn,
                    lost_leg,
                    now,
                    f"conferencia restablecida tras {why}: se vuelve a llamar al operador "
                    f"(«{lost_leg.label}»)",
                )
            )
        has_operator = (
            conn.execute(
                select(c.id)
                .where(c.incident_id == row_id, c.role == ContactRole.OPERATOR.value)
                .limit(1)
            ).first()
            is not None
        )
        when = "cuando el operador esté de vuelta en la sala" if has_operator else "de inmediato"
        for x in lost:
            if not self._acknowledged_through(conn, x) or not none_open(
                c.role == ContactRole.RESPONDER.value, c.agency == x.agency
            ):
                continue
            recalled.append(
                self._call_again(
                    conn,
                    x,
                    now,
                    f"reconexión tras {why}: se vuelve a llamar a «{x.label}» "
                    f"({self.ledger.agency_name(conn, row_id, x.agency)}) "
                    f"a la sala {when}; su confirmación sigue en pie, no es un nuevo intento",
                )
            )
        return recalled

    def _acknowledged_through(self, conn: Connection, contact: Row[Any]) -> bool:
        """A responder's contact, not asked to end, of an agency that acknowledged: the
        one it acknowledged through, or a reconnection (no try)."""
        if (
            contact.role != ContactRole.RESPONDER.value
            or contact.withdraw
            or contact.agency is None
            or contact.medium == Medium.TALKGROUP.value
        ):
            return False
        if (
            contact.attempt_id is not None
            and self._attempt(conn, contact).outcome != Out.ACKNOWLEDGED.value
        ):
            return False
        state = conn.execute(
            select(t.assignments.c.state).where(
                t.assignments.c.incident_id == contact.incident_id,
                t.assignments.c.agency == contact.agency,
            )
        ).scalar_one_or_none()
        return state == AssignmentState.ACKNOWLEDGED.value

    def _call_again(self, conn: Connection, lost: Row[Any], now: datetime, cause: str) -> str:
        """A new contact of the lost one's line, role and agency, pending; no try."""
        ref = new_ref()
        conn.execute(
            insert(t.contacts).values(
                incident_id=lost.incident_id,
                ref=ref,
                medium=lost.medium,
                role=lost.role,
                state=ContactState.PENDING.value,
                address=lost.address,
                label=lost.label,
                agency=lost.agency,
                attempt_id=None,
                withdraw=False,
                actor=RECONNECTION,
                created_at=now,
                updated_at=now,
            )
        )
        self.incidents.log(
            conn,
            lost.incident_id,
            now,
            event(
                LegRecalled(leg=ref, lost=lost.ref, role=lost.role, agency=lost.agency),
                actor=RECONNECTION,
                cause=cause,
            ),
        )
        return ref

    def _end(self, ref: str, state: ContactState, outcome: AttemptOutcome, cause: str) -> None:
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is not None and contact.state in LIVE:
                self._close(conn, slots, contact, state, outcome, cause, now)

    def _close(
        self,
        conn: Connection,
        slots: Slots,
        contact: Row[Any],
        state: ContactState,
        outcome: AttemptOutcome,
        cause: str,
        now: datetime,
    ) -> None:
        """End a live contact in ``state``; its try, if still in flight, with
        ``outcome`` (answered without a choice if the prompt was playing), and its
        agency's next step follows."""
        conn.execute(
            update(t.contacts)
            .where(t.contacts.c.id == contact.id)
            .values(state=state.value, ended_at=now, updated_at=now, cause=cause)
        )
        if contact.attempt_id is not None:
            attempt = self._attempt(conn, contact)
            if attempt.outcome == Out.PROMPTING.value:
                why = f"colgó sin elegir una opción ({cause})"
                self.ledger.end_attempt(conn, slots, contact, attempt, Out.ANSWERED, now, why)
            elif attempt.outcome not in FINAL_VALUES:
                self.ledger.end_attempt(conn, slots, contact, attempt, outcome, now, cause)
        elif state is ContactState.FAILED and contact.role != ContactRole.GUEST.value:
            self._failed_event(conn, contact, cause, now)
        elif contact.role == ContactRole.CITIZEN.value and contact.joined_at is None:
            self._failed_event(conn, contact, cause, now)  # the caller never reached it
        if contact.state == ContactState.IN_ROOM.value:
            self.ledger.left_room(conn, contact, now)

    def _settle(
        self,
        ref: str,
        outcome: AttemptOutcome,
        cause: str,
        *,
        also_after: frozenset[str] = frozenset(),
    ) -> None:
        """End a responder's try in flight (or, for ``also_after`` outcomes, its latest
        try that ended so) with ``outcome``; the agency's next step follows."""
        now = self.clock.now()
        with self.ledger.writing() as (conn, slots):
            contact = self.ledger.contact_row(conn, ref, lock=True)
            if contact is None or not self._responder(contact):
                return
            attempt = self._attempt(conn, contact)
            if attempt.outcome in IN_FLIGHT_VALUES:
                self.ledger.end_attempt(conn, slots, contact, attempt, outcome, now, cause)
                return
            if attempt.outcome not in also_after:
                return  # told already
            latest = conn.execute(
                select(t.attempts.c.id)
                .where(
                    t.attempts.c.incident_id == contact.incident_id,
                    t.attempts.c.agency == contact.agency,
                )
                .order_by(t.attempts.c.number.desc())
                .limit(1)
            ).scalar_one()
            if latest != attempt.id:
                return  # the escalation went on already
            self.ledger.end_attempt(conn, slots, contact, attempt, outcome, now, cause)

    def _acknowledge(
        self, conn: Connection, contact: Row[Any], method: AckMethod, cause: str, now: datetime
    ) -> None:
        if not self._responder(contact):
            return
        attempt = self._attempt(conn, contact)
        state = conn.execute(
            select(t.assignments.c.state).where(
                t.assignments.c.incident_id == contact.incident_id,
                t.assignments.c.agency == contact.agency,
            )
        ).scalar_one_or_none()
        if state not in (AssignmentState.PENDING.value, AssignmentState.UNANSWERED.value):
            return  # acknowledged already, or the incident ended
        late_reply = (
            contact.medium in MESSAGE_VALUES and attempt.outcome == Out.NO_ANSWER.value
        )  # a message whose report never came: the reply proves it arrived
        if (
            attempt.outcome not in IN_FLIGHT_VALUES
            and attempt.outcome not in AFTER_REACHED
            and not late_reply
        ):
            return  # the try ended otherwise (no answer, no choice, declined, cancelled)
        conn.execute(
            update(t.attempts)
            .where(t.attempts.c.id == attempt.id)
            .values(outcome=Out.ACKNOWLEDGED.value, cause=cause, ended_at=attempt.ended_at or now)
        )
        in_flight = attempt.outcome in IN_FLIGHT_VALUES
        self.ledger.record_ack(
            conn,
            contact.incident_id,
            contact.agency,
            attempt.id,
            method,
            f"responder:{contact.agency}",
            now,
            cause,
        )
        if not in_flight:  # a reply after the try ended: another may be in flight
            stop_agency(
                conn,
                contact.incident_id,
                contact.agency,
                now,
                "la entidad ya confirmó la atención",
                keep=contact.ref,
            )

    def _move(
        self, conn: Connection, ref: str, old: ContactState, new: ContactState, now: datetime
    ) -> Row[Any] | None:
        """The contact moved from ``old`` to ``new`` (its row as it was); None, and
        nothing changed, if it is not in ``old``."""
        contact = self.ledger.contact_row(conn, ref, lock=True)
        if contact is None or contact.state != old.value:
            return None
        conn.execute(
            update(t.contacts)
            .where(t.contacts.c.id == contact.id)
            .values(state=new.value, updated_at=now)
        )
        return contact

    def _responder(self, contact: Row[Any]) -> bool:
        return (
            contact.role == ContactRole.RESPONDER.value
            and contact.attempt_id is not None
            and contact.agency is not None
        )

    def _attempt(self, conn: Connection, contact: Row[Any]) -> Row[Any]:
        return conn.execute(select(t.attempts).where(t.attempts.c.id == contact.attempt_id)).one()

    def _failed_event(self, conn: Connection, contact: Row[Any], cause: str, now: datetime) -> None:
        self.incidents.log(
            conn,
            contact.incident_id,
            now,
            event(
                LegFailed(leg=contact.ref, role=contact.role),
                actor=SYSTEM,
                cause=f"«{contact.label}»: {cause}",
            ),
        )


class ContactPort(Protocol):
    """What an adapter of a medium needs of the ledger (:class:`ContactLedger`)."""

    def claim(self, media: Media, owner: str, limit: int = 50) -> list[ToPlace]: ...
    def to_withdraw(self, media: Media, limit: int = 50) -> list[Contact]: ...
    def unclaim(self, ref: str) -> None: ...
    def live(self, media: Media, before: datetime) -> list[LiveContact]: ...
    def arrived(
        self, incident_id: str, ref: str, medium: Medium, address: str, label: str, *, actor: str
    ) -> bool: ...
    def not_arrived(self, ref: str, cause: str) -> None: ...
    def answered(self, ref: str) -> None: ...
    def not_reached(self, ref: str, outcome: AttemptOutcome, cause: str) -> None: ...
    def delivered(self, ref: str, cause: str = "") -> None: ...
    def acknowledged(self, ref: str, method: AckMethod, cause: str) -> None: ...
    def radio_status(
        self, ref: str, status: int, means: StatusMeaning | None, label: str | None
    ) -> None: ...
    def declined(self, ref: str, cause: str) -> None: ...
    def no_choice(self, ref: str, cause: str) -> None: ...
    def joined(self, ref: str) -> None: ...
    def left(self, ref: str) -> None: ...
    def ended(self, ref: str, cause: str, outcome: AttemptOutcome | None = None) -> None: ...
    def dropped(self, refs: Collection[str], cause: str, why: str) -> list[str]: ...
    def alerted(self, medium: Medium, address: str, since: datetime) -> Alerted | None: ...
    def alert(self, ref: str) -> Alerted | None: ...
