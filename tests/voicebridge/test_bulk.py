"""One action on many incidents, for a storm of duplicates (issue 11, point 3): a
supervisor acknowledges, resolves, cancels or merges them at once, each done or refused
on its own, each logged with the person's name."""

from routing.models import AssignmentState, Status
from tests.voicebridge.conftest import Api


async def test_a_supervisor_acknowledges_resolves_and_merges_many_at_once(api: Api) -> None:
    incidents = [(await api.create(category="incendio", district="150132"))["id"]
                 for _ in range(4)]  # fmt: skip
    for incident in incidents:
        r = await api.client.post(f"/api/v1/incidents/{incident}/dispatch", headers=api.auth())
        assert r.status == 200, await r.text()
    path = "/api/v1/incidents/bulk"
    body = {"action": "acknowledge", "incidents": incidents[:2], "cause": "los bomberos ya "
            "están en la escena por el primer reporte"}  # fmt: skip
    refused = await api.client.post(path, json=body, headers=api.auth("operator"))
    assert refused.status == 403
    done = await api.client.post(path, json=body, headers=api.auth("supervisor"))
    assert done.status == 200, await done.text()
    answer = await done.json()
    assert (answer["done"], answer["failed"]) == (2, 0)
    assert answer["results"][0]["detail"].startswith("confirmadas por otro medio: ")
    for incident in incidents[:2]:
        states = {a.state for a in api.runtime.calls.dispatches.assignments(incident)}
        assert states == {AssignmentState.ACKNOWLEDGED}
    again = await (await api.client.post(path, json=body, headers=api.auth("supervisor"))).json()
    assert again["failed"] == 2
    assert again["results"][0]["detail"] == "no tiene entidades por confirmar"
    merge = {"action": "merge", "incidents": [*incidents[2:], "LIM-2026-999999", incidents[1]],
             "into": incidents[0], "cause": "el mismo incendio"}  # fmt: skip
    merged = await (await api.client.post(path, json=merge, headers=api.auth("supervisor"))).json()
    assert [r["ok"] for r in merged["results"]] == [True, True, False, False], merged
    assert merged["results"][2]["detail"] == "no existe el incidente LIM-2026-999999"
    assert "no puede pasar de «confirmado» a «fusionado»" in merged["results"][3]["detail"]
    assert api.runtime.store.get(incidents[2]).status is Status.MERGED
    resolve = {"action": "resolve", "incidents": [incidents[0], incidents[1]],
               "cause": "incendio controlado"}  # fmt: skip
    resolved = await (
        await api.client.post(path, json=resolve, headers=api.auth("supervisor"))
    ).json()
    assert resolved["done"] == 2
    last = api.runtime.store.events(incidents[1])[-1]
    assert (last.cause, last.actor.startswith("supervisor:")) == ("incendio controlado", True)


async def test_a_bulk_request_that_cannot_be_is_422_naming_the_field(api: Api) -> None:
    path = "/api/v1/incidents/bulk"
    for body, field in (
        ({"action": "merge", "incidents": ["LIM-2026-000001"], "cause": "dup"}, "body"),
        ({"action": "resolve", "incidents": [], "cause": "dup"}, "incidents"),
        ({"action": "resolve", "incidents": ["x"], "cause": "dup"}, "incidents.0"),
        ({"action": "borrar", "incidents": ["LIM-2026-000001"], "cause": "dup"}, "action"),
        ({"action": "resolve", "incidents": ["LIM-2026-000001"] * 201, "cause": "dup"},
         "incidents"),
    ):  # fmt: skip
        r = await api.client.post(path, json=body, headers=api.auth("supervisor"))
        assert r.status == 422, body
        fields = [f["field"] for f in (await r.json())["error"]["fields"]]
        assert fields == [field], (body, fields)
