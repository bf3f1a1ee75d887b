"""The responder lines of the directory through the API: each with its last check and
whether it is failing (``GET /api/v1/lines``), one line's history of checks, and checks
asked for by a supervisor (``POST /api/v1/lines/checks``), placed by the voice adapter."""

from typing import Any

from aiohttp import web

from routing.linechecks import Check, Line, LineStatus
from voicebridge.api.auth import require
from voicebridge.api.errors import Problems, error, invalid
from voicebridge.api.schemas import ChecksIn, dumps, read_body, single, time_json
from voicebridge.apikeys import Role
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

LINE = r"{line:[a-z0-9][a-z0-9-]{0,59}/[a-z0-9][a-z0-9-]{0,59}}"
HISTORY = 50


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def check_json(c: Check) -> dict[str, Any]:
    return {
        "id": c.id,
        "ref": c.ref,
        "line": c.line,
        "state": c.state.value,
        "result": c.result.value if c.result else None,
        "result_label": c.result.label if c.result else "en curso",
        "cause": c.cause,
        "scheduled": c.scheduled,
        "actor": c.actor,
        "raised": c.raised,
        "created_at": time_json(c.created_at),
        "ended_at": time_json(c.ended_at),
    }


def line_json(line: Line) -> dict[str, Any]:
    target = line.planned.target
    return {
        "line": line.id,
        "label": line.label,
        "number": target.address,
        "agency": line.agency,
        "agency_name": line.agency_name,
        "station": line.planned.station,
        "station_name": line.planned.station_name,
    }


def status_json(s: LineStatus) -> dict[str, Any]:
    return line_json(s.line) | {
        "last": check_json(s.last) if s.last else None,
        "last_verdict": check_json(s.last_verdict) if s.last_verdict else None,
        "failures_in_a_row": s.failures,
        "failing": s.failing,
    }


@routes.get("/api/v1/lines")
async def lines(request: web.Request) -> web.Response:
    """Every phone line of the directory with its last result; ``?agency=pnp`` one
    agency's, ``?failing=true`` only those whose last two checks failed."""
    require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    problems = Problems()
    agency = single(request.query, "agency", problems)
    failing = single(request.query, "failing", problems)
    if failing not in (None, "true", "false"):
        problems.add("failing", "debe ser true o false")
    problems.check()
    checks = runtime.linechecks
    blocking = request.app[BLOCKING]
    if agency is not None:
        config, _ = await blocking(runtime.rules.current)
        if agency not in config.agencies:
            raise invalid("agency", "no hay en el directorio una entidad con este código")
    found = await blocking(checks.lines, agency=agency)
    statuses = await blocking(checks.status, found)
    if failing is not None:
        statuses = [s for s in statuses if s.failing == (failing == "true")]
    return _json(
        {
            "items": [status_json(s) for s in statuses],
            "failing": sum(1 for s in statuses if s.failing),
        }
    )


@routes.get(f"/api/v1/lines/{LINE}")
async def line(request: web.Request) -> web.Response:
    """One line, its status and its last checks (the newest first)."""
    require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    line_id = request.match_info["line"]
    found = await blocking(runtime.linechecks.lines, line=line_id)
    if not found:
        raise error("not_found", f"No hay en el directorio una línea telefónica «{line_id}».")
    (status,) = await blocking(runtime.linechecks.status, found)
    history = await blocking(runtime.linechecks.history, line_id, HISTORY)
    return _json(status_json(status) | {"checks": [check_json(c) for c in history]})


@routes.post("/api/v1/lines/checks")
async def request_checks(request: web.Request) -> web.Response:
    """Check lines now: each gets a check (or the one in flight already), or is told
    why it is not called (part of a live incident, its rate limits, out of hours)."""
    identity = require(request, Role.SUPERVISOR)
    body = await read_body(request, ChecksIn)
    runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    found = await blocking(runtime.linechecks.lines, agency=body.agency, line=body.line)
    if not found:
        field = "line" if body.line else "agency"
        raise invalid(field, "no hay en el directorio líneas telefónicas que correspondan")
    requested = await blocking(runtime.linechecks.request, found, actor=identity.actor)
    await blocking(runtime.wakeup.notify)
    return _json(
        {
            "items": [
                line_json(r.line) | {"check": check_json(r.check), "new": r.new} for r in requested
            ]
        },
        status=202,
    )
