"""The conference in front of the operator, in a real browser (issue 11, points 3 and 7):
an operator opens an incident from the board, dispatches it, watches each agency turn
confirmed as the fake Asterisk's responders press 1 and join the room, drops a leg and
resolves the incident; an operator of another district sees none of it."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from routing.models import Location, Medium, NewIncident, NewReport, Reporter, Source
from tests.conftest import FakeClock
from tests.voicebridge.conftest import AMI_MEDIA
from tests.voicebridge.console.browser import SCREENSHOTS, chromium
from tests.voicebridge.console.conftest import PASSWORD, PEOPLE
from tests.voicebridge.console.test_browser import AiohttpServer, sign_in
from tests.voicebridge.rig import Rig, bridged
from voicebridge.ami.sim import Behaviour
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime


@pytest.fixture
def media() -> frozenset[Medium]:
    return AMI_MEDIA  # calls and talkgroups, placed on the fake Asterisk


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for b in chromium():
        yield b


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    async with bridged(runtime, clock, speed=0.05) as r:  # 2 s of Asterisk: 0.1 s
        yield r


@pytest.fixture
async def server(runtime: Runtime, aiohttp_server: AiohttpServer, rig: Rig) -> TestServer:
    for username, (name, role, district) in PEOPLE.items():
        runtime.accounts.create(username, name=name, role=role, district=district,
                                password=PASSWORD)  # fmt: skip
    return await aiohttp_server(make_app(runtime.settings, runtime=runtime))


async def test_dispatch_watch_the_agencies_confirm_drop_a_leg_and_resolve(
    runtime: Runtime, server: TestServer, browser: Browser, rig: Rig
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    report = NewReport(
        source=Source.PHONE,
        text="Humo negro saliendo de una vivienda, vecinos sacan a los niños",
        reporter=Reporter(name="Marco Quispe", phone="+51987654321"),
        location=Location(address="Jr. Las Esmeraldas 455", reference="a media cuadra del colegio"),
    )
    made, _ = await asyncio.to_thread(
        runtime.store.create_incident,
        NewIncident(category="incendio", district="150132", report=report),
        actor="system:ivr",
    )
    fire = {"id": made.id}
    # each line answers at its own pace, so that the log (and the screenshot) reads the
    # same every run: the operator first, then each agency's responder pressing 1
    rig.script("PJSIP/012089201@epr-trunk", Behaviour.ANSWER)  # the operator's console
    for n, dial in enumerate(("013229467", "014592859", "017210668", "017216113")):
        rig.script(f"PJSIP/{dial}@epr-trunk", Behaviour.PRESS, after=1.0 + 2.0 * n)
    page = await sign_in(browser, server, "ana.perez", runtime)
    await page.locator(f"#row-{fire['id']} a").click()
    await expect(page).to_have_url(str(server.make_url(f"/console/incidents/{fire['id']}")))
    await expect(page.locator("#live")).to_have_text("en vivo")
    await expect(page.locator("#h-agencies + p")).to_have_text(
        "Aún no se despachó a ninguna entidad."
    )
    await page.get_by_role("button", name="Despachar").click()
    await expect(page.locator("#result")).to_have_text("Despachado: se llama a las entidades.")
    # each agency's responder presses 1 on the fake Asterisk: confirmed, without a reload
    agencies = page.locator("section.agencies tbody tr")
    await expect(agencies).not_to_have_count(0)
    count = await agencies.count()
    for n in range(count):
        await expect(agencies.nth(n).locator("td.agency-state")).to_contain_text(
            "confirmó", timeout=15_000
        )
    # they joined the operator in the room
    room = page.locator("#in-room li")
    await expect(room).to_have_count(count + 1, timeout=15_000)  # the operator too
    await expect(page.locator("#in-room")).to_contain_text("operador distrital")
    await expect(page.locator("section.timeline")).to_contain_text("atención confirmada")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "incident.png"), full_page=True,
                          animations="disabled")  # fmt: skip
    # drop a responder's leg from the room
    responder = room.filter(has_text="entidad de respuesta").first
    who = await responder.locator(".who").text_content()
    await responder.get_by_role("button", name="Retirar").click()
    await expect(page.locator("#result")).to_have_text("Retirado de la sala.")
    await expect(page.locator("#in-room li")).to_have_count(count, timeout=15_000)
    assert who
    await expect(page.locator("section.timeline")).to_contain_text("retiro de la sala")
    hangups = rig.fake.actions("Hangup")
    assert hangups, "the leg was hung up on the PBX"
    # a forged request without the page's CSRF token changes nothing
    status = await page.evaluate(
        """async (id) => (await fetch(`/api/v1/incidents/${id}/status`, {method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({status: "cancelled", cause: "falso"})})).status""",
        fire["id"],
    )
    assert status == 403
    # resolve it, with its cause
    resolve = page.locator("form", has=page.get_by_role("button", name="Resolver"))
    await resolve.get_by_label("Cómo se resolvió").fill("Bomberos controlaron el fuego")
    await resolve.get_by_role("button", name="Resolver").click()
    await expect(page.locator(".incident-head .status")).to_have_text("resuelto")
    await expect(page.locator("section.timeline")).to_contain_text("Bomberos controlaron el fuego")
    await expect(page.locator("section.timeline")).to_contain_text("Ana Pérez (operador)")
    await expect(page.locator("#closed-note")).to_be_visible()  # no more actions offered
    await expect(page.get_by_role("button", name="Resolver")).to_be_hidden()
    # an operator of another district: not on the board, not by its number
    other = await sign_in(browser, server, "rosa.diaz", runtime)
    await expect(other.locator("#live")).to_have_text("en vivo")
    assert await other.locator(f"#row-{fire['id']}").count() == 0
    answer = await other.goto(str(server.make_url(f"/console/incidents/{fire['id']}")))
    assert answer is not None
    assert answer.status == 404
    await expect(other.locator("h1")).to_have_text("No existe ese incidente")
    async with aiohttp.ClientSession() as http:  # the API agrees
        detail = await http.get(
            str(server.make_url(f"/api/v1/incidents/{fire['id']}")),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert (await detail.json())["status"] == "resolved"
