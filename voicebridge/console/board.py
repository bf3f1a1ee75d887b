"""The console's live board: the page of open incidents, its Server-Sent Events stream,
and the JSON the page polls when the stream cannot get through.

- ``GET /console/`` renders the board's first page (:meth:`routing.board.Board.page`),
  with the log position it was read at.
- ``GET /console/events`` streams the board's changes from that position
  (:class:`voicebridge.console.feed.LogFeed`): an ``rows`` event for each read of the
  log that touched the viewer's board (its id is the log position), a ``beat`` every
  :data:`BEAT_SECONDS`, ``resync`` when the position asked for is too old, ``ended``
  when the session is over. A stream lasts :data:`STREAM_SECONDS` and the browser
  reconnects with ``Last-Event-ID``, resuming where it was.
- ``GET /console/board.json`` answers the same changes once (``after``), or the whole
  first page: the polling fallback and the resync.

An operator sees the incidents of their district only, whatever the filters say; the
filters (district, state, category, priority) are the URL's query.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from multidict import MultiMapping

from routing.board import OPEN, BoardFilter, BoardRow
from routing.categories import CATEGORIES, category_by_code
from routing.directory import Names
from routing.districts import DISTRICTS, district_by_code
from routing.ids import LIMA
from routing.models import AssignmentState, Priority
from voicebridge.accounts import Session
from voicebridge.api.auth import session_cookie
from voicebridge.api.errors import ApiError, Problems, error, invalid
from voicebridge.api.incidents import common_filters
from voicebridge.api.schemas import (
    could_be_incident_id,
    dumps,
    echo,
    time_json,
)
from voicebridge.apikeys import Role
from voicebridge.console.feed import Batch, LogFeed, Viewer
from voicebridge.console.web import SESSION, render, signed_in, templates
from voicebridge.runtime import Runtime
from voicebridge.wakeup import stop_follower
from voicebridge.web import BLOCKING, RUNTIME

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

FEED = web.AppKey("console_feed", LogFeed)
BEAT_SECONDS = 15.0  # a "beat" event: the browser knows the stream is alive
STREAM_SECONDS = 300.0  # then the browser reconnects (and the session is checked again)
SESSION_CHECK_SECONDS = 60.0
STARTUP_SECONDS = 10.0  # a stream waits this long for the log reader's first read
RETRY_MS = 1500

AGENCY_STATE = {
    AssignmentState.PENDING: ("calling", "llamando"),
    AssignmentState.ACKNOWLEDGED: ("confirmed", "confirmó"),
    AssignmentState.UNANSWERED: ("unanswered", "sin respuesta"),
    AssignmentState.CANCELLED: ("cancelled", "cancelado"),
}
AGENCY_MARK = {"calling": "…", "confirmed": "✓", "unanswered": "✕", "cancelled": "–"}


# ---------------------------------------------------------------- the rows


def short_name(code: str, name: str) -> str:
    """An agency's name for a board cell: the part before a dash, or its code."""
    head = name.split(" – ")[0].strip()
    return head if len(head) <= 14 else code.upper()


def place_of(row: BoardRow) -> str:
    parts = [p for p in (row.address, row.reference) if p]
    if parts:
        return " · ".join(parts)
    if row.lat is not None and row.lon is not None:
        return f"{row.lat:.5f}, {row.lon:.5f}"
    return "sin dirección"


def row_json(row: BoardRow, names: Names) -> dict[str, Any]:
    """A board row as the page renders it (every text in Spanish)."""
    district = district_by_code(row.district) if row.district else None
    agencies = []
    for a in row.agencies:
        state, label = AGENCY_STATE[a.state]
        name = names.agencies.get(a.agency, a.agency)
        agencies.append({
            "code": a.agency, "name": name, "short": short_name(a.agency, name),
            "state": state, "label": label, "mark": AGENCY_MARK[state],
        })  # fmt: skip
    return {
        "id": row.id,
        "version": row.version,
        "category": row.category,
        "category_label": category_by_code(row.category).label,
        "priority": row.priority.value,
        "priority_label": row.priority.label,
        "priority_rank": list(Priority).index(row.priority),
        "district": row.district,
        "district_name": district.name if district else "sin distrito",
        "place": place_of(row),
        "lat": row.lat,
        "lon": row.lon,
        "source": row.source.value,
        "source_label": row.source.label,
        "status": row.status.value,
        "status_label": row.status.label,
        "open": row.status in OPEN,
        "summary": row.summary,
        "created_at": time_json(row.created_at),
        "created_local": row.created_at.astimezone(LIMA).strftime("%H:%M"),
        "agencies": agencies,
    }


@dataclass(frozen=True, slots=True)
class Encoded:
    """A board row made once per version: its JSON (as the stream and the page's script
    read it), that JSON safe inside a ``<script>`` element, and its table row."""

    data: dict[str, Any]
    json: Markup
    html: Markup


class RowCache:
    """The rows of the latest versions of incidents, made once per process: the board's
    page and every stream reuse them (a row changes with its incident's version, and
    with the names of the routing revision in force)."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._rows: OrderedDict[tuple[str, int, int], Encoded] = OrderedDict()
        self._lock = threading.Lock()
        self._template = templates.get_template("_board_row.html")

    def get(self, row: BoardRow, names: Names) -> Encoded:
        key = (row.id, row.version, id(names))
        with self._lock:
            found = self._rows.get(key)
            if found is not None:
                self._rows.move_to_end(key)
                return found
        data = row_json(row, names)
        made = Encoded(data=data, json=htmlsafe_json_dumps(data, dumps=dumps),
                       # the autoescaped template's own output
                       html=Markup(self._template.render(r=data)))  # noqa: S704  # fmt: skip
        with self._lock:
            self._rows[key] = made
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return made


ROWS = RowCache()


def encoded_rows(runtime: Runtime, rows: Sequence[BoardRow]) -> list[Encoded]:
    """The rows, from the cache (runs in an I/O thread: the names may be read)."""
    names = runtime.rules.names()
    return [ROWS.get(row, names) for row in rows]


def encoder(runtime: Runtime) -> Any:
    def encode(rows: Sequence[BoardRow]) -> dict[str, Any]:
        return {e.data["id"]: e.data for e in encoded_rows(runtime, rows)}

    return encode


# ----------------------------------------------------------------- filters


def board_filter(query: MultiMapping[str], scope: frozenset[str] | None) -> BoardFilter:
    """The board's filters from the URL, or one 422 naming every bad one; an operator's
    board is their district's, whatever it asks."""
    problems = Problems()
    districts, statuses, categories = common_filters(query, problems, OPEN)
    priorities: list[Priority] = []
    for v in _values(query, "priority"):
        try:
            priorities.append(Priority(v))
        except ValueError:
            problems.add("priority", f"«{echo(v)}»: use uno de: {', '.join(Priority)}")
    problems.check()
    if scope is not None:
        districts = [d for d in districts if d in scope] or sorted(scope)
    return BoardFilter(
        districts=tuple(dict.fromkeys(districts)),
        statuses=tuple(dict.fromkeys(statuses)),
        categories=tuple(dict.fromkeys(categories)),
        priorities=tuple(dict.fromkeys(priorities)),
    )


def _values(query: MultiMapping[str], name: str) -> list[str]:
    return [v.strip() for raw in query.getall(name, []) for v in raw.split(",") if v.strip()]


def scope_of(session: Session) -> frozenset[str] | None:
    district = session.user.district
    return None if district is None else frozenset({district})


def _after(query: MultiMapping[str], header: str | None) -> int | None:
    raw = header if header else query.get("after")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise invalid("after", "debe ser la posición que dio la consola (un número)")
    return int(raw)


# ------------------------------------------------------------------ handlers


@routes.get("/console/")
async def board_page(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    runtime = request.app[RUNTIME]
    scope = scope_of(session)
    try:
        board = board_filter(request.query, scope)
    except ApiError as exc:  # a person reads this page: the same 422, in HTML
        return render("problem.html", status=exc.status, title="Filtro no válido",
                      message=exc.message, details=exc.fields)  # fmt: skip
    limit = runtime.settings.console_rows
    page = await request.app[BLOCKING](runtime.board.page, board, limit)
    rows = await request.app[BLOCKING](encoded_rows, runtime, page.rows)
    user = session.user
    config = {
        "position": page.position,
        "query": request.query_string,
        "limit": limit,
        "total": page.total,
        "thresholds": list(runtime.settings.console_elapsed),
        "now": time_json(runtime.clock.now()),
        "bulk": user.identity().may(Role.SUPERVISOR),  # the bulk actions are a supervisor's
    }
    # the rows' JSON is made once per version (RowCache), and joined here
    head = htmlsafe_json_dumps(config, dumps=dumps)
    # htmlsafe_json_dumps output only: no "<", ">", "&" or "'" in it
    config_json = Markup(f'{head[:-1]},"rows":[{",".join(r.json for r in rows)}]}}')  # noqa: S704
    return render(
        "board.html",
        **signed_in(session),
        rows_html=[r.html for r in rows],
        total=page.total,
        limit=limit,
        config_json=config_json,
        filters=_filter_choices(board, scope),
        thresholds=runtime.settings.console_elapsed,
        bulk=config["bulk"],
    )


def _filter_choices(board: BoardFilter, scope: frozenset[str] | None) -> dict[str, Any]:
    districts = [d for d in DISTRICTS if scope is None or d.ubigeo in scope]
    return {
        "districts": [(d.ubigeo, d.name, d.ubigeo in board.districts) for d in districts],
        "district_fixed": scope is not None,
        "statuses": [(s.value, s.label, s in board.statuses) for s in OPEN],
        "categories": sorted(
            ((c.code, c.label, c.code in board.categories) for c in CATEGORIES),
            key=lambda c: c[1],
        ),
        "priorities": [(p.value, p.label, p in board.priorities) for p in Priority],
    }


@routes.get("/console/board.json")
async def board_json(request: web.Request) -> web.Response:
    """The changes past ``after`` (as the stream would send them, from the feed's
    memory), or the whole first page (without ``after``, or when the feed no longer
    remembers that far)."""
    session: Session = request[SESSION]
    runtime = request.app[RUNTIME]
    scope = scope_of(session)
    board = board_filter(request.query, scope)
    incident = _incident(request.query)
    after = _after(request.query, None)
    feed = request.app[FEED]
    viewer = Viewer(scope=scope, board=board, incident=incident)
    missed = None if after is None or not feed.started.is_set() else feed.missed(after)
    if missed is not None:
        rows, gone = _replay(feed, viewer, missed)
        return _json({"position": feed.position, "full": False, "rows": rows, "gone": gone})
    page = await request.app[BLOCKING](runtime.board.page, board, runtime.settings.console_rows)
    encoded = await request.app[BLOCKING](encoder(runtime), page.rows)
    rows = [encoded[r.id] for r in page.rows if incident is None or r.id == incident]
    return _json({
        "position": page.position, "full": True, "total": page.total, "rows": rows, "gone": [],
    })  # fmt: skip


def _replay(feed: LogFeed, viewer: Viewer, missed: set[str]) -> tuple[list[Any], list[str]]:
    """What ``viewer`` may have missed of ``missed``, from the feed's memory."""
    if viewer.incident is not None:
        missed &= {viewer.incident}
    return viewer.split(feed.replay(missed))


def _incident(query: MultiMapping[str]) -> str | None:
    """An incident's page follows that incident alone."""
    value = query.get("incident")
    if value is None:
        return None
    if not could_be_incident_id(value):
        raise invalid("incident", "no es un id de incidente, como LIM-2026-000123")
    return value


def _json(data: Any) -> web.Response:
    response = web.json_response(data, dumps=dumps)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/console/events")
async def events(request: web.Request) -> web.StreamResponse:
    """The board's changes, live (see the module's description)."""
    session: Session = request[SESSION]
    scope = scope_of(session)
    board = board_filter(request.query, scope)
    incident = _incident(request.query)
    after = _after(request.query, request.headers.get("Last-Event-ID"))
    feed = request.app[FEED]
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            await feed.started.wait()
    except TimeoutError:
        raise error("log_unavailable") from None  # the page polls meanwhile
    viewer = Viewer(scope=scope, board=board, incident=incident)
    missed = None if after is None else feed.missed(after)
    position = feed.position
    feed.watch(viewer)  # from here on, no batch is missed: the backlog is sent below
    sse = EventSourceResponse(ping_interval=BEAT_SECONDS, send_timeout=10.0)
    sse.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events
    try:
        await sse.prepare(request)
        if after is not None:  # what it missed first; then "hello": it is caught up
            if missed is None:
                await sse.send(dumps({"position": position}), id=str(position), event="resync")
            elif missed:
                rows, gone = _replay(feed, viewer, missed)
                if rows or gone:
                    data = {"rows": rows, "gone": gone}
                    await sse.send(dumps(data), id=str(position), event="rows")
        # with its position as the id: a reconnect resumes from here even before any row
        await sse.send(
            dumps({"position": position}), id=str(position), event="hello", retry=RETRY_MS
        )
        await _stream(request, sse, viewer, session)
    except (ConnectionResetError, TimeoutError, RuntimeError):
        pass  # the browser went away (or stalled): it reconnects and resumes
    except Exception:  # the stream has begun: no error page now; the browser reconnects
        log.exception("the console's event stream failed; the browser reconnects")
    finally:
        feed.forget(viewer)
    return sse


async def _stream(
    request: web.Request, sse: EventSourceResponse, viewer: Viewer, session: Session
) -> None:
    started = checked = sent = time.monotonic()
    accounts = request.app[RUNTIME].accounts
    while True:
        now = time.monotonic()
        if now - started >= STREAM_SECONDS:
            return  # the browser reconnects with Last-Event-ID
        if now - checked >= SESSION_CHECK_SECONDS:
            checked = now
            token = request.cookies.get(session_cookie(request), "")
            if await request.app[BLOCKING](accounts.session, token, touch=False) is None:
                await sse.send(dumps({"message": "Su sesión terminó: ingrese de nuevo."}),
                               event="ended")  # fmt: skip
                return
        if now - sent >= BEAT_SECONDS:  # busy elsewhere, quiet here: it still hears us
            await sse.send(dumps({"position": request.app[FEED].position}), event="beat")
            sent = now
        batch: Batch | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, sent + BEAT_SECONDS - now)):
                batch = await viewer.queue.get()
                if batch is None or viewer.overflowed:
                    return
        if batch is None:
            continue
        data = batch.payload(viewer, dumps)
        if data is not None:
            await sse.send(data, id=str(batch.position), event="rows")
            sent = time.monotonic()


# ------------------------------------------------------------------- the feed


async def feed_ctx(app: web.Application) -> Any:
    """One reader of the log for every console of this process."""
    runtime = app[RUNTIME]
    feed = LogFeed(runtime.board, app[BLOCKING], encoder(runtime))
    app[FEED] = feed
    woken = runtime.logged.listener()  # a write with events committed, here or elsewhere
    stop = asyncio.Event()
    follow = asyncio.create_task(runtime.logged.follow(runtime.settings.redis_url, stop),
                                 name="voicebridge-console-log-follow")  # fmt: skip
    reader = asyncio.create_task(feed.run(woken), name="voicebridge-console-feed")
    yield
    feed.close()
    stop.set()
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await stop_follower(follow)
    runtime.logged.forget(woken)
