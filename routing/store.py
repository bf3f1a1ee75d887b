"""The incident store: incidents, their reports and their append-only event log.

Every change runs in one write transaction that also appends the change's event (with
actor, time and cause) and any follow-up :class:`~routing.models.Task`, so a change, its
record and the work it calls for are stored together or not at all.
"""

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from routing import rows as mapped
from routing import schema as t
from routing.analytics import Period, period_of_day
from routing.categories import category_by_code
from routing.db import Database, mark_logged
from routing.dedup import (
    Filed,
    Match,
    Nearby,
    created_cause,
    filing_lock,
    find_matches,
    joined_cause,
    repeated_cause,
)
from routing.districts import district_by_code
from routing.errors import Conflict, InvalidValue, NotFound, RoutingError
from routing.events import Created as CreatedEvent
from routing.events import (
    EventKind,
    FilledIn,
    MergedFrom,
    NewEvent,
    ReportAdded,
    ReportJoined,
    ReportSplitOut,
    SplitFrom,
    StatusChanged,
    event,
)
from routing.ids import PREFIX_PATTERN, format_incident_id, lima_day, lima_year
from routing.lifecycle import FINAL, check_transition
from routing.models import (
    Incident,
    IncidentDetail,
    IncidentEvent,
    IncidentQuery,
    NewIncident,
    NewReport,
    Page,
    Priority,
    Report,
    Source,
    Status,
    Task,
)
from routing.ports import Clock, SystemClock
from routing.reading import UNCLASSIFIED

FollowUp = Callable[[Incident], Sequence[Task]]
OnFinal = Callable[[Connection, int, datetime, str], None]
# the follow-up work an event calls for, recorded with it (the citizens' news): given
# the transaction, the incident's row id, the event and its sequence number
OnEvent = Callable[[Connection, int, NewEvent, int], Sequence[Task]]


def _nothing(conn: Connection, row_id: int, now: datetime, why: str) -> None:
    return None


Created = tuple[Incident, bool]


@dataclass(frozen=True, kw_only=True, slots=True)
class Intake:
    """One request to create an incident, for :meth:`IncidentStore.create_incidents`."""

    new: NewIncident
    actor: str
    follow_up: FollowUp | None = None


class _Sql:
    """The statements of the hot paths, built once: SQLAlchemy then reuses their compiled
    form instead of rebuilding bind parameters and cache keys on every call."""

    def __init__(self, dialect: str) -> None:
        c = t.incidents.c
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        counter = dialect_insert(t.incident_counters).values(
            prefix=bindparam("prefix"), year=bindparam("year"), last=bindparam("n")
        )
        self.next_numbers = counter.on_conflict_do_update(
            index_elements=["prefix", "year"],
            set_={"last": t.incident_counters.c.last + counter.excluded.last},
        ).returning(t.incident_counters.c.last)
        # ids matched by number: asking RETURNING for the rows' order makes SQLAlchemy
        # insert one row per statement on SQLite
        self.insert_incidents = insert(t.incidents).returning(c.id, c.public_id)
        self.insert_report = insert(t.reports)
        self.insert_report_id = insert(t.reports).returning(t.reports.c.id)
        self.insert_event = insert(t.incident_events)
        self.insert_tasks = insert(t.tasks)
        self.by_public_id = select(t.incidents).where(c.public_id == bindparam("pid"))
        self.lock = (
            self.by_public_id.with_for_update() if dialect == "postgresql" else self.by_public_id
        )
        self.by_id = select(t.incidents).where(c.id == bindparam("rid"))
        self.lock_by_id = self.by_id.with_for_update() if dialect == "postgresql" else self.by_id
        self.touch = (
            update(t.incidents)
            .where(c.id == bindparam("rid"))
            .values(last_report_at=bindparam("at"))
        )
        self.report_by_id = select(t.reports).where(t.reports.c.id == bindparam("report"))
        self.first_report = (
            select(t.reports)
            .where(t.reports.c.incident_id == bindparam("rid"))
            .order_by(t.reports.c.id)
            .limit(1)
        )
        self.bump = (
            update(t.incidents)
            .where(c.id == bindparam("rid"))
            .values(version=c.version + 1, updated_at=bindparam("now"))
            .returning(c.version)
        )
        self.bump_status = (
            update(t.incidents)
            .where(c.id == bindparam("rid"), c.status == bindparam("from_status"))
            .values(
                version=c.version + 1, updated_at=bindparam("now"), status=bindparam("to_status")
            )
            .returning(c.version)
        )


MAX_PAGE = 500


class IncidentStore:
    def __init__(
        self,
        db: Database,
        *,
        prefix: str = "LIM",
        clock: Clock | None = None,
        on_final: OnFinal | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        if not PREFIX_PATTERN.match(prefix):
            raise InvalidValue("prefix", f"{prefix!r} must be 2 to 8 capital letters")
        self.db = db
        self.prefix = prefix
        self.clock: Clock = clock or SystemClock()
        self.sql = _Sql(db.dialect)
        # called, in the same transaction, when an incident becomes resolved, cancelled or
        # merged (the contact ledger ends its escalations and contacts there)
        self.on_final: OnFinal = on_final or _nothing
        # asked, in the same transaction, for the tasks an event appended calls for
        self.on_event = on_event

    # ---------------------------------------------------------------- writes

    def create_incident(
        self, new: NewIncident, *, actor: str, follow_up: FollowUp | None = None
    ) -> tuple[Incident, bool]:
        """Store a new incident with its first report; ``(incident, True)``.

        A report whose ``(source, external_id)`` is already stored is a repeat (a retried
        webhook, a resent request): nothing is written and ``(existing, False)`` returned.
        """
        [result] = self.create_incidents([Intake(new=new, actor=actor, follow_up=follow_up)])
        if isinstance(result, RoutingError):
            raise result
        return result

    def create_incidents(self, intakes: Sequence[Intake]) -> list[Created | RoutingError]:
        """:meth:`create_incident` for many at once, in one transaction (group commit):
        the answer for each, in order, is ``(incident, created)`` or the error that
        refused it. A refused intake does not keep the others from being stored."""
        results: list[Created | RoutingError | None] = [None] * len(intakes)
        valid: list[int] = []
        for n, intake in enumerate(intakes):
            try:
                _check(intake.new)
                valid.append(n)
            except RoutingError as exc:
                results[n] = exc
        stored = self._incidents_of_reports(
            [key for n in valid if (key := _report_key(intakes[n].new)) is not None]
        )
        fresh: list[int] = []
        first_of: dict[tuple[str, str], int] = {}
        repeats: list[tuple[int, int]] = []  # (intake, the earlier intake it repeats)
        for n in valid:
            key = _report_key(intakes[n].new)
            if key is not None and key in stored:
                results[n] = (stored[key], False)
            elif key is not None and key in first_of:
                repeats.append((n, first_of[key]))
            else:
                if key is not None:
                    first_of[key] = n
                fresh.append(n)
        if fresh:
            try:
                created = self._write_new([intakes[n] for n in fresh])
                for n, incident in zip(fresh, created, strict=True):
                    results[n] = (incident, True)
            except IntegrityError:
                if len(fresh) == 1 and (key := _report_key(intakes[fresh[0]].new)):
                    # a concurrent writer stored the same report first: that incident it is
                    found = self._incidents_of_reports([key]).get(key)
                    if found is None:
                        raise
                    results[fresh[0]] = (found, False)
                else:  # one of the batch collided: write them one by one
                    for n in fresh:
                        results[n] = self.create_incidents([intakes[n]])[0]
        for n, earlier in repeats:
            done = results[earlier]
            results[n] = (done[0], False) if isinstance(done, tuple) else done
        return [r for r in results if r is not None]

    def _write_new(self, intakes: Sequence[Intake]) -> list[Incident]:
        now = self.clock.now()
        with self.db.write() as conn:
            ids, incidents = self._new_incidents(conn, intakes, now)
            conn.execute(
                self.sql.insert_report,
                [
                    mapped.report_row(row_id, intake.new.report, now)
                    for row_id, intake in zip(ids, intakes, strict=True)
                ],
            )
        return incidents

    def _new_incidents(
        self,
        conn: Connection,
        intakes: Sequence[Intake],
        now: datetime,
        *,
        address_keys: Sequence[str | None] | None = None,
        causes: Sequence[str] | None = None,
        public_ids: Sequence[str] | None = None,
    ) -> tuple[list[int], list[Incident]]:
        """Number and store new incidents with their first event and follow-up tasks, in
        this transaction; their row ids and values. Their reports are the caller's.
        ``public_ids``: numbers reserved for them before (:meth:`reserve_ids`)."""
        numbers = public_ids or self._numbers(conn, len(intakes), now)
        keys = address_keys or [None] * len(intakes)
        rows = [
            _incident_row(intake, public_id, now, key)
            for public_id, intake, key in zip(numbers, intakes, keys, strict=True)
        ]
        by_number = {r.public_id: int(r.id) for r in conn.execute(self.sql.insert_incidents, rows)}
        ids = [by_number[row["public_id"]] for row in rows]
        mark_logged(conn)
        conn.execute(
            self.sql.insert_event,
            [
                {
                    "incident_id": row_id,
                    "seq": 1,
                    "at": now,
                    "actor": intake.actor,
                    "kind": EventKind.CREATED.value,
                    "cause": causes[n]
                    if causes is not None
                    else f"reporte recibido por {Source(row['source']).label}",
                    "key": None,
                    "data": _created(row, intake.new).to_data(),
                }
                for n, (row_id, row, intake) in enumerate(zip(ids, rows, intakes, strict=True))
            ],
        )
        incidents = [mapped.incident(row) for row in rows]
        tasks = [
            task
            for incident, intake in zip(incidents, intakes, strict=True)
            if intake.follow_up is not None
            for task in intake.follow_up(incident)
        ]
        self.add_tasks(conn, tasks, now)
        return ids, incidents

    def import_history(self, histories: Sequence["History"]) -> list[str]:
        """Store incidents that already happened, each with its report and its log as
        another system recorded them (the previous CAD's year migrated, the demo year),
        in one transaction; their numbers (of the year each was created in). Checked as
        a live incident is: the category and district, every status change allowed by
        the lifecycle and the times in order; nothing is dispatched nor called. The
        analytics' summary rows of the days written are marked to be rolled again; an
        importer holds the rollup's lock meanwhile (``voicebridge demo year`` does), or
        a rollup reading a day before the import commits marks it whole after."""
        for history in histories:
            history.check()
        with self.db.write() as conn:
            numbers: dict[int, str] = {}
            by_year: dict[int, list[int]] = {}
            for n, history in enumerate(histories):
                by_year.setdefault(lima_year(history.created_at), []).append(n)
            for members in by_year.values():
                taken = self._numbers(conn, len(members), histories[members[0]].created_at)
                numbers.update(zip(members, taken, strict=True))
            rows = []
            for n, history in enumerate(histories):
                row = _incident_row(history.intake, numbers[n], history.created_at)
                last = history.events[-1][0] if history.events else history.created_at
                row |= {
                    "status": history.status.value,
                    "updated_at": last,
                    "version": 1 + len(history.events),
                    "last_report_at": history.received_at,
                }
                rows.append(row)
            by_number = {
                r.public_id: int(r.id) for r in conn.execute(self.sql.insert_incidents, rows)
            }
            ids = [by_number[row["public_id"]] for row in rows]
            conn.execute(
                self.sql.insert_report,
                [
                    mapped.report_row(row_id, h.intake.new.report, h.received_at)
                    for row_id, h in zip(ids, histories, strict=True)
                ],
            )
            mark_logged(conn)
            events: list[dict[str, Any]] = []
            for row_id, row, history in zip(ids, rows, histories, strict=True):
                events.append(
                    {
                        "incident_id": row_id,
                        "seq": 1,
                        "at": history.created_at,
                        "actor": history.intake.actor,
                        "kind": EventKind.CREATED.value,
                        "cause": f"reporte recibido por {Source(row['source']).label}",
                        "key": None,
                        "data": _created(row, history.intake.new).to_data(),
                    }
                )
                events.extend(
                    {
                        "incident_id": row_id,
                        "seq": seq,
                        "at": at,
                        "actor": new.actor,
                        "kind": new.kind.value,
                        "cause": new.cause,
                        "key": None,
                        "data": new.payload.to_data(),
                    }
                    for seq, (at, new) in enumerate(history.events, 2)
                )
            for start in range(0, len(events), 5000):
                conn.execute(self.sql.insert_event, events[start : start + 5000])
            # the analytics' rollup of those days, weeks and months is no longer whole:
            # they are read live until it rolls them again
            days = {lima_day(h.received_at) for h in histories}
            rolled = t.analytics_rolled.c
            for period in Period:
                names = sorted({period_of_day(day, period) for day in days})
                conn.execute(
                    delete(t.analytics_rolled).where(
                        rolled.kind == period.value, rolled.period.in_(names)
                    )
                )
        return [numbers[n] for n in range(len(histories))]

    def _numbers(self, conn: Connection, n: int, now: datetime) -> list[str]:
        year = lima_year(now)
        last = int(
            conn.execute(
                self.sql.next_numbers, {"prefix": self.prefix, "year": year, "n": n}
            ).scalar_one()
        )
        return [format_incident_id(self.prefix, year, k) for k in range(last - n + 1, last + 1)]

    def reserve_ids(self, conn: Connection) -> "Reservation":
        """Incident numbers taken one at a time in this write transaction, for incidents
        filed later (a citizen's SMS is answered with its number before its report is
        filed): :meth:`file_report` with ``public_id`` uses one, or makes it an alias of
        the incident the report joined. :meth:`Reservation.close` before the commit."""
        return Reservation(self, conn)

    def add_report(self, incident_id: str, report: NewReport, *, actor: str) -> tuple[Report, bool]:
        """Attach another report of the same event; a repeated report is not stored twice."""
        try:
            with self.db.write() as conn:
                return self.add_report_in(conn, incident_id, report, actor=actor)
        except IntegrityError:
            if report.external_id is not None:
                with self.db.read() as conn:
                    found = self._stored_report(conn, report.source, report.external_id)
                    if found is not None:
                        return mapped.report(found, self._public_id(conn, found.incident_id)), False
            raise

    def add_report_in(
        self,
        conn: Connection,
        incident_id: str,
        report: NewReport,
        *,
        actor: str,
        cause: str | None = None,
        address_key: str | None = None,
    ) -> tuple[Report, bool]:
        """:meth:`add_report` in the caller's write transaction (``cause``: why, for the
        log; by default "another report of the same event"; ``address_key``: the
        report's normalised address)."""
        now = self.clock.now()
        row = self.locked(conn, incident_id)
        if report.external_id is not None:
            found = self._stored_report(conn, report.source, report.external_id)
            if found is not None:
                return mapped.report(found, self._public_id(conn, found.incident_id)), False
        report_id = self._insert_report(conn, row.id, report, now, address_key)
        self.log(
            conn,
            row.id,
            now,
            event(
                ReportAdded(report=report_id, source=report.source.value),
                actor=actor,
                cause=cause or f"otro reporte del mismo hecho, por {report.source.label}",
            ),
        )
        stored = conn.execute(select(t.reports).where(t.reports.c.id == report_id)).one()
        return mapped.report(stored, incident_id), True

    def transition(
        self,
        incident_id: str,
        to: Status,
        *,
        actor: str,
        cause: str,
        expected: Status | None = None,
        follow_up: FollowUp | None = None,
    ) -> tuple[Incident, bool]:
        """Move an incident to ``to``; ``(incident, changed)``.

        The change is refused with :class:`IllegalTransition` when the lifecycle does not
        allow it, and with :class:`Conflict` when ``expected`` is given and the incident
        is no longer in that status. Asking for the status it already has changes nothing.
        """
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.locked(conn, incident_id)
            current = Status(row.status)
            if expected is not None and current is not expected:
                raise Conflict(
                    f"{incident_id} está {current.label}, no {expected.label}: "
                    "vuelva a cargarlo e intente de nuevo"
                )
            if current is to:
                return mapped.incident(row._mapping), False
            check_transition(incident_id, current, to)
            self.log(
                conn,
                row.id,
                now,
                event(StatusChanged(from_=current.value, to=to.value), actor=actor, cause=cause),
                status=(current, to),
            )
            if to in FINAL:
                self.on_final(conn, row.id, now, f"incidente {to.label}")
            incident = self.read(conn, row.id)
            if follow_up is not None:
                self.add_tasks(conn, follow_up(incident), now)
        return incident, True

    def merge(self, incident_id: str, into: str, *, actor: str, cause: str) -> Incident:
        """Mark ``incident_id`` as a duplicate of ``into``; both logs record it."""
        if incident_id == into:
            raise Conflict(f"{incident_id} no puede fusionarse consigo mismo")
        now = self.clock.now()
        with self.db.write() as conn:
            # lock both rows in a fixed order so two opposite merges cannot deadlock
            rows = {pid: self.locked(conn, pid) for pid in sorted((incident_id, into))}
            source, target = rows[incident_id], rows[into]
            if Status(target.status) in FINAL:
                raise Conflict(
                    f"{into} está {Status(target.status).label}: fusione con un incidente abierto"
                )
            self.on_final(conn, source.id, now, f"fusionado con {into}")
            current = Status(source.status)
            check_transition(incident_id, current, Status.MERGED)
            self.log(
                conn,
                source.id,
                now,
                event(
                    StatusChanged(from_=current.value, to=Status.MERGED.value, into=into),
                    actor=actor,
                    cause=cause,
                ),
                status=(current, Status.MERGED),
                merged_into=into,
            )
            self.log(
                conn,
                target.id,
                now,
                event(MergedFrom(incident=incident_id), actor=actor, cause=cause),
            )
            merged = self.read(conn, source.id)
        return merged

    def append_event(
        self, incident_id: str, new: NewEvent, *, key: str | None = None
    ) -> IncidentEvent | None:
        """Append an event that is not a status change. With ``key``, the same event is
        written at most once per incident: a repeat returns None."""
        now = self.clock.now()
        with self.db.write() as conn:
            row = self.locked(conn, incident_id)
            if (
                key is not None
                and conn.execute(
                    select(t.incident_events.c.id).where(
                        t.incident_events.c.incident_id == row.id, t.incident_events.c.key == key
                    )
                ).first()
            ):
                return None
            seq = self.log(conn, row.id, now, new, key=key)
        return IncidentEvent(
            incident_id=incident_id,
            seq=seq,
            at=now,
            actor=new.actor,
            kind=new.kind,
            cause=new.cause,
            data=new.payload.to_data(),
        )

    # ------------------------------------ citizens' reports: one incident per event

    def file_report(
        self,
        conn: Connection,
        new: NewIncident,
        *,
        actor: str,
        nearby: Nearby | None,
        address_key: str | None = None,
        follow_up: FollowUp | None = None,
        public_id: str | None = None,
    ) -> Filed:
        """File a citizen's report in this write transaction (see :mod:`routing.dedup`):
        with ``nearby``, it joins the best matching open incident of its category (a
        ``report_joined`` event saying why); otherwise, or when none matches, it becomes
        a new incident exactly as :meth:`create_incidents` makes one (``follow_up`` then
        gives its tasks). ``address_key`` is the report's normalised address.
        ``public_id``: the number reserved for this report (:meth:`reserve_ids`), the new
        incident's; when the report joins an incident instead, it becomes an alias of
        that incident (the citizen was told that number).

        A report whose ``(source, external_id)`` is stored already is a repeat: nothing
        is written, and the answer says where it went (``repeated``). A concurrent
        writer storing the same report first makes this transaction fail with
        :class:`~sqlalchemy.exc.IntegrityError` (:meth:`file` tries again).

        On PostgreSQL this takes the category's filing lock (:func:`routing.dedup.
        filing_lock`) until the transaction ends; a transaction that files several
        reports takes the locks of all their categories first, with that function.
        """
        _check(new)
        report = new.report
        if nearby is not None:
            filing_lock(conn, [new.category])
        now = self.clock.now()
        if report.external_id is not None:
            found = self._stored_report(conn, report.source, report.external_id)
            if found is not None:
                incident = self.read(conn, found.incident_id)
                return Filed(
                    incident=incident,
                    report=mapped.report(found, incident.id),
                    joined=False,
                    repeated=True,
                    distance_m=None,
                    cause=repeated_cause(incident.id),
                )
        if nearby is not None:
            matches = find_matches(
                conn,
                category=new.category,
                now=now,
                lat=report.location.lat,
                lon=report.location.lon,
                district=new.district,
                address_key=address_key,
                nearby=nearby,
            )
            for match in matches:
                filed = self._join(conn, match, report, now, actor=actor, address_key=address_key)
                if filed is not None:
                    if public_id is not None:
                        self.alias(conn, public_id, match.row_id, now)
                    return filed
        ids, [incident] = self._new_incidents(
            conn,
            [Intake(new=new, actor=actor, follow_up=follow_up)],
            now,
            address_keys=[address_key],
            public_ids=None if public_id is None else [public_id],
        )
        report_id = self._insert_report(conn, ids[0], report, now, address_key)
        stored = conn.execute(self.sql.report_by_id, {"report": report_id}).one()
        return Filed(
            incident=incident,
            report=mapped.report(stored, incident.id),
            joined=False,
            distance_m=None,
            cause=created_cause(new.category, nearby),
        )

    def _join(
        self,
        conn: Connection,
        match: Match,
        report: NewReport,
        now: datetime,
        *,
        actor: str,
        address_key: str | None,
    ) -> Filed | None:
        """Add the report to the matching incident; None if it ended since it was read."""
        row = conn.execute(self.sql.lock_by_id, {"rid": match.row_id}).one()
        if Status(row.status) in FINAL:
            return None
        cause = joined_cause(match, now)
        report_id = self._insert_report(conn, match.row_id, report, now, address_key)
        joined = ReportJoined(
            report=report_id,
            source=report.source.value,
            after_seconds=match.after_seconds(now),
            distance_m=None if match.distance_m is None else round(match.distance_m, 1),
            address=address_key if match.distance_m is None else None,
        )
        self.log(conn, match.row_id, now, event(joined, actor=actor, cause=cause))
        incident = self.read(conn, match.row_id)
        stored = conn.execute(self.sql.report_by_id, {"report": report_id}).one()
        return Filed(
            incident=incident,
            report=mapped.report(stored, incident.id),
            joined=True,
            distance_m=match.distance_m,
            cause=cause,
        )

    def file(
        self,
        new: NewIncident,
        *,
        actor: str,
        nearby: Nearby | None,
        address_key: str | None = None,
        follow_up: FollowUp | None = None,
    ) -> Filed:
        """:meth:`file_report` in a write transaction of its own."""
        try:
            with self.db.write() as conn:
                return self.file_report(
                    conn,
                    new,
                    actor=actor,
                    nearby=nearby,
                    address_key=address_key,
                    follow_up=follow_up,
                )
        except IntegrityError:
            if new.report.external_id is None:
                raise
        # a concurrent writer stored the same report first: now it is found as a repeat
        with self.db.write() as conn:
            return self.file_report(
                conn, new, actor=actor, nearby=nearby, address_key=address_key, follow_up=follow_up
            )

    def fill_in(
        self,
        conn: Connection,
        incident_id: str,
        *,
        category: str | None = None,
        priority: Priority | None = None,
        district: str | None = None,
        address: str | None = None,
        address_key: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        actor: str,
        cause: str,
    ) -> Incident:
        """Complete, in this write transaction, what the incident lacked, from a later
        message of the same citizen: the category only when it is unclassified (the
        priority then becomes the most urgent of its own, the category's and
        ``priority``), the district, the address (with its key) and the point only when
        missing. A ``filled_in`` event says what was filled. Nothing is written when
        nothing it lacked was given, or once the incident is no longer ``received``
        (operators may have acted on it): the incident is returned as it is."""
        row = self.locked(conn, incident_id)
        if Status(row.status) is not Status.RECEIVED:
            return mapped.incident(row._mapping)
        values: dict[str, Any] = {}
        if category is not None and category != UNCLASSIFIED and row.category == UNCLASSIFIED:
            found = category_by_code(category)
            values["category"] = found.code
            given = [Priority(row.priority), found.priority, *([priority] if priority else [])]
            urgent = min(given, key=list(Priority).index)
            if urgent.value != row.priority:
                values["priority"] = urgent.value
        if district is not None and row.district is None:
            values["district"] = district_by_code(district).ubigeo
        if address and row.address is None:
            values |= {"address": address, "address_key": address_key}
        if lat is not None and lon is not None and row.lat is None:
            _check_point(lat, lon)
            values |= {"lat": lat, "lon": lon}
        if not values:
            return mapped.incident(row._mapping)
        now = self.clock.now()
        conn.execute(update(t.incidents).where(t.incidents.c.id == row.id).values(**values))
        filled = FilledIn(**{k: v for k, v in values.items() if k != "address_key"})
        self.log(conn, row.id, now, event(filled, actor=actor, cause=cause))
        return self.read(conn, row.id)

    def fill_in_missing(
        self,
        incident_id: str,
        *,
        category: str | None = None,
        priority: Priority | None = None,
        district: str | None = None,
        address: str | None = None,
        address_key: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        actor: str,
        cause: str,
    ) -> Incident:
        """:meth:`fill_in` in a write transaction of its own."""
        with self.db.write() as conn:
            return self.fill_in(
                conn,
                incident_id,
                category=category,
                priority=priority,
                district=district,
                address=address,
                address_key=address_key,
                lat=lat,
                lon=lon,
                actor=actor,
                cause=cause,
            )

    def split_out(
        self,
        conn: Connection,
        incident_id: str,
        report_id: int,
        *,
        actor: str,
        cause: str,
        category: str | None = None,
        district: str | None = None,
        follow_up: FollowUp | None = None,
    ) -> Incident:
        """Make a report wrongly joined to ``incident_id`` an incident of its own, in this
        write transaction; the new incident. It takes the report's place, reporter and
        source, the category and district of ``incident_id`` unless given (the priority
        too, while the category is the same), and the report's time as its latest
        report's. Both logs record it (``report_split_out``, and ``created`` then
        ``split_from``).

        Refused with :class:`NotFound` when the report is not on the incident, and with
        :class:`Conflict` when it is the incident's first report (the one it was created
        from) or the incident is resolved, cancelled or merged."""
        row = self.locked(conn, incident_id)
        status = Status(row.status)
        if status in FINAL:
            raise Conflict(
                f"{incident_id} está {status.label}: no se separan reportes de un incidente cerrado"
            )
        report = conn.execute(self.sql.report_by_id, {"report": report_id}).first()
        if report is None or report.incident_id != row.id:
            raise NotFound(f"{incident_id} no tiene un reporte con ese número")
        first = conn.execute(self.sql.first_report, {"rid": row.id}).one()
        if first.id == report.id:
            count = conn.execute(
                select(func.count()).where(t.reports.c.incident_id == row.id)
            ).scalar_one()
            raise Conflict(
                f"es el único reporte de {incident_id}: no hay nada que separar"
                if count == 1
                else f"es el primer reporte de {incident_id}, del que nació el incidente: "
                "no se separa (separe los otros, o cambie o cancele el incidente)"
            )
        code = category_by_code(category).code if category is not None else row.category
        if district is not None:
            district = district_by_code(district).ubigeo
        moved = mapped.new_report(report)
        new = NewIncident(
            category=code,
            district=district if district is not None else row.district,
            report=moved,
            priority=Priority(row.priority) if code == row.category else None,
            summary=moved.text,
        )
        now = self.clock.now()
        source = moved.source
        ids, [split] = self._new_incidents(
            conn,
            [Intake(new=new, actor=actor, follow_up=follow_up)],
            now,
            address_keys=[report.address_key],
            causes=[f"reporte recibido por {source.label}, separado de {incident_id}"],
        )
        new_id = ids[0]
        r = t.reports.c
        conn.execute(update(t.reports).where(r.id == report.id).values(incident_id=new_id))
        conn.execute(self.sql.touch, {"rid": new_id, "at": report.received_at})
        latest = select(func.max(r.received_at)).where(r.incident_id == row.id).scalar_subquery()
        conn.execute(
            update(t.incidents).where(t.incidents.c.id == row.id).values(last_report_at=latest)
        )
        self.log(
            conn,
            row.id,
            now,
            event(
                ReportSplitOut(report=report.id, source=source.value, into=split.id),
                actor=actor,
                cause=cause,
            ),
        )
        self.log(
            conn,
            new_id,
            now,
            event(
                SplitFrom(incident=incident_id, report=report.id, source=source.value),
                actor=actor,
                cause=cause,
            ),
        )
        return self.read(conn, new_id)

    def split_report(
        self,
        incident_id: str,
        report_id: int,
        *,
        actor: str,
        cause: str,
        category: str | None = None,
        district: str | None = None,
        follow_up: FollowUp | None = None,
    ) -> Incident:
        """:meth:`split_out` in a write transaction of its own."""
        with self.db.write() as conn:
            return self.split_out(
                conn,
                incident_id,
                report_id,
                actor=actor,
                cause=cause,
                category=category,
                district=district,
                follow_up=follow_up,
            )

    # ----------------------------------------------------------------- reads

    def get(self, incident_id: str) -> Incident:
        """The incident with the number ``incident_id`` (or an alias of it)."""
        with self.db.read() as conn:
            row = self._by_number(conn, incident_id)
        if row is None:
            raise NotFound(f"no existe el incidente {incident_id}")
        return mapped.incident(row._mapping)

    def _by_number(self, conn: Connection, incident_id: str) -> Row[Any] | None:
        row = conn.execute(self.sql.by_public_id, {"pid": incident_id}).first()
        if row is None:
            a = t.incident_aliases.c
            found = conn.execute(select(a.incident_id).where(a.public_id == incident_id)).scalar()
            if found is not None:
                row = conn.execute(self.sql.by_id, {"rid": found}).first()
        return row

    def detail(self, incident_id: str) -> IncidentDetail:
        with self.db.read() as conn:
            row = self._by_number(conn, incident_id)
            if row is None:
                raise NotFound(f"no existe el incidente {incident_id}")
            rid = row.id
            incident_id = row.public_id  # its own number, when asked by an alias
            reports = conn.execute(
                select(t.reports).where(t.reports.c.incident_id == rid).order_by(t.reports.c.id)
            ).all()
            attempts = conn.execute(
                select(t.attempts).where(t.attempts.c.incident_id == rid).order_by(t.attempts.c.id)
            ).all()
            acks = conn.execute(
                select(t.acks).where(t.acks.c.incident_id == rid).order_by(t.acks.c.id)
            ).all()
            events = conn.execute(
                select(t.incident_events)
                .where(t.incident_events.c.incident_id == rid)
                .order_by(t.incident_events.c.seq)
            ).all()
            contacts = conn.execute(
                select(t.contacts).where(t.contacts.c.incident_id == rid).order_by(t.contacts.c.id)
            ).all()
        return IncidentDetail(
            incident=mapped.incident(row._mapping),
            reports=tuple(mapped.report(r, incident_id) for r in reports),
            attempts=tuple(mapped.attempt(a, incident_id) for a in attempts),
            acks=tuple(mapped.ack(a, incident_id) for a in acks),
            events=tuple(mapped.event(e, incident_id) for e in events),
            contacts=tuple(mapped.contact(c, incident_id) for c in contacts),
        )

    def created_between(
        self,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, int] | None = None,
        limit: int = 500,
    ) -> tuple[list[IncidentDetail], tuple[datetime, int] | None]:
        """The incidents created in ``[start, end)`` after ``after`` (a creation time and
        row id), oldest first, at most ``limit``, each with its reports and its log (not
        its attempts, acknowledgements nor contacts: an export reads the log); and the
        last one's key, to ask for the next page with (the index on creation time and
        id serves every page alike). Three statements a page."""
        inc = t.incidents.c
        query = select(t.incidents).where(inc.created_at >= start, inc.created_at < end)
        if after is not None:
            query = query.where(tuple_(inc.created_at, inc.id) > tuple_(*after))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(inc.created_at, inc.id).limit(limit)).all()
            ids = [r.id for r in rows]
            reports: dict[int, list[Row[Any]]] = {i: [] for i in ids}
            events: dict[int, list[Row[Any]]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(
                    select(t.reports)
                    .where(t.reports.c.incident_id.in_(ids))
                    .order_by(t.reports.c.id)
                ):
                    reports[r.incident_id].append(r)
                ev = t.incident_events.c
                for e in conn.execute(
                    select(t.incident_events)
                    .where(ev.incident_id.in_(ids))
                    .order_by(ev.incident_id, ev.seq)
                ):
                    events[e.incident_id].append(e)
        details = [
            IncidentDetail(
                incident=mapped.incident(row._mapping),
                reports=tuple(mapped.report(r, row.public_id) for r in reports[row.id]),
                attempts=(),
                acks=(),
                events=tuple(mapped.event(e, row.public_id) for e in events[row.id]),
            )
            for row in rows
        ]
        last = (rows[-1].created_at, rows[-1].id) if rows else after
        return details, last

    def events(self, incident_id: str) -> tuple[IncidentEvent, ...]:
        """The incident's log, in order."""
        e = t.incident_events.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.incident_events)
                .join(t.incidents, t.incidents.c.id == e.incident_id)
                .where(t.incidents.c.public_id == incident_id)
                .order_by(e.seq)
            ).all()
        if not rows:  # every incident has its "created" event
            raise NotFound(f"no existe el incidente {incident_id}")
        return tuple(mapped.event(r, incident_id) for r in rows)

    def search(self, query: IncidentQuery) -> Page:
        """Incidents newest first, filtered, one keyset page at a time."""
        limit = max(1, min(query.limit, MAX_PAGE))
        c = t.incidents.c
        stmt = select(t.incidents)
        if query.districts:
            stmt = stmt.where(c.district.in_(query.districts))
        if query.statuses:
            stmt = stmt.where(c.status.in_([s.value for s in query.statuses]))
        if query.categories:
            stmt = stmt.where(c.category.in_(query.categories))
        if query.since is not None:
            stmt = stmt.where(c.created_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(c.created_at < query.until)
        if query.after is not None:
            stmt = stmt.where(tuple_(c.created_at, c.id) < tuple_(*query.after))
        stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = (rows[-1].created_at, rows[-1].id) if more else None
        return Page(items=tuple(mapped.incident(r._mapping) for r in rows), next_after=next_after)

    def received_before(self, cutoff: datetime, *, without_key: str, limit: int) -> list[str]:
        """Incidents still ``received`` that arrived before ``cutoff`` and whose log has no
        event keyed ``without_key``, oldest first."""
        c, e = t.incidents.c, t.incident_events.c
        logged = select(e.id).where(e.incident_id == c.id, e.key == without_key).exists()
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(c.public_id)
                    .where(c.status == Status.RECEIVED.value, c.created_at < cutoff, ~logged)
                    .order_by(c.created_at)
                    .limit(limit)
                ).scalars()
            )

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.incidents)).scalar_one())

    # --------------------------------------------------------------- helpers

    # ---------------------------------------------- building blocks, one transaction

    def locked(self, conn: Connection, incident_id: str) -> Row[Any]:
        """The incident's row, locked until the transaction ends (other stores of the
        domain build on this and :meth:`log`)."""
        row = conn.execute(self.sql.lock, {"pid": incident_id}).first()
        if row is None:
            raise NotFound(f"no existe el incidente {incident_id}")
        return row

    def read(self, conn: Connection, row_id: int) -> Incident:
        """The incident as this transaction sees it."""
        return mapped.incident(conn.execute(self.sql.by_id, {"rid": row_id}).one()._mapping)

    def log(
        self,
        conn: Connection,
        row_id: int,
        now: datetime,
        new: NewEvent,
        *,
        key: str | None = None,
        status: tuple[Status, Status] | None = None,
        merged_into: str | None = None,
    ) -> int:
        """Append an event to the incident's log in this transaction, advancing the
        incident's version; the event's sequence number. With ``status``, the incident
        moves from the first to the second status, compare-and-set: :class:`Conflict` if
        it is no longer in the first."""
        params: dict[str, Any] = {"rid": row_id, "now": now}
        if status is None:
            seq = conn.execute(self.sql.bump, params).scalar_one_or_none()
        else:
            params |= {"from_status": status[0].value, "to_status": status[1].value}
            seq = conn.execute(self.sql.bump_status, params).scalar_one_or_none()
        if seq is None:
            raise Conflict(
                "el incidente cambió mientras tanto: vuelva a cargarlo e intente de nuevo"
            )
        if merged_into is not None:
            conn.execute(
                update(t.incidents)
                .where(t.incidents.c.id == row_id)
                .values(merged_into=merged_into)
            )
        mark_logged(conn)
        conn.execute(
            self.sql.insert_event,
            {
                "incident_id": row_id,
                "seq": seq,
                "at": now,
                "actor": new.actor,
                "kind": new.kind.value,
                "cause": new.cause,
                "data": new.payload.to_data(),
                "key": key,
            },
        )
        if self.on_event is not None:
            tasks = self.on_event(conn, row_id, new, int(seq))
            if tasks:
                self.add_tasks(conn, tasks, now)
        return int(seq)

    def _insert_report(
        self,
        conn: Connection,
        row_id: int,
        report: NewReport,
        now: datetime,
        address_key: str | None = None,
    ) -> int:
        """Store another report of the incident, which was reported last now."""
        row = mapped.report_row(row_id, report, now, address_key)
        report_id = int(conn.execute(self.sql.insert_report_id, row).scalar_one())
        conn.execute(self.sql.touch, {"rid": row_id, "at": now})
        return report_id

    def add_tasks(self, conn: Connection, tasks: Sequence[Task], now: datetime) -> None:
        """Record follow-up tasks in this transaction."""
        if tasks:
            conn.execute(
                self.sql.insert_tasks,
                [
                    {
                        "key": k.key,
                        "name": k.name,
                        "args": k.args,
                        "not_before": k.not_before,
                        "created_at": now,
                    }
                    for k in tasks
                ],
            )

    def _stored_report(self, conn: Connection, source: Source, external_id: str) -> Row[Any] | None:
        return conn.execute(
            select(t.reports).where(
                t.reports.c.source == source.value, t.reports.c.external_id == external_id
            )
        ).first()

    def row_id(self, conn: Connection, incident_id: str) -> int | None:
        """The row id of the incident ``incident_id`` (its public id, or a number given
        to a report that then joined it: :meth:`alias`), None if none."""
        found = conn.execute(
            select(t.incidents.c.id).where(t.incidents.c.public_id == incident_id)
        ).scalar()
        if found is None:
            a = t.incident_aliases.c
            found = conn.execute(select(a.incident_id).where(a.public_id == incident_id)).scalar()
        return None if found is None else int(found)

    def resolve(self, conn: Connection, incident_id: str) -> str | None:
        """The incident's own number for ``incident_id`` (itself, or the incident an
        alias names); None if no incident has that number."""
        row_id = self.row_id(conn, incident_id)
        return None if row_id is None else self._public_id(conn, row_id)

    def alias(self, conn: Connection, public_id: str, row_id: int, now: datetime) -> None:
        """``public_id`` (a number reserved for a report that joined the incident
        ``row_id``) names that incident too; once (a repeat changes nothing)."""
        a = t.incident_aliases.c
        known = conn.execute(select(a.incident_id).where(a.public_id == public_id)).scalar()
        if known is None:
            conn.execute(
                insert(t.incident_aliases).values(
                    public_id=public_id, incident_id=row_id, created_at=now
                )
            )

    def _public_id(self, conn: Connection, row_id: int) -> str:
        return str(
            conn.execute(
                select(t.incidents.c.public_id).where(t.incidents.c.id == row_id)
            ).scalar_one()
        )

    def _incidents_of_reports(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Incident]:
        """The incidents that hold the reports ``(source, external_id)`` already stored."""
        if not keys:
            return {}
        r = t.reports.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.incidents, r.source.label("report_source"), r.external_id)
                .join(t.reports, r.incident_id == t.incidents.c.id)
                .where(tuple_(r.source, r.external_id).in_(list(keys)))
            ).all()
        return {(row.report_source, row.external_id): mapped.incident(row._mapping) for row in rows}


@dataclass(frozen=True, kw_only=True, slots=True)
class History:
    """An incident that happened: its intake (the report and who took it), when the
    report arrived and the incident was created, the rest of its log in order, and the
    status that log leaves it in (:meth:`IncidentStore.import_history`)."""

    intake: Intake
    received_at: datetime
    created_at: datetime
    events: Sequence[tuple[datetime, NewEvent]] = ()
    status: Status = Status.RECEIVED

    def check(self) -> None:
        _check(self.intake.new)
        times = [self.received_at, self.created_at, *(at for at, _ in self.events)]
        if any(later < earlier for earlier, later in itertools.pairwise(times)):
            raise InvalidValue("events", "las horas retroceden: recibido, registrado y su registro")
        status = Status.RECEIVED
        for _, new in self.events:
            if isinstance(new.payload, StatusChanged):
                target = Status(new.payload.to)
                if new.payload.from_ != status.value:
                    raise InvalidValue("events", f"cambia de estado desde {new.payload.from_} "
                                       f"estando {status.value}")  # fmt: skip
                check_transition("(history)", status, target)
                status = target
        if status is not self.status:
            raise InvalidValue("status", f"el registro lo deja {status.value}, no {self.status}")


class Reservation:
    """Incident numbers handed out one by one in a write transaction: the year's counter
    is read (and, on PostgreSQL, locked) at the first and moved past the last by
    :meth:`close`, in two statements whatever their number."""

    def __init__(self, store: IncidentStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self._year = lima_year(store.clock.now())
        self._last: int | None = None
        self._taken = 0

    def take(self) -> str:
        if self._last is None:
            self._last = self._move(0)
        self._taken += 1
        return format_incident_id(self._store.prefix, self._year, self._last + self._taken)

    def close(self) -> None:
        if self._taken:
            self._move(self._taken)
            self._last, self._taken = None, 0

    def _move(self, n: int) -> int:
        params = {"prefix": self._store.prefix, "year": self._year, "n": n}
        return int(self._conn.execute(self._store.sql.next_numbers, params).scalar_one())


def _check(new: NewIncident) -> None:
    category_by_code(new.category)
    if new.district is not None:
        district_by_code(new.district)


def _check_point(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidValue("location", "lat va de -90 a 90 y lon de -180 a 180")


def _created(row: Mapping[str, Any], new: NewIncident) -> CreatedEvent:
    return CreatedEvent(
        category=row["category"],
        priority=row["priority"],
        district=row["district"],
        source=row["source"],
        district_source=new.district_source,
        district_note=new.district_note if new.district_source is not None else None,
    )


def _report_key(new: NewIncident) -> tuple[str, str] | None:
    report = new.report
    return None if report.external_id is None else (report.source.value, report.external_id)


def _incident_row(
    intake: Intake, public_id: str, now: datetime, address_key: str | None = None
) -> dict[str, Any]:
    new, report = intake.new, intake.new.report
    category = category_by_code(new.category)
    return {
        "public_id": public_id,
        "category": category.code,
        "priority": (new.priority or category.priority).value,
        "district": new.district,
        **mapped.location_columns(report.location),
        **mapped.reporter_columns(report.reporter),
        "source": report.source.value,
        "summary": new.summary or report.text,
        "status": Status.RECEIVED.value,
        "created_at": now,
        "updated_at": now,
        "created_by": intake.actor,
        "merged_into": None,
        "version": 1,
        "address_key": address_key,
        "last_report_at": now,
    }
