"""The console's map: Lima's 43 districts (the outlines voicebridge resolves places
with) and the open incidents on them, coloured by state and kept live by the board's
event stream. It needs no tile server: the outlines alone are the map, and a base layer
is drawn only when ``VOICEBRIDGE_CONSOLE_TILES`` names one (then the page's
Content-Security-Policy allows that origin's images, and nothing else from outside)."""

import json
from itertools import pairwise
from typing import Any

from aiohttp import web

from routing.geo import Outline, Outlines, Ring
from voicebridge.accounts import Session
from voicebridge.api.schemas import time_json
from voicebridge.console.board import board_filter, scope_of
from voicebridge.console.web import SESSION, render, signed_in
from voicebridge.settings import tile_origin
from voicebridge.web import RUNTIME

routes = web.RouteTableDef()

LIMA = "Lima"


def _centre(outline: Outline) -> tuple[float, float]:
    """A point of the district for its label and for incidents with no point of their
    own: its largest ring's centroid when inside, else its box's centre, else a vertex."""
    ring = max(outline.rings, key=lambda r: abs(_area(r)))
    area = _area(ring)
    if area:
        cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairwise(ring))
        cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in pairwise(ring))
        lon, lat = cx / (6 * area), cy / (6 * area)
        if outline.contains(lat, lon):
            return round(lat, 5), round(lon, 5)
    west, south, east, north = outline.bbox
    lat, lon = (south + north) / 2, (west + east) / 2
    if outline.contains(lat, lon):
        return round(lat, 5), round(lon, 5)
    return ring[0][1], ring[0][0]


def _area(ring: Ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring)) / 2


_BODIES: dict[int, tuple[Outlines, bytes]] = {}


def districts_body(outlines: Outlines) -> bytes:
    """:func:`districts_json` serialized, once per set of outlines."""
    found = _BODIES.get(id(outlines))
    if found is None or found[0] is not outlines:
        found = (outlines, json.dumps(districts_json(outlines), separators=(",", ":")).encode())
        _BODIES[id(outlines)] = found
    return found[1]


def districts_json(outlines: Outlines) -> dict[str, Any]:
    """Lima's districts for the map: rings as [lat, lon] (Leaflet's order), drawn with
    the even-odd rule as voicebridge reads them."""
    return {
        "districts": [
            {
                "ubigeo": o.ubigeo,
                "name": o.name,
                "rings": [[[lat, lon] for lon, lat in ring] for ring in o.rings],
                "centre": list(_centre(o)),
            }
            for o in outlines.outlines
            if o.province == LIMA
        ]
    }


@routes.get("/console/districts.json")
async def districts(request: web.Request) -> web.Response:
    body = districts_body(request.app[RUNTIME].outlines)
    response = web.Response(body=body, content_type="application/json")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@routes.get("/console/map")
async def map_page(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    runtime = request.app[RUNTIME]
    board_filter(request.query, scope_of(session))  # a bad filter: the same 422
    settings = runtime.settings
    user = session.user
    config = {
        "query": request.query_string,
        "tiles": settings.console_tiles,
        "attribution": settings.console_tiles_attribution or "",
        "now": time_json(runtime.clock.now()),
        "district": user.district,
    }
    extra = tile_origin(settings.console_tiles) if settings.console_tiles else None
    return render(
        "map.html",
        img_src=extra,
        **signed_in(session),
        config=config,
    )
