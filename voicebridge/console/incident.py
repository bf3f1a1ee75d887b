"""An incident's page in the console: its reports, the timeline in Spanish, the route and
why, each agency's tries, and the conference (who is in the room, who is being called),
with the actions on it.

The page is rendered here; its live part (``/console/incidents/{id}/live``, the same
template) is fetched again by the page whenever the board's event stream says the
incident changed (``/console/events?incident=…``). Its actions are forms the page sends
to the API as the person (the session cookie and its CSRF token): the API validates,
authorizes and logs them with the person's name, as it does for a machine's key.
"""

from datetime import datetime
from typing import Any

from aiohttp import web

from routing.categories import CATEGORIES
from routing.errors import NotFound, RoutingError
from routing.events import EventKind
from routing.ids import LIMA
from routing.models import ContactState, Status
from voicebridge.accounts import Session
from voicebridge.api.auth import ROLE_LABELS
from voicebridge.api.calls import calls_json
from voicebridge.api.errors import ApiError
from voicebridge.api.routing import explanation_json
from voicebridge.api.schemas import detail_json, incident_id_of
from voicebridge.apikeys import Identity, Role
from voicebridge.console.web import SESSION, central_of, render
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

IN_ROOM = {ContactState.IN_ROOM.value}
CALLING = {ContactState.PENDING.value, ContactState.PLACING.value, ContactState.ANSWERED.value}
OPEN_STATES = {s.value for s in Status} - {"resolved", "cancelled", "merged"}


def lima_time(value: str | None, with_date: bool = False) -> str:
    """An API time (ISO 8601) as Lima's clock shows it."""
    if not value:
        return ""
    at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LIMA)
    return at.strftime("%d/%m %H:%M:%S" if with_date else "%H:%M:%S")


OTHER = "un incidente de otro distrito"
_REFERENCES = ("incident", "into")  # the log's payload fields that name another incident


def incident_view(runtime: Runtime, incident_id: str, identity: Identity) -> dict[str, Any] | None:
    """Everything the page shows, from the API's own JSON (runs in an I/O thread); None
    when there is no such incident for ``identity`` (none, or another district's). Other
    incidents it names that ``identity`` may not see are not named."""
    incident_row = runtime.store.get(incident_id)  # NotFound: none at all
    if not identity.sees_district(incident_row.district):
        return None
    detail = runtime.store.detail(incident_row.id)
    names = runtime.rules.names()
    incident = detail_json(detail, names)
    assignments = runtime.calls.dispatches.assignments(detail.incident.id)
    agencies = calls_json(detail, assignments)["agencies"]
    route: dict[str, Any] | None = None
    route_error = None
    try:
        route = explanation_json(runtime.dispatcher.explain(detail.incident.id))
    except RoutingError as exc:  # no rule routes it (yet): the operator reads why
        route_error = str(exc)
    _hide_others(runtime, identity, incident)
    legs = incident["legs"]
    talkers: dict[str, int | None] = {}  # who talks from the radio side, by talkgroup leg
    for e in detail.events:
        if e.kind is EventKind.RADIO_TALKER:
            talkers[e.data["leg"]] = e.data.get("talker")
    for leg in legs:
        leg["talker"] = talkers.get(leg["channel_id"])
    config, _ = runtime.rules.current()
    return {
        "incident": incident,
        "open": incident["status"] in OPEN_STATES,
        "agencies": agencies,
        "route": route,
        "route_error": route_error,
        "in_room": [leg for leg in legs if leg["state"] in IN_ROOM],
        "calling": [leg for leg in legs if leg["state"] in CALLING],
        "ended": [leg for leg in legs if leg["state"] not in IN_ROOM | CALLING],
        "directory": sorted((a.code, a.name) for a in config.agencies.values()),
        "timeline": list(reversed(incident["timeline"])),  # the newest first
    }


def _hide_others(runtime: Runtime, identity: Identity, incident: dict[str, Any]) -> None:
    """Take out of the page the numbers of incidents ``identity`` may not see (a merge
    into, or a split to, another district's): their existence is that district's."""
    named = {incident["merged_into"]} if incident["merged_into"] else set()
    for e in incident["timeline"]:
        named |= {v for k, v in e["data"].items() if k in _REFERENCES and isinstance(v, str)}
    hidden = set()
    for other in named:
        try:
            if not identity.sees_district(runtime.store.get(other).district):
                hidden.add(other)
        except NotFound:
            continue
    if not hidden:
        return
    if incident["merged_into"] in hidden:
        incident["merged_into"], incident["merged_elsewhere"] = None, True
    for e in incident["timeline"]:
        for other in hidden:
            e["text"] = e["text"].replace(other, OTHER)
            e["cause"] = e["cause"].replace(other, OTHER)
        e["data"] = {k: (OTHER if v in hidden else v) for k, v in e["data"].items()}


async def _view(request: web.Request) -> tuple[Session, dict[str, Any]] | web.Response:
    session: Session = request[SESSION]
    incident_id = request.match_info["incident_id"][:40]
    runtime = request.app[RUNTIME]
    view = None
    try:
        incident_id = incident_id_of(request)
        view = await request.app[BLOCKING](
            incident_view, runtime, incident_id, session.user.identity()
        )
    except (NotFound, ApiError):  # no such incident, or no incident's number at all
        pass
    if view is None:  # the same answer for another district's: nothing of it shows
        return render("problem.html", status=404, title="No existe ese incidente",
                      message=f"No hay un incidente {incident_id}.", details=())  # fmt: skip
    return session, view


def actor_name(actor: str) -> str:
    """Who did it, as people read the timeline: ``Ana Pérez (operador)``, ``sistema``."""
    kind, _, rest = actor.partition(":")
    role = ACTOR_ROLES.get(kind, kind)
    if rest.endswith(")") and " (" in rest:
        return f"{rest[rest.index(' (') + 2 : -1]} ({role})"
    if kind == "system":
        return "sistema"
    return f"{role} {rest}".strip()


ACTOR_ROLES = {
    "operator": "operador",
    "supervisor": "supervisión",
    "admin": "administración",
    "system": "sistema",
    "responder": "entidad",
    "citizen": "ciudadano",
}


def _context(session: Session, view: dict[str, Any]) -> dict[str, Any]:
    user = session.user
    return {
        **view,
        "user": user,
        "role": ROLE_LABELS[user.role],
        "central": central_of(user.district),
        "supervisor": user.identity().may(Role.SUPERVISOR),
        "csrf": session.csrf,
        "lima": lima_time,
        "who": actor_name,
        "categories": sorted(((c.code, c.label) for c in CATEGORIES), key=lambda c: c[1]),
    }


@routes.get("/console/incidents/{incident_id}")
async def incident_page(request: web.Request) -> web.Response:
    found = await _view(request)
    if isinstance(found, web.Response):
        return found
    session, view = found
    return render("incident.html", **_context(session, view))


@routes.get("/console/incidents/{incident_id}/live")
async def incident_live(request: web.Request) -> web.Response:
    """The page's live part alone, fetched again when the incident changes."""
    found = await _view(request)
    if isinstance(found, web.Response):
        return found
    session, view = found
    return render("_incident_live.html", **_context(session, view))
