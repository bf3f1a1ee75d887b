"""``/api/v1/incidents``: intake by district operators, listing, the incident's file with
its timeline, and the status changes people make by hand."""

import base64
import binascii
import re
from datetime import datetime, time
from typing import Any

from aiohttp import web

from routing.categories import find_category
from routing.districts import resolve_district
from routing.errors import InvalidValue
from routing.ids import LIMA, is_incident_id
from routing.models import (
    IncidentQuery,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from routing.resolve import describe, resolve
from routing.store import MAX_PAGE, IncidentStore, Intake
from voicebridge.api.auth import require, require_district
from voicebridge.api.errors import ApiError, invalid
from voicebridge.api.schemas import (
    IncidentIn,
    MergeIn,
    ReportIn,
    StatusIn,
    detail_json,
    dumps,
    incident_json,
    read_body,
    report_json,
)
from voicebridge.apikeys import Identity, Role
from voicebridge.web import BLOCKING, INTAKE, METRICS, RUNTIME

routes = web.RouteTableDef()

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def _incident_id(request: web.Request) -> str:
    incident_id = request.match_info["incident_id"]
    if not is_incident_id(incident_id):
        raise ApiError(404, "not_found", f"{incident_id!r} is not an incident id")
    return incident_id


def _district(value: str | None, field: str = "district") -> str | None:
    if value is None:
        return None
    try:
        return resolve_district(value).ubigeo
    except InvalidValue as exc:
        raise invalid(field, exc.message) from None


@routes.post("/api/v1/incidents")
async def create_incident(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    body = await read_body(request, IncidentIn)
    where = resolve(
        request.app[RUNTIME].outlines,
        given=_district(body.district),
        lat=body.location.lat,
        lon=body.location.lon,
        texts=(body.location.address, body.location.reference, body.description),
        central=identity.district,
    )
    if where.outside is not None:
        raise invalid(
            "location",
            f"the point is {describe(where.outside)}: this centre covers "
            "the 43 districts of Lima Metropolitana",
        )
    if not identity.sees_district(where.district):
        raise ApiError(
            403,
            "district_forbidden",
            f"{where.detail} This key belongs to the central of district {identity.district}.",
        )
    external_id = None
    if (key := request.headers.get("Idempotency-Key")) is not None:
        if not _IDEMPOTENCY_KEY.match(key):
            raise invalid("Idempotency-Key", "8 to 100 characters of [A-Za-z0-9_.:-]")
        external_id = f"{identity.key_id}:{key}"
    new = NewIncident(
        category=body.category,
        district=where.district,
        district_source=where.source.value if where.source else None,
        district_note=where.detail,
        priority=body.priority,
        summary=body.description,
        report=NewReport(
            source=Source(body.source),
            text=body.description,
            reporter=body.reporter.domain(),
            location=body.location.domain(),
            external_id=external_id,
        ),
    )
    incident, created = await request.app[INTAKE].create(Intake(new=new, actor=identity.actor))
    headers = {"Location": f"/api/v1/incidents/{incident.id}"}
    if created:
        metric = request.app[METRICS].incidents_created
        metric.labels(incident.source.value, incident.category).inc()
    else:
        headers["Idempotent-Replayed"] = "true"
    return _json(incident_json(incident), status=201 if created else 200, headers=headers)


@routes.get("/api/v1/incidents")
async def list_incidents(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    q = request.query
    districts = tuple(d for v in _values(q, "district") if (d := _district(v)) is not None)
    if identity.district is not None:
        for d in districts:
            require_district(identity, d)
        districts = (identity.district,)
    statuses: list[Status] = []
    for v in _values(q, "status"):
        try:
            statuses.append(Status(v))
        except ValueError:
            raise invalid(
                "status", f"{v!r}; use one of: {', '.join(s.value for s in Status)}"
            ) from None
    query = IncidentQuery(
        districts=districts,
        statuses=tuple(statuses),
        categories=tuple(_category(v) for v in _values(q, "category")),
        since=_when(q.get("since"), "since"),
        until=_when(q.get("until"), "until"),
        limit=_limit(q.get("limit")),
        after=_cursor(q.get("cursor")),
    )
    page = await request.app[BLOCKING](request.app[RUNTIME].store.search, query)
    return _json(
        {
            "items": [incident_json(i) for i in page.items],
            "next_cursor": None if page.next_after is None else _encode_cursor(page.next_after),
        }
    )


@routes.get("/api/v1/incidents/{incident_id}")
async def get_incident(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    detail = await request.app[BLOCKING](request.app[RUNTIME].store.detail, _incident_id(request))
    require_district(identity, detail.incident.district)
    return _json(detail_json(detail))


@routes.post("/api/v1/incidents/{incident_id}/reports")
async def add_report(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = _incident_id(request)
    body = await read_body(request, ReportIn)
    store = await _visible(request, identity, incident_id)
    report, created = await request.app[BLOCKING](
        store.add_report,
        incident_id,
        NewReport(
            source=Source(body.source),
            text=body.description,
            reporter=body.reporter.domain(),
            location=body.location.domain(),
        ),
        actor=identity.actor,
    )
    return _json(report_json(report), status=201 if created else 200)


@routes.post("/api/v1/incidents/{incident_id}/status")
async def change_status(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = _incident_id(request)
    body = await read_body(request, StatusIn)
    store = await _visible(request, identity, incident_id)
    incident, _ = await request.app[BLOCKING](
        store.transition, incident_id, Status(body.status), actor=identity.actor, cause=body.cause
    )
    return _json(incident_json(incident))


@routes.post("/api/v1/incidents/{incident_id}/merge")
async def merge(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = _incident_id(request)
    body = await read_body(request, MergeIn)
    if not is_incident_id(body.into):
        raise invalid("into", f"{body.into!r} is not an incident id")
    store = await _visible(request, identity, incident_id, body.into)
    incident = await request.app[BLOCKING](
        store.merge, incident_id, body.into, actor=identity.actor, cause=body.cause
    )
    return _json(incident_json(incident))


# ------------------------------------------------------------------ helpers


async def _visible(request: web.Request, identity: Identity, *incident_ids: str) -> IncidentStore:
    """The store, once the incidents exist (404) and are in the key's district (403)."""
    store = request.app[RUNTIME].store
    for incident_id in incident_ids:
        incident = await request.app[BLOCKING](store.get, incident_id)
        require_district(identity, incident.district)
    return store


def _values(query: Any, name: str) -> list[str]:
    return [v for raw in query.getall(name, []) for v in raw.split(",") if v.strip()]


def _category(value: str) -> str:
    found = find_category(value)
    if found is None:
        raise invalid("category", f"{value!r} is not a category")
    return found.code


def _when(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with its offset, or a date (midnight in Lima)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(field, "an ISO 8601 date or time, e.g. 2026-11-25T08:00:00-05:00") from None
    if len(value) == 10:
        return datetime.combine(parsed.date(), time(0), tzinfo=LIMA)
    if parsed.tzinfo is None:
        raise invalid(field, "give the UTC offset, e.g. 2026-11-25T08:00:00-05:00")
    return parsed


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise invalid("limit", f"an integer from 1 to {MAX_PAGE}")
    return int(value)


def _encode_cursor(after: tuple[datetime, int]) -> str:
    raw = f"{after[0].isoformat()}|{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if value is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        when, _, row = raw.partition("|")
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed, int(row)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", "not a cursor this API returned") from None
