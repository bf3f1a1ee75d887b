"""Response-time analytics, the definitions (issue 15, point 1): the phases of an
incident as its log and reports timestamp them, the intervals between phases the centre
reports, each defined once here with what it leaves out and why, and the exact
percentile every figure uses.

Phases (all UTC):

- **received**: the citizen's contact of the first report began: the phone menu taking
  the call (to the second), the first message of the chat conversation, the text
  message's arrival (before a worker read it), else the report's arrival (a report an
  operator posted): its ``began``.
  The first report is the first to arrive (``received_at``), which also gives the
  incident its day;
- **created**: the incident was registered (its ``created`` event);
- **dispatched**: the rules' decision was frozen on it (the first ``status_changed`` to
  ``dispatched``);
- per agency, **notified** (its first try: the first ``calling`` event naming it),
  **acknowledged** (its ``acknowledged`` event: a keypress, a radio status, a reply, a
  supervisor), **en route** and **on scene** (the first radio status its plan says means
  so; an operator may record them the same way);
- **responded**: the first agency acknowledged (the centre's headline response time runs
  from the first report to it);
- **bridged**: the operator and a responder were first in the room together;
- **resolved**: closed as attended (``resolved``; a cancelled or merged incident has no
  resolution and is counted apart).

The intervals (:data:`INTERVALS`) are differences of two phases. A difference is not
taken when either phase is missing (an agency that never acknowledged has no
acknowledgement time: it is counted apart as unanswered, never as zero or as the time
the centre gave up), nor when it is negative (clocks of two sources that disagree):
:func:`measure` says which and why, so a report can count what it left out.

Percentiles are :func:`percentile_cont`: the same value PostgreSQL's
``percentile_cont(f) WITHIN GROUP (ORDER BY x)`` gives on the same rows (linear
interpolation between the two closest ranks), also where the database has no such
function (SQLite).
"""

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from routing.events import (
    Acknowledged,
    Calling,
    EventKind,
    Payload,
    RadioStatusReported,
    StatusChanged,
    Unanswered,
)
from routing.ids import LIMA
from routing.models import IncidentDetail, Status


class Phase(StrEnum):
    RECEIVED = "received"
    CREATED = "created"
    DISPATCHED = "dispatched"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    BRIDGED = "bridged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"

    @property
    def per_agency(self) -> bool:
        return self in PER_AGENCY


PER_AGENCY: Final = frozenset({Phase.NOTIFIED, Phase.ACKNOWLEDGED, Phase.EN_ROUTE, Phase.ON_SCENE})


@dataclass(frozen=True, kw_only=True, slots=True)
class Phases:
    """When each phase of one incident happened (None, or no entry: it did not)."""

    incident: str
    district: str | None
    category: str
    priority: str
    source: str
    """The channel of the first report (``phone``, ``sms``, ``telegram``, ``api``...)."""
    final: Status | None
    """How it ended (``resolved``, ``cancelled``, ``merged``), None while open."""
    at: dict[Phase, datetime] = field(default_factory=dict)
    """The incident's own phases."""
    agencies: dict[str, dict[Phase, datetime]] = field(default_factory=dict)
    """Each agency dispatched, with its phases (it has at least ``notified`` once tried)."""
    tries: dict[str, int] = field(default_factory=dict)
    """Each agency tried: how many tries it took to acknowledge (the try in progress when
    it did), or how many were made when it did not."""
    unanswered: frozenset[str] = frozenset()
    """The agencies whose escalation ended with nobody acknowledging."""
    operators: dict[str, frozenset[datetime]] = field(default_factory=dict)
    """Each operator who acted on the incident, with the hours (UTC, truncated) they did."""
    filed: datetime | None = None
    """When the first report was filed (its ``received_at``): the day the incident counts
    in, as the rollups select a day's incidents. The received phase may be earlier (the
    contact began before), even the day before."""

    def when(self, phase: Phase, agency: str | None = None) -> datetime | None:
        if phase.per_agency:
            return None if agency is None else self.agencies.get(agency, {}).get(phase)
        return self.at.get(phase)

    @property
    def started(self) -> datetime | None:
        """When the incident counts from, for its period: its first report's filing (its
        creation without one)."""
        return self.filed or self.at.get(Phase.RECEIVED) or self.at.get(Phase.CREATED)

    def first_try(self, agency: str) -> bool:
        """Whether ``agency`` acknowledged on its first try: reached "without problems"."""
        return Phase.ACKNOWLEDGED in self.agencies.get(agency, {}) and self.tries.get(agency) == 1


FINAL: Final = frozenset({Status.RESOLVED, Status.CANCELLED, Status.MERGED})
EN_ROUTE, ON_SCENE = "en_route", "on_scene"
OPERATOR: Final = "operator:"
"""The actor prefix of a district operator's own steps (their hours measure productivity)."""

READS: Final = frozenset(
    {
        EventKind.CREATED,
        EventKind.STATUS_CHANGED,
        EventKind.CALLING,
        EventKind.ACKNOWLEDGED,
        EventKind.UNANSWERED,
        EventKind.RADIO_STATUS,
    }
)
"""The kinds of event the phases are read from (the rest of the log only for operators'
hours)."""


def phases(detail: IncidentDetail) -> Phases:
    """The phases of an incident, from its reports and its log (first occurrences)."""
    incident = detail.incident
    first = min(detail.reports, key=lambda r: r.received_at, default=None)
    return phases_from(
        incident=incident.id,
        district=incident.district,
        category=incident.category,
        priority=incident.priority.value,
        status=incident.status,
        received=first.began if first is not None else None,
        filed=first.received_at if first is not None else None,
        source=first.source.value if first is not None else "",
        events=((e.at, e.actor, e.payload) for e in detail.events),
    )


def phases_from(
    *,
    incident: str,
    district: str | None,
    category: str,
    priority: str,
    status: Status,
    received: datetime | None,
    source: str,
    events: Iterable[tuple[datetime, str, Payload | None]],
    filed: datetime | None = None,
) -> Phases:
    """The phases of an incident from its first report (when and through which channel)
    and its log in order: the one reading of the log, for one incident
    (:func:`phases`) or a day's thousands at once (:mod:`routing.rollups`)."""
    at: dict[Phase, datetime] = {}
    agencies: dict[str, dict[Phase, datetime]] = {}
    tries: dict[str, int] = {}
    unanswered: set[str] = set()
    operators: dict[str, set[datetime]] = {}
    if received is not None:
        at[Phase.RECEIVED] = received

    def once(where: dict[Phase, datetime], phase: Phase, when: datetime) -> None:
        if phase not in where or when < where[phase]:
            where[phase] = when

    for when, actor, payload in events:
        if actor.startswith(OPERATOR):
            operators.setdefault(actor, set()).add(when.replace(minute=0, second=0, microsecond=0))
        if payload is None:
            continue
        if payload.kind is EventKind.CREATED:
            once(at, Phase.CREATED, when)
        elif isinstance(payload, StatusChanged):
            if payload.to == Status.DISPATCHED.value:
                once(at, Phase.DISPATCHED, when)
                for agency in payload.agencies:
                    agencies.setdefault(agency, {})
            elif payload.to == Status.BRIDGED.value:
                once(at, Phase.BRIDGED, when)
            elif payload.to == Status.RESOLVED.value:
                once(at, Phase.RESOLVED, when)
        elif isinstance(payload, Calling):
            leg = agencies.setdefault(payload.agency, {})
            once(leg, Phase.NOTIFIED, when)
            if Phase.ACKNOWLEDGED not in leg:
                tries[payload.agency] = max(tries.get(payload.agency, 0), payload.number)
        elif isinstance(payload, Acknowledged):
            once(agencies.setdefault(payload.agency, {}), Phase.ACKNOWLEDGED, when)
            once(at, Phase.RESPONDED, when)
        elif isinstance(payload, Unanswered):
            unanswered.add(payload.agency)
        elif isinstance(payload, RadioStatusReported):
            phase = {EN_ROUTE: Phase.EN_ROUTE, ON_SCENE: Phase.ON_SCENE}.get(payload.means or "")
            if phase is not None:
                once(agencies.setdefault(payload.agency, {}), phase, when)
    return Phases(
        incident=incident,
        district=district,
        category=category,
        priority=priority,
        source=source,
        final=status if status in FINAL else None,
        at=at,
        agencies=agencies,
        tries=tries,
        unanswered=frozenset(
            a for a in unanswered if Phase.ACKNOWLEDGED not in agencies.get(a, {})
        ),
        operators={k: frozenset(v) for k, v in operators.items()},
        filed=filed,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Interval:
    code: str
    label: str
    """What it is called on the console (Spanish)."""
    start: Phase
    end: Phase
    leaves_out: str
    """What is not measured, and why (English, for the documentation and the reports)."""
    leaves_out_label: str
    """The same for people (Spanish: the console and the API)."""

    @property
    def per_agency(self) -> bool:
        return self.start.per_agency or self.end.per_agency


INTERVALS: Final = (
    Interval(
        code="answering",
        label="atención del reporte",
        start=Phase.RECEIVED,
        end=Phase.CREATED,
        leaves_out="nothing: every incident has a first report and a creation",
        leaves_out_label="nada: todo incidente tiene un primer reporte y un registro",
    ),
    Interval(
        code="processing",
        label="procesamiento hasta el primer aviso",
        start=Phase.CREATED,
        end=Phase.NOTIFIED,
        leaves_out="incidents never dispatched (closed before, or still waiting), and "
        "agencies never tried (their targets all skipped or out of hours)",
        leaves_out_label="incidentes nunca despachados (cerrados antes, o aún en espera) y "
        "entidades nunca llamadas (todos sus destinos omitidos o fuera de "
        "horario)",
    ),
    Interval(
        code="response",
        label="respuesta de la primera entidad",
        start=Phase.RECEIVED,
        end=Phase.RESPONDED,
        leaves_out="incidents no agency acknowledged (counted apart as unanswered, never "
        "as zero), and those closed before any agency was asked",
        leaves_out_label="incidentes que ninguna entidad confirmó (contados aparte como sin "
        "respuesta, nunca como cero) y los cerrados antes de avisar a una "
        "entidad",
    ),
    Interval(
        code="acknowledgement",
        label="confirmación de la entidad",
        start=Phase.NOTIFIED,
        end=Phase.ACKNOWLEDGED,
        leaves_out="agencies that never acknowledged: counted apart as unanswered, never "
        "as zero nor as the time the centre gave up",
        leaves_out_label="entidades que nunca confirmaron: se cuentan aparte como sin respuesta,"
        " nunca como cero ni como el tiempo hasta que el centro dejó de llamar",
    ),
    Interval(
        code="bridging",
        label="enlace del operador con la entidad",
        start=Phase.DISPATCHED,
        end=Phase.BRIDGED,
        leaves_out="incidents whose agencies all acknowledged by message or radio, or "
        "were confirmed by a supervisor: nobody joined the room",
        leaves_out_label="incidentes cuyas entidades confirmaron todas por mensaje o radio, o "
        "que confirmó la supervisión: nadie entró a la sala",
    ),
    Interval(
        code="turnout",
        label="salida de la unidad",
        start=Phase.ACKNOWLEDGED,
        end=Phase.EN_ROUTE,
        leaves_out="agencies with no en-route status recorded (by radio or operator)",
        leaves_out_label="entidades sin estado «en camino» registrado (por radio o por el "
        "operador)",
    ),
    Interval(
        code="travel",
        label="viaje al lugar",
        start=Phase.EN_ROUTE,
        end=Phase.ON_SCENE,
        leaves_out="agencies with no en-route or no on-scene status recorded",
        leaves_out_label="entidades sin estado «en camino» o «en el lugar» registrado",
    ),
    Interval(
        code="arrival",
        label="llegada desde el reporte",
        start=Phase.RECEIVED,
        end=Phase.ON_SCENE,
        leaves_out="agencies with no on-scene status recorded",
        leaves_out_label="entidades sin estado «en el lugar» registrado",
    ),
    Interval(
        code="total",
        label="tiempo hasta la resolución",
        start=Phase.RECEIVED,
        end=Phase.RESOLVED,
        leaves_out="incidents cancelled or merged into another (no resolution), and "
        "those still open",
        leaves_out_label="incidentes cancelados o fusionados con otro (sin resolución) y los aún"
        " abiertos",
    ),
)
BY_CODE: Final = {i.code: i for i in INTERVALS}


class Excluded(StrEnum):
    """Why a difference was not taken."""

    MISSING = "missing"  # a phase did not happen (or was not recorded)
    NEGATIVE = "negative"  # the end before the start: two clocks that disagree


@dataclass(frozen=True, slots=True)
class Measure:
    agency: str | None
    micros: int | None
    """The duration in whole microseconds (timestamps' own resolution: exact)."""
    excluded: Excluded | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.micros is None else self.micros / 1e6


MICROSECOND: Final = timedelta(microseconds=1)


def measure(p: Phases, interval: Interval) -> list[Measure]:
    """``interval`` in one incident: one measure, or one per agency it was dispatched to
    for an interval of an agency's phases (each with the duration, or why not)."""
    agencies: list[str | None] = [*sorted(p.agencies)] if interval.per_agency else [None]
    out: list[Measure] = []
    for agency in agencies:
        start, end = p.when(interval.start, agency), p.when(interval.end, agency)
        if start is None or end is None:
            out.append(Measure(agency, None, Excluded.MISSING))
            continue
        micros = (end - start) // MICROSECOND
        if micros < 0:
            out.append(Measure(agency, None, Excluded.NEGATIVE))
            continue
        out.append(Measure(agency, micros))
    return out


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0 to 1) percentile of ``values`` as PostgreSQL's
    ``percentile_cont`` computes it: sorted, the value at rank ``fraction * (n - 1)``,
    interpolated linearly between the two ranks around it; None for no values."""
    if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
        raise ValueError(f"a percentile's fraction is 0 to 1, not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    below = math.floor(rank)
    above = math.ceil(rank)
    if below == above:
        return float(ordered[below])
    low, high = ordered[below], ordered[above]
    return float(low + (rank - below) * (high - low))


# ---------------------------------------------------------------- figures

# Days, weeks and months are Lima's (routing.ids.LIMA: UTC-5, no daylight saving time).


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"


def period_of(when: datetime, period: Period) -> str:
    """The period ``when`` falls in, in Lima: ``2026-11-03``, ``2026-W45``, ``2026-11``."""
    return period_of_day(when.astimezone(LIMA).date(), period)


def period_of_day(day: date, period: Period) -> str:
    """The period a Lima day is in (:func:`period_of`)."""
    if period is Period.DAY:
        return day.isoformat()
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year:04d}-{day.month:02d}"


GROUPS: Final = ("district", "agency", "category", "priority", "source")
"""What figures may be grouped by (``source``: the channel of the first report)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Figures:
    """One interval over one group of incidents (or agencies' legs) in one period."""

    count: int
    """How many were measured."""
    excluded: dict[Excluded, int]
    """How many were not, and why."""
    mean: float | None
    median: float | None
    p90: float | None
    within: float | None
    """The share (0 to 1) measured at or under the target, None without one."""
    unanswered: int = 0
    """Of an agency's acknowledgement: the legs given up on (among the excluded)."""
    first_try: int = 0
    """Of an agency's acknowledgement: the legs acknowledged on their first try."""
    per_agency: bool = False
    """Whether these are an agency's legs (their first-try and unanswered shares mean
    something), not incidents."""

    @property
    def legs(self) -> int:
        """Everything counted: the measured and the excluded."""
        return self.count + sum(self.excluded.values())

    @property
    def unanswered_share(self) -> float | None:
        """Of an agency's legs dispatched, the share given up on (None for incidents)."""
        return self.unanswered / self.legs if self.legs and self.per_agency else None

    @property
    def first_try_share(self) -> float | None:
        """Of an agency's legs dispatched, the share reached on the first try ("contact
        without problems"; None for incidents)."""
        return self.first_try / self.legs if self.legs and self.per_agency else None


@dataclass(slots=True)
class Tally:
    """The measures of one interval in one group, as they are counted: the durations
    (whole microseconds), what was left out and why, and an agency's legs given up on
    and reached on the first try. Tallies add up exactly (:meth:`add`), which is how the
    rollups' days make weeks and months with the very figures the log gives."""

    micros: list[int] = field(default_factory=list)
    missing: int = 0
    negative: int = 0
    unanswered: int = 0
    first_try: int = 0

    def count(self, p: Phases, m: Measure) -> None:
        """One measure of incident ``p``."""
        if m.micros is not None:
            self.micros.append(m.micros)
            if m.agency is not None and p.first_try(m.agency):
                self.first_try += 1
        elif m.excluded is Excluded.NEGATIVE:
            self.negative += 1
        else:
            self.missing += 1
            if m.agency is not None and m.agency in p.unanswered:
                self.unanswered += 1

    def add(self, other: "Tally") -> None:
        self.micros.extend(other.micros)
        self.missing += other.missing
        self.negative += other.negative
        self.unanswered += other.unanswered
        self.first_try += other.first_try

    def figures(self, target: float | None, *, per_agency: bool = False) -> Figures:
        """The figures, in seconds (the share within ``target`` seconds if one is set);
        ``per_agency``: these are an agency's legs."""
        values = sorted(self.micros)
        n = len(values)
        excluded = {
            reason: k
            for reason, k in ((Excluded.MISSING, self.missing), (Excluded.NEGATIVE, self.negative))
            if k
        }
        within = None
        if n and target is not None:
            within = bisect.bisect_right(values, round(target * 1e6)) / n
        return Figures(
            count=n,
            excluded=excluded,
            mean=sum(values) / n / 1e6 if n else None,
            median=_seconds(_sorted_percentile(values, 0.5)),
            p90=_seconds(_sorted_percentile(values, 0.9)),
            within=within,
            unanswered=self.unanswered,
            first_try=self.first_try,
            per_agency=per_agency,
        )


def _sorted_percentile(ordered: Sequence[int], fraction: float) -> float | None:
    """:func:`percentile_cont` of values already in order (no second sort)."""
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    below, above = math.floor(rank), math.ceil(rank)
    low, high = ordered[below], ordered[above]
    return float(low) if below == above else low + (rank - below) * (high - low)


def _seconds(micros: float | None) -> float | None:
    return None if micros is None else micros / 1e6


Key = tuple[str, ...]
"""A figure's period, then its group's values, in the order asked for."""


def dimensions(p: Phases, agency: str | None) -> dict[str, str]:
    """The values of :data:`GROUPS` of one measure of incident ``p``."""
    return {
        "district": p.district or "",
        "agency": agency or "",
        "category": p.category,
        "priority": p.priority,
        "source": p.source,
    }


def check_grouping(interval: Interval, by: Iterable[str]) -> None:
    unknown = [name for name in by if name not in GROUPS]
    if unknown:
        raise ValueError(f"figures are grouped by {', '.join(GROUPS)}, not {unknown[0]}")
    if "agency" in by and not interval.per_agency:
        raise ValueError(f"{interval.code} is an incident's, not an agency's: no agency")


def tallies(
    incidents: Iterable[Phases],
    interval: Interval,
    *,
    period: Period,
    by: Sequence[str] = (),
    where: Mapping[str, str] | None = None,
) -> dict[Key, Tally]:
    """The tally of ``interval`` per ``period`` (by the first report's time, in Lima)
    and per group ``by`` over those of ``incidents`` (and their agencies' legs) whose
    values are ``where`` says."""
    check_grouping(interval, [*by, *(where or {})])
    out: dict[Key, Tally] = {}
    for p in incidents:
        started = p.started
        if started is None:
            continue
        when = period_of(started, period)
        for m in measure(p, interval):
            values = dimensions(p, m.agency)
            if where and any(values[k] != v for k, v in where.items()):
                continue
            key = (when, *(values[name] for name in by))
            tally = out.get(key)
            if tally is None:
                tally = out[key] = Tally()
            tally.count(p, m)
    return out


def figures(
    incidents: Iterable[Phases],
    interval: Interval,
    *,
    period: Period,
    by: Sequence[str] = (),
    where: Mapping[str, str] | None = None,
    target: float | None = None,
) -> dict[Key, Figures]:
    """``interval`` over ``incidents``, per ``period`` (by the first report's time, in
    Lima) and per group ``by`` (any of :data:`GROUPS`; ``agency`` only for an
    interval of an agency's phases), only where the groups' values are ``where``: the
    figures of each key, with the share within ``target`` seconds when one is given.
    Straight from the incidents' phases: the reference the rollups are tested against."""
    found = tallies(incidents, interval, period=period, by=by, where=where)
    return {
        key: found[key].figures(target, per_agency=interval.per_agency) for key in sorted(found)
    }


def change(before: float | None, after: float | None) -> float | None:
    """The relative change from ``before`` to ``after`` (-0.05: 5% less), None when
    either is missing or ``before`` is zero."""
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before


def share_improved(monthly: dict[Key, Figures], before: str, after: str) -> float | None:
    """Of the groups (districts, say: keys ``(month, district)``) measured in both
    months, the share whose mean fell from month ``before`` to month ``after``; None
    when no group was measured in both."""
    old = {key[1:]: f.mean for key, f in monthly.items() if key[0] == before}
    new = {key[1:]: f.mean for key, f in monthly.items() if key[0] == after}
    both = [g for g in old if g in new and old[g] is not None and new[g] is not None]
    if not both:
        return None
    return sum(1 for g in both if (new[g] or 0.0) < (old[g] or 0.0)) / len(both)
