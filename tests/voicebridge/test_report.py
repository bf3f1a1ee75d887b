"""The analytics seen (issue 15, point 5): the charts are Vega-Lite specifications whose
numbers are the figures' (the tests read the specifications, not pixels); the monthly
report renders the same specifications to PDF, SVG, PNG and a script-free HTML with the
real renderer; the CLI writes it; the demo year and the rollups by the CLI too."""

import logging
from pathlib import Path

import pytest

from routing.config import parse_config
from routing.rollups import Analytics
from voicebridge import charts, report
from voicebridge.cli import main
from voicebridge.demo_year import YearPlan, generate
from voicebridge.rules import read_rules_file
from voicebridge.runtime import Runtime

MONTH = "2026-10"


@pytest.fixture
def data(runtime: Runtime) -> report.ReportData:
    plan = YearPlan(incidents=600, first_month="2026-08", months=3, seed=9)
    config = parse_config(*read_rules_file(None))
    generate(runtime.store, plan, config)
    analytics = Analytics(
        runtime.db, clock=runtime.clock, targets=runtime.settings.analytics_targets
    )
    return report.gather(analytics, MONTH, config, runtime.settings.analytics_goal)


def test_the_charts_carry_the_figures(data: report.ReportData, runtime: Runtime) -> None:
    summary = data.summary
    monthly = charts.monthly(data.series, data.label)
    medians = {
        r["mes"]: r["segundos"] for r in monthly["data"]["values"] if r["medida"] == "mediana"
    }
    assert medians == {f"{i['period']}-01": i["median"] for i in data.series}
    assert set(medians) == {"2026-08-01", "2026-09-01", "2026-10-01"}  # no data before August
    assert monthly["title"]["text"] == "Tiempo de respuesta de la primera entidad, por mes"

    shown = charts.district_map(summary["districts"], runtime.outlines, MONTH, "2026-09")
    shapes = shown["data"]["values"]
    assert len(shapes) == 43
    assert "septiembre de 2026 a octubre de 2026" in shown["title"]["text"]
    changes = {d["district"]: d["change"] for d in summary["districts"]}
    for shape in shapes:
        assert shape["properties"].get("cambio") == changes.get(shape["properties"]["district"])
    colour = shown["layer"][1]["encoding"]["color"]
    assert colour["field"] == "properties.cambio"
    assert colour["scale"]["domainMid"] == 0

    bars = charts.agencies(summary["agencies"], MONTH)
    pnp = next(v for v in bars["data"]["values"] if v["entidad"] == "Policía Nacional del Perú")
    want = next(a for a in summary["agencies"] if a["agency"] == "pnp")
    assert (pnp["p90"], pnp["primer"]) == (want["p90"], want["first_try"])

    lines = charts.kpi_lines(summary)
    assert lines[0] == "Informe de tiempos de respuesta, octubre de 2026"
    change = summary["response"]["change"]
    assert f"Cambio respecto de septiembre de 2026: {change:+.1%}" in lines
    assert any(line.startswith("Meta de confirmación de la entidad: ") for line in lines)


def test_the_report_is_rendered_in_every_format(data: report.ReportData, runtime: Runtime) -> None:
    pdf = report.render(data, runtime.outlines, "pdf")
    assert pdf.startswith(b"%PDF-")
    svg = report.render(data, runtime.outlines, "svg").decode()
    assert svg.startswith("<svg")
    assert "octubre de 2026" in svg
    assert "Policía Nacional del Perú" in svg
    png = report.render(data, runtime.outlines, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    page = report.render(data, runtime.outlines, "html").decode()
    assert '<html lang="es-PE">' in page
    assert page.count("<svg") == 4
    assert "<script" not in page
    with pytest.raises(ValueError, match="pdf, html, svg, png"):
        report.render(data, runtime.outlines, "docx")


def test_the_cli_makes_a_year_rolls_it_up_and_writes_the_report(
    runtime: Runtime,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no var/run.json of a `make run` of the checkout's
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])  # main() sets up logging
    env = {"VOICEBRIDGE_DATABASE_URL": runtime.settings.database_url,
           "VOICEBRIDGE_REDIS_URL": runtime.settings.redis_url}  # fmt: skip
    args = ["demo", "year", "--incidents", "730", "--seed", "3", "--first-month", "2025-11"]
    assert main(args, env) == 0
    out = capsys.readouterr().out
    assert "730 incidents stored, 2025-11-01 to 2026-10-31 (seed 3)" in out
    assert "day(s) rolled up for the analytics" in out  # the page is fast at once
    assert main(["analytics", "roll"], env) == 0
    assert "0 day(s) rolled (0 incidents)" in capsys.readouterr().out
    assert main(["analytics", "show", "--from", "2026-09", "--to", "2026-10"], env) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("month\tn\texcluded\tmean_s\tp50_s\tp90_s")
    assert [row.split("\t")[0] for row in table[1:]] == ["2026-09", "2026-10"]
    out_file = tmp_path / "informe.pdf"
    assert main(["analytics", "report", "--month", "2026-10", "--out", str(out_file)], env) == 0
    assert out_file.read_bytes().startswith(b"%PDF-")
    assert main(["analytics", "report", "--out", str(tmp_path / "informe.doc")], env) == 2
    assert ".pdf, .html, .svg, .png" in capsys.readouterr().err
