"""Response-time analytics, the definitions (issue 15, point 1): the phases of an
incident as its log and reports timestamp them, the intervals between phases the centre
reports, each defined once here with what it leaves out and why, and the exact
percentile every figure uses.

Phases (all UTC):

- **received**: the first report reached voicebridge (a call taken by the IVR, an SMS
  or Telegram message stored, a report posted by an operator): its ``received_at``;
- **created**: the incident was registered (its ``created`` event);
- **dispatched**: the rules' decision was frozen on it (the first ``status_changed`` to
  ``dispatched``);
- per agency, **notified** (its first try: the first ``calling`` event naming it),
  **acknowledged** (its ``acknowledged`` event: a keypress, a radio status, a reply, a
  supervisor), **en route** and **on scene** (the first radio status its plan says means
  so; an operator may record them the same way);
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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from routing.events import (
    Acknowledged,
    Calling,
    EventKind,
    RadioStatusReported,
    StatusChanged,
)
from routing.models import IncidentDetail, Status


class Phase(StrEnum):
    RECEIVED = "received"
    CREATED = "created"
    DISPATCHED = "dispatched"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
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

    def when(self, phase: Phase, agency: str | None = None) -> datetime | None:
        if phase.per_agency:
            return None if agency is None else self.agencies.get(agency, {}).get(phase)
        return self.at.get(phase)


FINAL: Final = frozenset({Status.RESOLVED, Status.CANCELLED, Status.MERGED})
EN_ROUTE, ON_SCENE = "en_route", "on_scene"


def phases(detail: IncidentDetail) -> Phases:
    """The phases of an incident, from its reports and its log (first occurrences)."""
    incident = detail.incident
    at: dict[Phase, datetime] = {}
    agencies: dict[str, dict[Phase, datetime]] = {}
    first = min(detail.reports, key=lambda r: r.received_at, default=None)
    if first is not None:
        at[Phase.RECEIVED] = first.received_at

    def once(where: dict[Phase, datetime], phase: Phase, when: datetime) -> None:
        if phase not in where or when < where[phase]:
            where[phase] = when

    for event in detail.events:
        payload = event.payload
        if event.kind is EventKind.CREATED:
            once(at, Phase.CREATED, event.at)
        elif isinstance(payload, StatusChanged):
            if payload.to == Status.DISPATCHED.value:
                once(at, Phase.DISPATCHED, event.at)
                for agency in payload.agencies:
                    agencies.setdefault(agency, {})
            elif payload.to == Status.BRIDGED.value:
                once(at, Phase.BRIDGED, event.at)
            elif payload.to == Status.RESOLVED.value:
                once(at, Phase.RESOLVED, event.at)
        elif isinstance(payload, Calling):
            once(agencies.setdefault(payload.agency, {}), Phase.NOTIFIED, event.at)
        elif isinstance(payload, Acknowledged):
            once(agencies.setdefault(payload.agency, {}), Phase.ACKNOWLEDGED, event.at)
        elif isinstance(payload, RadioStatusReported):
            phase = {EN_ROUTE: Phase.EN_ROUTE, ON_SCENE: Phase.ON_SCENE}.get(payload.means or "")
            if phase is not None:
                once(agencies.setdefault(payload.agency, {}), phase, event.at)
    return Phases(
        incident=incident.id,
        district=incident.district,
        category=incident.category,
        priority=incident.priority.value,
        source=first.source.value if first is not None else "",
        final=incident.status if incident.status in FINAL else None,
        at=at,
        agencies=agencies,
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
    ),
    Interval(
        code="processing",
        label="procesamiento hasta el primer aviso",
        start=Phase.CREATED,
        end=Phase.NOTIFIED,
        leaves_out="incidents never dispatched (closed before, or still waiting), and "
        "agencies never tried (their targets all skipped or out of hours)",
    ),
    Interval(
        code="acknowledgement",
        label="confirmación de la entidad",
        start=Phase.NOTIFIED,
        end=Phase.ACKNOWLEDGED,
        leaves_out="agencies that never acknowledged: counted apart as unanswered, never "
        "as zero nor as the time the centre gave up",
    ),
    Interval(
        code="bridging",
        label="enlace del operador con la entidad",
        start=Phase.DISPATCHED,
        end=Phase.BRIDGED,
        leaves_out="incidents whose agencies all acknowledged by message or radio, or "
        "were confirmed by a supervisor: nobody joined the room",
    ),
    Interval(
        code="turnout",
        label="salida de la unidad",
        start=Phase.ACKNOWLEDGED,
        end=Phase.EN_ROUTE,
        leaves_out="agencies with no en-route status recorded (by radio or operator)",
    ),
    Interval(
        code="travel",
        label="viaje al lugar",
        start=Phase.EN_ROUTE,
        end=Phase.ON_SCENE,
        leaves_out="agencies with no en-route or no on-scene status recorded",
    ),
    Interval(
        code="arrival",
        label="llegada desde el reporte",
        start=Phase.RECEIVED,
        end=Phase.ON_SCENE,
        leaves_out="agencies with no on-scene status recorded",
    ),
    Interval(
        code="total",
        label="tiempo hasta la resolución",
        start=Phase.RECEIVED,
        end=Phase.RESOLVED,
        leaves_out="incidents cancelled or merged into another (no resolution), and "
        "those still open",
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
    seconds: float | None
    excluded: Excluded | None = None


def measure(p: Phases, interval: Interval) -> list[Measure]:
    """``interval`` in one incident: one measure, or one per agency it was dispatched to
    for an interval of an agency's phases (each with the seconds, or why not)."""
    agencies: list[str | None] = [*sorted(p.agencies)] if interval.per_agency else [None]
    out: list[Measure] = []
    for agency in agencies:
        start, end = p.when(interval.start, agency), p.when(interval.end, agency)
        if start is None or end is None:
            out.append(Measure(agency, None, Excluded.MISSING))
            continue
        seconds = (end - start).total_seconds()
        if seconds < 0:
            out.append(Measure(agency, None, Excluded.NEGATIVE))
            continue
        out.append(Measure(agency, seconds))
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

LIMA: Final = ZoneInfo("America/Lima")
"""Days, weeks and months are Lima's (UTC-5, no daylight saving time)."""


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"


def period_of(when: datetime, period: Period) -> str:
    """The period ``when`` falls in, in Lima: ``2026-11-03``, ``2026-W45``, ``2026-11``."""
    local = when.astimezone(LIMA)
    if period is Period.DAY:
        return local.strftime("%Y-%m-%d")
    if period is Period.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


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


def summarise(
    seconds: Sequence[float], excluded: dict[Excluded, int], target: float | None
) -> Figures:
    """The figures of the durations ``seconds`` (and of what was left out)."""
    return Figures(
        count=len(seconds),
        excluded=dict(excluded),
        mean=sum(seconds) / len(seconds) if seconds else None,
        median=percentile_cont(seconds, 0.5),
        p90=percentile_cont(seconds, 0.9),
        within=(
            sum(1 for s in seconds if s <= target) / len(seconds)
            if seconds and target is not None
            else None
        ),
    )


Key = tuple[str, ...]
"""A figure's period, then its group's values, in the order asked for."""


def figures(
    incidents: Iterable[Phases],
    interval: Interval,
    *,
    period: Period,
    by: Sequence[str] = (),
    target: float | None = None,
) -> dict[Key, Figures]:
    """``interval`` over ``incidents``, per ``period`` (by the first report's time, in
    Lima) and per group ``by`` (any of :data:`GROUPS`; ``agency`` only for an
    interval of an agency's phases): the figures of each key, with the share within
    ``target`` seconds when one is given."""
    unknown = [name for name in by if name not in GROUPS]
    if unknown:
        raise ValueError(f"figures are grouped by {', '.join(GROUPS)}, not {unknown[0]}")
    if "agency" in by and not interval.per_agency:
        raise ValueError(f"{interval.code} is an incident's, not an agency's: no agency")
    seconds: dict[Key, list[float]] = {}
    excluded: dict[Key, dict[Excluded, int]] = {}
    for p in incidents:
        started = p.at.get(Phase.RECEIVED) or p.at.get(Phase.CREATED)
        if started is None:
            continue
        when = period_of(started, period)
        for m in measure(p, interval):
            values = {
                "district": p.district or "",
                "agency": m.agency or "",
                "category": p.category,
                "priority": p.priority,
                "source": p.source,
            }
            key = (when, *(values[name] for name in by))
            excluded.setdefault(key, {})
            if m.seconds is None:
                reason = m.excluded or Excluded.MISSING
                excluded[key][reason] = excluded[key].get(reason, 0) + 1
                seconds.setdefault(key, [])
            else:
                seconds.setdefault(key, []).append(m.seconds)
    return {key: summarise(seconds[key], excluded[key], target) for key in sorted(seconds)}


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
