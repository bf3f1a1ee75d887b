"""The analytics' charts as Vega-Lite specifications (issue 15, point 5), written from
the API's answers: the console draws them with the vendored vega-embed, and
``voicebridge analytics report`` renders the very same specifications to SVG, PNG or
PDF with vl-convert (no browser, no network). Titles, axes and numbers are Spanish
(es-PE); the tests read the specifications, never pixels.

- :func:`monthly`: the response time per month, median and p90 (and the mean);
- :func:`district_map`: Lima's districts coloured by the change of their mean response
  time from the month before (blue faster, red slower);
- :func:`agencies`: each agency's acknowledgement p90, with its first-try share;
- :func:`productivity`: incidents per operator hour, per district;
- :func:`report`: all of them, with the KPIs, in one page (the monthly report).
"""

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any, Final

from routing.geo import Outlines

SCHEMA: Final = "https://vega.github.io/schema/vega-lite/v6.json"
Spec = dict[str, Any]

FORMAT_LOCALE: Final = {
    "decimal": ".",
    "thousands": ",",
    "grouping": [3],
    "currency": ["S/ ", ""],
}
"""Numbers as Peru writes them (d3-format's locale)."""
TIME_FORMAT_LOCALE: Final = {
    "dateTime": "%A, %e de %B de %Y, %X",
    "date": "%d/%m/%Y",
    "time": "%H:%M:%S",
    "periods": ["a. m.", "p. m."],
    "days": ["domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"],
    "shortDays": ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"],
    "months": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
               "septiembre", "octubre", "noviembre", "diciembre"],
    "shortMonths": ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct",
                    "nov", "dic"],
}  # fmt: skip
"""Dates in Spanish (d3-time-format's locale)."""

MONTHS: Final = TIME_FORMAT_LOCALE["months"]


def month_label(month: str) -> str:
    """``2026-11`` as people say it: ``noviembre de 2026``."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} de {year}"


def _base(title: str, **rest: Any) -> Spec:
    return {
        "$schema": SCHEMA,
        "title": {"text": title, "anchor": "start"},
        "config": {"font": "sans-serif", "axis": {"labelFontSize": 11, "titleFontSize": 12}},
        **rest,
    }


def monthly(items: Sequence[Mapping[str, Any]], label: str) -> Spec:
    """One interval per month from ``/api/v1/analytics/figures`` (no grouping): the
    median and p90 lines, the mean dashed."""
    rows = [
        {"mes": item["period"] + "-01", "medida": name, "segundos": item[key]}
        for item in items
        for key, name in (("median", "mediana"), ("p90", "percentil 90"), ("mean", "promedio"))
        if item[key] is not None
    ]
    return _base(
        f"Tiempo de {label}, por mes",
        width=560,
        height=260,
        data={"values": rows},
        mark={"type": "line", "point": True},
        encoding={
            "x": {"field": "mes", "type": "temporal", "timeUnit": "yearmonth",
                  "title": "mes", "axis": {"format": "%b %Y"}},
            "y": {"field": "segundos", "type": "quantitative", "title": "segundos"},
            "color": {"field": "medida", "type": "nominal", "title": None,
                      "sort": ["mediana", "percentil 90", "promedio"]},
            "strokeDash": {"field": "medida", "type": "nominal", "legend": None,
                           "sort": ["mediana", "percentil 90", "promedio"]},
            "tooltip": [
                {"field": "mes", "type": "temporal", "timeUnit": "yearmonth", "title": "mes"},
                {"field": "medida", "type": "nominal"},
                {"field": "segundos", "type": "quantitative", "format": ",.1f"},
            ],
        },
    )  # fmt: skip


def _clockwise(ring: Sequence[tuple[float, float]]) -> list[list[float]]:
    """A ring as d3-geo wants a polygon's outside: clockwise (else it fills the globe)."""
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))
    points = [[round(x, 5), round(y, 5)] for x, y in ring]
    return points[::-1] if area > 0 else points


def features(outlines: Outlines, province: str = "Lima") -> list[dict[str, Any]]:
    """Lima's districts as GeoJSON features (their UBIGEO and name as properties)."""
    return [
        {
            "type": "Feature",
            "properties": {"district": o.ubigeo, "name": o.name},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[_clockwise(ring)] for ring in o.rings],
            },
        }
        for o in outlines.outlines
        if o.province == province
    ]


def district_map(
    districts: Iterable[Mapping[str, Any]], outlines: Outlines, month: str, previous: str
) -> Spec:
    """The districts of ``/api/v1/analytics/summary`` on the map, coloured by the
    change of their mean response time (a district not measured in both months grey)."""
    values = {
        d["district"]: {"cambio": d["change"], "promedio": d["mean"], "antes": d["mean_before"]}
        for d in districts
    }
    shapes = []
    for feature in features(outlines):
        found = values.get(feature["properties"]["district"], {})
        shapes.append({**feature, "properties": {**feature["properties"], **found}})
    tooltip = [
        {"field": "properties.name", "type": "nominal", "title": "distrito"},
        {"field": "properties.cambio", "type": "quantitative", "format": "+.1%",
         "title": "cambio"},
        {"field": "properties.promedio", "type": "quantitative", "format": ",.1f",
         "title": "promedio (s)"},
        {"field": "properties.antes", "type": "quantitative", "format": ",.1f",
         "title": "mes anterior (s)"},
    ]  # fmt: skip
    return _base(
        f"Cambio del tiempo de respuesta por distrito, {month_label(previous)} a "
        f"{month_label(month)}",
        width=420,
        height=520,
        data={"values": shapes, "format": {"type": "json"}},
        projection={"type": "mercator"},
        layer=[
            {  # every district, grey: one not measured in both months stays so
                "mark": {"type": "geoshape", "fill": "#d9d9d9", "stroke": "#ffffff",
                         "strokeWidth": 0.6},
                "encoding": {"tooltip": tooltip[:1]},
            },
            {
                "transform": [{"filter": "isValid(datum.properties.cambio)"}],
                "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.6},
                "encoding": {
                    "color": {
                        "field": "properties.cambio",
                        "type": "quantitative",
                        "title": "cambio",
                        "scale": {"scheme": "blueorange", "domainMid": 0},
                        "legend": {"format": "+.0%"},
                    },
                    "tooltip": tooltip,
                },
            },
        ],
    )  # fmt: skip


def agencies(rows: Iterable[Mapping[str, Any]], month: str) -> Spec:
    """Each agency's acknowledgement p90 (bars) with its first-try share (labels)."""
    values = [
        {"entidad": a["name"], "p90": a["p90"], "primer": a["first_try"], "sin": a["unanswered"]}
        for a in rows
        if a["p90"] is not None
    ]
    bars = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "p90", "type": "quantitative", "title": "percentil 90 (segundos)"},
            "tooltip": [
                {"field": "entidad", "type": "nominal"},
                {"field": "p90", "type": "quantitative", "format": ",.1f", "title": "p90 (s)"},
                {"field": "primer", "type": "quantitative", "format": ".1%",
                 "title": "al primer intento"},
                {"field": "sin", "type": "quantitative", "format": ".1%",
                 "title": "sin respuesta"},
            ],
        },
    }  # fmt: skip
    labels = {
        "mark": {"type": "text", "align": "left", "dx": 4},
        "encoding": {
            "x": {"field": "p90", "type": "quantitative"},
            "text": {"field": "primer", "type": "quantitative", "format": ".0%"},
        },
    }
    return _base(
        f"Confirmación de cada entidad, {month_label(month)} (etiqueta: al primer intento)",
        width=460,
        data={"values": values},
        encoding={"y": {"field": "entidad", "type": "nominal", "title": None, "sort": "-x"}},
        layer=[bars, labels],
    )


def productivity(rows: Iterable[Mapping[str, Any]], month: str) -> Spec:
    """Incidents per operator hour, per district."""
    values = [
        {"distrito": p["name"], "por_hora": p["per_hour"], "incidentes": p["incidents"],
         "horas": p["operator_hours"]}
        for p in rows
        if p["per_hour"] is not None
    ]  # fmt: skip
    return _base(
        f"Productividad: incidentes por hora de operador, {month_label(month)}",
        width=460,
        data={"values": values},
        mark={"type": "bar"},
        encoding={
            "y": {"field": "distrito", "type": "nominal", "title": None, "sort": "-x"},
            "x": {"field": "por_hora", "type": "quantitative",
                  "title": "incidentes por hora de operador"},
            "tooltip": [
                {"field": "distrito", "type": "nominal"},
                {"field": "incidentes", "type": "quantitative", "format": ","},
                {"field": "horas", "type": "quantitative", "format": ",",
                 "title": "horas de operador"},
            ],
        },
    )  # fmt: skip


def kpi_lines(summary: Mapping[str, Any]) -> list[str]:
    """The month's KPIs as sentences (the report's text and the cards' wording)."""
    response = summary["response"]
    now, change = response["now"], response["change"]
    lines = [f"Informe de tiempos de respuesta, {month_label(summary['month'])}"]
    if now is not None and now["mean"] is not None:
        lines.append(
            f"Tiempo de respuesta promedio: {_seconds(now['mean'])} (mediana "
            f"{_seconds(now['median'])}, percentil 90 {_seconds(now['p90'])}; "
            f"{now['count']:,} incidentes)"
        )
    if change is not None:
        lines.append(f"Cambio respecto de {month_label(summary['previous'])}: {change:+.1%}")
    if summary["improved"] is not None:
        lines.append(f"Distritos que mejoraron: {summary['improved']:.0%}")
    for target in summary["targets"]:
        if target["within"] is None:
            continue
        verdict = "cumplida" if target["met"] else "no cumplida"
        lines.append(
            f"Meta de {target['label']}: {target['within']:.1%} en {target['target']} s o "
            f"menos (meta {target['goal']:.0%}, {verdict})"
        )
    return lines


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} s"


def report(
    summary: Mapping[str, Any],
    series: Sequence[Mapping[str, Any]],
    label: str,
    outlines: Outlines,
) -> Spec:
    """The monthly report in one specification: the KPIs, the months, the map, the
    agencies, the productivity (rendered as one SVG, PNG or PDF page)."""
    text = {
        "$schema": SCHEMA,
        "data": {"values": [{"n": n, "linea": line} for n, line in enumerate(kpi_lines(summary))]},
        "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 13},
        "encoding": {
            "x": {"value": 0},
            "y": {"field": "n", "type": "ordinal", "axis": None},
            "text": {"field": "linea", "type": "nominal"},
        },
        "width": 560,
        "view": {"stroke": None},
    }
    parts = [
        text,
        monthly(series, label),
        {
            "hconcat": [
                district_map(summary["districts"], outlines, summary["month"], summary["previous"]),
                {"vconcat": [agencies(summary["agencies"], summary["month"]),
                             productivity(summary["productivity"], summary["month"])]},
            ]
        },
    ]  # fmt: skip
    return {
        "$schema": SCHEMA,
        "title": {"text": "CIC-SC · Lima Metropolitana", "anchor": "start", "fontSize": 16},
        "config": {"font": "sans-serif"},
        "vconcat": [_inner(part) for part in parts],
        "resolve": {"scale": {"color": "independent"}},
    }


def _inner(spec: Any) -> Any:
    """A chart to place inside another: without the ``$schema`` and ``config`` that only
    a top-level specification may carry."""
    if isinstance(spec, dict):
        return {k: _inner(v) for k, v in spec.items() if k not in ("$schema", "config")}
    if isinstance(spec, list):
        return [_inner(v) for v in spec]
    return spec
