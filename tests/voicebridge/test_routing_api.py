"""Routing through the API: where an incident is, dispatch, the route and why, the
revisions of the rules and their reload. The shipped Lima configuration is in force."""

from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.routing.configs import SMALL
from tests.voicebridge.conftest import AiohttpClient, Api
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime

URL = "/api/v1/incidents"
KENNEDY = {"lat": -12.1211, "lon": -77.0297}  # Parque Kennedy, Miraflores
AIRPORT = {"lat": -12.0219, "lon": -77.1143}  # Jorge Chávez, Callao


async def test_the_district_comes_from_the_point(api: Api) -> None:
    created = await api.create(location=KENNEDY)
    assert created["district"] == {"ubigeo": "150122", "name": "Miraflores"}
    detail = await (await api.client.get(f"{URL}/{created['id']}", headers=api.auth())).json()
    data = detail["timeline"][0]["data"]
    assert data["district_source"] == "point"
    assert data["district_note"] == "El punto (-12.12110, -77.02970) cae en Miraflores."


async def test_or_from_the_address(api: Api) -> None:
    created = await api.create(location={"address": "Jr. Gamarra 700, La Victoria"})
    assert created["district"]["ubigeo"] == "150115"
    created = await api.create(description="robo en la Av. Próceres, SJL")
    assert created["district"]["ubigeo"] == "150132"


async def test_a_point_outside_lima_metropolitana_is_refused(api: Api) -> None:
    response = await api.client.post(
        URL, headers=api.auth(), json={"category": "robo", "location": AIRPORT}
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["fields"] == [
        {
            "field": "location",
            "message": "el punto cae en Callao (070101), en el Callao; "
            "este centro atiende solo los 43 distritos de Lima Metropolitana",
        }
    ]


async def test_a_district_operator_cannot_report_elsewhere(api: Api) -> None:
    response = await api.client.post(
        URL, headers=api.auth("sjl"), json={"category": "robo", "location": KENNEDY}
    )
    assert response.status == 403
    assert (await response.json())["error"]["message"] == (
        "El punto (-12.12110, -77.02970) cae en Miraflores. Esta clave pertenece a la central "
        "de San Juan de Lurigancho (150132)."
    )


async def test_the_route_before_and_after_dispatch(api: Api) -> None:
    created = await api.create(category="fuga_gas", district="150132")
    route = await (await api.client.get(f"{URL}/{created['id']}/route", headers=api.auth())).json()
    assert route["frozen"] is False
    assert route["rule"] == "fuga de gas"
    assert [a["agency"] for a in route["agencies"]] == ["calidda", "cgbvp"]
    cgbvp = route["agencies"][1]
    assert cgbvp["targets"][0]["station_name"] == "Compañía de Bomberos de San Juan de Lurigancho"
    assert cgbvp["reasons"][1] == (
        "«Compañía de Bomberos de San Juan de Lurigancho» atiende San Juan de Lurigancho (150132)."
    )
    assert route["agencies"][0]["policy"]["name"] == "critical"

    response = await api.client.post(f"{URL}/{created['id']}/dispatch", headers=api.auth())
    assert response.status == 200
    dispatched = await response.json()
    assert dispatched["frozen"] is True
    assert dispatched["incident"]["status"] == "dispatched"
    assert dispatched["decided_by"].startswith("operator:")
    assert dispatched["agencies"] == route["agencies"]

    again = await api.client.post(f"{URL}/{created['id']}/dispatch", headers=api.auth())
    assert again.status == 409
    assert (await again.json())["error"]["message"] == f"{created['id']} ya fue despachado"
    detail = await (await api.client.get(f"{URL}/{created['id']}", headers=api.auth())).json()
    causes = [e["cause"] for e in detail["timeline"]]
    assert "despachado según la regla «fuga de gas»" in causes
    assert causes[-1] == (
        "Intento 1 de 2 a «Central de la compañía» (Compañía de Bomberos de "
        "San Juan de Lurigancho)."
    )
    assert [leg["role"] for leg in detail["legs"]] == ["operator", "responder", "responder"]


async def test_dispatch_needs_a_district(api: Api) -> None:
    created = await api.create(category="robo")  # no district, no point, no address
    assert created["district"] is None
    response = await api.client.post(f"{URL}/{created['id']}/dispatch", headers=api.auth())
    assert response.status == 422
    assert (await response.json())["error"]["fields"] == [
        {"field": "district", "message": "el incidente necesita su distrito para ser despachado"}
    ]


async def test_routes_of_other_districts_are_not_shown(api: Api) -> None:
    created = await api.create("supervisor", district="150122")
    for method, path in (("GET", "route"), ("POST", "dispatch")):
        response = await api.client.request(
            method, f"{URL}/{created['id']}/{path}", headers=api.auth("sjl")
        )
        assert response.status == 403


async def test_revisions_and_reload(
    runtime: Runtime, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(SMALL, encoding="utf-8")
    settings = replace(runtime.settings, routing_file=path)
    rt = replace(runtime, rules=type(runtime.rules)(runtime.rules.revisions, path))
    client: TestClient = await aiohttp_client(make_app(settings, runtime=rt))  # type: ignore[type-arg]
    admin = {"Authorization": f"Bearer {runtime.apikeys.create(Role.ADMIN)[0]}"}
    operator = {"Authorization": f"Bearer {runtime.apikeys.create(Role.OPERATOR)[0]}"}

    response = await client.post("/api/v1/routing/reload", headers=admin)
    assert response.status == 200
    first = (await response.json())["revision"]
    assert (await client.post("/api/v1/routing/reload", headers=admin)).status == 200
    path.write_text(SMALL.replace("ring_seconds: 20", "ring_seconds: 25"), encoding="utf-8")
    body = await (await client.post("/api/v1/routing/reload", headers=admin)).json()
    assert body["changed"] is True
    assert body["revision"]["id"] == first["id"] + 1

    path.write_text(SMALL.replace("policy: fast", "policy: rapid"), encoding="utf-8")
    response = await client.post("/api/v1/routing/reload", headers=admin)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "invalid_routing"
    assert error["fields"] == [
        {"field": f"{path}:22: agencies[0].policy", "message": "no hay ninguna política 'rapid'"}
    ]

    listed = await (await client.get("/api/v1/routing/revisions", headers=admin)).json()
    assert [r["id"] for r in listed["items"]] == [first["id"] + 1, first["id"]]
    shown = await (
        await client.get(f"/api/v1/routing/revisions/{first['id'] + 1}", headers=admin)
    ).json()
    assert "-  fast: {ring_seconds: 20" in shown["diff"]
    assert "+  fast: {ring_seconds: 25" in shown["diff"]
    assert (await client.post("/api/v1/routing/reload", headers=operator)).status == 403
    assert (await client.get("/api/v1/routing/revisions", headers=operator)).status == 403


@pytest.mark.parametrize(
    ("query", "status", "answer"),
    [
        (
            "lat=-12.1211&lon=-77.0297",
            200,
            {
                "in_lima": True,
                "ubigeo": "150122",
                "name": "Miraflores",
                "province": "Lima",
                "description": "150122 Miraflores",
            },
        ),
        (
            "lat=-12.0219&lon=-77.1143",
            200,
            {
                "in_lima": False,
                "ubigeo": "070101",
                "name": "Callao",
                "province": "Callao",
                "description": "Callao, Callao (070101): fuera de Lima Metropolitana",
            },
        ),
        (
            "lat=-12.13&lon=-77.20",
            200,
            {
                "in_lima": False,
                "ubigeo": None,
                "name": None,
                "province": None,
                "description": "fuera de Lima Metropolitana y del Callao",
            },
        ),
        ("lat=north&lon=-77", 422, None),
        ("lat=-12", 422, None),
        ("lat=-100&lon=-77", 422, None),
    ],
)
async def test_locate(api: Api, query: str, status: int, answer: dict[str, object] | None) -> None:
    response = await api.client.get(f"/api/v1/districts/locate?{query}", headers=api.auth())
    assert response.status == status
    if answer is not None:
        assert await response.json() == answer


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"a: &a [*a]\n", ":1: (archivo)", "no se admiten alias YAML (*nombre): escriba el valor"),
        (b"[" * 10_000, ":1: (archivo)", "el documento tiene más de 32 niveles de anidamiento"),
        (b"version: 1\n\xff\n", ":2: (archivo)", "el archivo no está en UTF-8: el byte 0xff"),
        (b"- 1\n", ":1: (documento)", "el archivo debe ser un mapeo YAML de secciones"),
        (b"#" * ((1 << 20) + 1), ": (archivo)", "el archivo pasa de 1 MiB"),
        (None, ": (archivo)", "no existe el archivo"),
    ],
)
async def test_a_hostile_routing_file_is_refused_on_reload(
    runtime: Runtime,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    content: bytes | None,
    field: str,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "routing.yaml"
    if content is not None:
        path.write_bytes(content)
    settings = replace(runtime.settings, routing_file=path)
    rt = replace(runtime, rules=type(runtime.rules)(runtime.rules.revisions, path))
    client: TestClient = await aiohttp_client(make_app(settings, runtime=rt))  # type: ignore[type-arg]
    admin = {"Authorization": f"Bearer {runtime.apikeys.create(Role.ADMIN)[0]}"}
    before = runtime.rules.revisions.current_id()
    response = await client.post("/api/v1/routing/reload", headers=admin)
    assert response.status == 422, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "invalid_routing"
    assert error["message"] == f"1 problema en {path}; las reglas vigentes no cambiaron"
    [problem] = error["fields"]
    assert problem["field"] == f"{path}{field}"
    assert problem["message"].startswith(message), problem
    assert runtime.rules.revisions.current_id() == before
    assert "Traceback" not in caplog.text
