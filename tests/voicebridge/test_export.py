"""Incidents in standard forms (issue 15, point 6): NENA EIDO JSON for one incident and
streamed in bulk (NDJSON, CSV, Parquet), and OASIS CAP 1.2 alerts in Spanish.

The EIDOs are validated against a JSON Schema of what NENA-STA-021.1a-2022's schema
requires of the components voicebridge writes (each component's prologue and required
fields, the enumerations, the references). NENA publishes its OpenAPI document without a
licence, so it is not copied here: with ``VOICEBRIDGE_TEST_EIDO_SCHEMA`` naming the
``Schema`` directory of a checkout of NENA911/EIDO-JSON, the same EIDOs are validated
against NENA's own document too. The CAP alerts are validated against OASIS's XSD
(``data/cap``, with OASIS's notice)."""

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pyarrow.parquet as pq
import pytest
import xmlschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT4

from routing.categories import CATEGORIES
from routing.config import parse_config
from routing.models import (
    Location,
    NewIncident,
    NewReport,
    Reporter,
    Source,
    Status,
)
from tests.voicebridge.conftest import Api
from voicebridge import cap, eido
from voicebridge.api import export
from voicebridge.api.export import flat
from voicebridge.demo_year import YearPlan, generate
from voicebridge.rules import read_rules_file

CAP_XSD = Path(__file__).parent / "data" / "cap" / "CAP-v1.2.xsd"
T0 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)

REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
PROLOGUE = ["$id", "lastUpdateTimeStamp", "updatedByAgencyReference"]


def component(*required: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [*PROLOGUE, *required],
        "properties": {
            "$id": {"type": "string"},
            "lastUpdateTimeStamp": {"type": "string", "format": "date-time"},
            "updatedByAgencyReference": REF,
            **properties,
        },
    }


REFS = {"type": "array", "items": REF}
STRINGS = {"type": "array", "items": {"type": "string"}}
EIDO_REQUIRED = {
    **component(
        "eidoVersion",
        "issuingElementIdentification",
        "agencyComponent",
        eidoVersion={"enum": ["1.0"]},
        issuingElementIdentification={"type": "string"},
    ),
}
EIDO_REQUIRED["properties"] |= {
    "agencyComponent": {
        "type": "array",
        "minItems": 1,
        "items": component(
            "agencyRoleDescriptionRegistryText",
            "agencyType",
            agencyRoleDescriptionRegistryText=STRINGS,
            agencyType=STRINGS,
            incidentOwningAgencyIndicator={"type": "boolean"},
        ),
    },
    "incidentComponent": component(
        "incidentTypeCommonRegistryText",
        incidentTypeCommonRegistryText={"type": "string"},
        incidentStatusCommonRegistryText={
            "type": "array",
            "items": {
                "enum": [
                    "Active",
                    "Cancelled",
                    "Closed",
                    "FireUnderControl",
                    "NewLocation",
                    "ReOpened",
                    "ResourcesAssigned",
                    "ResourcesEnroute",
                    "ResourcesOnscene",
                    "StructureCleared",
                ]
            },
        },
        incidentCommonPriorityNumber={"type": "integer"},
        locationReference=REFS,
        notesReference=REFS,
    ),
    "callComponent": {
        "type": "array",
        "items": component(
            "callStateRegistryText",
            "standardPrimaryCallType",
            "direction",
            "callStartTimestamp",
            direction={"enum": ["incoming", "outgoing", "internal"]},
            callStartTimestamp={"type": "string", "format": "date-time"},
            answerDate={"type": "string", "format": "date-time"},
            agencyReference=REFS,
        ),
    },
    "dispatchComponent": {
        "type": "array",
        "items": component(agencyReference=REF, emergencyResourceReference=REFS),
    },
    "emergencyResourceComponent": {
        "type": "array",
        "items": component(
            "agentReference",
            "emergencyResourceTypeCommonRegistryText",
            "primaryUnitStatusRegistryText",
            "resourceAttributeRegistryText",
            "secondaryUnitStatusRegistryText",
            primaryUnitStatusRegistryText={
                "enum": ["Available", "ConditionallyAvailable", "NotAvailable"]
            },
            secondaryUnitStatusRegistryText=STRINGS,
            resourceAttributeRegistryText=STRINGS,
            agentReference=REFS,
        ),
    },
    "locationComponent": {
        "type": "array",
        "items": component("locationTypeDescriptionRegistryText"),
    },
    "notesComponent": {"type": "array", "items": component("notesActionComments")},
}


def nena_validator() -> jsonschema.protocols.Validator | None:
    """A validator of NENA's own OpenAPI document, when the test names a checkout."""
    where = os.environ.get("VOICEBRIDGE_TEST_EIDO_SCHEMA")
    if not where:
        return None
    root = Path(where)
    resources = []
    for path in [root / "openapi.yaml", *sorted((root / "NIEMComponents").glob("*.yaml"))]:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        uri = path.relative_to(root).as_posix()
        resources.append((uri, DRAFT4.create_resource(document)))
        resources.append((f"./{uri}", DRAFT4.create_resource(document)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = {"$ref": "openapi.yaml#/components/schemas/EmergencyIncidentDataObjectType"}
    return jsonschema.Draft4Validator(schema, registry=registry)


def check_eido(found: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(EIDO_REQUIRED).validate(found)
    # every reference names a component of the same object
    ids: set[str] = set()
    refs: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "$id" in value:
                ids.add(value["$id"])
            if set(value) == {"$ref"}:
                refs.append(value["$ref"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(found)
    assert set(refs) <= ids, set(refs) - ids
    nena = nena_validator()
    if nena is not None:
        nena.validate(found)


def as_dict(decoded: object) -> dict[str, Any]:
    assert isinstance(decoded, dict)
    return decoded


@pytest.fixture
def year(api: Api) -> None:
    plan = YearPlan(incidents=300, first_month="2026-10", months=1, seed=21)
    generate(api.runtime.store, plan, parse_config(*read_rules_file(None)))


def test_every_category_and_status_has_its_standard_value_with_a_reason() -> None:
    for category in CATEGORIES:
        assert eido.INCIDENT_TYPES[category.code].why
        assert cap.CATEGORIES[category.code][1]
    for status in Status:
        codes, why = eido.STATUSES[status]
        assert codes
        assert why


async def test_an_incident_as_eido(api: Api, year: None) -> None:
    runtime = api.runtime
    incident, _ = runtime.store.create_incident(
        NewIncident(
            category="fuga_gas",
            district="150122",
            report=NewReport(
                source=Source.PHONE,
                text="olor a gas en el edificio",
                reporter=Reporter(phone="+51987654321"),
                location=Location(lat=-12.1211, lon=-77.0297, address="Av. Larco 400"),
            ),
        ),
        actor="operator:ana",
    )
    response = await api.client.get(
        f"/api/v1/incidents/{incident.id}/eido", headers=api.auth("operator")
    )
    assert response.status == 200
    found = await response.json()
    check_eido(found)
    assert found["incidentComponent"]["incidentTypeCommonRegistryText"] == "GASLEAK"
    assert found["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Active"]
    assert found["locationComponent"][0]["locationTypeDescriptionRegistryText"] == "geodetic"
    assert "-12.1211 -77.0297" in found["locationComponent"][0]["locationByValue"]
    # an operator of another district's central does not see it
    other = await api.client.get(f"/api/v1/incidents/{incident.id}/eido", headers=api.auth("sjl"))
    assert other.status == 403
    # a generated incident, dispatched, acknowledged and resolved
    details, _ = runtime.store.created_between(
        *(runtime.clock.now().replace(year=2026, month=10, day=1, hour=5),
          runtime.clock.now().replace(year=2026, month=11, day=1, hour=5)),
        limit=50,
    )  # fmt: skip
    config, _ = runtime.rules.current()
    resolved = next(d for d in details if d.incident.status is Status.RESOLVED)
    done = eido.eido(resolved, config, issuer="cicsc.example.pe")
    check_eido(done)
    assert done["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Closed"]
    assert done["dispatchComponent"]
    units = done["emergencyResourceComponent"]
    assert all(u["secondaryUnitStatusRegistryText"][0] == "Dispatched" for u in units)
    assert any("AcknowledgedTransmission" in u["secondaryUnitStatusRegistryText"] for u in units)


async def test_the_bulk_export_streams_ndjson_csv_and_parquet(api: Api, year: None) -> None:
    url = "/api/v1/exports/incidents"
    params = {"from": "2026-10-01", "to": "2026-10-31"}
    response = await api.client.get(url, params=params, headers=api.auth("supervisor"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers.get("Transfer-Encoding") == "chunked"
    lines = (await response.read()).decode().splitlines()
    assert len(lines) == 300
    for line in lines[:40]:
        check_eido(json.loads(line))

    response = await api.client.get(url, params={**params, "format": "csv"},
                                    headers=api.auth("supervisor"))  # fmt: skip
    rows = list(csv.DictReader(io.StringIO((await response.read()).decode())))
    assert len(rows) == 300
    assert rows[0]["incident"].startswith("LIM-2026-")
    assert {r["apco_type"] for r in rows} <= {m.code for m in eido.INCIDENT_TYPES.values()}

    response = await api.client.get(url, params={**params, "format": "parquet"},
                                    headers=api.auth("supervisor"))  # fmt: skip
    table = pq.read_table(io.BytesIO(await response.read()))
    assert table.num_rows == 300
    assert table.column("incident").to_pylist() == [r["incident"] for r in rows]
    response_s = [float(r["response_s"]) if r["response_s"] else None for r in rows]
    assert table.column("response_s").to_pylist() == pytest.approx(response_s)


async def test_an_export_that_fails_midway_is_seen_broken_not_short(
    api: Api, year: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PAGE", 100)
    calls = 0

    def failing(detail: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 150:
            raise RuntimeError("the database went away")
        return flat(detail)

    monkeypatch.setattr(export, "flat", failing)
    response = await api.client.get(
        "/api/v1/exports/incidents",
        params={"from": "2026-10-01", "to": "2026-10-31", "format": "csv"},
        headers=api.auth("supervisor"),
    )
    assert response.status == 200  # sent before the failure
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-10-31"}, "from"),
        ({"from": "2026-10-01", "to": "9999-12-31"}, "to"),
        ({"from": "2026-10-01", "to": "ayer"}, "to"),
        ({"from": "2026-10-01", "to": "2026-09-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-10-01"}, "to"),
        ({"from": "2026-10-01", "to": "2026-10-31", "format": "xlsx"}, "format"),
    ],
)
async def test_a_bad_export_is_a_422_naming_the_field(
    api: Api, params: dict[str, str], field: str
) -> None:
    response = await api.client.get(
        "/api/v1/exports/incidents", params=params, headers=api.auth("supervisor")
    )
    assert response.status == 422
    body = await response.json()
    assert field in [f["field"] for f in body["error"]["fields"]]


async def test_only_supervisors_export_in_bulk(api: Api) -> None:
    response = await api.client.get(
        "/api/v1/exports/incidents",
        params={"from": "2026-10-01", "to": "2026-10-31"},
        headers=api.auth("operator"),
    )
    assert response.status == 403


async def test_an_incident_as_a_cap_alert_in_spanish(api: Api) -> None:
    runtime = api.runtime
    incident, _ = runtime.store.create_incident(
        NewIncident(
            category="incendio",
            district="150132",
            report=NewReport(source=Source.SMS, text="se quema una casa",
                             location=Location(lat=-11.98, lon=-77.0, address="Jr. Los Pinos 12")),
        ),
        actor="citizen:sms",
    )  # fmt: skip
    schema = xmlschema.XMLSchema(str(CAP_XSD))
    response = await api.client.get(f"/api/v1/incidents/{incident.id}/cap", headers=api.auth())
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/cap+xml; charset=utf-8"
    body = await response.read()
    schema.validate(body.decode())
    alert = as_dict(schema.to_dict(body.decode()))
    info = alert["info"][0]
    assert (alert["msgType"], alert["scope"], info["language"]) == ("Alert", "Restricted", "es-PE")
    assert info["category"] == ["Fire"]
    assert info["headline"] == "Incendio en San Juan de Lurigancho"
    assert info["area"][0]["geocode"][0] == {"valueName": "UBIGEO", "value": "150132"}
    assert alert["sent"].endswith("-05:00")

    runtime.store.transition(
        incident.id, Status.CANCELLED, actor="operator:ana", cause="falsa alarma"
    )
    response = await api.client.get(
        f"/api/v1/incidents/{incident.id}/cap?scope=Public", headers=api.auth()
    )
    body = await response.read()
    schema.validate(body.decode())
    alert = as_dict(schema.to_dict(body.decode()))
    assert (alert["msgType"], alert["scope"]) == ("Cancel", "Public")
    issuer = eido.issuer_of(runtime.settings.public_url)
    assert alert["references"].startswith(f"cap@{issuer},{incident.id}-1,")
    assert alert["info"][0]["headline"].startswith("Anulado: ")
    bad = await api.client.get(
        f"/api/v1/incidents/{incident.id}/cap?scope=Private", headers=api.auth()
    )
    assert bad.status == 422
