"""Routing through the API: the route of an incident (why these agencies, why these
targets), dispatch, the revisions of the rules and their reload, and where a point is."""

import re
from typing import Any

from aiohttp import web

from routing.config import ConfigError
from routing.decide import AgencyPlan, plan_to_json
from routing.models import Revision
from routing.resolve import describe
from voicebridge.api.auth import require, require_district
from voicebridge.api.errors import Problems, error
from voicebridge.api.schemas import dumps, incident_id_of, incident_json, single, time_json
from voicebridge.apikeys import Role
from voicebridge.dispatch import Explanation
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

_DEGREES = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{1,15})?")


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def _plan(plan: AgencyPlan) -> dict[str, Any]:
    return plan_to_json(plan) | {"kind_label": plan.kind.label}


def explanation_json(e: Explanation) -> dict[str, Any]:
    d = e.decision
    return {
        "incident": incident_json(e.incident),
        "frozen": e.frozen,
        "revision": e.revision,
        "decided_at": time_json(e.decided_at),
        "decided_by": e.decided_by,
        "rule": d.rule,
        "rule_line": d.rule_line,
        "reasons": list(d.reasons),
        "agencies": [_plan(p) for p in d.plans],
    }


def _revision(r: Revision, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "created_at": time_json(r.created_at),
        "actor": r.actor,
        "source": r.source,
        "digest": r.digest,
    }
    if full:
        out |= {"content": r.content, "diff": r.diff}
    return out


@routes.get("/api/v1/incidents/{incident_id}/route")
async def route(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    explanation = await request.app[BLOCKING](runtime.dispatcher.explain, incident_id_of(request))
    require_district(identity, explanation.incident.district)
    return _json(explanation_json(explanation))


@routes.post("/api/v1/incidents/{incident_id}/dispatch")
async def dispatch(request: web.Request) -> web.Response:
    identity = require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    incident_id = incident_id_of(request)
    incident = await request.app[BLOCKING](runtime.store.get, incident_id)
    require_district(identity, incident.district)
    explanation = await request.app[BLOCKING](
        runtime.dispatcher.dispatch, incident_id, actor=identity.actor
    )
    return _json(explanation_json(explanation))


@routes.get("/api/v1/routing/revisions")
async def revisions(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    history = await request.app[BLOCKING](request.app[RUNTIME].rules.revisions.history)
    return _json({"items": [_revision(r) for r in history]})


@routes.get("/api/v1/routing/revisions/{revision_id:[0-9]{1,18}}")
async def revision(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    found = await request.app[BLOCKING](
        request.app[RUNTIME].rules.revisions.get, int(request.match_info["revision_id"])
    )
    return _json(_revision(found, full=True))


@routes.post("/api/v1/routing/reload")
async def reload(request: web.Request) -> web.Response:
    """Read the routing file again; if it is valid and changed, it is in force."""
    identity = require(request, Role.ADMIN)
    try:
        revision, changed = await request.app[BLOCKING](
            request.app[RUNTIME].rules.load_file, actor=identity.actor
        )
    except ConfigError as exc:
        fields = [(p.where(exc.source), p.message) for p in exc.problems]
        raise error(
            "invalid_routing",
            f"{_n(len(fields), 'problema', 'problemas')} en {exc.source}; "
            "las reglas vigentes no cambiaron",
            fields=fields,
        ) from None
    return _json({"revision": _revision(revision), "changed": changed})


@routes.get("/api/v1/districts/locate")
async def locate(request: web.Request) -> web.Response:
    require(request, Role.OPERATOR)
    values = {}
    problems = Problems()
    for name, low, high, example in (
        ("lat", -90.0, 90.0, "-12.0464"),
        ("lon", -180.0, 180.0, "-77.0428"),
    ):
        raw = single(request.query, name, problems)
        if raw is None:
            if name in request.query:
                continue  # given twice: told by single()
            problems.add(name, "falta este parámetro: un número en grados (WGS84)")
        elif not _DEGREES.fullmatch(raw):
            problems.add(name, f"debe ser un número en grados (WGS84), como {example}")
        elif not low <= (value := float(raw)) <= high:
            problems.add(name, f"debe estar entre {low:g} y {high:g}")
        else:
            values[name] = value
    problems.check()
    place = request.app[RUNTIME].outlines.locate(values["lat"], values["lon"])
    return _json(
        {
            "in_lima": place.in_lima,
            "ubigeo": place.ubigeo,
            "name": place.name,
            "province": place.province,
            "description": describe(place),
        }
    )
