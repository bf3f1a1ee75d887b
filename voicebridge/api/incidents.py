"""``/api/v1/incidents``: intake by district operators, listing, the incident's file with
its timeline, and the status changes people make by hand."""

import base64
import binascii
import dataclasses
import hashlib
import re
from datetime import UTC, datetime, time
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from routing.categories import find_category
from routing.errors import Conflict, RoutingError
from routing.geo import where_phrase
from routing.ids import LIMA
from routing.models import (
    AssignmentState,
    IncidentQuery,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from routing.resolve import resolve
from routing.store import MAX_PAGE, IncidentStore, Intake
from voicebridge.api.auth import central_name, require, require_district
from voicebridge.api.errors import ApiError, Problems, error, invalid
from voicebridge.api.schemas import (
    BulkIn,
    IncidentIn,
    MergeIn,
    ReportIn,
    SplitIn,
    StatusIn,
    detail_json,
    district_code,
    dumps,
    echo,
    incident_id_of,
    incident_json,
    read_body,
    report_id_of,
    report_json,
    single,
)
from voicebridge.apikeys import Identity, Role
from voicebridge.intake import same_request
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, INTAKE, METRICS, RUNTIME

routes = web.RouteTableDef()

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


@routes.post("/api/v1/incidents")
async def create_incident(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    problems = Problems()
    body: IncidentIn | None = None
    try:
        body = await read_body(request, IncidentIn)
    except ApiError as exc:
        problems.take(exc)
    external_id = None
    keys = request.headers.getall("Idempotency-Key", [])
    if len(keys) > 1:  # which request would it name? neither
        problems.add("Idempotency-Key", "esta cabecera va una sola vez")
    elif keys:
        key = keys[0]
        if not _IDEMPOTENCY_KEY.match(key):
            problems.add("Idempotency-Key", "de 8 a 100 caracteres de [A-Za-z0-9_.:-]")
        external_id = f"{identity.key_id}:{key}"
    problems.check()
    assert body is not None  # noqa: S101 - problems.check() raised otherwise
    where = resolve(
        request.app[RUNTIME].outlines,
        given=body.district,
        lat=body.location.lat,
        lon=body.location.lon,
        texts=(body.location.address, body.location.reference, body.description),
        central=identity.district,
    )
    if where.outside is not None:
        raise invalid(
            "location",
            f"el punto cae {where_phrase(where.outside)}; este centro atiende solo "
            "los 43 distritos de Lima Metropolitana",
        )
    if not identity.sees_district(where.district):
        raise error(
            "district_forbidden",
            f"{where.detail} Esta clave pertenece a la central de {central_name(identity)}.",
        )
    if external_id is not None:
        # the key names one request: the same body (once validated) is a retry, another
        # body is refused, never answered with the first incident
        request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        runtime = request.app[RUNTIME]
        if not await request.app[BLOCKING](
            same_request, runtime.db, external_id, request_hash, runtime.clock.now()
        ):
            raise error(
                "idempotency_key_reused",
                "Esta «Idempotency-Key» ya se usó con otro cuerpo; el incidente de entonces "
                "no cambió. Para un pedido distinto, use una clave nueva.",
            )
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
    query = incident_query(request.query)
    if identity.district is not None:
        for d in query.districts:
            require_district(identity, d)
        query = dataclasses.replace(query, districts=(identity.district,))
    page = await request.app[BLOCKING](request.app[RUNTIME].store.search, query)
    return _json(
        {
            "items": [incident_json(i) for i in page.items],
            "next_cursor": None if page.next_after is None else _encode_cursor(page.next_after),
        }
    )


def common_filters(
    q: MultiMapping[str], problems: Problems, allowed: tuple[Status, ...]
) -> tuple[list[str], list[Status], list[str]]:
    """The district, status (of ``allowed``) and category filters of a listing (the
    API's, the console's board), each bad value added to ``problems``."""
    districts: list[str] = []
    for v in _values(q, "district"):
        try:
            districts.append(district_code(v))
        except ValueError as exc:
            problems.add("district", f"«{echo(v)}»: {exc}")
    statuses: list[Status] = []
    for v in _values(q, "status"):
        status = Status(v) if v in Status.__members__.values() else None
        if status is None or status not in allowed:
            problems.add(
                "status", f"«{echo(v)}»: use uno de: {', '.join(s.value for s in allowed)}"
            )
        else:
            statuses.append(status)
    categories: list[str] = []
    for v in _values(q, "category"):
        if (found := find_category(v)) is None:
            problems.add("category", f"«{echo(v)}» no es una categoría")
        else:
            categories.append(found.code)
    return districts, statuses, categories


def incident_query(q: MultiMapping[str]) -> IncidentQuery:
    """The listing's filters, or one 422 naming every bad parameter."""
    problems = Problems()
    districts, statuses, categories = common_filters(q, problems, tuple(Status))
    values: dict[str, Any] = {}
    for name, parse in (
        ("since", _when),
        ("until", _when),
        ("limit", _limit),
        ("cursor", _cursor),
    ):
        raw = single(q, name, problems)
        if raw is None:
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            problems.add(name, str(exc))
    problems.check()
    return IncidentQuery(
        districts=tuple(districts),
        statuses=tuple(statuses),
        categories=tuple(categories),
        since=values.get("since"),
        until=values.get("until"),
        limit=values.get("limit", 50),
        after=values.get("cursor"),
    )


@routes.get("/api/v1/incidents/{incident_id}")
async def get_incident(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    detail = await request.app[BLOCKING](runtime.store.detail, incident_id_of(request))
    require_district(identity, detail.incident.district)
    names = await request.app[BLOCKING](runtime.rules.names)
    return _json(detail_json(detail, names))


@routes.post("/api/v1/incidents/{incident_id}/reports")
async def add_report(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = incident_id_of(request)
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
    incident_id = incident_id_of(request)
    body = await read_body(request, StatusIn)
    store = await _visible(request, identity, incident_id)
    incident, _ = await request.app[BLOCKING](
        store.transition, incident_id, Status(body.status), actor=identity.actor, cause=body.cause
    )
    return _json(incident_json(incident))


@routes.post("/api/v1/incidents/{incident_id}/merge")
async def merge(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = incident_id_of(request)
    body = await read_body(request, MergeIn)
    store = await _visible(request, identity, incident_id, body.into)
    incident = await request.app[BLOCKING](
        store.merge, incident_id, body.into, actor=identity.actor, cause=body.cause
    )
    return _json(incident_json(incident))


@routes.post("/api/v1/incidents/bulk")
async def bulk(request: web.Request) -> web.Response:
    """One action on many incidents (supervisor): each is done or refused on its own,
    in its own transaction, and the answer says which."""
    identity = require(request, Role.SUPERVISOR)
    body = await read_body(request, BulkIn)
    runtime = request.app[RUNTIME]
    results = []
    for incident_id in dict.fromkeys(body.incidents):
        try:
            await _visible(request, identity, incident_id)
            done = await request.app[BLOCKING](_bulk_one, runtime, body, incident_id,
                                               identity.actor)  # fmt: skip
            results.append({"id": incident_id, "ok": True, "detail": done})
        except (RoutingError, ApiError) as exc:
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            results.append({"id": incident_id, "ok": False, "detail": message})
    failed = sum(1 for r in results if not r["ok"])
    return _json({"done": len(results) - failed, "failed": failed, "results": results})


def _bulk_one(runtime: Runtime, body: BulkIn, incident_id: str, actor: str) -> str:
    """Do ``body.action`` on one incident (an I/O thread); what was done, in Spanish."""
    if body.action == "merge":
        assert body.into is not None  # noqa: S101 - BulkIn requires it
        runtime.store.merge(incident_id, body.into, actor=actor, cause=body.cause)
        return f"fusionado en {body.into}"
    if body.action == "acknowledge":
        pending = [
            a.agency
            for a in runtime.calls.dispatches.assignments(incident_id)
            if a.state is AssignmentState.PENDING
        ]
        if not pending:
            raise Conflict("no tiene entidades por confirmar")
        confirmed = []  # each agency's confirmation is its own transaction
        for agency in pending:
            try:
                if runtime.dispatcher.acknowledge(
                    incident_id, agency, actor=actor, cause=body.cause
                ):
                    confirmed.append(agency)
            except RoutingError as exc:
                done = f"; confirmadas antes: {', '.join(confirmed)}" if confirmed else ""
                raise Conflict(f"{agency}: {exc}{done}") from None
        if not confirmed:
            raise Conflict("otra persona confirmó sus entidades mientras tanto")
        return f"confirmadas por otro medio: {', '.join(confirmed)}"
    status = Status.RESOLVED if body.action == "resolve" else Status.CANCELLED
    runtime.store.transition(incident_id, status, actor=actor, cause=body.cause)
    return status.label


SPLIT_CAUSE = "un operador lo separó: era de otro hecho"


@routes.post("/api/v1/incidents/{incident_id}/reports/{report_id}/split")
async def split_report(request: web.Request) -> web.Response:
    """A report wrongly joined to this incident becomes an incident of its own."""
    identity = require(request, Role.OPERATOR)
    incident_id = incident_id_of(request)
    report_id = report_id_of(request)
    body = await read_body(request, SplitIn) if request.body_exists else SplitIn()
    store = await _visible(request, identity, incident_id)
    if body.district is not None:
        require_district(identity, body.district)
    incident = await request.app[BLOCKING](
        store.split_report,
        incident_id,
        report_id,
        actor=identity.actor,
        cause=body.cause or SPLIT_CAUSE,
        category=body.category,
        district=body.district,
    )
    metric = request.app[METRICS].incidents_created
    metric.labels(incident.source.value, incident.category).inc()
    headers = {"Location": f"/api/v1/incidents/{incident.id}"}
    return _json(incident_json(incident), status=201, headers=headers)


# ------------------------------------------------------------------ helpers


async def _visible(request: web.Request, identity: Identity, *incident_ids: str) -> IncidentStore:
    """The store, once the incidents exist (404) and are in the key's district (403)."""
    store = request.app[RUNTIME].store
    for incident_id in incident_ids:
        incident = await request.app[BLOCKING](store.get, incident_id)
        require_district(identity, incident.district)
    return store


def _values(query: MultiMapping[str], name: str) -> list[str]:
    return [v for raw in query.getall(name, []) for v in raw.split(",") if v.strip()]


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHEN_EXAMPLE = "p. ej. 2026-11-25T08:00:00-05:00 o 2026-11-25"


def _when(value: str) -> datetime:
    """An ISO 8601 time with its offset, or a date (midnight in Lima). A time past either
    end of the calendar once in UTC is taken as that end."""
    if not value.isascii():
        raise ValueError(f"debe ser una fecha u hora ISO 8601, {_WHEN_EXAMPLE}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        if " " in value and _is_iso(value.replace(" ", "+")):
            raise ValueError(
                "el + del desfase horario llegó como un espacio: en una URL escríbalo %2B, "
                "p. ej. 2026-11-25T08:00:00%2B05:00"
            ) from None
        raise ValueError(f"debe ser una fecha u hora ISO 8601, {_WHEN_EXAMPLE}") from None
    if _DATE.fullmatch(value):
        parsed = datetime.combine(parsed.date(), time(0), tzinfo=LIMA)
    elif parsed.tzinfo is None:
        raise ValueError("indique el desfase horario, p. ej. 2026-11-25T08:00:00-05:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00, 9999-12-31T23:59-14:00
        return datetime.min.replace(tzinfo=UTC) if parsed.year == 1 else _LAST


_LAST = datetime.max.replace(tzinfo=UTC)


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _limit(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= MAX_PAGE:
        raise ValueError(f"debe ser un número entero de 1 a {MAX_PAGE}")
    return int(value)


def _encode_cursor(after: tuple[datetime, int]) -> str:
    raw = f"{after[0].isoformat()}|{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR = re.compile(r"([0-9T:.+-]{10,40})\|([0-9]{1,18})")


def _cursor(value: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        match = _CURSOR.fullmatch(raw)
        if match is None:
            raise ValueError
        parsed = datetime.fromisoformat(match[1])
        if parsed.tzinfo is None:
            raise ValueError
        return parsed.astimezone(UTC), int(match[2])
    except (ValueError, OverflowError, binascii.Error):
        raise ValueError("no es un cursor que esta API haya dado (next_cursor)") from None
