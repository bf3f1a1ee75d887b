"""The dialplan administration through the API (issue 14, points 1, 4 and 6): admins
list the templates and their revisions, read one, compare any two, and save a new one
(validated: a refusal names each problem's template and line in Spanish; a save based on
an old revision answers 409 with the diff of what changed); operators and supervisors
get 403 and nobody without a key gets anything."""

from dataclasses import replace

import pytest

from dialplans.templateset import EDITABLE, shipped
from tests.voicebridge.conftest import AiohttpClient, Api
from voicebridge.ami.sim import FakeAsterisk
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime

BASE = "/api/v1/dialplans"


async def latest(api: Api, template: str) -> dict[str, object]:
    response = await api.client.get(BASE, headers=api.auth("admin"))
    assert response.status == 200
    items = {i["template"]: i for i in (await response.json())["items"]}
    assert list(items) == list(EDITABLE)
    found: dict[str, object] = items[template]["latest"]
    return found


async def test_save_read_compare_and_list(api: Api) -> None:
    base = await latest(api, "vb-ack")
    assert base["in_force"] is True
    content = shipped()["vb-ack"].replace("{{ read_timeout }})", "{{ read_timeout }}0)")
    response = await api.client.post(
        f"{BASE}/vb-ack/revisions",
        headers=api.auth("admin"),
        json={"content": content, "base": base["id"], "comment": "más espera"},
    )
    assert response.status == 201, await response.text()
    saved = await response.json()
    assert saved["author"].startswith("admin:")
    assert saved["in_force"] is False
    assert saved["base"] == base["id"]
    assert "+ same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,{{ read_timeout }}0)" in saved["diff"]
    again = await api.client.post(
        f"{BASE}/vb-ack/revisions",
        headers=api.auth("admin"),
        json={"content": content, "base": saved["id"]},
    )
    assert again.status == 200
    assert (await again.json())["id"] == saved["id"]

    one = await api.client.get(f"{BASE}/revisions/{saved['id']}", headers=api.auth("admin"))
    assert (await one.json())["content"] == content
    listed = await api.client.get(f"{BASE}/revisions?template=vb-ack", headers=api.auth("admin"))
    assert [r["id"] for r in (await listed.json())["items"]] == [saved["id"], base["id"]]
    diff = await api.client.get(
        f"{BASE}/diff?from={base['id']}&to={saved['id']}", headers=api.auth("admin")
    )
    assert "{{ read_timeout }}0)" in (await diff.json())["diff"]
    audit = await api.client.get(f"{BASE}/audit", headers=api.auth("admin"))
    actions = [e["action"] for e in (await audit.json())["items"]]
    assert actions[:1] == ["propose"]
    assert "seed" in actions


async def test_a_save_based_on_an_old_revision_gets_409_with_the_diff(api: Api) -> None:
    base = await latest(api, "parameters")
    text = shipped()["parameters"]
    first = await api.client.post(
        f"{BASE}/parameters/revisions",
        headers=api.auth("admin"),
        json={"content": text.replace("menu_tries: 3", "menu_tries: 4"), "base": base["id"]},
    )
    assert first.status == 201
    second = await api.client.post(
        f"{BASE}/parameters/revisions",
        headers=api.auth("admin"),
        json={"content": text.replace("menu_timeout: 6", "menu_timeout: 8"), "base": base["id"]},
    )
    assert second.status == 409
    body = (await second.json())["error"]
    assert body["code"] == "dialplan_conflict"
    assert body["latest"] == (await first.json())["id"]
    assert "+menu_tries: 4" in body["diff"]


async def test_a_refused_save_names_each_problem_in_spanish(api: Api) -> None:
    base = await latest(api, "vb-room")
    bad = shipped()["vb-room"].replace(" same => n,Answer()\n", " same => n,System(id)\n", 1)
    response = await api.client.post(
        f"{BASE}/vb-room/revisions",
        headers=api.auth("admin"),
        json={"content": bad, "base": base["id"]},
    )
    assert response.status == 422
    body = (await response.json())["error"]
    assert body["code"] == "invalid_dialplan"
    line = next(n for n, t in enumerate(bad.split("\n"), start=1) if "System(id)" in t)
    [field] = body["fields"]
    assert field["field"] == f"vb-room, línea {line}"
    assert field["message"].startswith("la aplicación System() no está permitida")
    empty = await api.client.post(
        f"{BASE}/vb-room/revisions", headers=api.auth("admin"), json={"content": "", "base": 0}
    )
    assert empty.status == 422
    named = {f["field"] for f in (await empty.json())["error"]["fields"]}
    assert named == {"content", "base"}


@pytest.mark.parametrize("who", ["operator", "supervisor"])
async def test_only_admins(api: Api, who: str) -> None:
    for method, path in [
        ("GET", BASE),
        ("GET", f"{BASE}/revisions"),
        ("GET", f"{BASE}/revisions/1"),
        ("GET", f"{BASE}/diff?from=1&to=2"),
        ("GET", f"{BASE}/audit"),
        ("POST", f"{BASE}/vb-ack/revisions"),
        ("POST", f"{BASE}/vb-ack/preview"),
        ("POST", f"{BASE}/revisions/1/trial"),
        ("POST", f"{BASE}/revisions/1/switch"),
        ("POST", f"{BASE}/rollback"),
    ]:
        refused = await api.client.request(method, path, headers=api.auth(who), json={})
        assert refused.status == 403, (method, path)
        anonymous = await api.client.request(method, path, json={})
        assert anonymous.status == 401, (method, path)


async def test_unknown_things_are_404_or_422(api: Api) -> None:
    admin = api.auth("admin")
    assert (await api.client.get(f"{BASE}/revisions/999", headers=admin)).status == 404
    assert (await api.client.get(f"{BASE}/revisions/99999999999", headers=admin)).status == 404
    assert (await api.client.post(f"{BASE}/vb-nada/revisions", headers=admin, json={})).status == (
        404
    )
    bad = await api.client.get(f"{BASE}/diff?from=x", headers=admin)
    assert bad.status == 422
    assert {f["field"] for f in (await bad.json())["error"]["fields"]} == {"from", "to"}
    bad = await api.client.get(f"{BASE}/revisions?template=x", headers=admin)
    assert bad.status == 422


async def test_trial_switch_and_rollback_through_the_api(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    fake = FakeAsterisk()
    await fake.start()
    try:
        url = f"ami://voicebridge:voicebridge@127.0.0.1:{fake.port}"
        wired = replace(runtime, settings=replace(runtime.settings, ami_admin_url=url))
        client = await aiohttp_client(make_app(wired.settings, runtime=wired))
        admin = {"Authorization": f"Bearer {runtime.apikeys.create(Role.ADMIN, label='a')[0]}"}
        items = (await (await client.get(BASE, headers=admin)).json())["items"]
        base = next(i for i in items if i["template"] == "parameters")["latest"]["id"]
        text = shipped()["parameters"].replace("menu_tries: 3", "menu_tries: 2")
        saved = await client.post(
            f"{BASE}/parameters/revisions", headers=admin, json={"content": text, "base": base}
        )
        revision = (await saved.json())["id"]
        trial = await client.post(f"{BASE}/revisions/{revision}/trial", headers=admin)
        assert trial.status == 200
        body = await trial.json()
        assert body["ok"] is True
        assert body["steps"][-1].startswith("Asterisk cargó cada extensión")
        switch = await client.post(f"{BASE}/revisions/{revision}/switch", headers=admin)
        assert (await switch.json())["steps"][-1] == f"revisión {revision} de parameters en vigor"
        back = await client.post(f"{BASE}/rollback", headers=admin)
        assert (await back.json())["ok"] is True
        assert (await client.post(f"{BASE}/revisions/999/trial", headers=admin)).status == 404
        await fake.stop()  # Asterisk away: 503, nothing changes
        away = await client.post(f"{BASE}/revisions/{revision}/switch", headers=admin)
        assert away.status == 503
        assert (await away.json())["error"]["code"] == "asterisk_unavailable"
    finally:
        await fake.stop()


async def test_without_asterisk_there_is_nothing_to_push_to(api: Api) -> None:
    await api.client.get(BASE, headers=api.auth("admin"))  # the shipped revisions
    response = await api.client.post(f"{BASE}/revisions/1/trial", headers=api.auth("admin"))
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "asterisk_not_configured"
    assert "no hay un Asterisk configurado" in (await response.json())["error"]["message"]


async def test_a_preview_renders_the_set_with_the_text_and_saves_nothing(api: Api) -> None:
    admin = api.auth("admin")
    text = shipped()["parameters"].replace("read_timeout: 10", "read_timeout: 20")
    response = await api.client.post(
        f"{BASE}/parameters/preview", headers=admin, json={"content": text}
    )
    assert response.status == 200
    contexts = (await response.json())["contexts"]
    assert "Read(VB_KEY,${VB_MESSAGE},1,,1,20)" in contexts["vb-ack"]
    bad = shipped()["vb-ack"].replace("?accepted)", "?acepted)")
    response = await api.client.post(f"{BASE}/vb-ack/preview", headers=admin, json={"content": bad})
    assert response.status == 422
    [field] = (await response.json())["error"]["fields"]
    assert field["field"].startswith("vb-ack, línea ")
    listed = await api.client.get(f"{BASE}/revisions", headers=admin)
    assert len((await listed.json())["items"]) == len(EDITABLE)  # the shipped ones only
