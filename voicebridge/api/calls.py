"""The calls of an incident through the API: each agency's escalation and its tries, the
legs of the conference room, lines added and dropped by the operator, acknowledgements
made by hand by a supervisor. Everything lands in the incident's timeline."""

from typing import Any

from aiohttp import web

from routing.decide import PlannedTarget
from routing.directory import find_target, phone_target
from routing.errors import Conflict
from routing.models import Assignment, ContactRole, IncidentDetail
from voicebridge.api.auth import require, require_district
from voicebridge.api.errors import invalid
from voicebridge.api.schemas import (
    AckIn,
    LegIn,
    ack_json,
    attempt_json,
    channel_id_of,
    dumps,
    incident_id_of,
    incident_json,
    leg_json,
    national_digits,
    read_body,
)
from voicebridge.apikeys import Identity, Role
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def calls_json(detail: IncidentDetail, assignments: list[Assignment]) -> dict[str, Any]:
    acks = {a.agency: a for a in detail.acks}
    return {
        "incident": incident_json(detail.incident),
        "agencies": [
            {
                "agency": a.agency,
                "agency_name": a.plan.get("agency_name", a.agency),
                "priority": a.priority,
                "state": a.state.value,
                "state_label": a.state.label,
                "acknowledged": ack_json(acks[a.agency]) if a.agency in acks else None,
                "tries": [attempt_json(t) for t in detail.attempts if t.agency == a.agency],
            }
            for a in assignments
        ],
        "legs": [leg_json(leg) for leg in detail.contacts],
    }


async def _incident(request: web.Request, identity: Identity) -> str:
    incident_id = incident_id_of(request)
    incident = await request.app[BLOCKING](request.app[RUNTIME].store.get, incident_id)
    require_district(identity, incident.district)
    return incident_id


async def _calls(request: web.Request, incident_id: str) -> dict[str, Any]:
    runtime = request.app[RUNTIME]
    detail = await request.app[BLOCKING](runtime.store.detail, incident_id)
    assignments = await request.app[BLOCKING](runtime.calls.dispatches.assignments, incident_id)
    return calls_json(detail, assignments)


@routes.get("/api/v1/incidents/{incident_id}/calls")
async def calls(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = await _incident(request, identity)
    return _json(await _calls(request, incident_id))


def _target(
    request: web.Request, incident_id: str, body: LegIn
) -> tuple[PlannedTarget, ContactRole]:
    """What the body names, as a line to call (runs in an I/O thread)."""
    runtime = request.app[RUNTIME]
    if body.operator:
        frozen = runtime.calls.dispatches.decision(incident_id)
        if frozen is None or frozen[0].operator is None:
            raise Conflict(f"{incident_id} no tiene línea de operador distrital a la cual llamar")
        return frozen[0].operator, ContactRole.OPERATOR
    config, _ = runtime.rules.current()
    if body.target is not None:
        found = find_target(config, body.target)
        if found is None:
            raise invalid(
                "target", "no hay en el directorio una línea ni un grupo de radio con este id"
            )
        return found, ContactRole.GUEST
    assert body.number is not None  # noqa: S101 - LegIn requires one of the three
    digits = national_digits(body.number)  # in Peru, no extension: LegIn checked
    return phone_target(config, digits, body.label or body.number), ContactRole.GUEST


@routes.post("/api/v1/incidents/{incident_id}/legs")
async def add_leg(request: web.Request) -> web.Response:
    """Call a line into the room: ``{"target": "pnp-miraflores/1"}`` (the directory),
    ``{"number": "+51 987 654 321", "label": "..."}`` or ``{"operator": true}`` (the
    district operator's line again)."""
    identity = require(request, Role.OPERATOR)
    incident_id = await _incident(request, identity)
    body = await read_body(request, LegIn)
    blocking = request.app[BLOCKING]
    target, role = await blocking(_target, request, incident_id, body)
    leg = await blocking(
        request.app[RUNTIME].dispatcher.add_leg,
        incident_id,
        target,
        actor=identity.actor,
        role=role,
    )
    return _json(leg_json(leg), status=201)


@routes.delete("/api/v1/incidents/{incident_id}/legs/{channel_id}")
async def drop_leg(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    incident_id = await _incident(request, identity)
    leg = await request.app[BLOCKING](
        request.app[RUNTIME].dispatcher.drop_leg,
        incident_id,
        channel_id_of(request),
        actor=identity.actor,
    )
    return _json(leg_json(leg))


@routes.post("/api/v1/incidents/{incident_id}/acks")
async def acknowledge(request: web.Request) -> web.Response:
    """A supervisor records that an agency took the incident (reached by radio, in
    person...): its escalation stops and its calls in flight are hung up."""
    identity = require(request, Role.SUPERVISOR)
    incident_id = await _incident(request, identity)
    config, _ = await request.app[BLOCKING](request.app[RUNTIME].rules.current)
    body = await read_body(request, AckIn, {"agencies": frozenset(config.agencies)})
    recorded = await request.app[BLOCKING](
        request.app[RUNTIME].dispatcher.acknowledge,
        incident_id,
        body.agency,
        actor=identity.actor,
        cause=body.cause,
    )
    # 200 when the agency had acknowledged already (a second click changes nothing)
    return _json(await _calls(request, incident_id), status=201 if recorded else 200)
