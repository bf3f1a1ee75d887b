"""The citizen in the room, in a real browser (issue 11, point 3): a caller dials the
Miraflores central's number on the fake Asterisk and keys 3 (fire); the IVR files the
report, the incident is dispatched and the caller is moved into its conference. The
Miraflores operator sees the incident on the board, opens it and finds the caller in
the room beside the operator's line, then drops the caller's leg."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from dialplans.render import CitizenLine
from routing.models import ContactRole, ContactState, Medium
from tests.conftest import FakeClock
from tests.voicebridge.conftest import AMI_MEDIA
from tests.voicebridge.console.browser import chromium
from tests.voicebridge.console.conftest import PASSWORD, PEOPLE
from tests.voicebridge.console.test_browser import AiohttpServer, sign_in
from tests.voicebridge.rig import Rig, bridged, headers
from voicebridge.ami.citizens import CallTaker
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.ami.sim.far import citizen_call
from voicebridge.app import make_app
from voicebridge.blocking import Blocking
from voicebridge.ivr import CitizenCalls
from voicebridge.runtime import Runtime

MIRAFLORES = "018022000"  # the Miraflores central's number in the shipped routing file


@pytest.fixture
def media() -> frozenset[Medium]:
    return AMI_MEDIA


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for b in chromium():
        yield b


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    """The fake Asterisk with the IVR's numbers, and the replica's call taker."""
    config, _ = runtime.rules.current()
    lines = CitizenLine.from_routing(config.citizen_lines())
    # every line the test does not script answers and its responder presses 1
    fake = FakeAsterisk(
        speed=0.05,
        default=Endpoint(behaviour=Behaviour.PRESS, after=1.0),
        citizen_lines=lines,
    )
    await fake.start()
    blocking = Blocking(2)
    try:
        async with bridged(runtime, clock, fake) as r:
            CallTaker(r.session, CitizenCalls(runtime), blocking, follow=r.bridge.follow)
            yield r
    finally:
        blocking.shutdown()
        await fake.stop()


@pytest.fixture
async def server(runtime: Runtime, aiohttp_server: AiohttpServer, rig: Rig) -> TestServer:
    for username, (name, role, district) in PEOPLE.items():
        runtime.accounts.create(username, name=name, role=role, district=district,
                                password=PASSWORD)  # fmt: skip
    return await aiohttp_server(make_app(runtime.settings, runtime=runtime))


async def test_the_caller_is_in_the_room_and_the_operator_drops_their_leg(
    runtime: Runtime, server: TestServer, browser: Browser, rig: Rig
) -> None:
    page = await sign_in(browser, server, "rosa.diaz", runtime)  # Miraflores
    await expect(page.locator("#live")).to_have_text("en vivo")
    rig.script("Local/s@vecino", Behaviour.PRESS, digit="3", after=1.0)  # a fire
    await rig.session.send(
        "Originate", citizen_call(MIRAFLORES, '"Vecino" <987 654 321>', dial="Local/s@vecino")
    )
    row = page.locator("tbody tr", has_text="Incendio")
    await expect(row).to_have_count(1, timeout=15_000)  # on the board by itself
    await row.locator("a").first.click()
    room = page.locator("#in-room")
    caller = room.locator("li", has_text="Ciudadano +51987654321")
    await expect(caller).to_contain_text("ciudadano", timeout=15_000)
    await expect(room).to_contain_text("operador distrital", timeout=15_000)
    await expect(page.locator("section.timeline")).to_contain_text(
        "«Ciudadano +51987654321», en la línea, pasa a la sala"
    )
    incident_id = (await page.locator(".incident-head h1").text_content() or "").split(" ")[0]
    [citizen] = [c for c in rig.legs(incident_id) if c.role is ContactRole.CITIZEN]
    assert citizen.ref in rig.fake.rooms[incident_id]
    # the operator drops the caller's leg: hung up on the PBX by its channel's Uniqueid
    await caller.get_by_role("button", name="Retirar").click()
    await expect(page.locator("#result")).to_have_text("Retirado de la sala.")
    await expect(caller).to_have_count(0, timeout=15_000)
    await expect(page.locator("details", has_text="Llamadas terminadas")).to_contain_text(
        "Ciudadano +51987654321"
    )
    assert [headers(r)["Channel"] for r in rig.fake.actions("Hangup")] == [citizen.ref]
    ended = await asyncio.to_thread(rig.leg_by_ref, incident_id, citizen.ref)
    assert ended.state is ContactState.ENDED
    assert citizen.ref not in rig.fake.rooms.get(incident_id, set())
