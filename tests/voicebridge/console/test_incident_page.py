"""An incident's page in the console (issue 11, point 3): its reports, timeline, route,
each agency's tries and the conference, and actions sent to the API as the person."""

import re

from tests.voicebridge.conftest import AiohttpClient
from tests.voicebridge.console.conftest import signed_in
from tests.voicebridge.console.test_board import MIRAFLORES, SJL, create
from voicebridge.apikeys import Role
from voicebridge.runtime import Runtime


async def test_the_page_shows_the_incident_and_refuses_another_district(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    incident = await create(ana.client, key, SJL, "incendio")
    html = await ana.page(f"/console/incidents/{incident['id']}")
    assert f"{incident['id']} · Incendio" in html
    for heading in ("Sala de conferencia", "Entidades", "Ruta", "Reportes (1)", "Cronología"):
        assert heading in html, heading
    assert "incidente registrado" in html  # the timeline, in Spanish
    assert "Nadie en la sala." in html
    assert "Confirmar por otro medio" not in html  # a supervisor's action
    live = await ana.client.get(f"/console/incidents/{incident['id']}/live")
    assert live.status == 200
    assert "<header>" not in await live.text()  # the live part alone
    rosa = await signed_in(aiohttp_client, runtime, "rosa.diaz")
    other = await rosa.client.get(f"/console/incidents/{incident['id']}")
    assert other.status == 404  # as if it did not exist
    assert "Incendio" not in await other.text()
    for missing_id in ("LIM-2026-999999", "no-es-un-numero", "%3Cscript%3E"):
        missing = await ana.client.get(f"/console/incidents/{missing_id}")
        assert missing.status == 404
        assert missing.content_type == "text/html"
        assert "<script>" not in await missing.text()
    jefe = await signed_in(aiohttp_client, runtime, "jefe")
    assert "Confirmar por otro medio" in await jefe.page(f"/console/incidents/{incident['id']}")


async def test_an_action_without_the_csrf_token_is_refused(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    incident = await create(ana.client, key, SJL, "robo")
    path = f"/api/v1/incidents/{incident['id']}/status"
    body = {"status": "cancelled", "cause": "llamada falsa"}
    forged = await ana.client.post(path, json=body)  # the cookie rides along, no token
    assert forged.status == 403
    assert (await forged.json())["error"]["code"] == "csrf_failed"
    wrong = await ana.client.post(path, json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    done = await ana.client.post(path, json=body, headers={"X-CSRF-Token": ana.csrf})
    assert done.status == 200, await done.text()
    events = await (await ana.client.get(f"/api/v1/incidents/{incident['id']}")).json()
    assert events["timeline"][-1]["actor"] == "operator:ana.perez (Ana Pérez)"
    assert re.search(r"llamada falsa", str(events["timeline"][-1]))
    mira = await create(ana.client, key, MIRAFLORES, "robo")
    other = await ana.client.post(
        f"/api/v1/incidents/{mira['id']}/status", json=body, headers={"X-CSRF-Token": ana.csrf}
    )
    assert other.status == 403


async def test_an_incident_merged_into_another_districts_does_not_name_it(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    mine = await create(ana.client, key, SJL, "robo")
    theirs = await create(ana.client, key, MIRAFLORES, "robo")
    merged = await ana.client.post(
        f"/api/v1/incidents/{mine['id']}/merge",
        json={"into": theirs["id"], "cause": f"es el mismo que {theirs['id']}"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert merged.status == 200, await merged.text()
    html = await ana.page(f"/console/incidents/{mine['id']}")
    assert theirs["id"] not in html
    assert "Fusionado en un incidente de otro distrito." in html
    assert "es el mismo que un incidente de otro distrito" in html
    jefe = await signed_in(aiohttp_client, runtime, "jefe")  # who sees both: both named
    assert f'href="/console/incidents/{theirs["id"]}"' in await jefe.page(
        f"/console/incidents/{mine['id']}"
    )


async def test_a_closed_incident_offers_no_actions_and_people_are_named(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    incident = await create(ana.client, key, SJL, "robo")
    page = await ana.page(f"/console/incidents/{incident['id']}")
    assert 'data-open="yes"' in page
    assert 'id="closed-note" class="none" hidden' in page
    done = await ana.client.post(
        f"/api/v1/incidents/{incident['id']}/status",
        json={"status": "resolved", "cause": "atendido"},
        headers={"X-CSRF-Token": ana.csrf},
    )
    assert done.status == 200
    page = await ana.page(f"/console/incidents/{incident['id']}")
    assert 'data-open="no"' in page
    assert 'id="closed-note" class="none">' in page
    assert "· Ana Pérez (operador)" in page  # who resolved it, as people read it
    assert "operator:ana.perez" not in page
