"""The admins' dialplan pages (issue 14): the templates with the revision of each in
force, one template's editor (line numbers, a preview of the rendering, the problems of
a refused save with their lines) with its history (trial, switch, rollback), the diff
between any two revisions, and the audit log. The pages read from the store; what they
change goes through the API with the person's session (``/api/v1/dialplans/...``), so
the console and the API are one code path. Only admins see them."""

from typing import Any

from aiohttp import web

from dialplans.templateset import EDITABLE, PARAMETER_HELP, PARAMETERS
from routing.errors import NotFound
from voicebridge.accounts import Session
from voicebridge.api.schemas import time_json
from voicebridge.apikeys import Role
from voicebridge.console.web import SESSION, render, signed_in
from voicebridge.dialplan_admin import MAX_REVISION, DialplanRevision
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

ACTIONS = {
    "seed": "plantillas de fábrica",
    "propose": "revisión guardada",
    "refused": "propuesta rechazada",
    "conflict": "propuesta sobre una revisión vieja",
    "trial": "prueba en Asterisk",
    "switch": "puesta en vigor",
    "rollback": "vuelta atrás",
    "restore": "reenvío a Asterisk",
}
ABOUT = {
    "vb-ack": "aviso al respondedor: el mensaje, 1 acepta y entra a la sala, 2 rechaza",
    "vb-room": "entrada a la sala de conferencia del incidente",
    "vb-check": "prueba de línea de un respondedor",
    "vb-citizen": "menú telefónico del ciudadano",
    "vb-citizen-menu": "menús de categorías del ciudadano",
    "_room": "parte común: la comprobación del nombre de la sala",
    "_conference": "parte común: la entrada a ConfBridge",
    PARAMETERS: "tiempos y repeticiones de todas las plantillas",
}


def _page(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    session: Session = request[SESSION]
    return render(
        name,
        status,
        **signed_in(session),
        quiet=True,
        admin=True,
        **context,
    )


def _admin(request: web.Request) -> web.Response | None:
    """The page a person who is not an admin gets instead (403)."""
    session: Session = request[SESSION]
    if session.user.role is Role.ADMIN:
        return None
    return render(
        "forbidden.html",
        403,
        message="Solo un administrador puede ver y cambiar los planes de marcación.",
    )


def _revision(r: DialplanRevision, in_force: set[int]) -> dict[str, Any]:
    return {
        "id": r.id,
        "template": r.template,
        "at": time_json(r.created_at),
        "author": r.author,
        "comment": r.comment,
        "base": r.base_id,
        "in_force": r.id in in_force,
    }


@routes.get("/console/admin/dialplans")
async def index(request: web.Request) -> web.Response:
    if (refused := _admin(request)) is not None:
        return refused
    store = request.app[RUNTIME].dialplans
    blocking = request.app[BLOCKING]
    await blocking(store.seed)
    in_force = await blocking(store.in_force)
    newest = await blocking(store.latest_of_each)
    pointers = {r.id for r in in_force.values()}
    rows = []
    for name in EDITABLE:
        latest = newest[name]
        rows.append(
            {
                "template": name,
                "about": ABOUT[name],
                "in_force": _revision(in_force[name], pointers),
                "pending": None if latest.id in pointers else _revision(latest, pointers),
            }
        )
    audit = [
        {
            "at": time_json(e.at),
            "actor": e.actor,
            "action": ACTIONS.get(e.action, e.action),
            "revision": e.revision_id,
            "ok": e.ok,
            "detail": e.detail,
        }
        for e in await blocking(store.audit_log, 30)
    ]
    return _page(request, "dialplans.html", rows=rows, audit=audit)


@routes.get("/console/admin/dialplans/diff")
async def diff_page(request: web.Request) -> web.Response:
    if (refused := _admin(request)) is not None:
        return refused
    store = request.app[RUNTIME].dialplans
    a, b = _number(request.query.get("from")), _number(request.query.get("to"))
    if a is None or b is None:
        raise NotFound("elija dos revisiones para compararlas")
    old = await request.app[BLOCKING](store.get, a)
    new = await request.app[BLOCKING](store.get, b)
    diff = await request.app[BLOCKING](store.diff, a, b)
    lines = [{"text": line, "kind": _kind(line)} for line in diff.splitlines()]
    return _page(request, "dialplan_diff.html", old=old, new=new, lines=lines)


@routes.get("/console/admin/dialplans/{template}")
async def editor(request: web.Request) -> web.Response:
    if (refused := _admin(request)) is not None:
        return refused
    template = request.match_info["template"]
    if template not in EDITABLE:
        raise NotFound(f"no existe la plantilla {template}")
    store = request.app[RUNTIME].dialplans
    blocking = request.app[BLOCKING]
    await blocking(store.seed)
    latest = await blocking(store.latest, template)
    shown = latest
    wanted = _number(request.query.get("revision"))
    if wanted is not None:
        shown = await blocking(store.get, wanted)
        if shown.template != template:
            raise NotFound(f"la revisión {wanted} no es de la plantilla {template}")
    pointers = set((await blocking(store.pointers)).values())
    history = [_revision(r, pointers) for r in await blocking(store.revisions, template)]
    config = {
        "template": template,
        "base": latest.id,
        "shown": shown.id,
        "in_force": next((h["id"] for h in history if h["in_force"]), None),
    }
    return _page(
        request,
        "dialplan_edit.html",
        template=template,
        about=ABOUT[template],
        content=shown.content,
        shown=_revision(shown, pointers),
        latest=latest.id,
        history=history,
        parameters=PARAMETER_HELP if template == PARAMETERS else None,
        config=config,
    )


def _number(text: str | None) -> int | None:
    if (
        text is None
        or not (text.isascii() and text.isdigit())
        or not 1 <= int(text) <= MAX_REVISION
    ):
        return None
    return int(text)


def _kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "added", "-": "removed"}.get(line[:1], "same")
