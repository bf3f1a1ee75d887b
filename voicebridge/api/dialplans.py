"""The dialplan administration through the API (admin role): the templates and the
revision of each in force, their revisions, the diff between any two, a new revision
(validated; refused with each problem's template and line, or with the diff of what
another admin saved meanwhile), and the audit log."""

from dataclasses import replace
from typing import Any

from aiohttp import web

from dialplans.render import CitizenLine
from dialplans.templateset import EDITABLE
from dialplans.validate import LIVE, validate
from routing.errors import NotFound
from voicebridge.api.auth import require
from voicebridge.api.errors import Problems, error
from voicebridge.api.schemas import (
    DialplanIn,
    DialplanPreviewIn,
    dumps,
    read_body,
    single,
    time_json,
)
from voicebridge.apikeys import Role
from voicebridge.dialplan_admin import (
    MAX_REVISION,
    AuditEntry,
    Conflict,
    DialplanRevision,
    Refused,
    checker,
)
from voicebridge.dialplan_push import (
    NoAsterisk,
    Outcome,
    PushBusy,
    PushError,
    connected_pusher,
)
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

_TEMPLATE = "{template:(" + "|".join(EDITABLE) + ")}"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def revision_json(
    r: DialplanRevision, *, full: bool = False, in_force: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "template": r.template,
        "created_at": time_json(r.created_at),
        "author": r.author,
        "comment": r.comment,
        "base": r.base_id,
        "digest": r.digest,
        "in_force": in_force,
    }
    if full:
        out |= {"content": r.content, "diff": r.diff}
    return out


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": time_json(e.at),
        "actor": e.actor,
        "action": e.action,
        "revision": e.revision_id,
        "ok": e.ok,
        "detail": e.detail,
    }


def _id(request: web.Request, name: str, problems: Problems) -> int:
    """The revision number of the query parameter ``name`` (0 with a problem)."""
    text = single(request.query, name, problems)
    if text is None:
        if name not in request.query:  # (given twice: single() said so)
            problems.add(name, "falta este parámetro: el número de una revisión")
        return 0
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_REVISION:
        problems.add(name, "debe ser el número de una revisión")
        return 0
    return int(text)


@routes.get("/api/v1/dialplans")
async def templates(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    store = request.app[RUNTIME].dialplans
    await request.app[BLOCKING](store.seed)
    in_force = await request.app[BLOCKING](store.in_force)
    latest = await request.app[BLOCKING](store.latest_of_each)
    return _json(
        {
            "items": [
                {
                    "template": name,
                    "in_force": revision_json(in_force[name], in_force=True),
                    "latest": revision_json(
                        latest[name], in_force=latest[name].id == in_force[name].id
                    ),
                }
                for name in EDITABLE
            ]
        }
    )


@routes.get("/api/v1/dialplans/revisions")
async def revisions(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    problems = Problems()
    template = single(request.query, "template", problems)
    if template is not None and template not in EDITABLE:
        problems.add("template", f"debe ser una de: {', '.join(EDITABLE)}")
    problems.check()
    store = request.app[RUNTIME].dialplans
    await request.app[BLOCKING](store.seed)
    found = await request.app[BLOCKING](store.revisions, template)
    pointers = set((await request.app[BLOCKING](store.pointers)).values())
    return _json({"items": [revision_json(r, in_force=r.id in pointers) for r in found]})


@routes.get("/api/v1/dialplans/revisions/{revision_id:[0-9]{1,18}}")
async def revision(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    number = int(request.match_info["revision_id"])
    if number > MAX_REVISION:
        raise NotFound(f"no existe la revisión {number} de los planes de marcación")
    store = request.app[RUNTIME].dialplans
    found = await request.app[BLOCKING](store.get, number)
    pointers = set((await request.app[BLOCKING](store.pointers)).values())
    return _json(revision_json(found, full=True, in_force=found.id in pointers))


@routes.get("/api/v1/dialplans/diff")
async def diff(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    problems = Problems()
    a, b = _id(request, "from", problems), _id(request, "to", problems)
    problems.check()
    text = await request.app[BLOCKING](request.app[RUNTIME].dialplans.diff, a, b)
    return _json({"from": a, "to": b, "diff": text})


@routes.post(f"/api/v1/dialplans/{_TEMPLATE}/revisions")
async def propose(request: web.Request) -> web.Response:
    """Validate and save a new revision; nothing changes in Asterisk (a trial and a
    switch do)."""
    identity = require(request, Role.ADMIN)
    body = await read_body(request, DialplanIn)
    template = request.match_info["template"]
    runtime = request.app[RUNTIME]
    config, _ = await request.app[BLOCKING](runtime.rules.current)
    check = checker(
        CitizenLine.from_routing(config.citizen_lines()),
        room_prefix=runtime.settings.incident_prefix,
    )
    await request.app[BLOCKING](runtime.dialplans.seed)
    try:
        found, created = await request.app[BLOCKING](
            lambda: runtime.dialplans.propose(
                template,
                body.content,
                base=body.base,
                comment=body.comment,
                author=identity.actor,
                check=check,
            )
        )
    except Conflict as exc:
        raise error(
            "dialplan_conflict",
            f"{exc.latest.author} guardó la revisión {exc.latest.id} de {template} después de "
            f"la {exc.base} en que se basó su propuesta: revise qué cambió y vuelva a proponer.",
            extra={"diff": exc.diff, "latest": exc.latest.id},
        ) from None
    except Refused as exc:
        raise error(
            "invalid_dialplan",
            f"{len(exc.problems)} problema(s) en la propuesta de {template}; no se guardó nada.",
            fields=[(p.donde(), p.es) for p in exc.problems],
        ) from None
    return _json(revision_json(found, full=True), status=201 if created else 200)


@routes.post(f"/api/v1/dialplans/{_TEMPLATE}/preview")
async def preview(request: web.Request) -> web.Response:
    """Render the set in force with this text for the template, as a save would check
    it: the contexts, or the problems. Nothing is saved."""
    require(request, Role.ADMIN)
    body = await read_body(request, DialplanPreviewIn)
    template = request.match_info["template"]
    runtime = request.app[RUNTIME]
    config, _ = await request.app[BLOCKING](runtime.rules.current)
    lines = CitizenLine.from_routing(config.citizen_lines())
    await request.app[BLOCKING](runtime.dialplans.seed)
    sources = await request.app[BLOCKING](runtime.dialplans.sources)
    sources[template] = body.content
    names = replace(LIVE, room_prefix=runtime.settings.incident_prefix)
    found = await request.app[BLOCKING](validate, sources, lines, names=names)
    if found.problems:
        raise error(
            "invalid_dialplan",
            f"{len(found.problems)} problema(s) en {template}; no se guardó nada.",
            fields=[(p.donde(), p.es) for p in found.problems],
        )
    return _json({"template": template, "contexts": found.contexts})


@routes.get("/api/v1/dialplans/audit")
async def audit(request: web.Request) -> web.Response:
    require(request, Role.ADMIN)
    entries = await request.app[BLOCKING](request.app[RUNTIME].dialplans.audit_log)
    return _json({"items": [audit_json(e) for e in entries]})


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "ok": o.ok,
        "revision": o.revision,
        "steps": [s.es for s in o.steps],
        "problems": [p.es for p in o.problems],
    }


async def _push(request: web.Request, step: str, revision_id: int | None) -> web.Response:
    identity = require(request, Role.ADMIN)
    runtime = request.app[RUNTIME]
    if revision_id is not None:
        if revision_id > MAX_REVISION:
            raise NotFound(f"no existe la revisión {revision_id} de los planes de marcación")
        await request.app[BLOCKING](runtime.dialplans.get, revision_id)  # 404 before Asterisk
    try:
        async with connected_pusher(runtime, request.app[BLOCKING]) as pusher:
            if step == "trial" and revision_id is not None:
                outcome = await pusher.trial(revision_id, identity.actor)
            elif step == "switch" and revision_id is not None:
                outcome = await pusher.switch(revision_id, identity.actor)
            else:
                outcome = await pusher.rollback(identity.actor)
    except PushBusy as exc:
        raise error("dialplan_busy", exc.es) from None
    except NoAsterisk as exc:
        raise error("asterisk_not_configured", exc.es) from None
    except PushError as exc:
        raise error("asterisk_unavailable", exc.es) from None
    return _json(outcome_json(outcome))


@routes.post("/api/v1/dialplans/revisions/{revision_id:[0-9]{1,18}}/trial")
async def trial(request: web.Request) -> web.Response:
    """Load the revision with the rest in force into trial contexts and read it back."""
    return await _push(request, "trial", int(request.match_info["revision_id"]))


@routes.post("/api/v1/dialplans/revisions/{revision_id:[0-9]{1,18}}/switch")
async def switch(request: web.Request) -> web.Response:
    """Trial the revision, then put it live in one step and in force."""
    return await _push(request, "switch", int(request.match_info["revision_id"]))


@routes.post("/api/v1/dialplans/rollback")
async def rollback(request: web.Request) -> web.Response:
    """Put back the revision in force before the last switch or rollback."""
    return await _push(request, "rollback", None)
