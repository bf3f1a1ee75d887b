"""The dialplan editor in a real browser (issue 14, point 4): an admin opens vb-ack,
breaks a line and saves: the problem is shown with its line, and a click selects it;
with the line fixed the preview shows the contexts and the save makes a revision; the
admin tries it on the (fake) Asterisk, puts it in force, and the history marks it."""

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from tests.voicebridge.console.browser import SCREENSHOTS, chromium
from tests.voicebridge.console.conftest import PASSWORD
from tests.voicebridge.console.test_browser import AiohttpServer, sign_in
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for b in chromium():
        yield b


@pytest.fixture
async def server(runtime: Runtime, aiohttp_server: AiohttpServer) -> AsyncIterator[TestServer]:
    runtime.accounts.create(
        "admin.luz", name="Luz Rojas", role=Role.ADMIN, district=None, password=PASSWORD
    )
    fake = FakeAsterisk()
    await fake.start()
    url = f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}"
    wired = replace(runtime, settings=replace(runtime.settings, ami_admin_url=url))
    try:
        yield await aiohttp_server(make_app(wired.settings, runtime=wired))
    finally:
        await fake.stop()


async def test_edit_check_save_try_and_switch(
    runtime: Runtime, server: TestServer, browser: Browser
) -> None:
    page = await sign_in(browser, server, "admin.luz", runtime)
    await page.get_by_role("link", name="Planes de marcación").click()
    await page.get_by_role("link", name="vb-ack", exact=True).click()
    source = page.get_by_label("Texto de la plantilla vb-ack")
    text = await source.input_value()
    broken = text.replace("?accepted)", "?acepted)")
    await source.fill(broken)
    await page.get_by_role("button", name="Guardar revisión").click()
    line = next(n for n, t in enumerate(broken.split("\n"), start=1) if "?acepted)" in t)
    problem = page.locator("ul.problems li")
    await expect(problem).to_contain_text(f"vb-ack, línea {line}: va a acepted de s@vb-ack")
    await page.get_by_role("button", name=f"ir a la línea {line}").click()
    selected = await source.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)")
    assert "?acepted)" in selected
    assert await page.locator("#gutter").evaluate("g => g.textContent.split('\\n').length") > line

    fixed = text.replace("{{ read_timeout }})", "{{ read_timeout }}0)")
    await source.fill(fixed)
    await page.get_by_role("button", name="Vista previa").click()
    await expect(page.locator("#contexts")).to_contain_text("Read(VB_KEY,${VB_MESSAGE},1,,1,100)")
    await page.get_by_label("Comentario de la revisión").fill("espera de 100 s")
    await page.get_by_role("button", name="Guardar revisión").click()
    await expect(page).to_have_url(re.compile(r"guardada=1"))
    revision = runtime.dialplans.latest("vb-ack")
    assert revision.comment == "espera de 100 s"
    entry = page.locator(f'li[data-revision="{revision.id}"]')
    await entry.get_by_role("button", name="Probar en Asterisk").click()
    await expect(page.locator("#push")).to_contain_text("Asterisk cargó cada extensión")
    page.once("dialog", lambda dialog: dialog.accept())
    await entry.get_by_role("button", name="Poner en vigor").click()
    await expect(page.locator("#push")).to_contain_text(
        f"revisión {revision.id} de vb-ack en vigor"
    )
    await expect(page.locator(f'li[data-revision="{revision.id}"] .badge')).to_have_text("en vigor")
    assert runtime.dialplans.pointers()["vb-ack"] == revision.id
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "dialplan.png"), animations="disabled")
