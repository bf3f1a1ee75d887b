"""The admins' dialplan pages over HTTP (issue 14, points 4 and 6): the list with the
revision in force and the audit log, a template's editor and history, the diff between
two revisions; operators and supervisors get 403, nobody signed in is sent to the form."""

import pytest

from dialplans.templateset import EDITABLE, shipped
from tests.voicebridge.conftest import AiohttpClient
from tests.voicebridge.console.conftest import PEOPLE, signed_in
from voicebridge.apikeys import Role
from voicebridge.runtime import Runtime


@pytest.fixture(autouse=True)
def _admin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PEOPLE, "admin.luz", ("Luz Rojas", Role.ADMIN, None))


async def test_the_pages_show_the_templates_their_history_and_diffs(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    console = await signed_in(aiohttp_client, runtime, "admin.luz")
    html = await console.page("/console/admin/dialplans")
    assert "<h1>Planes de marcación</h1>" in html
    for name in EDITABLE:
        assert f'href="/console/admin/dialplans/{name}"' in html
    assert "plantillas de fábrica" in html  # the audit log's first entry
    assert 'href="/console/admin/dialplans">Planes de marcación</a>' in html  # the header

    base = runtime.dialplans.latest("vb-ack")
    content = base.content.replace("{{ read_timeout }})", "{{ read_timeout }}0)")
    response = await console.client.post(
        "/api/v1/dialplans/vb-ack/revisions",
        json={"content": content, "base": base.id, "comment": "espera <larga>"},
        headers={"X-CSRF-Token": console.csrf},
    )
    assert response.status == 201, await response.text()
    saved = (await response.json())["id"]
    assert runtime.dialplans.get(saved).author == "admin:admin.luz (Luz Rojas)"

    page = await console.page("/console/admin/dialplans/vb-ack")
    assert f"Revisión {saved}</strong>" in page
    assert "«espera &lt;larga&gt;»" in page  # escaped
    assert f'class="switch" data-revision="{saved}"' in page
    assert "{{ read_timeout }}0)" in page  # the latest revision in the editor
    older = await console.page(f"/console/admin/dialplans/vb-ack?revision={base.id}")
    assert "{{ read_timeout }}0)" not in older
    diff = await console.page(f"/console/admin/dialplans/diff?from={base.id}&to={saved}")
    added = "+ same =&gt; n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }}0)"
    assert f'<span class="added">{added}</span>' in diff
    html = await console.page("/console/admin/dialplans")
    assert f"revisión {saved} de admin:admin.luz (Luz Rojas), sin poner en vigor" in html
    missing = await console.client.get("/console/admin/dialplans/vb-nada")
    assert missing.status == 404
    other = await console.client.get(f"/console/admin/dialplans/vb-room?revision={saved}")
    assert other.status == 404


@pytest.mark.parametrize("who", ["ana.perez", "jefe"])
async def test_only_admins_see_them(
    runtime: Runtime, aiohttp_client: AiohttpClient, who: str
) -> None:
    console = await signed_in(aiohttp_client, runtime, who)
    assert "Planes de marcación" not in await console.page("/console/")
    for path in ("/console/admin/dialplans", "/console/admin/dialplans/vb-ack"):
        response = await console.client.get(path)
        assert response.status == 403
        assert "Solo un administrador" in await response.text()
    response = await console.client.post(
        "/api/v1/dialplans/vb-ack/preview",
        json={"content": shipped()["vb-ack"]},
        headers={"X-CSRF-Token": console.csrf},
    )
    assert response.status == 403


async def test_nobody_signed_in_is_sent_to_the_form(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    console = await signed_in(aiohttp_client, runtime, "admin.luz")
    await console.client.post("/console/logout", data={"csrf": console.csrf})
    response = await console.client.get("/console/admin/dialplans", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/login"
