"""Creating an incident from the console: the form an operator fills while on the phone.

``GET /console/new`` is the form: the category with type-ahead over the Spanish names
and aliases, the district and address with the resolver's answer shown as they type, a
point picked on the map of the districts, the caller's number and name, the description,
and the open incidents nearby that it may duplicate, shown before saving
(``GET /console/lookup``, asked again as the operator types). The page saves through the
API as the person (``POST /api/v1/incidents``, source ``console``, with an
Idempotency-Key of its own so a second click saves nothing twice), or adds the call as a
report to the duplicate the operator picks (``POST /api/v1/incidents/{id}/reports``).
"""

import math
from typing import Any

from aiohttp import web

from routing.board import duplicates
from routing.categories import CATEGORIES, find_category
from routing.districts import DISTRICTS, district_by_code
from routing.geo import where_phrase
from routing.models import Priority
from routing.resolve import resolve
from voicebridge.accounts import Session
from voicebridge.api.errors import Problems
from voicebridge.api.schemas import district_code, dumps, echo
from voicebridge.console.board import encoded_rows
from voicebridge.console.web import SESSION, render, signed_in
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()

MAX_TEXT = 2000


def _categories() -> list[dict[str, Any]]:
    return [
        {"code": c.code, "label": c.label, "aliases": list(c.aliases),
         "priority": c.priority.value, "priority_label": c.priority.label}
        for c in sorted(CATEGORIES, key=lambda c: c.label)
    ]  # fmt: skip


@routes.get("/console/new")
async def new_incident(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    user = session.user
    config = {
        "categories": _categories(),
        "district": user.district,  # an operator reports in their own district
    }
    return render(
        "new.html",
        **signed_in(session),
        config=config,
        districts=[(d.ubigeo, d.name) for d in DISTRICTS],
        priorities=[(p.value, p.label) for p in Priority],
    )


def _number(
    raw: str | None, name: str, low: float, high: float, problems: Problems
) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.add(name, "debe ser un número")
        return None
    if not math.isfinite(value) or not low <= value <= high:
        problems.add(name, f"debe estar entre {low} y {high}")
        return None
    return value


def _text(raw: str | None) -> str | None:
    return None if raw is None or not raw.strip() else raw.strip()[:MAX_TEXT]


def lookup(runtime: Runtime, query: dict[str, str | None], central: str | None) -> dict[str, Any]:
    """What the form says so far, read as intake would (an I/O thread)."""
    problems = Problems()
    lat = _number(query.get("lat"), "lat", -90, 90, problems)
    lon = _number(query.get("lon"), "lon", -180, 180, problems)
    given = None
    if (district := _text(query.get("district"))) is not None:
        try:
            given = district_code(district)
        except ValueError as exc:
            problems.add("district", f"«{echo(district)}»: {exc}")
    problems.check()
    category_text = _text(query.get("category"))
    category = find_category(category_text) if category_text else None
    address, reference = _text(query.get("address")), _text(query.get("reference"))
    where = resolve(
        runtime.outlines, given=given, lat=lat if lon is not None else None,
        lon=lon if lat is not None else None,
        texts=(address, reference, _text(query.get("description"))), central=central,
    )  # fmt: skip
    answer: dict[str, Any] = {
        "category": None
        if category is None
        else {"code": category.code, "label": category.label,
              "priority": category.priority.value, "priority_label": category.priority.label},
        "district": None
        if where.district is None
        else {"ubigeo": where.district, "name": district_by_code(where.district).name},
        "detail": where.detail,
        "outside": None
        if where.outside is None
        else f"El punto cae {where_phrase(where.outside)}.",
        "duplicates": [],
        "warning": None,
    }  # fmt: skip
    if central is not None and where.district is not None and where.district != central:
        answer["warning"] = (
            f"Ese lugar está en {district_by_code(where.district).name}: su central es "
            f"{district_by_code(central).name}, no lo puede registrar. Derívelo a esa central."
        )
    located = where.district is not None or (lat is not None and lon is not None)
    if category is not None and located:
        found = duplicates(
            runtime.board, category=category.code, now=runtime.clock.now(), lat=lat, lon=lon,
            district=where.district, address=address,
            scope=None if central is None else frozenset({central}),
        )  # fmt: skip
        encoded = encoded_rows(runtime, [row for row, _ in found])
        answer["duplicates"] = [
            {**e.data, "distance_m": None if d is None else round(d)}
            for e, (_, d) in zip(encoded, found, strict=True)
        ]
    return answer


@routes.get("/console/lookup")
async def lookup_page(request: web.Request) -> web.Response:
    """The form's live answers: the category understood, the district the resolver
    gives (and why), and the open incidents nearby it may duplicate."""
    session: Session = request[SESSION]
    query = {k: request.query.get(k) for k in ("category", "district", "address", "reference",
                                                "description", "lat", "lon")}  # fmt: skip
    answer = await request.app[BLOCKING](lookup, request.app[RUNTIME], query, session.user.district)
    response = web.json_response(answer, dumps=dumps)
    response.headers["Cache-Control"] = "no-store"
    return response
