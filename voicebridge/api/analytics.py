"""The response-time analytics through the API (supervisors and admins: the centre's
analysts): one interval's figures per period, grouped and filtered
(``GET /api/v1/analytics/figures``), and a month's KPIs beside the month before
(``GET /api/v1/analytics/summary``), from the summary rows where rolled up and from the
log where not (:mod:`routing.rollups`)."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from aiohttp import web

from routing.analytics import BY_CODE, GROUPS, Excluded, Figures, Key, Period, change, period_of_day
from routing.categories import CATEGORIES, category_by_code
from routing.config import RoutingConfig
from routing.districts import DISTRICTS, district_by_code
from routing.errors import RoutingError
from routing.ids import lima_day
from routing.models import Priority, Source
from routing.rollups import Analytics, Summary, days_of
from voicebridge.api.auth import require
from voicebridge.api.errors import Problems
from voicebridge.api.schemas import dumps, single
from voicebridge.apikeys import Role
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

MAX_DAYS: Final = 800
"""The longest range one request may ask for (two years and some)."""
MAX_GROUPS: Final = 2


def analytics_of(runtime: Runtime) -> Analytics:
    return Analytics(runtime.db, clock=runtime.clock, targets=runtime.settings.analytics_targets)


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=dumps)


DIMENSION_LABELS: Final = {
    "district": "distrito",
    "agency": "entidad",
    "category": "categoría",
    "priority": "prioridad",
    "source": "canal",
}
"""The dimensions as people name them."""


def known_values(config: RoutingConfig) -> dict[str, set[str]]:
    """What each dimension may be filtered by (``""``: an incident with no district)."""
    return {
        "district": {d.ubigeo for d in DISTRICTS} | {""},
        "agency": set(config.agencies),
        "category": {c.code for c in CATEGORIES},
        "priority": {p.value for p in Priority},
        "source": {s.value for s in Source},
    }


def figures_json(f: Figures) -> dict[str, Any]:
    return {
        "count": f.count,
        "excluded": {
            "missing": f.excluded.get(Excluded.MISSING, 0),
            "negative": f.excluded.get(Excluded.NEGATIVE, 0),
        },
        "mean": f.mean,
        "median": f.median,
        "p90": f.p90,
        "within": f.within,
        "first_try": f.first_try_share,
        "unanswered": f.unanswered_share,
    }


def names(config: RoutingConfig, dimension: str, value: str) -> str:
    """How people read a dimension's value (Spanish)."""
    try:
        if dimension == "district":
            return district_by_code(value).name if value else "sin distrito"
        if dimension == "category":
            return category_by_code(value).label
        if dimension == "agency":
            agency = config.agencies.get(value)
            return agency.name if agency is not None else value
        if dimension == "priority":
            return Priority(value).label
        if dimension == "source":
            return Source(value).label
    except (RoutingError, ValueError):
        return value
    return value


@routes.get("/api/v1/analytics/figures")
async def figures(request: web.Request) -> web.Response:
    """One interval's figures per day, week or month: count, what was left out and why,
    mean, median, p90, the share within the target, an agency's first-try and
    unanswered shares; ``by`` groups (up to two dimensions), each dimension filters."""
    require(request, Role.SUPERVISOR)
    runtime = request.app[RUNTIME]
    query = request.query
    problems = Problems()
    code = single(query, "interval", problems) or "response"
    if code not in BY_CODE:
        problems.add("interval", f"debe ser uno de: {', '.join(BY_CODE)}")
    interval = BY_CODE.get(code, BY_CODE["response"])
    period_text = single(query, "period", problems) or Period.MONTH.value
    period = Period.MONTH
    try:
        period = Period(period_text)
    except ValueError:
        problems.add("period", "debe ser day, week o month")
    today = lima_day(runtime.clock.now())
    last = today
    first = date(today.year - 1, today.month, 1)
    for name in ("from", "to"):
        text = single(query, name, problems)
        if text is None:
            continue
        try:
            start = days_of(period, text)[0]
        except ValueError:
            problems.add(name, "un periodo como 2026-11, 2026-W45 o 2026-11-03, del tipo pedido")
            continue
        if name == "from":
            first = start
        else:
            last = days_of(period, period_of_day(start, period))[1]
    if (last - first).days > MAX_DAYS:
        problems.add("from", f"el rango es de hasta {MAX_DAYS} días")
    elif last < first:
        problems.add("to", "va después del periodo inicial")
    by = [b for value in query.getall("by", []) for b in value.split(",") if b]
    if any(b not in GROUPS for b in by) or len(set(by)) != len(by) or len(by) > MAX_GROUPS:
        problems.add("by", f"hasta {MAX_GROUPS} distintos de: {', '.join(GROUPS)}")
    elif "agency" in by and not interval.per_agency:
        problems.add("by", f"{interval.code} es del incidente, no de cada entidad")
    config, _ = await request.app[BLOCKING](runtime.rules.current)
    known = known_values(config)
    where: dict[str, str] = {}
    for dimension in GROUPS:
        value = single(query, dimension, problems)
        if value is None:
            continue
        if value not in known[dimension]:
            problems.add(dimension, f"no es un valor conocido de {DIMENSION_LABELS[dimension]}")
            continue
        if dimension == "agency" and not interval.per_agency:
            problems.add("agency", f"{interval.code} es del incidente, no de cada entidad")
            continue
        where[dimension] = value
    problems.check()
    analytics = analytics_of(runtime)
    blocking = request.app[BLOCKING]
    found = await blocking(
        analytics.figures, interval, period=period, first=first, last=last, by=by, where=where
    )
    return _json(
        {
            "interval": interval_json(analytics, interval.code),
            "period": period.value,
            "by": by,
            "where": where,
            "items": items_json(found, by, config),
        }
    )


def items_json(
    found: Mapping[Key, Figures], by: Sequence[str], config: RoutingConfig
) -> list[dict[str, Any]]:
    """Figures keyed by period and group as the API gives them."""
    return [
        {
            "period": key[0],
            "group": {
                dimension: {"code": value, "name": names(config, dimension, value)}
                for dimension, value in zip(by, key[1:], strict=True)
            },
            **figures_json(f),
        }
        for key, f in found.items()
    ]


def interval_json(analytics: Analytics, code: str) -> dict[str, Any]:
    interval = BY_CODE[code]
    return {
        "code": interval.code,
        "label": interval.label,
        "start": interval.start.value,
        "end": interval.end.value,
        "per_agency": interval.per_agency,
        "leaves_out": interval.leaves_out,
        "leaves_out_label": interval.leaves_out_label,
        "target": analytics.targets.get(code),
    }


@routes.get("/api/v1/analytics/summary")
async def summary(request: web.Request) -> web.Response:
    """A month's KPIs beside the month before: the mean response time and its change,
    the share of districts that improved, each district's response, each agency's
    first-try and unanswered shares, each district's productivity, each target met
    or not."""
    require(request, Role.SUPERVISOR)
    runtime = request.app[RUNTIME]
    problems = Problems()
    today = lima_day(runtime.clock.now())
    month = single(request.query, "month", problems) or period_of_day(today, Period.MONTH)
    try:
        days_of(Period.MONTH, month)
    except ValueError:
        problems.add("month", "un mes como 2026-11")
    problems.check()
    analytics = analytics_of(runtime)
    blocking = request.app[BLOCKING]
    found = await blocking(analytics.summary, month)
    config, _ = await blocking(runtime.rules.current)
    return _json(summary_json(found, analytics, config, runtime.settings.analytics_goal))


def agency_json(agency: str, f: Figures, config: RoutingConfig) -> dict[str, Any]:
    """An agency's acknowledgement: its legs, median and p90, first-try and unanswered."""
    return {
        "agency": agency,
        "name": names(config, "agency", agency),
        "legs": f.legs,
        "median": f.median,
        "p90": f.p90,
        "first_try": f.first_try_share,
        "unanswered": f.unanswered_share,
    }


def summary_json(
    s: Summary, analytics: Analytics, config: RoutingConfig, goal: int
) -> dict[str, Any]:
    def mean(f: Figures | None) -> float | None:
        return f.mean if f is not None else None

    return {
        "month": s.month,
        "previous": s.previous,
        "response": {
            "interval": interval_json(analytics, "response"),
            "now": figures_json(s.response) if s.response else None,
            "before": figures_json(s.response_before) if s.response_before else None,
            "change": s.change,
        },
        "improved": s.improved,
        "districts": [
            {
                "district": district,
                "name": names(config, "district", district),
                "mean": mean(now),
                "p90": now.p90 if now is not None else None,
                "count": now.count if now is not None else 0,
                "mean_before": mean(before),
                "change": change(mean(before), mean(now)),
            }
            for district, (now, before) in sorted(s.districts.items())
        ],
        "agencies": [agency_json(agency, f, config) for agency, f in sorted(s.agencies.items())],
        "productivity": [
            {
                "district": district,
                "name": names(config, "district", district),
                "incidents": p.incidents,
                "operator_hours": p.operator_hours,
                "per_hour": p.per_hour,
            }
            for district, p in s.productivity.items()
        ],
        "targets": [
            {
                "interval": code,
                "label": BY_CODE[code].label,
                "target": analytics.targets[code],
                "within": f.within,
                "goal": goal / 100,
                "met": None if f.within is None else f.within * 100 >= goal,
                "count": f.count,
            }
            for code, f in s.targets.items()
        ],
    }
