"""Response-time analytics at the scale of a year (issue 15, points 2 and 3): summary
rows rolled up from the log, and the figures read from them.

- **Days** (``analytics_days``): per Lima day, interval, district, agency, category,
  priority and channel, every duration measured (sorted microseconds), what was left out
  and why, and an agency's legs given up on and reached on the first try. Durations
  are kept rather than a mean or a histogram because percentiles do not add up: a
  month's exact p90 needs its values, and any union of days gives them.
- **Weeks and months** (``analytics_periods``): once a period is over, its figures for
  every grouping by up to two of the five dimensions (what the analytics page, its
  filters and the monthly report ask for), with the target then in force.
- **Operators' hours** (``analytics_staff``): per day and district, the incidents and
  the distinct operator × clock hours with a step of theirs on them.

Every row can be recomputed from the log at any time (:meth:`Rollups.rebuild`) and gives
the figures the log gives (the tests compare them with :func:`routing.analytics.figures`
on the same incidents). A day is rolled once it is over in Lima; a run of
:meth:`Rollups.roll` also rolls again the days whose incidents the log says changed
since the previous run (an acknowledgement, a resolution hours later), then the weeks
and months they are in. What is not rolled (the open day, a day the job has not reached
yet) is computed live from the log by :class:`Analytics`, so a figure never waits for
the job and the job's only effect is speed.
"""

import array
import itertools
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, NamedTuple, TypeVar

from sqlalchemy import Connection, delete, func, insert, select

from routing import schema as t
from routing.analytics import (
    BY_CODE,
    GROUPS,
    INTERVALS,
    READS,
    Excluded,
    Figures,
    Interval,
    Key,
    Period,
    Phases,
    Tally,
    change,
    check_grouping,
    period_of_day,
    phases_from,
    share_improved,
    tallies,
)
from routing.db import Database
from routing.events import Payload, payload_of
from routing.ids import LIMA, lima_day
from routing.models import Status
from routing.ports import Clock

_T = TypeVar("_T")

ALL: Final = "*"
"""What a period row holds in a dimension it is not grouped by."""
SETTLE: Final = timedelta(minutes=5)
"""How far before its previous run the rollup looks again for changes in the log: a
step written late (a transaction that committed after a later one) is still seen."""
CHUNK: Final = 2000
"""Rows written per statement."""

Progress = Callable[[int, int], None]
"""Told (days done, days in all) as a rollup goes."""

GROUPINGS: Final = tuple(
    combo for size in (0, 1, 2) for combo in itertools.combinations(GROUPS, size)
)
"""What a closed week's or month's figures are grouped by: nothing, any one dimension,
any two (in :data:`GROUPS` order)."""


def groupings(interval: Interval) -> tuple[tuple[str, ...], ...]:
    return tuple(g for g in GROUPINGS if interval.per_agency or "agency" not in g)


# ---------------------------------------------------------------- the calendar


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a Lima day begins and ends (Lima keeps UTC-5 all year)."""
    start = datetime.combine(day, time(), LIMA).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), LIMA).astimezone(UTC)


YEARS: Final = range(2000, 2101)
"""The years a period may be in (a figure of year 9999 is a mistake, not a question)."""
_NAMES: Final = {
    Period.DAY: re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    Period.WEEK: re.compile(r"[0-9]{4}-W[0-9]{2}"),
    Period.MONTH: re.compile(r"[0-9]{4}-[0-9]{2}"),
}


def days_of(period: Period, name: str) -> tuple[date, date]:
    """The first and last day of the period ``name`` (``2026-11``, ``2026-W45``,
    ``2026-11-03``); ValueError for anything else, or a year outside :data:`YEARS`."""
    if not _NAMES[period].fullmatch(name) or int(name[:4]) not in YEARS:
        raise ValueError(f"not a {period.value} from {YEARS.start} to {YEARS.stop - 1}: {name!r}")
    if period is Period.DAY:
        day = date.fromisoformat(name)
        return day, day
    if period is Period.WEEK:
        iso_year, iso_week = name.split("-W")
        first = date.fromisocalendar(int(iso_year), int(iso_week), 1)
        return first, first + timedelta(days=6)
    year, month = (int(part) for part in name.split("-"))
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def periods_between(period: Period, first: date, last: date) -> list[str]:
    """The periods that the days ``first`` to ``last`` touch, in order."""
    out: list[str] = []
    day = first
    while day <= last:
        name = period_of_day(day, period)
        if not out or out[-1] != name:
            out.append(name)
        day = days_of(period, name)[1] + timedelta(days=1)
    return out


# ---------------------------------------------------------------- reading the log


class _First(NamedTuple):
    """An incident's first report (the first filed; ties by id)."""

    filed: datetime
    id: int
    source: str
    began: datetime  # when its contact began (its filing when not said)


def load_phases(conn: Connection, start: datetime, end: datetime) -> list[Phases]:
    """The phases of every incident first received in ``[start, end)``, read from the
    log in three statements whatever their number."""
    reports = t.reports.c
    touched = (
        select(reports.incident_id)
        .where(reports.received_at >= start, reports.received_at < end)
        .distinct()
        .scalar_subquery()
    )
    first: dict[int, _First] = {}
    for row in conn.execute(
        select(
            reports.incident_id, reports.received_at, reports.id, reports.source, reports.began_at
        ).where(reports.incident_id.in_(touched))
    ):
        mark = _First(row.received_at, row.id, row.source, row.began_at or row.received_at)
        if row.incident_id not in first or mark < first[row.incident_id]:
            first[row.incident_id] = mark
    ids = sorted(i for i, f in first.items() if start <= f.filed < end)
    # an incident with no report at all counts from its creation
    bare = (
        select(t.incidents.c.id)
        .where(t.incidents.c.created_at >= start, t.incidents.c.created_at < end)
        .where(~select(reports.id).where(reports.incident_id == t.incidents.c.id).exists())
    )
    ids += [row.id for row in conn.execute(bare)]
    out: list[Phases] = []
    for chunk in _chunks(sorted(ids), 5000):
        out.extend(_phases_of(conn, chunk, first))
    return out


def _phases_of(
    conn: Connection,
    ids: Sequence[int],
    first: Mapping[int, _First],
) -> Iterator[Phases]:
    inc = t.incidents.c
    rows = {
        r.id: r
        for r in conn.execute(
            select(
                inc.id, inc.public_id, inc.district, inc.category, inc.priority, inc.status
            ).where(inc.id.in_(ids))
        )
    }
    ev = t.incident_events.c
    logs: dict[int, list[tuple[datetime, str, Payload | None]]] = {i: [] for i in ids}
    reads = {kind.value for kind in READS}
    for e in conn.execute(
        select(ev.incident_id, ev.at, ev.actor, ev.kind, ev.data)
        .where(ev.incident_id.in_(ids))
        .order_by(ev.incident_id, ev.seq)
    ):
        payload = payload_of(e.kind, e.data) if e.kind in reads else None
        logs[e.incident_id].append((e.at, e.actor, payload))
    for i in ids:
        row = rows[i]
        report = first.get(i)
        yield phases_from(
            incident=row.public_id,
            district=row.district,
            category=row.category,
            priority=row.priority,
            status=Status(row.status),
            received=report.began if report else None,
            filed=report.filed if report else None,
            source=report.source if report else "",
            events=logs[i],
        )


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# ---------------------------------------------------------------- a day's rows

Cell = tuple[str, str, str, str, str, str]
"""An interval's code, then the five dimensions in :data:`GROUPS` order."""


@dataclass(frozen=True, slots=True)
class Staff:
    incidents: int
    operator_hours: int


def tally_cells(incidents: Sequence[Phases]) -> dict[Cell, Tally]:
    """Every measure of ``incidents`` (one day's), per interval and combination of
    dimensions (an incident's own interval has no agency: ``""``)."""
    cells: dict[Cell, Tally] = {}
    for interval in INTERVALS:
        by = tuple(g for g in GROUPS if interval.per_agency or g != "agency")
        for key, tally in tallies(incidents, interval, period=Period.DAY, by=by).items():
            values = dict(zip(by, key[1:], strict=True))
            d = [values.get(g, "") for g in GROUPS]
            cells[(interval.code, d[0], d[1], d[2], d[3], d[4])] = tally
    return cells


def staffing(incidents: Iterable[Phases]) -> dict[str, Staff]:
    """Per district: the incidents, and the distinct operator × hour pairs with a step
    of theirs on one of them."""
    count: dict[str, int] = {}
    hours: dict[str, set[tuple[str, datetime]]] = {}
    for p in incidents:
        district = p.district or ""
        count[district] = count.get(district, 0) + 1
        seen = hours.setdefault(district, set())
        for operator, when in p.operators.items():
            seen.update((operator, hour) for hour in when)
    return {d: Staff(count[d], len(hours[d])) for d in count}


def pack(micros: Sequence[int]) -> bytes:
    """Durations as int64 little-endian, ascending."""
    packed = array.array("q", sorted(micros))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> "array.array[int]":
    values = array.array("q")
    values.frombytes(blob)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _tally_of(row: Any) -> Tally:
    return Tally(
        micros=unpack(row.values_us).tolist(),
        missing=row.missing,
        negative=row.negative,
        unanswered=row.unanswered,
        first_try=row.first_try,
    )


# ---------------------------------------------------------------- the rollup


@dataclass(frozen=True, slots=True)
class RollReport:
    days: int
    weeks: int
    months: int
    incidents: int


class Rollups:
    """Writes the summary rows (the RQ job and ``voicebridge analytics rebuild``)."""

    def __init__(self, db: Database, *, clock: Clock, targets: Mapping[str, int]) -> None:
        self.db = db
        self.clock = clock
        self.targets = dict(targets)

    def roll(self, progress: Progress | None = None) -> RollReport:
        """Roll every day that is over and not rolled, and every day rolled whose
        incidents changed since the previous run; then the weeks and months that are
        over and hold one of them (or were never rolled)."""
        started = self.clock.now()
        today = lima_day(started)
        with self.db.read() as conn:
            rolled = {
                r.period: r.rolled_at
                for r in conn.execute(
                    select(t.analytics_rolled.c.period, t.analytics_rolled.c.rolled_at).where(
                        t.analytics_rolled.c.kind == Period.DAY.value
                    )
                )
            }
            mark = conn.execute(
                select(t.analytics_rolled.c.rolled_at).where(
                    t.analytics_rolled.c.kind == "mark", t.analytics_rolled.c.period == "log"
                )
            ).scalar()
            earliest = conn.execute(select(func.min(t.reports.c.received_at))).scalar()
            due = {d for d in self._changed_days(conn, mark) if d < today}
        if mark is None:  # the first run: a later one sees what changes from now on,
            with self.db.write() as conn:  # even if this one is cut short
                self._mark(conn, "mark", "log", started, 0)
        if earliest is not None:
            day = lima_day(earliest)
            while day < today:
                if day.isoformat() not in rolled:
                    due.add(day)
                day += timedelta(days=1)
        return self._roll_days(sorted(due), today, started, progress)

    def rebuild(self, progress: Progress | None = None) -> RollReport:
        """Forget every summary row and roll everything again from the log."""
        with self.db.write() as conn:
            for table in (
                t.analytics_days,
                t.analytics_periods,
                t.analytics_staff,
                t.analytics_rolled,
            ):
                conn.execute(delete(table))
        return self.roll(progress)

    def _changed_days(self, conn: Connection, mark: datetime | None) -> set[date]:
        """The days (of their first report) of the incidents with a step in the log
        since ``mark`` (less :data:`SETTLE`); nothing before the first run."""
        if mark is None:
            return set()
        ev, rep = t.incident_events.c, t.reports.c
        changed = select(ev.incident_id).where(ev.at >= mark - SETTLE).distinct().scalar_subquery()
        rows = conn.execute(
            select(func.min(rep.received_at))
            .where(rep.incident_id.in_(changed))
            .group_by(rep.incident_id)
        )
        return {lima_day(r[0]) for r in rows}

    def _roll_days(
        self, days: Sequence[date], today: date, started: datetime, progress: Progress | None
    ) -> RollReport:
        incidents = 0
        weeks: set[str] = set()
        months: set[str] = set()
        for done, day in enumerate(days, 1):
            incidents += self.roll_day(day)
            weeks.add(period_of_day(day, Period.WEEK))
            months.add(period_of_day(day, Period.MONTH))
            if progress is not None:
                progress(done, len(days))
        with self.db.read() as conn:
            rolled = {
                (r.kind, r.period)
                for r in conn.execute(
                    select(t.analytics_rolled.c.kind, t.analytics_rolled.c.period).where(
                        t.analytics_rolled.c.kind.in_((Period.WEEK.value, Period.MONTH.value))
                    )
                )
            }
            first = conn.execute(
                select(func.min(t.analytics_rolled.c.period)).where(
                    t.analytics_rolled.c.kind == Period.DAY.value
                )
            ).scalar()
        # the weeks and months that are over and were never rolled (their days were)
        if first is not None:
            for period in (Period.WEEK, Period.MONTH):
                for name in periods_between(period, date.fromisoformat(first), today):
                    if (period.value, name) not in rolled:
                        (weeks if period is Period.WEEK else months).add(name)
        closed = [
            (period, name)
            for period, names in ((Period.WEEK, weeks), (Period.MONTH, months))
            for name in sorted(names)
            if days_of(period, name)[1] < today
        ]
        for period, name in closed:
            self.roll_period(period, name)
            if progress is not None:  # still going (a lease on the work is renewed)
                progress(len(days), len(days))
        with self.db.write() as conn:
            self._mark(conn, "mark", "log", started, 0)
        return RollReport(
            days=len(days),
            weeks=sum(1 for p, _ in closed if p is Period.WEEK),
            months=sum(1 for p, _ in closed if p is Period.MONTH),
            incidents=incidents,
        )

    def roll_day(self, day: date) -> int:
        """Write the rows of one day from the log (replacing any): its incidents."""
        start, end = day_bounds(day)
        with self.db.read() as conn:
            found = load_phases(conn, start, end)
        cells = tally_cells(found)
        staff = staffing(found)
        name = day.isoformat()
        rows = [
            {
                "day": name,
                "interval": cell[0],
                **dict(zip(GROUPS, cell[1:], strict=True)),
                "n": len(tally.micros),
                "missing": tally.missing,
                "negative": tally.negative,
                "unanswered": tally.unanswered,
                "first_try": tally.first_try,
                "total_us": sum(tally.micros),
                "values_us": pack(tally.micros),
            }
            for cell, tally in cells.items()
        ]
        with self.db.write() as conn:
            conn.execute(delete(t.analytics_days).where(t.analytics_days.c.day == name))
            conn.execute(delete(t.analytics_staff).where(t.analytics_staff.c.day == name))
            for chunk in _chunks(rows, CHUNK):
                conn.execute(insert(t.analytics_days), list(chunk))
            if staff:
                conn.execute(
                    insert(t.analytics_staff),
                    [
                        {"day": name, "district": d, "incidents": s.incidents,
                         "operator_hours": s.operator_hours}
                        for d, s in staff.items()
                    ],
                )  # fmt: skip
            self._mark(conn, Period.DAY.value, name, self.clock.now(), len(found))
        return len(found)

    def roll_period(self, period: Period, name: str) -> None:
        """Write the figures of a week or a month that is over, from its days' rows: the
        days' cells merged into the period's first, then each grouping from those."""
        first, last = days_of(period, name)
        rows: list[dict[str, Any]] = []
        d = t.analytics_days.c
        for interval in INTERVALS:
            cells: dict[tuple[str, ...], Tally] = {}
            with self.db.read() as conn:
                for r in conn.execute(
                    select(d.district, d.agency, d.category, d.priority, d.source, d.missing,
                           d.negative, d.unanswered, d.first_try, d.values_us)
                    .where(d.day >= first.isoformat(), d.day <= last.isoformat(),
                           d.interval == interval.code)
                ):  # fmt: skip
                    key = (r.district, r.agency, r.category, r.priority, r.source)
                    cell = cells.get(key)
                    if cell is None:
                        cell = cells[key] = Tally()
                    cell.add(_tally_of(r))
            target = self.targets.get(interval.code)
            for grouping in groupings(interval):
                picks = [GROUPS.index(g) for g in grouping]
                groups: dict[tuple[str, ...], Tally] = {}
                for dims, cell in cells.items():
                    group = tuple(dims[i] for i in picks)
                    into = groups.get(group)
                    if into is None:
                        into = groups[group] = Tally()
                    into.add(cell)
                for group, tally in groups.items():
                    f = tally.figures(target, per_agency=interval.per_agency)
                    values = dict(zip(grouping, group, strict=True))
                    rows.append(
                        {
                            "kind": period.value,
                            "period": name,
                            "interval": interval.code,
                            "grouping": ",".join(grouping),
                            **{g: values.get(g, ALL) for g in GROUPS},
                            "n": f.count,
                            "missing": tally.missing,
                            "negative": tally.negative,
                            "unanswered": tally.unanswered,
                            "first_try": tally.first_try,
                            "mean": f.mean,
                            "p50": f.median,
                            "p90": f.p90,
                            "target": target,
                            "within": (round(f.within * f.count) if f.within is not None else None),
                        }
                    )
        with self.db.write() as conn:
            periods = t.analytics_periods.c
            conn.execute(
                delete(t.analytics_periods).where(
                    periods.kind == period.value, periods.period == name
                )
            )
            for chunk in _chunks(rows, CHUNK):
                conn.execute(insert(t.analytics_periods), list(chunk))
            self._mark(conn, period.value, name, self.clock.now(), 0)

    @staticmethod
    def _mark(conn: Connection, kind: str, period: str, at: datetime, incidents: int) -> None:
        rolled = t.analytics_rolled.c
        conn.execute(delete(t.analytics_rolled).where(rolled.kind == kind, rolled.period == period))
        conn.execute(
            insert(t.analytics_rolled).values(
                kind=kind, period=period, rolled_at=at, incidents=incidents
            )
        )


# ---------------------------------------------------------------- the month's KPIs

HEADLINE: Final = "response"
"""The centre's response time: from the first report to the first agency's
acknowledgement (what the seed's "average response time" measures)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Productivity:
    incidents: int
    operator_hours: int

    @property
    def per_hour(self) -> float | None:
        """Incidents handled per operator hour (an hour in which an operator of the
        district took a step on one of its incidents)."""
        return self.incidents / self.operator_hours if self.operator_hours else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Summary:
    """The KPIs of one month beside the month before (the analytics page's cards and the
    monthly report)."""

    month: str
    previous: str
    response: Figures | None
    response_before: Figures | None
    districts: dict[str, tuple[Figures | None, Figures | None]]
    """Each district's response: this month, the month before."""
    agencies: dict[str, Figures]
    """Each agency's acknowledgement this month (first-try and unanswered shares)."""
    productivity: dict[str, Productivity]
    targets: dict[str, Figures]
    """Each interval with a target: its figures this month (the share within it)."""

    improved: float | None
    """Of the districts measured both months, the share whose mean response fell."""

    @property
    def change(self) -> float | None:
        """The relative change of the mean response time from the month before."""
        return change(
            self.response_before.mean if self.response_before else None,
            self.response.mean if self.response else None,
        )


def previous_month(month: str) -> str:
    first, _ = days_of(Period.MONTH, month)
    return period_of_day(first - timedelta(days=1), Period.MONTH)


# ---------------------------------------------------------------- the figures


class Analytics:
    """The figures, from the summary rows where they are rolled up and from the log
    where they are not (the open day): the same numbers either way."""

    def __init__(self, db: Database, *, clock: Clock, targets: Mapping[str, int]) -> None:
        self.db = db
        self.clock = clock
        self.targets = dict(targets)

    def figures(
        self,
        interval: Interval,
        *,
        period: Period,
        first: date,
        last: date,
        by: Sequence[str] = (),
        where: Mapping[str, str] | None = None,
    ) -> dict[Key, Figures]:
        """``interval`` per ``period`` from the one holding ``first`` to the one holding
        ``last`` (whole periods), per group ``by``, where the dimensions are ``where``:
        as :func:`routing.analytics.figures` gives from the same incidents."""
        where = dict(where or {})
        check_grouping(interval, [*by, *where])
        target = self.targets.get(interval.code)
        names = periods_between(period, first, last)
        today = lima_day(self.clock.now())
        out: dict[Key, Figures] = {}
        with self.db.read() as conn:
            rolled = self._rolled(conn, period, names)
            for name in names:
                start, end = days_of(period, name)
                fast = (
                    period is not Period.DAY
                    and end < today
                    and name in rolled
                    and len({*by, *where}) <= 2
                )
                found = (
                    self._from_periods(conn, interval, period, name, by, where, target)
                    if fast
                    else None
                )
                if found is None:
                    counted = self._tallies(conn, interval, start, min(end, today), by, where)
                    found = {
                        key: tally.figures(target, per_agency=interval.per_agency)
                        for key, tally in counted.items()
                    }
                out.update({(name, *key): f for key, f in found.items()})
        return dict(sorted(out.items()))

    def summary(self, month: str) -> Summary:
        """The KPIs of ``month`` (``2026-11``) beside the month before."""
        before = previous_month(month)
        first, _ = days_of(Period.MONTH, before)
        _, last = days_of(Period.MONTH, month)
        headline = BY_CODE[HEADLINE]
        overall = self.figures(headline, period=Period.MONTH, first=first, last=last)
        by_district = self.figures(
            headline, period=Period.MONTH, first=first, last=last, by=("district",)
        )
        districts: dict[str, tuple[Figures | None, Figures | None]] = {}
        for (name, district), f in by_district.items():
            now, was = districts.get(district, (None, None))
            districts[district] = (f, was) if name == month else (now, f)
        this_month = days_of(Period.MONTH, month)[0]
        agencies = self.figures(
            BY_CODE["acknowledgement"],
            period=Period.MONTH,
            first=this_month,
            last=last,
            by=("agency",),
        )
        targets = {
            code: f
            for code in self.targets
            for (name,), f in self.figures(
                BY_CODE[code], period=Period.MONTH, first=this_month, last=last
            ).items()
            if name == month
        }
        return Summary(
            month=month,
            previous=before,
            response=overall.get((month,)),
            response_before=overall.get((before,)),
            districts=districts,
            agencies={agency: f for (_, agency), f in agencies.items()},
            productivity=self.productivity(this_month, last),
            targets=targets,
            improved=share_improved(by_district, before, month),
        )

    def productivity(self, first: date, last: date) -> dict[str, Productivity]:
        """Per district, the incidents of the days ``first`` to ``last`` and the hours
        operators worked on them."""
        today = lima_day(self.clock.now())
        last = min(last, today)
        names = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        counts: dict[str, tuple[int, int]] = {}

        def add(district: str, incidents: int, hours: int) -> None:
            was = counts.get(district, (0, 0))
            counts[district] = (was[0] + incidents, was[1] + hours)

        with self.db.read() as conn:
            rolled = self._rolled(conn, Period.DAY, names)
            staff = t.analytics_staff.c
            for row in conn.execute(select(t.analytics_staff).where(staff.day.in_(sorted(rolled)))):
                add(row.district, row.incidents, row.operator_hours)
            for name in names:
                if name not in rolled:
                    start, end = day_bounds(date.fromisoformat(name))
                    for district, s in staffing(load_phases(conn, start, end)).items():
                        add(district, s.incidents, s.operator_hours)
        return {
            d: Productivity(incidents=i, operator_hours=h) for d, (i, h) in sorted(counts.items())
        }

    def _rolled(self, conn: Connection, period: Period, names: Sequence[str]) -> set[str]:
        rolled = t.analytics_rolled.c
        return set(
            conn.execute(
                select(rolled.period).where(rolled.kind == period.value, rolled.period.in_(names))
            ).scalars()
        )

    def _from_periods(
        self,
        conn: Connection,
        interval: Interval,
        period: Period,
        name: str,
        by: Sequence[str],
        where: Mapping[str, str],
        target: int | None,
    ) -> dict[Key, Figures] | None:
        """The figures of a rolled week or month; None when its rows were figured with
        another target than the one in force (the days' rows answer then)."""
        grouping = tuple(g for g in GROUPS if g in by or g in where)
        c = t.analytics_periods.c
        query = select(t.analytics_periods).where(
            c.kind == period.value,
            c.period == name,
            c.interval == interval.code,
            c.grouping == ",".join(grouping),
            *(c[k] == v for k, v in where.items()),
        )
        out: dict[Key, Figures] = {}
        for row in conn.execute(query):
            if row.target != target:
                return None
            out[tuple(getattr(row, g) for g in by)] = Figures(
                count=row.n,
                excluded={
                    reason: k
                    for reason, k in (
                        (Excluded.MISSING, row.missing),
                        (Excluded.NEGATIVE, row.negative),
                    )
                    if k
                },
                mean=row.mean,
                median=row.p50,
                p90=row.p90,
                within=row.within / row.n if row.within is not None and row.n else None,
                unanswered=row.unanswered,
                first_try=row.first_try,
                per_agency=interval.per_agency,
            )
        return out

    def _tallies(
        self,
        conn: Connection,
        interval: Interval,
        first: date,
        last: date,
        by: Sequence[str],
        where: Mapping[str, str],
    ) -> dict[Key, Tally]:
        """The tallies of the days ``first`` to ``last``: from the days' rows where
        rolled, from the log where not."""
        c = t.analytics_days.c
        names = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        rolled = self._rolled(conn, Period.DAY, names)
        out: dict[Key, Tally] = {}

        def into(key: Key, tally: Tally) -> None:
            found = out.get(key)
            if found is None:
                out[key] = tally
            else:
                found.add(tally)

        if rolled:
            query = select(t.analytics_days).where(
                c.day.in_(sorted(rolled)),
                c.interval == interval.code,
                *(c[k] == v for k, v in where.items()),
            )
            for row in conn.execute(query):
                into(tuple(getattr(row, g) for g in by), _tally_of(row))
        for name in names:
            if name in rolled:
                continue
            start, end = day_bounds(date.fromisoformat(name))
            live = tallies(load_phases(conn, start, end), interval, period=Period.DAY, by=by,
                           where=where)  # fmt: skip
            for key, tally in live.items():
                into(key[1:], tally)
        return out
