"""Creating an incident from the console (issue 11, point 5): the lookup the form asks
as the operator types (the category understood, the district the resolver gives and
why, the duplicates nearby), and the form itself in a real browser."""

from typing import Any

from tests.voicebridge.conftest import AiohttpClient
from tests.voicebridge.console.conftest import signed_in
from tests.voicebridge.console.test_board import SJL, create
from voicebridge.apikeys import Role
from voicebridge.runtime import Runtime


async def test_the_lookup_reads_the_form_as_intake_would(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    jefe = await signed_in(aiohttp_client, runtime, "jefe")

    async def lookup(**query: str) -> dict[str, Any]:
        answer = await jefe.client.get("/console/lookup", params=query)
        assert answer.status == 200, await answer.text()
        data: dict[str, Any] = await answer.json()
        return data

    typed = await lookup(category="choque", address="Av. Javier Prado Este 4200, Surco")
    assert typed["category"]["label"] == "Accidente de tránsito"
    assert typed["district"]["name"] == "Santiago de Surco"
    point = await lookup(category="robo", lat="-12.1219", lon="-77.0297")
    assert point["district"]["name"] == "Miraflores"
    assert "cae en Miraflores" in point["detail"]
    outside = await lookup(category="robo", lat="-12.05", lon="-77.13")  # Callao
    assert outside["outside"].startswith("El punto cae")
    nothing = await lookup(category="xyzzy")
    assert nothing["category"] is None
    bad = await jefe.client.get("/console/lookup", params={"lat": "norte", "district": "Narnia"})
    assert bad.status == 422
    assert {f["field"] for f in (await bad.json())["error"]["fields"]} == {"lat", "district"}


async def test_the_lookup_shows_the_open_incidents_it_may_duplicate(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")
    fire = await create(
        ana.client,
        key,
        SJL,
        "incendio",
        location={
            "lat": -11.9785,
            "lon": -77.0049,
            "address": "Av. Próceres de la Independencia 1520",
        },
    )
    near = await ana.client.get(
        "/console/lookup", params={"category": "fuego", "lat": "-11.9800", "lon": "-77.0049"}
    )  # 170 m south
    data = await near.json()
    assert [(d["id"], d["distance_m"]) for d in data["duplicates"]] == [(fire["id"], 167)]
    assert data["warning"] is None
    elsewhere = await ana.client.get(
        "/console/lookup", params={"category": "incendio", "lat": "-12.1219", "lon": "-77.0297"}
    )
    assert "su central es San Juan de Lurigancho" in (await elsewhere.json())["warning"]


async def test_an_operators_duplicates_are_theirs_even_past_ten_of_a_neighbours(
    runtime: Runtime, aiohttp_client: AiohttpClient
) -> None:
    """Near a district's edge the ten nearest may all be the neighbour's: the operator
    still sees their own."""
    key = runtime.apikeys.create(Role.SUPERVISOR, label="pruebas")[0]
    ana = await signed_in(aiohttp_client, runtime, "ana.perez")  # San Juan de Lurigancho
    point = {"lat": -12.0268, "lon": -77.0045}  # El Agustino, by the border with SJL
    for _ in range(11):
        await create(ana.client, key, "150111", "incendio", location=point)
    mine = await create(ana.client, key, SJL, "incendio",
                        location={"lat": -12.0240, "lon": -77.0045})  # fmt: skip
    near = await ana.client.get("/console/lookup", params={
        "category": "incendio", "lat": "-12.0266", "lon": "-77.0045"})  # fmt: skip
    data = await near.json()
    assert [d["id"] for d in data["duplicates"]] == [mine["id"]]
