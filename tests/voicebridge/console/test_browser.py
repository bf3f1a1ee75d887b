"""The console in a real browser (issue 11, point 7): Debian's chromium, headless, signs
in through the form and watches the board change by itself, without a reload."""

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from tests.conftest import FakeClock
from tests.voicebridge.console.browser import SCREEN, SCREENSHOTS, chromium
from tests.voicebridge.console.conftest import PASSWORD, PEOPLE
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.console.board import FEED
from voicebridge.runtime import Runtime

AiohttpServer = Callable[..., Awaitable[TestServer]]
SJL = "150132"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for b in chromium():
        yield b


@pytest.fixture
async def server(runtime: Runtime, aiohttp_server: AiohttpServer) -> TestServer:
    for username, (name, role, district) in PEOPLE.items():
        runtime.accounts.create(username, name=name, role=role, district=district,
                                password=PASSWORD)  # fmt: skip
    return await aiohttp_server(make_app(runtime.settings, runtime=runtime))


async def sign_in(browser: Browser, server: TestServer, username: str, runtime: Runtime) -> Page:
    context = await browser.new_context(viewport=SCREEN, locale="es-PE")  # type: ignore[arg-type]
    # the browser's clock is the service's (a fake one): the times shown, and so the
    # screenshots, are the same every run
    await context.clock.set_fixed_time(runtime.clock.now())
    page = await context.new_page()
    await page.goto(str(server.make_url("/console/")))
    await expect(page).to_have_url(str(server.make_url("/console/login")))
    await page.get_by_label("Usuario").fill(username)
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_role("button", name="Ingresar").click()
    await expect(page).to_have_url(str(server.make_url("/console/")))
    return page


async def create(server: TestServer, key: str, **body: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            str(server.make_url("/api/v1/incidents")),
            json={"category": "robo", "district": SJL, "description": "Robo", **body},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status == 201, await response.text()
        data: dict[str, Any] = await response.json()
        return data


async def test_an_incident_created_through_the_api_appears_on_the_board_by_itself(
    runtime: Runtime, server: TestServer, browser: Browser, clock: FakeClock
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    earlier = await create(server, key, category="buzon_sin_tapa", priority="low",
                           location={"address": "Jr. Los Amautas 230"})  # fmt: skip
    clock.advance(47 * 60)
    theft = await create(server, key, category="robo", location={
        "address": "Paradero Chimú, Av. Próceres", "reference": "salida del tren"})  # fmt: skip
    clock.advance(16 * 60)
    page = await sign_in(browser, server, "ana.perez", runtime)
    await expect(page.locator("#live")).to_have_text("en vivo")
    await expect(page.locator(f"#row-{earlier['id']}")).to_be_visible()
    fire = await create(
        server, key, category="incendio",
        description="Incendio en vivienda de dos pisos, hay personas atrapadas",
        location={"address": "Av. Próceres de la Independencia 1520",
                  "reference": "frente al mercado"},
    )  # fmt: skip
    row = page.locator(f"#row-{fire['id']}")
    await expect(row).to_be_visible()  # no reload: the stream brought it
    await expect(row).to_contain_text("crítica")
    await expect(row).to_contain_text("Av. Próceres de la Independencia 1520")
    # most urgent first: the fire is above the manhole cover that came before it
    ids = await page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == [fire["id"], theft["id"], earlier["id"]]
    # the time since each came in, coloured and labelled at the thresholds (5, 15, 30, 60)
    await expect(page.locator(f"#row-{earlier['id']} td.elapsed")).to_have_text(
        "1 h 03 min 00 s (más de 60 min)"
    )
    await expect(page.locator(f"#row-{earlier['id']} td.elapsed")).to_have_class("elapsed t4")
    await expect(page.locator(f"#row-{theft['id']} td.elapsed")).to_have_class("elapsed t2")
    await expect(row.locator("td.elapsed")).to_have_text("0 min 00 s")
    # another district's incident never reaches this operator's board
    other = await create(server, key, category="robo", district="150122")
    await page.wait_for_timeout(1500)
    assert await page.locator(f"#row-{other['id']}").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "board.png"), animations="disabled")
    # closing an incident takes it off the board, still without a reload
    async with aiohttp.ClientSession() as http:
        done = await http.post(
            str(server.make_url(f"/api/v1/incidents/{earlier['id']}/status")),
            json={"status": "resolved", "cause": "Tapa repuesta por la municipalidad"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert done.status == 200
    await expect(page.locator(f"#row-{earlier['id']}")).to_have_count(0)
    await expect(page.locator("#count")).to_have_text("2 incidentes abiertos.")


async def test_without_the_stream_the_board_says_so_and_polls(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    page = await sign_in(browser, server, "jefe", runtime)
    await expect(page.locator("#live")).to_have_text("en vivo")
    # a proxy that drops the event stream: the page says it is reconnecting, then polls
    await page.route("**/console/events*", lambda route: route.abort())
    server.app[FEED].close()  # the open stream ends too
    await expect(page.locator("#live")).to_have_text(
        "sin conexión en vivo: se actualiza cada 5 s", timeout=20_000
    )
    incident = await create(server, key, category="fuga_gas", district="150122")
    await expect(page.locator(f"#row-{incident['id']}")).to_be_visible(timeout=10_000)
    # the stream back: live again
    await page.unroute("**/console/events*")
    await expect(page.locator("#live")).to_have_text("en vivo", timeout=40_000)


async def test_a_supervisor_resolves_a_storm_of_duplicates_at_once(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    storm = [await create(server, key, category="fuga_gas", district="150122",
                          description=f"Olor a gas, vecino {n}") for n in range(3)]  # fmt: skip
    keep = await create(server, key, category="robo", district="150122")
    page = await sign_in(browser, server, "jefe", runtime)
    for incident in storm:
        await page.get_by_label(f"Seleccionar {incident['id']}").check()
    await expect(page.locator("#bulk-count")).to_have_text("3 seleccionados")
    await page.locator("#bulk select[name=action]").select_option("resolve")
    await page.locator("#bulk input[name=cause]").fill("Cálidda cerró la válvula del sector")
    await page.get_by_role("button", name="Aplicar a los seleccionados").click()
    await expect(page.locator("#bulk-result")).to_have_text("3 hechos, 0 rechazados.")
    for incident in storm:
        await expect(page.locator(f"#row-{incident['id']}")).to_have_count(0)
    await expect(page.locator(f"#row-{keep['id']}")).to_be_visible()
    await expect(page.locator("#bulk-count")).to_have_text("0 seleccionados")
    # an operator has no such action
    ana = await sign_in(browser, server, "ana.perez", runtime)
    assert await ana.locator("#bulk").count() == 0


async def test_the_map_draws_the_districts_and_the_incidents_with_no_tile_server(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    placed = await create(server, key, category="incendio", district="150132",
                          location={"lat": -11.9785, "lon": -77.0049})  # fmt: skip
    page = await sign_in(browser, server, "jefe", runtime)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url
            and not r.url.startswith("data:") else None)  # fmt: skip
    await page.get_by_role("link", name="Mapa").click()
    await expect(page.locator("path.district")).to_have_count(43)
    await expect(page.locator(f"path.inc[data-id='{placed['id']}']")).to_have_count(1)
    await expect(page.locator(f"path.inc[data-id='{placed['id']}']")).to_have_class(
        re.compile(r"st-received")
    )
    # one with no point of its own sits at its district's centre, and is listed
    loose = await create(server, key, category="robo", district="150122")
    marker = page.locator(f"path.inc[data-id='{loose['id']}']")
    await expect(marker).to_have_count(1)
    await expect(marker).to_have_class(re.compile(r"approx"))
    await expect(page.locator("#approximate")).to_contain_text(f"{loose['id']} · Robo · Miraflores")
    await expect(page.locator("#live")).to_have_text("en vivo")
    assert outside == []  # no tile server, no CDN: nothing but the service itself
    await page.screenshot(path=str(SCREENSHOTS / "map.png"), animations="disabled")


async def test_a_tile_server_in_the_settings_is_the_maps_base_layer(
    runtime: Runtime, aiohttp_server: AiohttpServer, browser: Browser
) -> None:
    asked: list[str] = []

    async def tile(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    tiles_app = web.Application()
    tiles_app.router.add_get("/{z}/{x}/{y}.png", tile)
    tiles = await aiohttp_server(tiles_app)
    template = f"http://127.0.0.1:{tiles.port}/{{z}}/{{x}}/{{y}}.png"
    settings = dataclasses.replace(runtime.settings, console_tiles=template,
                                   console_tiles_attribution="© Teselas de prueba")  # fmt: skip
    tiled = dataclasses.replace(runtime, settings=settings)
    runtime.accounts.create("jefe", name="Jorge Salas", role=Role.SUPERVISOR, district=None,
                            password=PASSWORD)  # fmt: skip
    server = await aiohttp_server(make_app(settings, runtime=tiled))
    page = await sign_in(browser, server, "jefe", tiled)
    answer = await page.goto(str(server.make_url("/console/map")))
    assert answer is not None
    assert (
        f"img-src 'self' data: http://127.0.0.1:{tiles.port};"
        in (answer.headers["content-security-policy"])
    )
    await expect(page.locator("path.district")).to_have_count(43)
    await expect(page.locator(".leaflet-tile-loaded").first).to_be_attached()
    await expect(page.locator(".leaflet-control-attribution")).to_contain_text(
        "© Teselas de prueba"
    )
    assert asked, "the tiles came from the tile server of the settings"
    assert all(p.endswith(".png") for p in asked)


# a 1x1 transparent PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_a_stream_held_open_with_nothing_in_it_falls_back_to_polling(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    page = await sign_in(browser, server, "jefe", runtime)
    await expect(page.locator("#live")).to_have_text("en vivo")
    held: list[object] = []
    await page.route("**/console/events*", lambda route: held.append(route))  # never answered
    server.app[FEED].close()  # the open stream ends; the next ones hang
    await expect(page.locator("#live")).to_have_text(
        "sin conexión en vivo: se actualiza cada 5 s", timeout=30_000
    )
    incident = await create(server, key, category="robo", district="150122")
    await expect(page.locator(f"#row-{incident['id']}")).to_be_visible(timeout=10_000)


async def test_a_board_past_its_rows_counts_them_all_and_fills_a_closed_ones_place(
    runtime: Runtime, aiohttp_server: AiohttpServer, browser: Browser
) -> None:
    settings = dataclasses.replace(runtime.settings, console_rows=20)
    small = dataclasses.replace(runtime, settings=settings)
    runtime.accounts.create("jefe", name="Jorge Salas", role=Role.SUPERVISOR, district=None,
                            password=PASSWORD)  # fmt: skip
    server = await aiohttp_server(make_app(settings, runtime=small))
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    made = [await create(server, key, category="robo", district="150122") for _ in range(22)]
    page = await sign_in(browser, server, "jefe", small)
    await expect(page.locator("#count")).to_have_text(
        "Se muestran 20 de 22 incidentes abiertos: filtre para ver los demás."
    )
    await expect(page.locator("#rows tr")).to_have_count(20)
    # "select all" ticks the rows on screen, never one the supervisor cannot see
    await page.get_by_label("Seleccionar todos").check()
    await expect(page.locator("#bulk-count")).to_have_text("20 seleccionados")
    await page.get_by_label("Seleccionar todos").uncheck()
    await expect(page.locator("#bulk-count")).to_have_text("0 seleccionados")
    async with aiohttp.ClientSession() as http:  # the newest, shown, is closed
        done = await http.post(
            str(server.make_url(f"/api/v1/incidents/{made[-1]['id']}/status")),
            json={"status": "cancelled", "cause": "llamada falsa"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert done.status == 200
    await expect(page.locator(f"#row-{made[-1]['id']}")).to_have_count(0)
    await expect(page.locator("#count")).to_have_text(
        "Se muestran 20 de 21 incidentes abiertos: filtre para ver los demás.", timeout=20_000
    )
    await expect(page.locator("#rows tr")).to_have_count(20)  # the 21st took its place


async def test_an_operator_creates_an_incident_while_on_the_phone(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    earlier = await create(server, key, category="incendio", district="150132",
                           location={"lat": -11.9785, "lon": -77.0049})  # fmt: skip
    page = await sign_in(browser, server, "ana.perez", runtime)
    await page.get_by_role("link", name="Nuevo incidente").click()
    await page.get_by_label("Categoría").fill("amago de incendio")
    await expect(page.locator("#understood")).to_have_text(
        "Se registrará como: Incendio (prioridad crítica)."
    )
    await page.get_by_label("Dirección").fill("Jr. Las Esmeraldas 455")
    # a point picked on the map, 100 m from the earlier fire: it is shown before saving
    await page.get_by_label("Latitud").fill("-11.9794")
    await page.get_by_label("Longitud").fill("-77.0049")
    await expect(page.locator("#where")).to_contain_text("cae en San Juan de Lurigancho")
    await expect(page.locator("#dups")).to_contain_text(earlier["id"])
    await expect(page.locator("path.district")).to_have_count(43)
    await page.get_by_label("Teléfono de quien llama").fill("987 654 321")
    await page.get_by_label("Nombre de quien llama").fill("Marco Quispe")
    await page.get_by_label("Descripción").fill("Humo saliendo de una casa, no es el mismo")
    await page.screenshot(path=str(SCREENSHOTS / "new.png"), animations="disabled")
    await page.get_by_role("button", name="Registrar incidente").click()
    await expect(page).to_have_url(re.compile(r"/console/incidents/LIM-2026-000002$"))
    await expect(page.locator(".incident-head")).to_contain_text("Jr. Las Esmeraldas 455")
    await expect(page.locator(".incident-head")).to_contain_text("+51987654321")
    await expect(page.locator(".incident-head")).to_contain_text("por la consola")
    # a second call about the first fire joins it as a report instead
    await page.goto(str(server.make_url("/console/new")))
    await page.get_by_label("Categoría").fill("incendio")
    await page.get_by_label("Latitud").fill("-11.9786")
    await page.get_by_label("Longitud").fill("-77.0049")
    await page.get_by_label("Descripción").fill("Otro vecino: ya llegan los bomberos")
    await page.get_by_role("button", name=f"Sumar esta llamada a {earlier['id']}").click()
    await expect(page).to_have_url(re.compile(f"/console/incidents/{earlier['id']}$"))
    await expect(page.locator("section.reports h2")).to_have_text("Reportes (2)")


async def test_the_frequent_actions_have_keyboard_shortcuts(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    first = await create(server, key, category="robo", district="150132")
    second = await create(server, key, category="incendio", district="150132")
    page = await sign_in(browser, server, "ana.perez", runtime)
    await expect(page.locator("#live")).to_have_text("en vivo")
    await page.keyboard.press("?")
    await expect(page.locator("#keys-help")).to_be_visible()
    await expect(page.locator("#keys-help")).to_contain_text("el botón Despachar (Enter despacha)")
    await page.keyboard.press("Escape")
    await page.keyboard.press("j")  # the first row: the fire, the most urgent
    await expect(page.locator(f"#row-{second['id']} a")).to_be_focused()
    await page.keyboard.press("j")
    await expect(page.locator(f"#row-{first['id']} a")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"/console/incidents/{first['id']}$"))
    await page.keyboard.press("r")
    await expect(
        page.locator("form[data-done='Incidente resuelto.'] input[name=cause]")
    ).to_be_focused()
    await page.keyboard.type("Serenazgo recuperó el celular")
    await page.keyboard.press("Enter")
    await expect(page.locator("#result")).to_have_text("Incidente resuelto.")
    await page.keyboard.press("t")
    await expect(page).to_have_url(str(server.make_url("/console/")))
    await page.keyboard.press("n")
    await expect(page).to_have_url(str(server.make_url("/console/new")))
    # a call half taken is not lost to a stray key: the page asks, and stays when told no
    asked: list[str] = []

    async def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    await page.get_by_label("Descripción").fill("Una vecina llama por un robo")
    await page.keyboard.press("Escape")
    await page.keyboard.press("t")
    for _ in range(50):
        if asked:
            break
        await page.wait_for_timeout(100)
    assert asked == ["Lo escrito en el formulario se perderá. ¿Salir?"]
    await expect(page).to_have_url(str(server.make_url("/console/new")))
    # no key acts while the help is open: "d" on an incident does not dispatch
    await page.goto(str(server.make_url(f"/console/incidents/{second['id']}")))
    await page.keyboard.press("?")
    await page.keyboard.press("d")
    await expect(page.locator("#result")).to_have_text("")
    await page.keyboard.press("Escape")
    await page.keyboard.press("d")  # the focus on Despachar; Enter dispatches
    await expect(page.get_by_role("button", name="Despachar")).to_be_focused()


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button'))
  .filter(el => el.offsetParent !== null || el.closest('#rows'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 80))"""


async def test_every_page_is_spanish_labelled_and_fits_a_1366x768_screen(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    incident = await create(server, key, category="robo", district="150132")
    page = await sign_in(browser, server, "jefe", runtime)
    for path in ("/console/", f"/console/incidents/{incident['id']}", "/console/map",
                 "/console/new"):  # fmt: skip
        await page.goto(str(server.make_url(path)))
        await page.wait_for_load_state("networkidle")
        assert await page.locator("html").get_attribute("lang") == "es-PE", path
        assert await page.evaluate(UNLABELLED) == [], path  # every control says what it is
        wide = await page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 1366, (path, wide)  # no sideways scrolling
