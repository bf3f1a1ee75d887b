"""The console's analytics page (issue 15, point 5), for the centre's supervisors and
admins: the month's KPI cards (centre-wide), then, with the filters (an interval, a
district, an agency, a category, a priority, a channel), the interval per month with
its median and p90, the districts on the map coloured by change, each agency's
acknowledgement and the districts' productivity. The charts are the Vega-Lite
specifications of :mod:`voicebridge.charts`, drawn by the vendored vega-embed with
Vega's interpreter (the page's Content-Security-Policy allows no ``eval``); every
chart has its numbers in a table beside it."""

from typing import Any, Final

from aiohttp import web

from routing.analytics import BY_CODE, GROUPS, Figures, Period, change, period_of_day
from routing.categories import CATEGORIES
from routing.config import RoutingConfig
from routing.districts import DISTRICTS
from routing.ids import lima_day
from routing.models import Priority, Source
from routing.rollups import days_of, previous_month
from voicebridge import charts
from voicebridge.accounts import Session
from voicebridge.api.analytics import (
    DIMENSION_LABELS,
    agency_json,
    analytics_of,
    items_json,
    known_values,
    summary_json,
)
from voicebridge.apikeys import Role
from voicebridge.console.web import SESSION, render, signed_in
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

MONTHS_SHOWN: Final = 12
MONTHS_OFFERED: Final = 24


def _months_back(month: str, n: int) -> str:
    first, _ = days_of(Period.MONTH, month)
    back = first.year * 12 + first.month - 1 - n
    return f"{back // 12:04d}-{back % 12 + 1:02d}"


def _refused(session: Session) -> web.Response | None:
    if session.user.role in (Role.SUPERVISOR, Role.ADMIN):
        return None
    return render(
        "forbidden.html",
        403,
        message="Solo la supervisión y la administración del centro ven los tiempos de respuesta.",
    )


def filters_of(
    query: Any, config: RoutingConfig, this_month: str
) -> tuple[dict[str, Any], list[str]]:
    """The page's filters from its address (an unknown value is dropped, and said)."""
    problems: list[str] = []
    month = query.get("month") or previous_month(this_month)
    try:
        days_of(Period.MONTH, month)
    except ValueError:
        problems.append(f"«{month}» no es un mes (2026-11): se muestra el mes anterior")
        month = previous_month(this_month)
    interval = query.get("interval") or "response"
    if interval not in BY_CODE:
        problems.append(f"«{interval}» no es un intervalo: se muestra la respuesta")
        interval = "response"
    known = known_values(config)
    where: dict[str, str] = {}
    for dimension in GROUPS:
        value = query.get(dimension)
        if not value:
            continue
        if value not in known[dimension]:
            problems.append(f"«{value}» no es un valor de {DIMENSION_LABELS[dimension]}: se ignora")
            continue
        if dimension == "agency" and not BY_CODE[interval].per_agency:
            problems.append("ese intervalo es del incidente: el filtro de entidad se ignora")
            continue
        where[dimension] = value
    return {"month": month, "interval": interval, "where": where}, problems


@routes.get("/console/analytics")
async def page(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    if (refused := _refused(session)) is not None:
        return refused
    runtime: Runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    config, _ = await blocking(runtime.rules.current)
    this_month = period_of_day(lima_day(runtime.clock.now()), Period.MONTH)
    chosen, problems = filters_of(request.query, config, this_month)
    data = await blocking(_gather, runtime, config, chosen)
    return render(
        "analytics.html",
        **signed_in(session),
        quiet=True,
        chosen=chosen,
        problems=problems,
        months=[_months_back(this_month, n) for n in range(MONTHS_OFFERED)],
        month_label=charts.month_label,
        options=_options(config),
        **data,
    )


def _options(config: RoutingConfig) -> dict[str, list[tuple[str, str]]]:
    return {
        "interval": [(i.code, i.label) for i in BY_CODE.values()],
        "district": sorted(((d.ubigeo, d.name) for d in DISTRICTS), key=lambda d: d[1]),
        "agency": sorted(((code, a.name) for code, a in config.agencies.items()),
                         key=lambda a: a[1]),
        "category": [(c.code, c.label) for c in CATEGORIES],
        "priority": [(p.value, p.label) for p in Priority],
        "source": [(s.value, s.label) for s in Source],
    }  # fmt: skip


def _gather(runtime: Runtime, config: RoutingConfig, chosen: dict[str, Any]) -> dict[str, Any]:
    """The KPIs, the charts' specifications and their tables."""
    analytics = analytics_of(runtime)
    month, interval, where = chosen["month"], BY_CODE[chosen["interval"]], chosen["where"]
    before = previous_month(month)
    summary = summary_json(
        analytics.summary(month), analytics, config, runtime.settings.analytics_goal
    )
    last = days_of(Period.MONTH, month)[1]
    first = days_of(Period.MONTH, _months_back(month, MONTHS_SHOWN - 1))[0]
    series = items_json(
        analytics.figures(interval, period=Period.MONTH, first=first, last=last, where=where),
        (),
        config,
    )
    around = {k: v for k, v in where.items() if k != "district"}
    by_district = analytics.figures(
        interval,
        period=Period.MONTH,
        first=days_of(Period.MONTH, before)[0],
        last=last,
        by=("district",),
        where=around,
    )
    districts = _districts(by_district, month, before, config)
    # each agency's acknowledgement, with the other filters
    found = analytics.figures(
        BY_CODE["acknowledgement"],
        period=Period.MONTH,
        first=days_of(Period.MONTH, month)[0],
        last=last,
        by=("agency",),
        where={k: v for k, v in where.items() if k != "agency"},
    )
    agencies_shown = [
        agency_json(agency, f, config)
        for (_, agency), f in sorted(found.items(), key=lambda kv: kv[0][1])
    ]
    specs = {
        "monthly": charts.monthly(series, interval.label),
        "map": charts.district_map(districts, runtime.outlines, month, before),
        "agencies": charts.agencies(agencies_shown, month),
        "productivity": charts.productivity(summary["productivity"], month),
    }
    return {
        "summary": summary,
        "kpis": charts.kpi_lines(summary)[1:],
        "interval": interval,
        "series": series,
        "districts": districts,
        "agencies": agencies_shown,
        "specs": specs,
        "locale": {"format": charts.FORMAT_LOCALE, "time": charts.TIME_FORMAT_LOCALE},
    }


def _districts(
    found: dict[tuple[str, ...], Figures], month: str, before: str, config: RoutingConfig
) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for (name, district), f in found.items():
        row = rows.setdefault(district, {"district": district, "mean": None, "mean_before": None,
                                          "p90": None, "count": 0})  # fmt: skip
        if name == month:
            row.update(mean=f.mean, p90=f.p90, count=f.count)
        elif name == before:
            row["mean_before"] = f.mean
    names = {d.ubigeo: d.name for d in DISTRICTS}
    for row in rows.values():
        row["name"] = names.get(row["district"], row["district"] or "sin distrito")
        row["change"] = change(row["mean_before"], row["mean"])
    return sorted(rows.values(), key=lambda r: r["name"])
