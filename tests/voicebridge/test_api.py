"""The HTTP API against a real app on loopback, real SQLite and a real Redis."""

import asyncio

import pytest
from sqlalchemy import select

from routing import schema
from routing.db import Database
from routing.models import Status
from tests.conftest import FakeClock
from tests.voicebridge.conftest import AMI_MEDIA, Api
from voicebridge.runtime import build_runtime

URL = "/api/v1/incidents"


async def test_an_operator_reports_an_incident(api: Api) -> None:
    response = await api.client.post(
        URL,
        headers=api.auth(),
        json={
            "category": "accidente_transito",
            "district": "San Martín de Porres",
            "description": "Choque entre combi y mototaxi, dos heridos",
            "location": {
                "lat": -12.0203,
                "lon": -77.0589,
                "address": "Av. Perú cuadra 25",
                "reference": "frente al mercado",
            },
            "reporter": {"name": "Juan Quispe", "phone": "987 654 321"},
            "source": "console",
        },
    )
    assert response.status == 201
    body = await response.json()
    assert body["id"] == "LIM-2026-000001"
    assert response.headers["Location"] == "/api/v1/incidents/LIM-2026-000001"
    assert body["status"] == "received"
    assert body["status_label"] == "recibido"
    assert body["category_label"] == "Accidente de tránsito"
    assert body["priority"] == "critical"
    assert body["priority_label"] == "crítica"
    assert body["district"] == {"ubigeo": "150135", "name": "San Martín de Porres"}
    assert body["reporter"] == {"name": "Juan Quispe", "phone": "+51987654321"}
    assert body["source"] == "console"
    assert body["agency_kinds"] == ["police", "medical", "fire", "transit"]
    assert body["created_by"].startswith("operator:")


async def test_what_was_answered_201_is_in_the_database(api: Api) -> None:
    body = await api.create()
    other = Database.from_url(api.runtime.settings.database_url)  # a connection of its own
    with other.read() as conn:
        row = conn.execute(
            select(schema.incidents).where(schema.incidents.c.public_id == body["id"])
        ).one()
    other.dispose()
    assert row.status == "received"


async def test_the_file_of_an_incident_with_its_timeline(api: Api, clock: FakeClock) -> None:
    created = await api.create(district="150132")
    clock.advance(30)
    response = await api.client.post(
        f"{URL}/{created['id']}/reports",
        headers=api.auth(),
        json={"description": "Otro vecino confirma", "reporter": {"phone": "+51 912 345 678"}},
    )
    assert response.status == 201
    response = await api.client.get(f"{URL}/{created['id']}", headers=api.auth())
    assert response.status == 200
    detail = await response.json()
    assert [r["text"] for r in detail["reports"]] == ["Robo de celular", "Otro vecino confirma"]
    assert detail["attempts"] == []
    assert detail["acks"] == []
    assert [(e["seq"], e["kind"]) for e in detail["timeline"]] == [
        (1, "created"),
        (2, "report_added"),
    ]
    assert detail["timeline"][1]["at"] == "2026-11-25T15:00:30Z"
    assert detail["timeline"][0]["actor"] == created["created_by"]


async def test_anonymous_and_unknown_keys_get_401(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer vb_nope_nope"},
        {"Authorization": "Bearer garbage"},
    ):
        response = await api.client.post(URL, json={"category": "robo"}, headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="voicebridge"'
        assert (await response.json())["error"]["code"] == "unauthorized"
    response = await api.client.get(URL)
    assert response.status == 401
    assert api.runtime.store.count() == 0


async def test_a_revoked_key_stops_working(api: Api) -> None:
    await api.create()
    key_id = api.keys["operator"].split("_")[1]
    assert api.runtime.apikeys.revoke(key_id)
    response = await api.client.get(URL, headers=api.auth())
    assert response.status == 401


async def test_a_key_revoked_by_another_replica_is_refused_at_the_next_request(
    api: Api,
) -> None:
    """Another process (a second ``serve``, ``voicebridge apikey revoke``) revokes the
    key this one has just accepted (and remembers): the very next request is refused,
    and it cannot create an incident."""
    await api.create()
    response = await api.client.get(URL, headers=api.auth())
    assert response.status == 200
    other = build_runtime(api.runtime.settings, media=AMI_MEDIA)
    try:
        assert other.apikeys.revoke(api.keys["operator"].split("_")[1])
    finally:
        other.close()
    response = await api.client.get(URL, headers=api.auth())
    assert response.status == 401
    response = await api.client.post(URL, headers=api.auth(), json={"category": "robo"})
    assert response.status == 401
    assert api.runtime.store.count() == 1
    # the other keys are still accepted
    response = await api.client.get(URL, headers=api.auth("supervisor"))
    assert response.status == 200


async def test_a_district_operator_works_in_its_own_district(api: Api) -> None:
    mine = await api.create("sjl")  # no district given: the central's
    assert mine["district"] == {"ubigeo": "150132", "name": "San Juan de Lurigancho"}
    response = await api.client.post(
        URL, headers=api.auth("sjl"), json={"category": "robo", "district": "Miraflores"}
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "district_forbidden"
    elsewhere = await api.create("supervisor", district="150122")
    assert (await api.client.get(f"{URL}/{elsewhere['id']}", headers=api.auth("sjl"))).status == 403
    listed = await (await api.client.get(URL, headers=api.auth("sjl"))).json()
    assert [i["id"] for i in listed["items"]] == [mine["id"]]
    assert (await api.client.get(f"{URL}?district=150122", headers=api.auth("sjl"))).status == 403


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"district": "SJL"}, "category", "falta este campo, que es obligatorio"),
        ({"category": "granizo"}, "category", "categoría desconocida; use una de: robo"),
        ({"category": "robo", "district": "Callao"}, "district", "ni el nombre de un distrito"),
        ({"category": "robo", "location": {"lat": -12.1}}, "location", "dé lat y lon juntas"),
        (
            {"category": "robo", "location": {"lat": 120, "lon": -77}},
            "location.lat",
            "debe ser menor o igual que 90",
        ),
        (
            {"category": "robo", "reporter": {"phone": "12345"}},
            "reporter.phone",
            "no es un número de teléfono válido",
        ),
        (
            {"category": "robo", "reporter": {"name": "Ana\r\nAction: Originate"}},
            "reporter.name",
            "no se admiten caracteres de control",
        ),
        (
            {"category": "robo", "description": "robo\x00"},
            "description",
            "no se admiten caracteres de control",
        ),
        (
            {"category": "robo", "priority": "urgent"},
            "priority",
            "debe ser 'critical', 'high', 'medium' o 'low'",
        ),
        ({"category": "robo", "status": "resolved"}, "status", "campo desconocido"),
        (  # E.164 would drop the extension (issue 8, findings 4)
            {"category": "robo", "reporter": {"phone": "987654321 ext. 1234"}},
            "reporter.phone",
            "anexo",
        ),
        (  # a boolean is no coordinate (issue 8, findings 9)
            {"category": "robo", "location": {"lat": True, "lon": -77.0}},
            "location.lat",
            "debe ser un número",
        ),
        (
            {"category": "robo", "location": {"lat": -12.0, "lon": False}},
            "location.lon",
            "debe ser un número",
        ),
        (
            {"category": "robo", "location": {"lat": "-12.05", "lon": -77.0}},
            "location.lat",
            "debe ser un número",
        ),
        ({"category": "robo", "source": "sms"}, "source", "debe ser 'api' o 'console'"),
        (
            {"category": "robo", "description": "x" * 2001},
            "description",
            "debe tener como máximo 2000 caracteres",
        ),
    ],
)
async def test_malformed_fields_get_422_naming_the_field(
    api: Api, body: dict[str, object], field: str, message: str
) -> None:
    response = await api.client.post(URL, json=body, headers=api.auth())
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "validation_failed"
    assert field in [f["field"] for f in error["fields"]]
    assert message in next(f["message"] for f in error["fields"] if f["field"] == field)
    assert api.runtime.store.count() == 0


async def test_bodies_that_are_not_json_objects(api: Api) -> None:
    response = await api.client.post(
        URL, data="{not json", headers={**api.auth(), "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_json"
    response = await api.client.post(
        URL,
        data="category=robo",
        headers={**api.auth(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 415
    response = await api.client.post(URL, json=["robo"], headers=api.auth())
    assert response.status == 422


async def test_an_oversize_body_gets_413(api: Api) -> None:
    big = {"category": "robo", "description": "x" * (api.runtime.settings.max_body_bytes + 1)}
    response = await api.client.post(URL, json=big, headers=api.auth())
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"
    assert api.runtime.store.count() == 0


async def test_an_idempotency_key_makes_a_retried_request_safe(api: Api) -> None:
    headers = {**api.auth(), "Idempotency-Key": "console-7f3a9c21"}
    first = await api.client.post(URL, json={"category": "robo"}, headers=headers)
    again = await api.client.post(URL, json={"category": "robo"}, headers=headers)
    assert (first.status, again.status) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await first.json())["id"] == (await again.json())["id"]
    assert api.runtime.store.count() == 1
    # the same key from another API key is another request
    other = await api.client.post(
        URL,
        json={"category": "robo"},
        headers={**api.auth("supervisor"), "Idempotency-Key": "console-7f3a9c21"},
    )
    assert other.status == 201
    bad = await api.client.post(
        URL, json={"category": "robo"}, headers={**api.auth(), "Idempotency-Key": "a b"}
    )
    assert bad.status == 422


async def test_an_idempotency_key_reused_with_another_body_answers_422(api: Api) -> None:
    """The IETF idempotency-key draft: the key names one request; another body under it
    is the client's mistake, not the same request again (issue 8, findings 5)."""
    headers = {**api.auth(), "Idempotency-Key": "console-7f3a9c21"}
    first = await api.client.post(URL, json={"category": "robo"}, headers=headers)
    assert first.status == 201
    fire = await api.client.post(
        URL, json={"category": "incendio", "district": "SJL"}, headers=headers
    )
    assert fire.status == 422, await fire.text()
    error = (await fire.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["message"]
    assert api.runtime.store.count() == 1
    # the first request again, written another way, is still the same request
    again = await api.client.post(
        URL,
        data='{ "category" :  "Robo" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status == 200
    assert (await again.json())["id"] == (await first.json())["id"]


async def test_a_refused_request_does_not_take_its_idempotency_key(api: Api) -> None:
    """A request refused before intake (a point outside Lima) stored nothing: its key
    may carry the corrected body."""
    headers = {**api.auth(), "Idempotency-Key": "console-0c0ffee1"}
    outside = {"category": "robo", "location": {"lat": -13.5, "lon": -71.9}}
    refused = await api.client.post(URL, json=outside, headers=headers)
    assert refused.status == 422
    fixed = await api.client.post(URL, json={"category": "robo"}, headers=headers)
    assert fixed.status == 201


async def test_listing_with_filters_and_cursor(api: Api, clock: FakeClock) -> None:
    ids = []
    for n in range(5):
        ids.append(
            (await api.create(category="incendio" if n % 2 else "robo", district="150122"))["id"]
        )
        clock.advance(600)
    response = await api.client.get(f"{URL}?category=incendio", headers=api.auth())
    assert [i["id"] for i in (await response.json())["items"]] == [ids[3], ids[1]]
    response = await api.client.get(
        f"{URL}?status=received,resolved&district=Miraflores&limit=2", headers=api.auth()
    )
    page = await response.json()
    assert [i["id"] for i in page["items"]] == [ids[4], ids[3]]
    response = await api.client.get(
        f"{URL}?limit=2&cursor={page['next_cursor']}", headers=api.auth()
    )
    page = await response.json()
    assert [i["id"] for i in page["items"]] == [ids[2], ids[1]]
    response = await api.client.get(
        f"{URL}?since=2026-11-25T10:10:00-05:00&until=2026-11-25T15:30:00Z", headers=api.auth()
    )
    assert [i["id"] for i in (await response.json())["items"]] == [ids[2], ids[1]]
    response = await api.client.get(f"{URL}?since=2026-11-25", headers=api.auth())
    assert len((await response.json())["items"]) == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=closed", "status"),
        ("since=yesterday", "since"),
        ("since=2026-11-25T10:00:00", "since"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=xyz", "cursor"),
        ("district=Callao", "district"),
        ("category=granizo", "category"),
    ],
)
async def test_bad_list_parameters_get_422(api: Api, query: str, field: str) -> None:
    response = await api.client.get(f"{URL}?{query}", headers=api.auth())
    assert response.status == 422
    assert (await response.json())["error"]["fields"][0]["field"] == field


async def test_resolving_and_cancelling_by_hand(api: Api) -> None:
    created = await api.create()
    url = f"{URL}/{created['id']}/status"
    response = await api.client.post(
        url, headers=api.auth(), json={"status": "resolved", "cause": "Serenazgo atendió"}
    )
    assert response.status == 200
    assert (await response.json())["status"] == "resolved"
    again = await api.client.post(
        url, headers=api.auth(), json={"status": "resolved", "cause": "doble clic"}
    )
    assert again.status == 200
    conflict = await api.client.post(
        url, headers=api.auth(), json={"status": "cancelled", "cause": "error"}
    )
    assert conflict.status == 409
    error = (await conflict.json())["error"]
    assert error["code"] == "illegal_transition"
    assert "resuelto, un estado final" in error["message"]
    machine = await api.client.post(
        url, headers=api.auth(), json={"status": "dispatched", "cause": "x"}
    )
    assert machine.status == 422
    no_cause = await api.client.post(url, headers=api.auth(), json={"status": "cancelled"})
    assert no_cause.status == 422
    detail = await (await api.client.get(f"{URL}/{created['id']}", headers=api.auth())).json()
    assert [(e["kind"], e["cause"]) for e in detail["timeline"]] == [
        ("created", "reporte recibido por la API"),
        ("status_changed", "Serenazgo atendió"),
    ]


async def test_merging_duplicates(api: Api) -> None:
    first = await api.create()
    second = await api.create()
    response = await api.client.post(
        f"{URL}/{second['id']}/merge",
        headers=api.auth("supervisor"),
        json={"into": first["id"], "cause": "mismo robo"},
    )
    assert response.status == 200
    body = await response.json()
    assert (body["status"], body["merged_into"]) == ("merged", first["id"])
    response = await api.client.post(
        f"{URL}/{first['id']}/merge",
        headers=api.auth("supervisor"),
        json={"into": "LIM-2026-000404", "cause": "duplicado"},
    )
    assert response.status == 404


async def test_unknown_incidents_and_routes(api: Api) -> None:
    assert (await api.client.get(f"{URL}/LIM-2026-000404", headers=api.auth())).status == 404
    assert (await api.client.get(f"{URL}/robots.txt", headers=api.auth())).status == 404
    response = await api.client.delete(URL, headers=api.auth())
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_health_readiness_and_metrics(api: Api) -> None:
    assert (await api.client.get("/healthz")).status == 200
    response = await api.client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "redis": "ok",
            "ami": "not configured (VOICEBRIDGE_AMI_URL)",
            "tetra": "not configured (VOICEBRIDGE_TETRA_PEI)",
        },
        "degraded": ["ami", "tetra"],
    }
    await api.create(category="fuga_gas")
    text = await (await api.client.get("/metrics")).text()
    assert 'voicebridge_incidents_created_total{category="fuga_gas",source="api"} 1.0' in text
    assert (
        'voicebridge_http_requests_total{method="POST",route="/api/v1/incidents",status="201"} 1.0'
        in text
    )


async def test_status_enum_matches_the_api_filter() -> None:
    assert {s.value for s in Status} >= {"received", "unanswered", "merged"}


async def test_concurrent_reports_are_each_stored_once(api: Api) -> None:
    async def report(n: int) -> tuple[int, str]:
        response = await api.client.post(
            URL,
            headers={**api.auth(), "Idempotency-Key": f"burst-{n % 40:04d}"},
            json={"category": "robo", "description": f"robo {n % 40}"},  # a retry: same body
        )
        return response.status, (await response.json())["id"]

    results = await asyncio.gather(*(report(n) for n in range(60)))
    assert {status for status, _ in results} <= {200, 201}
    assert sum(1 for status, _ in results if status == 201) == 40
    assert len({incident_id for _, incident_id in results}) == 40
    assert api.runtime.store.count() == 40
    text = await (await api.client.get("/metrics")).text()
    assert "voicebridge_intake_batch_size_count" in text


async def test_every_bad_field_of_a_body_is_named_in_one_422(api: Api) -> None:
    response = await api.client.post(
        URL,
        headers={**api.auth(), "Idempotency-Key": "a b"},
        json={
            "category": "granizo",
            "district": "Callao",
            "location": {"lat": 120, "lon": -77},
            "reporter": {"phone": "12345"},
        },
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "validation_failed"
    assert [f["field"] for f in error["fields"]] == [
        "category",
        "district",
        "location.lat",
        "reporter.phone",
        "Idempotency-Key",
    ]
    assert error["message"].startswith("Hay 5 problemas en los campos «category», «district»")
    assert api.runtime.store.count() == 0


async def test_every_bad_list_parameter_is_named_in_one_422(api: Api) -> None:
    response = await api.client.get(
        f"{URL}?status=closed&district=Callao&since=ayer&limit=0&cursor=xyz&category=granizo",
        headers=api.auth(),
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert [f["field"] for f in error["fields"]] == [
        "district",
        "status",
        "category",
        "since",
        "limit",
        "cursor",
    ]


async def test_a_cause_too_short_is_told_in_spanish_characters(api: Api) -> None:
    created = await api.create()
    response = await api.client.post(
        f"{URL}/{created['id']}/status",
        headers=api.auth(),
        json={"status": "resolved", "cause": "ok"},
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["fields"] == [{"field": "cause", "message": "debe tener al menos 3 caracteres"}]
    assert error["message"] == "El campo «cause» no es válido: debe tener al menos 3 caracteres."
