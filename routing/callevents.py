"""What Asterisk reports about the legs voicebridge originates, applied to them.

The bridge (:mod:`voicebridge.ami.bridge`) claims legs to originate and hands every
event here. Every method is one transaction that locks the leg's incident, and is
idempotent: Asterisk events may come twice, from two ``serve`` replicas, or again
after a reconnect.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update

from routing import rows as mapped
from routing import schema as t
from routing.ledger import FINAL_VALUES, LIVE, SYSTEM, Ledger, Out
from routing.models import AckMethod, AttemptOutcome, Leg, LegRole, LegState, Status

# a claimed leg's Originate reaches Asterisk within this, or never did
ORIGINATE_GRACE = timedelta(seconds=10)

# Originate Reason codes (shared/asterisk/README.md): 3 no answer, 5 busy, 8 congestion
REASONS = {3: (Out.NO_ANSWER, "no contestó"), 5: (Out.BUSY, "ocupado"),
           8: (Out.CONGESTION, "red congestionada")}  # fmt: skip
# Hangup Cause codes before answer (Q.850)
CAUSES = {
    18: Out.NO_ANSWER,
    19: Out.NO_ANSWER,
    17: Out.BUSY,
    34: Out.CONGESTION,
    38: Out.CONGESTION,
    42: Out.CONGESTION,
}

# Q.850 causes in the words the console shows (Asterisk's Cause-txt is English)
CAUSE_WORDS = {
    0: "causa desconocida", 1: "número inexistente", 16: "colgó", 17: "ocupado",
    18: "el equipo no respondió", 19: "no contestó", 20: "abonado ausente",
    21: "rechazó la llamada", 27: "destino fuera de servicio", 28: "número mal formado",
    31: "colgó", 34: "red congestionada", 38: "red fuera de servicio",
    41: "falla temporal de la red", 42: "central congestionada",
}  # fmt: skip


def spoken_cause(code: int | None, text: str) -> str:
    """``rechazó la llamada (Call Rejected, 21)`` from a Hangup's Cause and Cause-txt;
    our own words (no code) unchanged."""
    if code is None:
        return text
    words = CAUSE_WORDS.get(code, "la llamada terminó")
    return f"{words} ({text}, {code})" if text else f"{words} ({code})"


@dataclass(frozen=True, kw_only=True, slots=True)
class LegToCall:
    """What the bridge needs to originate one leg."""

    leg: Leg
    room: str  # the ConfBridge room: the incident id
    prompt: bool  # through the acknowledgement prompt (else straight into the room)
    ring_seconds: int
    variables: Mapping[str, str] = field(default_factory=dict)


class CallEvents:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.incidents = ledger.incidents
        self.db = ledger.db
        self.clock = ledger.clock

    def claim(self, owner: str, limit: int = 50) -> list[LegToCall]:
        """Take legs to originate (each by one owner only): pending -> calling."""
        now = self.clock.now()
        legs = t.legs.c
        with self.db.write() as conn:
            ids = (
                select(legs.id)
                .where(legs.state == LegState.PENDING.value)
                .order_by(legs.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = conn.execute(
                update(t.legs)
                .where(legs.id.in_(ids.scalar_subquery()), legs.state == LegState.PENDING.value)
                .values(state=LegState.CALLING.value, owner=owner, updated_at=now)
                .returning(*t.legs.c)
            ).all()
            out = []
            for leg in sorted(rows, key=lambda r: r.id):
                incident = conn.execute(
                    select(t.incidents).where(t.incidents.c.id == leg.incident_id)
                ).one()
                ring, dtmf = 30, None
                if leg.attempt_id is not None:
                    target_id = conn.execute(
                        update(t.attempts)
                        .where(t.attempts.c.id == leg.attempt_id)
                        .values(outcome=Out.RINGING.value)
                        .returning(t.attempts.c.target)
                    ).scalar_one()
                    plan = self.ledger.plan(conn, leg.incident_id, leg.agency)
                    if plan is not None:
                        ring = plan.policy.ring_seconds
                        dtmf = next(
                            (p.target.dtmf for p in plan.targets if p.target.id == target_id),
                            None,
                        )
                out.append(self._to_call(leg, incident, ring, dtmf))
                if (
                    leg.role == LegRole.RESPONDER.value
                    and incident.status == Status.DISPATCHED.value
                ):
                    self.incidents.log(
                        conn,
                        incident.id,
                        now,
                        actor=SYSTEM,
                        kind="status_changed",
                        cause="primera llamada en curso",
                        data={"from": "dispatched", "to": "ringing"},
                        status=(Status.DISPATCHED, Status.RINGING),
                    )
        return out

    def hangups(self, limit: int = 50) -> list[Leg]:
        """Live legs someone asked to hang up."""
        legs = t.legs.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.legs, t.incidents.c.public_id)
                .join(t.incidents, t.incidents.c.id == legs.incident_id)
                .where(legs.hangup.is_(True), legs.state.in_(LIVE))
                .limit(limit)
            ).all()
        return [mapped.leg(r, r.public_id) for r in rows]

    def originate_failed(self, channel_id: str, cause: str) -> None:
        """Asterisk refused the Originate itself (an error response)."""
        self._end_leg(channel_id, LegState.FAILED, Out.FAILED, f"Originate rechazado: {cause}")

    def originate_result(self, channel_id: str, reason: int, cause: str | None = None) -> None:
        """The OriginateResponse: 4 answered, else failed with a reason."""
        if reason == 4:
            self._answered(channel_id)
            return
        outcome, spoken = REASONS.get(
            reason, (Out.FAILED, f"Asterisk no pudo hacer la llamada (Reason {reason})")
        )
        self._end_leg(channel_id, LegState.FAILED, outcome, cause or spoken)

    def key_pressed(self, channel_id: str, digit: str, status: str) -> None:
        """The prompt's report (UserEvent ResponderAck) from the leg voicebridge
        originated: 1 acknowledges, 2 declines; anything else or a timeout is no
        acknowledgement. A key from a channel voicebridge did not originate for a
        responder counts for nothing."""
        now = self.clock.now()
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or leg.role != LegRole.RESPONDER.value or leg.attempt_id is None:
                return
            attempt = conn.execute(
                select(t.attempts).where(t.attempts.c.id == leg.attempt_id)
            ).one()
            if attempt.outcome in FINAL_VALUES:
                return  # told already
            if digit == "1":
                self.ledger.acknowledge_attempt(
                    conn,
                    leg,
                    attempt,
                    now,
                    method=AckMethod.KEYPRESS,
                    actor=f"responder:{leg.agency}",
                    cause=f"«{leg.label}» aceptó con la tecla 1",
                )
            elif digit == "2":
                self.ledger.end_attempt(
                    conn,
                    leg,
                    attempt,
                    Out.DECLINED,
                    now,
                    "rechazó con la tecla 2; se pasa al siguiente destino",
                )
            elif digit != "9":
                why = "no marcó ninguna opción" if status == "TIMEOUT" else f"marcó {digit}"
                self.ledger.end_attempt(conn, leg, attempt, Out.ANSWERED, now, why)

    def hung_up(
        self, channel_id: str, cause: str, code: int | None = None, *, gone: bool = False
    ) -> None:
        """A Hangup event: before answer it says why the call failed (Cause 19 no
        answer, 17 busy, 34 congestion, 21 rejected), after answer the leg ended.
        ``cause`` is Asterisk's ``Cause-txt`` (English) or our own words. ``gone``:
        Asterisk no longer has the channel and no OriginateResponse will come."""
        now = self.clock.now()
        cause = spoken_cause(code, cause)
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or not LegState(leg.state).live:
                return
            if leg.state == LegState.CALLING.value and not (code or leg.hangup or gone):
                # a Local channel's ;1 ends with Cause 0 whatever happened to its far
                # end, before or after the OriginateResponse (busy: before, on Asterisk
                # 22.10.1): its Reason says why; a leg whose Response never comes is
                # found gone by the reconciliation
                return
            if leg.hangup:
                cause = f"colgado a pedido ({cause})"
            joined = leg.state == LegState.IN_ROOM.value
            state = LegState.ENDED if leg.state != LegState.CALLING.value else LegState.FAILED
            conn.execute(
                update(t.legs)
                .where(t.legs.c.id == leg.id)
                .values(state=state.value, ended_at=now, updated_at=now, cause=cause)
            )
            if leg.attempt_id is not None:
                attempt = conn.execute(
                    select(t.attempts).where(t.attempts.c.id == leg.attempt_id)
                ).one()
                if attempt.outcome not in FINAL_VALUES:
                    if attempt.outcome == Out.PROMPTING.value:
                        outcome, why = Out.ANSWERED, f"colgó sin marcar ({cause})"
                    else:
                        outcome, why = CAUSES.get(code or 0, Out.FAILED), cause
                    self.ledger.end_attempt(conn, leg, attempt, outcome, now, why)
            elif state is LegState.FAILED and leg.role != LegRole.GUEST.value:
                self.incidents.log(
                    conn,
                    leg.incident_id,
                    now,
                    actor=SYSTEM,
                    kind="leg_failed",
                    cause=f"«{leg.label}»: {cause}",
                    data={"leg": channel_id, "role": leg.role},
                )
            if joined:
                self.ledger.left_room(conn, leg, now)

    def joined(self, channel_id: str, room: str) -> None:
        """ConfbridgeJoin: a participant is in the room. A responder's leg in the room
        has pressed 1 (the prompt only lets those in), which matters when the key's
        report was lost with the AMI link."""
        now = self.clock.now()
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or leg.state == LegState.IN_ROOM.value:
                return
            conn.execute(
                update(t.legs)
                .where(t.legs.c.id == leg.id)
                .values(state=LegState.IN_ROOM.value, joined_at=now, updated_at=now)
            )
            if leg.attempt_id is not None:
                attempt = conn.execute(
                    select(t.attempts).where(t.attempts.c.id == leg.attempt_id)
                ).one()
                if leg.role == LegRole.RESPONDER.value and attempt.outcome not in FINAL_VALUES:
                    if leg.prompt:
                        self.ledger.acknowledge_attempt(
                            conn,
                            leg,
                            attempt,
                            now,
                            method=AckMethod.KEYPRESS,
                            actor=f"responder:{leg.agency}",
                            cause=f"«{leg.label}» entró a la sala (aceptó)",
                        )
                    else:  # a talkgroup patched in: it hears, it cannot press keys
                        self.ledger.end_attempt(
                            conn,
                            leg,
                            attempt,
                            Out.PATCHED,
                            now,
                            "el grupo de radio quedó enlazado a la sala",
                        )
                elif attempt.outcome not in FINAL_VALUES:
                    self.ledger.end_attempt(
                        conn, leg, attempt, Out.ANSWERED, now, "la supervisión entró a la sala"
                    )
            self.incidents.log(
                conn,
                leg.incident_id,
                now,
                actor=SYSTEM,
                kind="leg_joined",
                cause=f"«{leg.label}» entró a la sala",
                data={"leg": leg.channel_id, "role": leg.role, "agency": leg.agency},
            )
            self.ledger.settle_bridge(conn, leg.incident_id, now)

    def left(self, channel_id: str, room: str) -> None:
        now = self.clock.now()
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or leg.state != LegState.IN_ROOM.value:
                return
            conn.execute(
                update(t.legs)
                .where(t.legs.c.id == leg.id)
                .values(state=LegState.UP.value, updated_at=now)
            )
            self.ledger.left_room(conn, leg, now)

    def reconcile(
        self,
        live: set[str],
        rooms: Mapping[str, set[str]],
        *,
        up: set[str] | frozenset[str] = frozenset(),
        taken_at: datetime,
    ) -> list[str]:
        """Bring the live legs in line with what Asterisk said in a snapshot begun at
        ``taken_at`` (``live``: Uniqueids of its channels, ``up``: those answered,
        ``rooms``: members by room), after a reconnection and now and then. A responder
        found in the room acknowledged while the link was down; a leg that is gone ended
        unseen (or was claimed by a replica that died before originating it); a leg
        found answered was answered unseen. A leg changed since ``taken_at`` is newer
        than the snapshot and left alone, and so is one claimed less than
        :data:`ORIGINATE_GRACE` before it (its Originate may be on its way). Returns what
        changed, in words."""
        changed: list[str] = []
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    t.legs.c.channel_id,
                    t.legs.c.state,
                    t.legs.c.updated_at,
                    t.incidents.c.public_id,
                )
                .join(t.incidents, t.incidents.c.id == t.legs.c.incident_id)
                .where(t.legs.c.state.in_(LIVE), t.legs.c.updated_at < taken_at)
            ).all()
        for channel_id, state, updated_at, room in rows:
            if channel_id in rooms.get(room, set()):
                if state != LegState.IN_ROOM.value:
                    self.joined(channel_id, room)
                    changed.append(f"{channel_id}: en la sala")
            elif channel_id in live:
                if state == LegState.IN_ROOM.value:
                    self.left(channel_id, room)
                    changed.append(f"{channel_id}: fuera de la sala")
                elif state == LegState.CALLING.value and channel_id in up:
                    self._answered(channel_id)
                    changed.append(f"{channel_id}: contestó")
            elif state != LegState.CALLING.value or updated_at < taken_at - ORIGINATE_GRACE:
                self.hung_up(channel_id, "el canal ya no existe en Asterisk", gone=True)
                changed.append(f"{channel_id}: terminó")
        return changed

    def _to_call(self, leg: Row[Any], incident: Row[Any], ring: int, dtmf: str | None) -> LegToCall:
        variables = {
            "VB_ROOM": incident.public_id,
            "VB_INCIDENT": incident.public_id,
            "VB_DIGITS": incident.public_id.rsplit("-", 1)[-1],
            "VB_CATEGORY": incident.category,
        }
        if dtmf and leg.prompt:  # the extension, dialled once the line answers (vb-ack)
            variables["VB_DTMF"] = dtmf
        return LegToCall(
            leg=mapped.leg(leg, incident.public_id),
            room=incident.public_id,
            prompt=bool(leg.prompt),
            ring_seconds=ring,
            variables=variables,
        )

    def _answered(self, channel_id: str) -> None:
        now = self.clock.now()
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or leg.state != LegState.CALLING.value:
                return
            conn.execute(
                update(t.legs)
                .where(t.legs.c.id == leg.id)
                .values(state=LegState.UP.value, updated_at=now)
            )
            if leg.attempt_id is not None:
                conn.execute(
                    update(t.attempts)
                    .where(
                        t.attempts.c.id == leg.attempt_id,
                        t.attempts.c.outcome.in_([Out.PENDING.value, Out.RINGING.value]),
                    )
                    .values(outcome=Out.PROMPTING.value)
                )

    def _end_leg(
        self, channel_id: str, state: LegState, outcome: AttemptOutcome, cause: str
    ) -> None:
        now = self.clock.now()
        with self.db.write() as conn:
            leg = self.ledger.leg_row(conn, channel_id, lock=True)
            if leg is None or not LegState(leg.state).live:
                return
            conn.execute(
                update(t.legs)
                .where(t.legs.c.id == leg.id)
                .values(state=state.value, ended_at=now, updated_at=now, cause=cause)
            )
            if leg.attempt_id is not None:
                attempt = conn.execute(
                    select(t.attempts).where(t.attempts.c.id == leg.attempt_id)
                ).one()
                if attempt.outcome not in FINAL_VALUES:
                    self.ledger.end_attempt(conn, leg, attempt, outcome, now, cause)
            elif leg.role != LegRole.GUEST.value:
                self.incidents.log(
                    conn,
                    leg.incident_id,
                    now,
                    actor=SYSTEM,
                    kind="leg_failed",
                    cause=f"«{leg.label}»: {cause}",
                    data={"leg": channel_id, "role": leg.role},
                )
