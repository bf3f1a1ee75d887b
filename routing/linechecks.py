"""Responder lines checked before an emergency: each phone line of the directory is
called with a short Spanish test message ("Prueba del CIC-SC: presione 1 para
confirmar"), and what became of the call is the line's result, kept as its history.

A check is asked for by hand (``voicebridge lines check``) or by the schedule (a window
and a rate in settings, :class:`Schedule`). It is never placed while its line is part of
a live incident (a call of an incident to it is on or about to be placed, or an
escalation still pending may call it), nor past the line's rate limits (a check is a
call the line takes, and counts as one), nor outside the line's hours. A check placed
when its line then becomes part of an incident is hung up at once (interrupted).

The voice adapter claims the checks to place and reports what its PBX said, through
:class:`LineCheckPort`, in the domain's words; every report is idempotent (each
``serve`` replica hears every event). A line whose last two verdicts are failures (busy,
no answer, failed) is raised to the supervisors once (a message to each of the centre's
supervisor SMS and Telegram targets), is listed as failing, and the routing
explanation marks it (:meth:`LineChecks.failing`).
"""

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Row, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from routing import schema as t
from routing.config import RoutingConfig
from routing.db import Database
from routing.decide import PlannedTarget
from routing.ledger import LIVE
from routing.lifecycle import FINAL as ENDED
from routing.models import AssignmentState, AttemptOutcome, ContactState, TargetKind
from routing.outbox import Outbox, Outgoing, Purpose
from routing.ports import Clock
from routing.ratelimits import Grant, Limit, Limiter, Taken, Verdict, give_back
from routing.schedule import Window, active

RING_SECONDS = 20  # a check rings this long before it is "no answer"
STUCK = timedelta(minutes=5)  # a check on the phone this long was lost
UNPLACED = timedelta(hours=1)  # a check nobody placed in this long (no voice adapter)
MAX_ON_THE_PHONE = 2  # checks placed at once across the centre: the trunk is for emergencies
# a call of an incident to a line waits while a check is on it, until the check's end:
# at most this long after the check's last change (it rings 20 s, its message plays twice)
HOLD = timedelta(seconds=45)
STREAK = 2  # failures in a row that raise a line to the supervisors
CHECKS_ACTOR = "system:line-checks"
RATE_KEY = "line-checks"  # the rate of scheduled checks, counted under this destination


class CheckState(StrEnum):
    PENDING = "pending"  # to be placed by the voice adapter
    PLACING = "placing"  # the call placed, ringing
    ANSWERED = "answered"  # the line answered: the message is playing
    DONE = "done"  # it has its result


IN_FLIGHT = (CheckState.PENDING.value, CheckState.PLACING.value, CheckState.ANSWERED.value)
ON_THE_PHONE = (CheckState.PLACING.value, CheckState.ANSWERED.value)


class CheckResult(StrEnum):
    CONFIRMED = "confirmed"  # someone pressed 1
    ANSWERED = "answered"  # answered, without the key (a person who did not press, a voicemail)
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"  # with its cause (congestion, a number that does not exist...)
    INTERRUPTED = "interrupted"  # cut for an incident, or lost by the PBX: no verdict
    SKIPPED = "skipped"  # not called (in an incident, its rate limits, out of hours)

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def verdict(self) -> bool:
        """Whether it says something of the line (interrupted and skipped do not)."""
        return self not in (CheckResult.INTERRUPTED, CheckResult.SKIPPED)

    @property
    def failure(self) -> bool:
        return self in FAILURES


_LABELS = {
    CheckResult.CONFIRMED: "confirmada",
    CheckResult.ANSWERED: "contestó sin marcar",
    CheckResult.BUSY: "ocupado",
    CheckResult.NO_ANSWER: "no contestó",
    CheckResult.FAILED: "falló",
    CheckResult.INTERRUPTED: "interrumpida",
    CheckResult.SKIPPED: "no se probó",
}
FAILURES = frozenset({CheckResult.BUSY, CheckResult.NO_ANSWER, CheckResult.FAILED})
VERDICTS = tuple(r.value for r in CheckResult if r.verdict)
# what a call that was not answered becomes (the voice adapter's outcome)
_NOT_REACHED = {
    AttemptOutcome.BUSY: CheckResult.BUSY,
    AttemptOutcome.NO_ANSWER: CheckResult.NO_ANSWER,
}


def result_of(outcome: AttemptOutcome) -> CheckResult:
    """A call not answered, in a check's words (congestion and the rest: failed)."""
    return _NOT_REACHED.get(outcome, CheckResult.FAILED)


@dataclass(frozen=True, kw_only=True, slots=True)
class Line:
    """A phone line of the directory: a target of an agency's station."""

    planned: PlannedTarget
    agency: str
    agency_name: str

    @property
    def id(self) -> str:
        return self.planned.target.id

    @property
    def label(self) -> str:
        return self.planned.target.label or self.planned.target.id


def directory_lines(config: RoutingConfig) -> list[Line]:
    """Every phone line of the agencies' stations that the PBX can dial, in the
    directory's order (a line listed by two stations once)."""
    lines: dict[str, Line] = {}
    for agency in config.agencies.values():
        for station in agency.stations:
            for target in station.targets:
                if target.kind is TargetKind.PHONE and target.dial and target.id not in lines:
                    planned = PlannedTarget(
                        target=target, station=station.code, station_name=station.name
                    )
                    lines[target.id] = Line(planned=planned, agency=agency.code,
                                            agency_name=agency.name)  # fmt: skip
    return list(lines.values())


def select_lines(
    lines: Iterable[Line], *, agency: str | None = None, line: str | None = None
) -> list[Line]:
    return [
        x
        for x in lines
        if (agency is None or x.agency == agency) and (line is None or x.id == line)
    ]


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    id: int
    ref: str
    line: str
    agency: str
    label: str
    number: str
    state: CheckState
    result: CheckResult | None
    cause: str | None
    scheduled: bool
    actor: str
    raised: bool  # this result raised the line to the supervisors
    created_at: datetime
    ended_at: datetime | None

    @property
    def done(self) -> bool:
        return self.state is CheckState.DONE


@dataclass(frozen=True, kw_only=True, slots=True)
class Requested:
    line: Line
    check: Check
    new: bool  # False: a check of the line was in flight already (this is it)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckToPlace:
    """A check claimed by the voice adapter, with what it needs to place it."""

    ref: str
    line: str
    dial: str
    dtmf: str | None
    ring_seconds: int


@dataclass(frozen=True, kw_only=True, slots=True)
class LineStatus:
    line: Line
    last: Check | None  # the last check that ended (whatever its result)
    last_verdict: Check | None  # the last that says something of the line
    failures: int  # verdicts in a row that are failures, the last first

    @property
    def failing(self) -> bool:
        return self.failures >= STREAK


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    """When scheduled checks may be placed (``windows``; none: never), at most
    ``rate`` of them per its period across the centre, each line at most once every
    ``every``."""

    windows: tuple[Window, ...]
    rate: Limit
    every: timedelta


class LineCheckPort(Protocol):
    """What the voice adapter does with the line checks."""

    def active(self) -> bool: ...
    def claim(self, owner: str, limit: int = MAX_ON_THE_PHONE) -> list[CheckToPlace]: ...
    def unclaim(self, ref: str) -> None: ...
    def to_hang_up(self) -> list[tuple[str, CheckState]]: ...
    def gone(self, ref: str) -> bool: ...
    def answered(self, ref: str) -> None: ...
    def finished(self, ref: str, result: CheckResult, cause: str) -> bool: ...
    def hung_up(self, ref: str, outcome: AttemptOutcome | None, cause: str) -> bool: ...
    def in_flight(self, before: datetime) -> list[str]: ...


def new_check_ref() -> str:
    """A check's ref, which names its call (``vbchk-`` and 20 hex: not a contact's
    ``vb-``)."""
    return f"vbchk-{secrets.token_hex(10)}"


class LineChecks:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        limiter: Limiter,
        outbox: Outbox,
        config: Callable[[], RoutingConfig],
    ) -> None:
        """``config``: the routing configuration in force (its directory and its
        supervisors)."""
        self.db = db
        self.clock = clock
        self.limiter = limiter
        self.outbox = outbox
        self.config = config
        dialect_insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        self._insert_state = dialect_insert(t.line_states)

    # ------------------------------------------------------------- requests

    def lines(self, *, agency: str | None = None, line: str | None = None) -> list[Line]:
        return select_lines(directory_lines(self.config()), agency=agency, line=line)

    def request(self, lines: Sequence[Line], *, actor: str) -> list[Requested]:
        """Check these lines now (by hand): each gets a pending check, or the one in
        flight already, or a skipped one saying why it is not called."""
        now = self.clock.now()
        done: list[Requested] = []
        for line in lines:
            target = line.planned.target
            with self._slots() as slots:
                try:
                    with self.db.write() as conn:
                        found = self._in_flight(conn, line.id)
                        if found is not None:
                            done.append(Requested(line=line, check=_check(found), new=False))
                            continue
                        why = self._refusal(conn, line, now)
                        grant = None
                        if why is None:
                            verdict = self.limiter.acquire(target.destination, target.limits)
                            slots.append((verdict.grant, target.limits))
                            grant = verdict.grant
                            if not verdict.allowed:
                                why = _over_limit(verdict)
                        row = self._insert(conn, line, now, actor=actor, scheduled=False,
                                           skip=why, grant=grant)  # fmt: skip
                except IntegrityError:  # another replica asked for it at the same moment
                    give_back(self.limiter, slots)
                    with self.db.read() as conn:
                        found = self._in_flight(conn, line.id)
                    if found is None:
                        raise
                    done.append(Requested(line=line, check=_check(found), new=False))
                    continue
                done.append(Requested(line=line, check=_check(row), new=True))
        return done

    def schedule(self, schedule: Schedule) -> list[Check]:
        """The scheduled checks due now: in a window, each line not checked for
        ``every``, at most the centre's rate; lines in use, out of hours or at their
        rate limits wait for a later turn (nothing is recorded for them). A check that
        said nothing of its line (interrupted, skipped) does not count as one."""
        now = self.clock.now()
        if not any(w.contains(now) for w in schedule.windows):
            return []
        c = t.line_checks.c
        silent = (CheckResult.SKIPPED.value, CheckResult.INTERRUPTED.value)
        with self.db.read() as conn:
            recent = set(
                conn.execute(
                    select(c.line).where(c.created_at > now - schedule.every,
                                         or_(c.result.is_(None), c.result.not_in(silent)))
                ).scalars()
            )  # fmt: skip
        placed: list[Check] = []
        for line in directory_lines(self.config()):
            if line.id in recent:
                continue
            target = line.planned.target
            with self._slots() as slots:
                try:
                    with self.db.write() as conn:
                        if self._in_flight(conn, line.id) is not None:
                            continue
                        if self._refusal(conn, line, now) is not None:
                            continue
                        verdict = self.limiter.acquire(target.destination, target.limits)
                        slots.append((verdict.grant, target.limits))
                        if not verdict.allowed:
                            continue
                        centre = self.limiter.acquire(RATE_KEY, (schedule.rate,))
                        slots.append((centre.grant, (schedule.rate,)))
                        if not centre.allowed:
                            give_back(self.limiter, slots)
                            break  # the centre's rate: the rest wait for a later turn
                        row = self._insert(conn, line, now, actor=CHECKS_ACTOR, scheduled=True,
                                           grant=verdict.grant)  # fmt: skip
                except IntegrityError:  # asked for by hand at the same moment
                    give_back(self.limiter, slots)
                    continue
                placed.append(_check(row))
        return placed

    @contextmanager
    def _slots(self) -> Iterator[Taken]:
        """Rate-limit uses counted for one line, given back if what took them fails
        (its transaction did not commit)."""
        taken: Taken = []
        try:
            yield taken
        except BaseException:
            give_back(self.limiter, taken)
            raise

    def _refusal(self, conn: Connection, line: Line, now: datetime) -> str | None:
        """Why the line may not be called now, if it may not."""
        target = line.planned.target
        if not active(target.hours, now):
            hours = ", ".join(str(w) for w in target.hours)
            return f"fuera de su horario ({hours})"
        incident = in_use(conn, {line.id: target.dial or ""}).get(line.id)
        if incident is not None:
            return f"es parte del incidente en curso {incident}"
        return None

    def _insert(
        self,
        conn: Connection,
        line: Line,
        now: datetime,
        *,
        actor: str,
        scheduled: bool,
        skip: str | None = None,
        grant: Grant | None = None,
    ) -> Row[Any]:
        target = line.planned.target
        return conn.execute(
            insert(t.line_checks)
            .values(
                ref=new_check_ref(),
                line=line.id,
                agency=line.agency,
                label=line.label,
                number=target.address,
                dial=target.dial or "",
                dtmf=target.dtmf,
                state=(CheckState.DONE if skip else CheckState.PENDING).value,
                result=CheckResult.SKIPPED.value if skip else None,
                cause=skip,
                scheduled=scheduled,
                actor=actor,
                raised=False,
                withdraw=False,
                slot=grant.token if grant is not None and not skip else None,
                created_at=now,
                updated_at=now,
                ended_at=now if skip else None,
            )
            .returning(*t.line_checks.c)
        ).one()

    def _in_flight(self, conn: Connection, line: str) -> Row[Any] | None:
        c = t.line_checks.c
        return conn.execute(
            select(t.line_checks).where(c.line == line, c.state.in_(IN_FLIGHT)).limit(1)
        ).first()

    def _give_back_slot(self, row: Row[Any]) -> None:
        """The rate-limit use of a check never placed, given back."""
        if not row.slot:
            return
        found = select_lines(directory_lines(self.config()), line=row.line)
        limits = found[0].planned.target.limits if found else ()
        grant = Grant(destination=f"{TargetKind.PHONE.value}:{row.number}", token=row.slot)
        self.limiter.release(grant, limits)

    # ------------------------------------------------------------- the port

    def active(self) -> bool:
        """Whether any check is pending or on the phone (one row read, on an index)."""
        c = t.line_checks.c
        with self.db.read() as conn:
            return (
                conn.execute(select(c.id).where(c.state.in_(IN_FLIGHT)).limit(1)).first()
                is not None
            )

    def claim(self, owner: str, limit: int = MAX_ON_THE_PHONE) -> list[CheckToPlace]:
        """Pending checks to place (pending -> placing), each by one owner, at most
        :data:`MAX_ON_THE_PHONE` on the phone at once across the centre; one whose
        line became part of an incident meanwhile is skipped instead (its rate-limit
        use given back)."""
        now = self.clock.now()
        c = t.line_checks.c
        with self.db.read() as conn:
            pending = conn.execute(
                select(c.id).where(c.state == CheckState.PENDING.value).order_by(c.id).limit(limit)
            ).scalars().all()  # fmt: skip
        if not pending:
            return []
        out: list[CheckToPlace] = []
        never_placed: list[Row[Any]] = []
        with self.db.write() as conn:
            on_the_phone = conn.execute(
                select(func.count()).select_from(t.line_checks).where(c.state.in_(ON_THE_PHONE))
            ).scalar_one()
            room = min(limit, MAX_ON_THE_PHONE - on_the_phone)
            if room <= 0:
                return []
            rows = conn.execute(
                update(t.line_checks)
                .where(c.id.in_(pending[:room]), c.state == CheckState.PENDING.value)
                .values(state=CheckState.PLACING.value, owner=owner, placed_at=now, updated_at=now)
                .returning(*t.line_checks.c)
            ).all()
            busy = in_use(conn, {r.line: r.dial for r in rows})
            for row in sorted(rows, key=lambda r: r.id):
                if row.line in busy:
                    why = f"no se llamó: la línea pasó al incidente en curso {busy[row.line]}"
                    self._end(conn, row, CheckResult.SKIPPED, why, now)
                    never_placed.append(row)
                    continue
                out.append(CheckToPlace(ref=row.ref, line=row.line, dial=row.dial,
                                        dtmf=row.dtmf, ring_seconds=RING_SECONDS))  # fmt: skip
        for row in never_placed:
            self._give_back_slot(row)
        return out

    def unclaim(self, ref: str) -> None:
        """A check its adapter could not send (the PBX going away): pending again."""
        c = t.line_checks.c
        with self.db.write() as conn:
            conn.execute(
                update(t.line_checks)
                .where(c.ref == ref, c.state == CheckState.PLACING.value)
                .values(state=CheckState.PENDING.value, owner=None, updated_at=self.clock.now())
            )

    def to_hang_up(self) -> list[tuple[str, CheckState]]:
        """Checks on the phone whose line became part of an incident, to hang up:
        (ref, state). Each is marked withdrawn here, with why; its end (the hang-up's
        report, or :meth:`gone`) records it interrupted. Given again until it ended."""
        c = t.line_checks.c
        now = self.clock.now()
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.line_checks).where(c.state.in_(ON_THE_PHONE), ~c.withdraw)
            ).all()
            busy = in_use(conn, {r.line: r.dial for r in rows}) if rows else {}
        if busy:
            with self.db.write() as conn:
                for row in rows:
                    if row.line not in busy:
                        continue
                    why = f"se cortó: la línea pasó al incidente en curso {busy[row.line]}"
                    conn.execute(
                        update(t.line_checks)
                        .where(c.id == row.id, c.state.in_(ON_THE_PHONE), ~c.withdraw)
                        .values(withdraw=True, cause=why, updated_at=now)
                    )
        with self.db.read() as conn:
            return [
                (r.ref, CheckState(r.state))
                for r in conn.execute(
                    select(c.ref, c.state).where(c.state.in_(ON_THE_PHONE), c.withdraw)
                    .order_by(c.id)
                )
            ]  # fmt: skip

    def gone(self, ref: str) -> bool:
        """A withdrawn check whose call the PBX no longer has: ended interrupted."""
        with self.db.read() as conn:
            row = self._row(conn, ref)
        if row is None or not row.withdraw:
            return False
        return self.finished(ref, CheckResult.INTERRUPTED, row.cause or "se cortó")

    def answered(self, ref: str) -> None:
        now = self.clock.now()
        c = t.line_checks.c
        with self.db.write() as conn:
            conn.execute(
                update(t.line_checks)
                .where(c.ref == ref, c.state.in_((CheckState.PENDING.value,
                                                  CheckState.PLACING.value)))
                .values(state=CheckState.ANSWERED.value, answered_at=now, updated_at=now)
            )  # fmt: skip

    def finished(self, ref: str, result: CheckResult, cause: str) -> bool:
        """The check's result; False if it had one already (a report heard twice, or
        by two replicas at once: the first stands). A check withdrawn for an incident
        that was not confirmed ends interrupted: how it ended says nothing of the line."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self._row(conn, ref)
            if row is None or row.state == CheckState.DONE.value:
                return False
            if row.withdraw and result is not CheckResult.CONFIRMED:
                result, cause = CheckResult.INTERRUPTED, row.cause or cause
            return self._end(conn, row, result, cause, now)

    def hung_up(self, ref: str, outcome: AttemptOutcome | None, cause: str) -> bool:
        """The check's call ended: withdrawn, "interrupted"; after its answer without a
        key, "answered"; before it, what the cause of its end says (``outcome``), or
        nothing when the cause says nothing (the report of the call's placing tells).
        Whether it ended the check."""
        with self.db.read() as conn:
            row = self._row(conn, ref)
        if row is None or row.state == CheckState.DONE.value:
            return False
        if row.withdraw:
            return self.finished(ref, CheckResult.INTERRUPTED, row.cause or cause)
        if row.state == CheckState.ANSWERED.value:
            return self.finished(ref, CheckResult.ANSWERED, "colgó sin marcar")
        if outcome is None:
            return False
        return self.finished(ref, result_of(outcome), cause)

    def in_flight(self, before: datetime) -> list[str]:
        """The refs of checks placed or answered before ``before`` and not ended (for
        the adapter's reconciliation with what its PBX has)."""
        c = t.line_checks.c
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(c.ref).where(c.state.in_(ON_THE_PHONE), c.updated_at < before)
                ).scalars()
            )

    def _row(self, conn: Connection, ref: str) -> Row[Any] | None:
        return conn.execute(select(t.line_checks).where(t.line_checks.c.ref == ref)).first()

    def _end(
        self, conn: Connection, row: Row[Any], result: CheckResult, cause: str, now: datetime
    ) -> bool:
        """Record the result if the check has none yet (a conditional update: of two
        replicas reporting at once, one writes); the line's failures in a row kept in
        ``line_states``; a second failure in a row raised to the supervisors."""
        c = t.line_checks.c
        done = conn.execute(
            update(t.line_checks)
            .where(c.id == row.id, c.state != CheckState.DONE.value)
            .values(state=CheckState.DONE.value, result=result.value, cause=cause,
                    ended_at=now, updated_at=now)
        ).rowcount  # fmt: skip
        if done != 1:
            return False
        if not result.verdict:
            return True
        failures = self._streak(conn, row.line)
        conn.execute(
            self._insert_state.values(line=row.line, failures=failures, check_id=row.id,
                                      updated_at=now)
            .on_conflict_do_update(
                index_elements=["line"],
                set_={"failures": failures, "check_id": row.id, "updated_at": now},
            )
        )  # fmt: skip
        if result.failure and failures == STREAK:
            conn.execute(update(t.line_checks).where(c.id == row.id).values(raised=True))
            self._raise(conn, row, now)
        return True

    def _streak(self, conn: Connection, line: str) -> int:
        c = t.line_checks.c
        recent = conn.execute(
            select(c.result)
            .where(c.line == line, c.result.in_(VERDICTS))
            .order_by(c.id.desc())
            .limit(STREAK + 1)
        ).scalars()
        return _failures(CheckResult(r) for r in recent)

    def _raise(self, conn: Connection, row: Row[Any], now: datetime) -> None:
        """The line failed twice in a row: a message to each supervisor who reads them."""
        c = t.line_checks.c
        last = conn.execute(
            select(c.result, c.cause)
            .where(c.line == row.line, c.result.in_(VERDICTS))
            .order_by(c.id.desc())
            .limit(STREAK)
        ).all()
        what = "; ".join(_said(CheckResult(r.result), r.cause) for r in reversed(last))
        body = (
            f"CIC-SC: la línea «{row.label}» ({row.line}, {row.number}) falló dos pruebas "
            f"seguidas: {what}. Revísela antes de que la necesite una emergencia."
        )
        config = self.config()
        messages = [
            Outgoing(
                key=f"line-{row.ref}-{n}",
                channel=target.kind.value,
                chat=target.address,
                purpose=Purpose.SUPERVISION,
                body=body,
            )
            for n, target in enumerate(config.centre.supervisor, 1)
            if target.kind in (TargetKind.SMS, TargetKind.TELEGRAM)
        ]
        self.outbox.add(conn, messages, now)

    # ------------------------------------------------------------- reading

    def status(self, lines: Sequence[Line]) -> list[LineStatus]:
        """Each line with its last result and its failures in a row."""
        c = t.line_checks.c
        ranked = (
            select(
                t.line_checks,
                func.row_number().over(partition_by=c.line, order_by=c.id.desc()).label("n"),
            )
            .where(c.state == CheckState.DONE.value)
            .subquery()
        )
        verdicts = (
            select(
                ranked,
                func.row_number().over(partition_by=ranked.c.line,
                                       order_by=ranked.c.id.desc()).label("v"),
            )
            .where(ranked.c.result.in_(VERDICTS))
            .subquery()
        )  # fmt: skip
        with self.db.read() as conn:
            last = {
                r.line: _check(r) for r in conn.execute(select(ranked).where(ranked.c.n == 1)).all()
            }
            recent: dict[str, list[CheckResult]] = {}
            last_verdict: dict[str, Check] = {}
            for r in conn.execute(
                select(verdicts).where(verdicts.c.v <= STREAK + 1).order_by(verdicts.c.v)
            ):
                recent.setdefault(r.line, []).append(CheckResult(r.result))
                last_verdict.setdefault(r.line, _check(r))
        return [
            LineStatus(
                line=line,
                last=last.get(line.id),
                last_verdict=last_verdict.get(line.id),
                failures=_failures(recent.get(line.id, [])),
            )
            for line in lines
        ]

    def failing(self) -> dict[str, str]:
        """Lines whose last two verdicts are failures -> those results in words (for the
        routing explanation): read from ``line_states``, a row per line."""
        ls, c = t.line_states.c, t.line_checks.c
        recent: dict[str, list[tuple[CheckResult, str | None]]] = {}
        with self.db.read() as conn:
            lines = conn.execute(select(ls.line).where(ls.failures >= STREAK)).scalars().all()
            for line in lines:
                for r in conn.execute(
                    select(c.result, c.cause)
                    .where(c.line == line, c.result.in_(VERDICTS))
                    .order_by(c.id.desc())
                    .limit(STREAK)
                ):
                    recent.setdefault(line, []).append((CheckResult(r.result), r.cause))
        return {
            line: "; ".join(_said(r, cause) for r, cause in reversed(results))
            for line, results in recent.items()
        }

    def history(self, line: str, limit: int = 50) -> list[Check]:
        c = t.line_checks.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.line_checks).where(c.line == line).order_by(c.id.desc()).limit(limit)
            ).all()
        return [_check(r) for r in rows]

    def get(self, refs: Sequence[str]) -> list[Check]:
        c = t.line_checks.c
        with self.db.read() as conn:
            rows = conn.execute(select(t.line_checks).where(c.ref.in_(refs))).all()
        by_ref = {r.ref: _check(r) for r in rows}
        return [by_ref[r] for r in refs if r in by_ref]

    def stuck(self) -> list[str]:
        """Checks on the phone for longer than any call lasts (their adapter died), or
        that nobody placed in an hour (no voice adapter runs): ended interrupted,
        the rate-limit use of those never placed given back. Their refs."""
        now = self.clock.now()
        refs = self.in_flight(now - STUCK)
        with self.db.read() as conn:
            c = t.line_checks.c
            refs += conn.execute(
                select(c.ref).where(c.state == CheckState.PENDING.value,
                                    c.created_at < now - UNPLACED)
            ).scalars().all()  # fmt: skip
        why = "no terminó a tiempo (la llamada de prueba se perdió)"
        ended = [r for r in refs if self.finished(r, CheckResult.INTERRUPTED, why)]
        with self.db.read() as conn:
            never_placed = conn.execute(
                select(t.line_checks).where(c.ref.in_(ended), c.placed_at.is_(None))
            ).all()
        for row in never_placed:
            self._give_back_slot(row)
        return ended


def _failures(results: Iterable[CheckResult]) -> int:
    n = 0
    for r in results:
        if not r.failure:
            break
        n += 1
    return n


def _said(result: CheckResult, cause: str | None) -> str:
    return result.label if not cause or cause == result.label else f"{result.label} ({cause})"


def in_use(conn: Connection, dials: Mapping[str, str]) -> dict[str, str]:
    """Lines (id -> its dial string) that are part of a live incident -> that
    incident's id: a call of an incident to the line is on or about to be placed, or
    an agency's escalation still pending on an open incident may call it."""
    if not dials:
        return {}
    by_dial = {d: line for line, d in dials.items() if d}
    k, i, s = t.contacts.c, t.incidents.c, t.assignments.c
    found: dict[str, str] = {}
    for dial, incident in conn.execute(
        select(k.address, i.public_id)
        .join(t.incidents, i.id == k.incident_id)
        .where(k.address.in_(list(by_dial)), k.state.in_((ContactState.PENDING.value, *LIVE)))
    ):
        found.setdefault(by_dial[dial], incident)
    for plan, incident in conn.execute(
        select(s.plan, i.public_id)
        .join(t.incidents, i.id == s.incident_id)
        .where(
            s.state == AssignmentState.PENDING.value,
            i.status.not_in([st.value for st in ENDED]),
        )
    ):
        for target in plan.get("targets", []):
            if target.get("id") in dials:
                found.setdefault(target["id"], incident)
    return found


def _check(row: Any) -> Check:
    return Check(
        id=row.id,
        ref=row.ref,
        line=row.line,
        agency=row.agency,
        label=row.label,
        number=row.number,
        state=CheckState(row.state),
        result=CheckResult(row.result) if row.result else None,
        cause=row.cause,
        scheduled=row.scheduled,
        actor=row.actor,
        raised=row.raised,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _over_limit(verdict: Verdict) -> str:
    limit = f" ({verdict.limit.spanish()})" if verdict.limit is not None else ""
    return f"llegó a su límite de llamadas{limit}; se podrá probar en {round(verdict.retry_in)} s"


def holding(address: ColumnElement[str], now: datetime) -> ColumnElement[bool]:
    """Whether a check is on the phone with the line a call dials (``address``): the
    call waits for its end (at most :data:`HOLD` after its last change), rather than
    find the line busy."""
    c = t.line_checks.c
    return exists().where(c.dial == address, c.state.in_(ON_THE_PHONE), c.updated_at > now - HOLD)
