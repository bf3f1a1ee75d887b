"""``POST /api/v1/incidents/{id}/reports/{report_id}/split`` (issue 9, point 7): an
operator splits a citizen's report wrongly joined into an incident of its own."""

from typing import Any

from routing.dedup import Filed, Nearby
from routing.models import Location, NewIncident, NewReport, Reporter, Source
from tests.conftest import FakeClock
from tests.voicebridge.conftest import Api

URL = "/api/v1/incidents"


def joined(api: Api, incident: dict[str, Any], text: str = "robaron una casa") -> Filed:
    """A citizen's SMS 50 m from ``incident``, which it joins."""
    location = incident["location"]
    filed = api.runtime.store.file(
        NewIncident(
            category=incident["category"],
            district=incident["district"]["ubigeo"],
            report=NewReport(
                source=Source.SMS,
                text=text,
                reporter=Reporter(phone="+51987654321"),
                location=Location(lat=location["lat"] + 0.00045, lon=location["lon"]),
                external_id=f"SM-{text}",
            ),
        ),
        actor="system:sms",
        nearby=Nearby(),
    )
    assert filed.joined
    assert filed.incident.id == incident["id"]
    return filed


async def created(api: Api, who: str = "operator", district: str = "150132") -> dict[str, Any]:
    return await api.create(
        who, district=district, location={"lat": -12.0, "lon": -77.0}, description="robo"
    )


async def test_an_operator_splits_a_report_into_its_own_incident(
    api: Api, clock: FakeClock
) -> None:
    incident = await created(api)
    clock.advance(60)
    report = joined(api, incident).report
    clock.advance(60)
    url = f"{URL}/{incident['id']}/reports/{report.id}/split"
    response = await api.client.post(url, headers=api.auth())  # no body
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["id"] == "LIM-2026-000002"
    assert response.headers["Location"] == f"{URL}/LIM-2026-000002"
    assert (body["category"], body["priority"], body["status"]) == ("robo", "high", "received")
    assert body["district"] == {"ubigeo": "150132", "name": "San Juan de Lurigancho"}
    assert (body["source"], body["summary"]) == ("sms", "robaron una casa")
    assert body["reporter"] == {"name": None, "phone": "+51987654321"}

    auth = api.auth()
    source = await (await api.client.get(f"{URL}/{incident['id']}", headers=auth)).json()
    assert [r["text"] for r in source["reports"]] == ["robo"]
    assert [e["kind"] for e in source["timeline"]] == [
        "created",
        "report_joined",
        "report_split_out",
    ]
    split_out = source["timeline"][-1]
    assert split_out["kind_label"] == "reporte separado"
    assert split_out["text"] == (
        "Un reporte recibido por SMS era de otro hecho: se separó como el incidente "
        "LIM-2026-000002."
    )
    assert split_out["cause"] == "un operador lo separó: era de otro hecho"
    assert source["timeline"][1]["text"] == (
        "Otro reporte del mismo hecho, recibido por SMS, se sumó automáticamente: misma "
        "categoría, a 50 m del punto del incidente, 1 min después del reporte anterior."
    )
    assert source["timeline"][1]["cause"] == "se sumó: misma categoría a 50 m, 1 min después"
    new = await (await api.client.get(f"{URL}/{body['id']}", headers=auth)).json()
    assert [r["id"] for r in new["reports"]] == [report.id]
    assert [(e["kind"], e["text"], e["cause"]) for e in new["timeline"]] == [
        (
            "created",
            "Incidente registrado: Robo, prioridad alta, distrito de San Juan de Lurigancho, "
            "recibido por SMS.",
            f"reporte recibido por SMS, separado de {incident['id']}",
        ),
        (
            "split_from",
            f"Incidente separado de {incident['id']}: su reporte, recibido por SMS, se había "
            "sumado allí y era de otro hecho.",
            "un operador lo separó: era de otro hecho",
        ),
    ]


async def test_the_body_may_give_the_category_district_and_cause(api: Api) -> None:
    incident = await created(api)
    report = joined(api, incident, "sale humo de una casa").report
    response = await api.client.post(
        f"{URL}/{incident['id']}/reports/{report.id}/split",
        headers=api.auth(),
        json={"category": "Incendio", "district": "El Agustino", "cause": "es un incendio"},
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert (body["category"], body["priority"], body["district"]["name"]) == (
        "incendio",
        "critical",
        "El Agustino",
    )
    detail = await (await api.client.get(f"{URL}/{body['id']}", headers=api.auth())).json()
    assert detail["timeline"][-1]["cause"] == "es un incendio"
    # an empty object is no body either
    other = joined(api, incident, "otro").report
    url = f"{URL}/{incident['id']}/reports/{other.id}/split"
    response = await api.client.post(url, headers=api.auth(), json={})
    assert response.status == 201


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    error: dict[str, Any] = (await response.json())["error"]
    return error


async def test_refused_splits_answer_in_the_error_envelope(api: Api) -> None:
    c, auth = api.client, api.auth()
    incident = await created(api)
    first = api.runtime.store.detail(incident["id"]).reports[0]
    report = joined(api, incident).report
    base = f"{URL}/{incident['id']}/reports"

    error = await error_of(await c.post(f"{base}/{first.id}/split", headers=auth), 409)
    assert error["code"] == "conflict"
    assert error["message"].startswith(f"es el primer reporte de {incident['id']}")
    for missing in ("999999", "0", "abc", "1" * 19, "١"):
        error = await error_of(await c.post(f"{base}/{missing}/split", headers=auth), 404)
        assert error["code"] == "not_found"
    error = await error_of(
        await c.post(f"{URL}/LIM-2026-000404/reports/1/split", headers=auth), 404
    )
    assert error["message"] == "no existe el incidente LIM-2026-000404"
    url = f"{base}/{report.id}/split"
    error = await error_of(await c.post(url, headers=auth, json={"category": "granizo"}), 422)
    assert [f["field"] for f in error["fields"]] == ["category"]
    error = await error_of(await c.post(url, headers=auth, json={"cause": "x", "y": 1}), 422)
    assert sorted(f["field"] for f in error["fields"]) == ["cause", "y"]
    error = await error_of(await c.post(url, headers=auth, data="{"), 415)
    assert error["code"] == "unsupported_media_type"
    assert (await c.post(url)).status == 401
    status = {"status": "resolved", "cause": "atendido"}
    assert (await c.post(f"{URL}/{incident['id']}/status", headers=auth, json=status)).status == 200
    error = await error_of(await c.post(url, headers=auth), 409)
    assert error["message"] == (
        f"{incident['id']} está resuelto: no se separan reportes de un incidente cerrado"
    )
    assert api.runtime.store.count() == 1


async def test_a_district_operator_splits_only_in_its_district(api: Api) -> None:
    c = api.client
    elsewhere = await created(api, district="150122")
    report = joined(api, elsewhere).report
    url = f"{URL}/{elsewhere['id']}/reports/{report.id}/split"
    error = await error_of(await c.post(url, headers=api.auth("sjl")), 403)
    assert error["code"] == "district_forbidden"
    own = await created(api, "sjl")
    mine = joined(api, own, "robaron en la esquina").report
    url = f"{URL}/{own['id']}/reports/{mine.id}/split"
    body = {"district": "Miraflores"}
    error = await error_of(await c.post(url, headers=api.auth("sjl"), json=body), 403)
    assert error["code"] == "district_forbidden"
    assert (await c.post(url, headers=api.auth("sjl"))).status == 201
    assert api.runtime.store.count() == 3
