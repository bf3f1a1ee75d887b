"""The console's analytics page (issue 15, point 5): the month's KPI cards, the charts'
specifications with the figures' numbers and a table beside each; the filters; the
supervisors and admins only. In a real browser: every chart is drawn by the vendored
vega-embed under the page's Content-Security-Policy (no eval), with no request
leaving the service."""

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from pytest_aiohttp import AiohttpClient

from routing.config import parse_config
from tests.voicebridge.console.browser import SCREENSHOTS, chromium
from tests.voicebridge.console.conftest import PASSWORD, signed_in
from tests.voicebridge.console.test_browser import AiohttpServer, sign_in
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.demo_year import YearPlan, generate
from voicebridge.rules import read_rules_file
from voicebridge.runtime import Runtime

URL = "/console/analytics"


@pytest.fixture
def year(runtime: Runtime) -> None:
    """August to October 2026 (the runtime's clock is on 25 November)."""
    plan = YearPlan(incidents=600, first_month="2026-08", months=3, seed=13)
    generate(runtime.store, plan, parse_config(*read_rules_file(None)))


def specs_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="vb-charts">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found[1])
    return data


async def test_the_page_shows_the_month_s_kpis_and_charts(
    aiohttp_client: AiohttpClient, runtime: Runtime, year: None
) -> None:
    console = await signed_in(aiohttp_client, runtime, "jefe")
    html = await console.page(f"{URL}?month=2026-10")
    assert "Tiempos de respuesta · octubre de 2026" in html
    assert 'data-kpi="response"' in html
    assert "respecto de septiembre de 2026" in html
    specs = specs_of(html)
    assert set(specs) == {"monthly", "map", "agencies", "productivity"}
    months = {r["mes"] for r in specs["monthly"]["data"]["values"]}
    assert months == {"2026-08-01", "2026-09-01", "2026-10-01"}
    assert len(specs["map"]["data"]["values"]) == 43
    assert 'data-agency="pnp"' in html

    # filtered: one district's months, the other charts without that filter where it
    # would empty them (the map shows every district)
    html = await console.page(f"{URL}?month=2026-10&district=150132&interval=acknowledgement")
    assert '<option value="150132" selected>' in html
    specs = specs_of(html)
    assert specs["monthly"]["title"]["text"] == "Tiempo de confirmación de la entidad, por mes"
    shapes = [s for s in specs["map"]["data"]["values"] if "cambio" in s["properties"]]
    assert len(shapes) > 1
    html = await console.page(f"{URL}?month=2026-10&district=999999&interval=lunch")
    assert "«999999» no es un valor de distrito: se ignora" in html
    assert "«lunch» no es un intervalo: se muestra la respuesta" in html


async def test_only_supervisors_and_admins_see_it(
    aiohttp_client: AiohttpClient, runtime: Runtime
) -> None:
    operator = await signed_in(aiohttp_client, runtime, "ana.perez")
    response = await operator.client.get(URL)
    assert response.status == 403
    assert "Solo la supervisión y la administración" in await response.text()
    assert "Tiempos de respuesta" not in await operator.page("/console/")
    supervisor = await signed_in(aiohttp_client, runtime, "jefe")
    assert 'href="/console/analytics"' in await supervisor.page("/console/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for b in chromium():
        yield b


@pytest.fixture
async def server(runtime: Runtime, aiohttp_server: AiohttpServer, year: None) -> TestServer:
    runtime.accounts.create(
        "jefe", name="Jorge Salas", role=Role.SUPERVISOR, district=None, password=PASSWORD
    )
    return await aiohttp_server(make_app(runtime.settings, runtime=runtime))


async def test_the_charts_are_drawn_in_a_browser_with_no_eval_and_nothing_from_outside(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    page = await sign_in(browser, server, "jefe", runtime)
    refused: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith(str(server.make_url("/"))) else outside.append(r.url),
    )
    await page.get_by_role("link", name="Tiempos de respuesta").click()
    await page.locator('select[name="month"]').select_option("2026-10")
    await page.get_by_role("button", name="Ver").click()
    await expect(page.locator("body")).to_have_attribute("data-charts", "drawn", timeout=20000)
    for chart in ("monthly", "map", "agencies", "productivity"):
        drawn = page.locator(f'[data-chart="{chart}"]')
        await expect(drawn).to_have_attribute("data-drawn", "true")
        assert await drawn.locator("svg").count() >= 1
    svg = await page.locator('[data-chart="monthly"] svg').first.inner_html()
    assert "mediana" in svg
    assert "percentil 90" in svg
    assert "oct 2026" in svg  # the axis in Spanish
    assert (refused, outside) == ([], [])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "analytics.png"), full_page=True,
                          animations="disabled")  # fmt: skip
