"""The monthly report to the municipality (issue 15, point 5):
``voicebridge analytics report --month 2026-11 --out informe.pdf`` (or ``.html``,
``.svg``, ``.png``). The KPIs and the charts of the console's analytics page, from the
same Vega-Lite specifications (:mod:`voicebridge.charts`), rendered by vl-convert
(Vega's own renderer, embedded: no browser, no network); the HTML is one file with the
charts inline as SVG and no script."""

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import vl_convert

from routing.analytics import BY_CODE, Period
from routing.config import RoutingConfig
from routing.geo import Outlines
from routing.rollups import Analytics, days_of
from voicebridge import charts
from voicebridge.api.analytics import items_json, summary_json

FORMATS: Final = ("pdf", "html", "svg", "png")
HEADLINE: Final = "response"
MONTHS_SHOWN: Final = 12


@dataclass(frozen=True, slots=True)
class ReportData:
    summary: dict[str, Any]
    series: list[dict[str, Any]]
    label: str


def gather(analytics: Analytics, month: str, config: RoutingConfig, goal: int) -> ReportData:
    """What the report shows: the month's KPIs, and the headline interval over the
    twelve months up to it."""
    summary = summary_json(analytics.summary(month), analytics, config, goal)
    first, last = days_of(Period.MONTH, month)
    back = first.year * 12 + first.month - 1 - (MONTHS_SHOWN - 1)
    start = date(back // 12, back % 12 + 1, 1)
    interval = BY_CODE[HEADLINE]
    found = analytics.figures(interval, period=Period.MONTH, first=start, last=last)
    return ReportData(summary=summary, series=items_json(found, (), config), label=interval.label)


def specification(data: ReportData, outlines: Outlines) -> dict[str, Any]:
    return charts.report(data.summary, data.series, data.label, outlines)


def render(data: ReportData, outlines: Outlines, kind: str) -> bytes:
    """The report as ``kind`` (one of :data:`FORMATS`)."""
    if kind == "html":
        return _html(data, outlines).encode()
    spec = specification(data, outlines)
    number, time = dict(charts.FORMAT_LOCALE), dict(charts.TIME_FORMAT_LOCALE)
    if kind == "svg":
        svg = vl_convert.vegalite_to_svg(spec, format_locale=number, time_format_locale=time)
        return str(svg).encode()
    if kind == "png":
        return bytes(vl_convert.vegalite_to_png(spec, scale=2, format_locale=number,
                                                time_format_locale=time))  # fmt: skip
    if kind == "pdf":
        return bytes(vl_convert.vegalite_to_pdf(spec, format_locale=number,
                                                time_format_locale=time))  # fmt: skip
    raise ValueError(f"a report is {', '.join(FORMATS)}, not {kind}")


def svg(spec: dict[str, Any]) -> str:
    """One chart as SVG, in Spanish."""
    return str(
        vl_convert.vegalite_to_svg(
            spec,
            format_locale=dict(charts.FORMAT_LOCALE),
            time_format_locale=dict(charts.TIME_FORMAT_LOCALE),
        )
    )


def _html(data: ReportData, outlines: Outlines) -> str:
    summary = data.summary
    month = summary["month"]
    figures = [
        charts.monthly(data.series, data.label),
        charts.district_map(summary["districts"], outlines, month, summary["previous"]),
        charts.agencies(summary["agencies"], month),
        charts.productivity(summary["productivity"], month),
    ]
    svgs = [svg(spec) for spec in figures]
    lines = charts.kpi_lines(summary)
    rows = "".join(
        f"<tr><td>{html.escape(a['name'])}</td><td>{_share(a['first_try'])}</td>"
        f"<td>{_share(a['unanswered'])}</td><td>{_number(a['p90'])}</td></tr>"
        for a in summary["agencies"]
    )
    kpis = "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:])
    charts_html = "".join(f"<figure>{svg}</figure>" for svg in svgs)
    return f"""<!doctype html>
<html lang="es-PE">
<head><meta charset="utf-8"><title>{html.escape(lines[0])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}figure{{margin:1.5em 0}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head>
<body>
<h1>{html.escape(lines[0])}</h1>
<p>CIC-SC · Lima Metropolitana</p>
<ul>{kpis}</ul>
{charts_html}
<h2>Entidades</h2>
<table><thead><tr><th>Entidad</th><th>Al primer intento</th><th>Sin respuesta</th>
<th>Confirmación, percentil 90 (s)</th></tr></thead><tbody>{rows}</tbody></table>
</body>
</html>
"""


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def kind_of(path: Path) -> str:
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ValueError(f"the report's file ends in .{', .'.join(FORMATS)}: {path}")
    return kind
