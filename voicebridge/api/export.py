"""Incidents in standard forms (issue 15, point 6): one incident as NENA EIDO JSON
(``GET /api/v1/incidents/{id}/eido``) or as an OASIS CAP 1.2 alert
(``GET /api/v1/incidents/{id}/cap``), and every incident created in a range of Lima days
as EIDO NDJSON, as CSV or as Parquet (``GET /api/v1/exports/incidents``), streamed a page
at a time: a year is never held in memory."""

import csv
import io
import logging
from collections.abc import Generator, Iterator
from datetime import date, datetime
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
from aiohttp import web

from routing.analytics import BY_CODE, Period, Phase, Phases, measure, phases
from routing.config import RoutingConfig
from routing.models import IncidentDetail
from routing.rollups import day_bounds, days_of
from voicebridge import cap, eido
from voicebridge.api.auth import require, require_district
from voicebridge.api.errors import Problems
from voicebridge.api.schemas import dumps, incident_id_of, single
from voicebridge.apikeys import Role
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, RUNTIME

routes = web.RouteTableDef()
log = logging.getLogger(__name__)

PAGE: Final = 500
MAX_DAYS: Final = 400
FORMATS: Final = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
COLUMNS: Final = (
    ("incident", pa.string()), ("received_at", pa.timestamp("us", tz="UTC")),
    ("created_at", pa.timestamp("us", tz="UTC")), ("category", pa.string()),
    ("apco_type", pa.string()), ("priority", pa.string()), ("status", pa.string()),
    ("district", pa.string()), ("source", pa.string()), ("lat", pa.float64()),
    ("lon", pa.float64()), ("agencies", pa.string()),
    ("dispatched_at", pa.timestamp("us", tz="UTC")),
    ("responded_at", pa.timestamp("us", tz="UTC")),
    ("resolved_at", pa.timestamp("us", tz="UTC")), ("answering_s", pa.float64()),
    ("processing_s", pa.float64()), ("response_s", pa.float64()), ("total_s", pa.float64()),
)  # fmt: skip
"""The flat row of an incident (CSV and Parquet): its phases and headline intervals."""


def issuer(runtime: Runtime) -> str:
    return eido.issuer_of(runtime.settings.public_url)


@routes.get("/api/v1/incidents/{incident_id}/eido")
async def incident_eido(request: web.Request) -> web.Response:
    """The incident as NENA EIDO JSON (an operator sees their district's)."""
    identity = require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    blocking = request.app[BLOCKING]
    detail = await blocking(runtime.store.detail, incident_id_of(request))
    require_district(identity, detail.incident.district)
    config, _ = await blocking(runtime.rules.current)
    return web.json_response(eido.eido(detail, config, issuer=issuer(runtime)), dumps=dumps)


@routes.get("/api/v1/incidents/{incident_id}/cap")
async def incident_cap(request: web.Request) -> web.Response:
    """The incident as an OASIS CAP 1.2 alert, in Spanish (``?scope=Public`` for the
    public; Restricted, to the agencies, by default)."""
    identity = require(request, Role.OPERATOR)
    runtime = request.app[RUNTIME]
    problems = Problems()
    scope = single(request.query, "scope", problems) or "Restricted"
    if scope not in ("Public", "Restricted"):
        problems.add("scope", "debe ser Public o Restricted")
    problems.check()
    incident = await request.app[BLOCKING](runtime.store.get, incident_id_of(request))
    require_district(identity, incident.district)
    body = cap.cap_alert(incident, issuer=issuer(runtime), sent=runtime.clock.now(), scope=scope)
    return web.Response(body=body, content_type="application/cap+xml", charset="utf-8")


@routes.get("/api/v1/exports/incidents")
async def export(request: web.Request) -> web.StreamResponse:
    """Every incident created from the Lima day ``from`` to the day ``to`` (inclusive),
    oldest first, as ``format``: ``ndjson`` (one EIDO a line), ``csv`` or ``parquet``
    (a row each: its phases and headline intervals). Streamed (supervisor)."""
    require(request, Role.SUPERVISOR)
    runtime = request.app[RUNTIME]
    problems = Problems()
    kind = single(request.query, "format", problems) or "ndjson"
    if kind not in FORMATS:
        problems.add("format", f"debe ser {', '.join(FORMATS)}")
    days: dict[str, date] = {}
    for name in ("from", "to"):
        text = single(request.query, name, problems)
        if text is None:
            problems.add(name, "falta el día (2026-11-03)")
            continue
        try:
            days[name] = days_of(Period.DAY, text)[0]
        except ValueError:
            problems.add(name, "un día como 2026-11-03")
    if len(days) == 2:
        if days["to"] < days["from"]:
            problems.add("to", "va después del día inicial")
        elif (days["to"] - days["from"]).days >= MAX_DAYS:
            problems.add("to", f"el rango es de hasta {MAX_DAYS} días")
    problems.check()
    start, end = day_bounds(days["from"])[0], day_bounds(days["to"])[1]
    blocking = request.app[BLOCKING]
    config, _ = await blocking(runtime.rules.current)
    response = web.StreamResponse(
        headers={
            "Content-Type": FORMATS[kind],
            "Content-Disposition": f'attachment; filename="incidentes-{days["from"]}-'
            f'{days["to"]}.{kind}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    chunks = _chunks(runtime, config, kind, start, end)
    try:
        while (chunk := await blocking(next, chunks, None)) is not None:
            if chunk:
                await response.write(chunk)
    except ConnectionResetError:  # the client left
        return response
    except Exception:
        # the status is sent: end the connection without the last chunk, so that the
        # client sees a broken export rather than a short one that looks whole
        log.exception("the export %s broke off", request.path_qs)
        if request.transport is not None:
            request.transport.close()
        return response
    finally:
        await blocking(chunks.close)
    await response.write_eof()
    return response


def _pages(runtime: Runtime, start: datetime, end: datetime) -> Iterator[list[IncidentDetail]]:
    after: tuple[datetime, int] | None = None
    while True:
        details, after = runtime.store.created_between(start, end, after=after, limit=PAGE)
        if not details:
            return
        yield details


def _chunks(
    runtime: Runtime, config: RoutingConfig, kind: str, start: datetime, end: datetime
) -> Generator[bytes, None, None]:
    """The export's bytes, a page of incidents at a time."""
    name = issuer(runtime)
    if kind == "ndjson":
        for page in _pages(runtime, start, end):
            yield b"".join(dumps(eido.eido(d, config, issuer=name)).encode() + b"\n" for d in page)
        return
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([column for column, _ in COLUMNS])
        for page in _pages(runtime, start, end):
            for row in map(flat, page):
                writer.writerow(["" if v is None else _csv(v) for v in row.values()])
            yield _drain_text(out)
        yield _drain_text(out)
        return
    sink = _Sink()
    schema = pa.schema(list(COLUMNS))
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for page in _pages(runtime, start, end):
            rows = [flat(d) for d in page]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            yield sink.take()
    yield sink.take()


def _csv(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else str(value)


def _drain_text(out: io.StringIO) -> bytes:
    data = out.getvalue().encode()
    out.seek(0)
    out.truncate()
    return data


class _Sink(io.RawIOBase):
    """A write-only file that keeps what it is given until :meth:`take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def flat(detail: IncidentDetail) -> dict[str, Any]:
    """One incident as the export's flat row (:data:`COLUMNS`)."""
    incident, p = detail.incident, phases(detail)

    def seconds(code: str) -> float | None:
        [m] = measure(p, BY_CODE[code])
        return m.seconds

    first = min(detail.reports, key=lambda r: (r.received_at, r.id), default=None)
    return {
        "incident": incident.id,
        "received_at": p.at.get(Phase.RECEIVED),
        "created_at": incident.created_at,
        "category": incident.category,
        "apco_type": eido.INCIDENT_TYPES[incident.category].code,
        "priority": incident.priority.value,
        "status": incident.status.value,
        "district": incident.district,
        "source": (first.source if first else incident.source).value,
        "lat": incident.location.lat,
        "lon": incident.location.lon,
        "agencies": ";".join(sorted(p.agencies)),
        "dispatched_at": p.at.get(Phase.DISPATCHED),
        "responded_at": p.at.get(Phase.RESPONDED),
        "resolved_at": p.at.get(Phase.RESOLVED),
        "answering_s": seconds("answering"),
        "processing_s": _first_processing(p),
        "response_s": seconds("response"),
        "total_s": seconds("total"),
    }


def _first_processing(p: Phases) -> float | None:
    """Processing to the first agency notified (the headline's; per agency in EIDO)."""
    done = [m.seconds for m in measure(p, BY_CODE["processing"]) if m.seconds is not None]
    return min(done) if done else None
