"""The board of open incidents, as the console shows it, and the reading of the
incident log that keeps it live.

A :class:`BoardRow` is one incident as a line of the board: its number, category,
priority, district, place, channel, state, each agency's state (from its assignment:
calling, confirmed, unanswered) and when it came in. :meth:`Board.page` gives the
board's first page (most urgent first, then newest); :meth:`Board.rows` the rows of
incidents just changed.

:meth:`Board.changes` reads the log past a position. The log's ids come from a sequence
(PostgreSQL) given out before a transaction commits, so an event with a smaller id may
become visible after one with a larger id: the reader names the ids it has not seen yet
below its position (``gaps``), and this reads them again with the new ones (see
:class:`voicebridge.console.feed.LogFeed`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select

from routing import schema as t
from routing.db import Database
from routing.dedup import Nearby, find_matches
from routing.lifecycle import FINAL
from routing.models import AssignmentState, Priority, Source, Status
from routing.normalise import address_key

OPEN: tuple[Status, ...] = tuple(s for s in Status if s not in FINAL)
PRIORITY_RANK = {p.value: rank for rank, p in enumerate(Priority)}  # critical first
MAX_BATCH = 2000  # log rows read at once


@dataclass(frozen=True, kw_only=True, slots=True)
class BoardFilter:
    """What one board shows; an empty tuple means any."""

    districts: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    categories: tuple[str, ...] = ()
    priorities: tuple[Priority, ...] = ()

    def shows(self, row: "BoardRow") -> bool:
        """Whether the row belongs on this board (open, and as the filters ask)."""
        return (
            row.status in OPEN
            and (not self.districts or row.district in self.districts)
            and (not self.statuses or row.status in self.statuses)
            and (not self.categories or row.category in self.categories)
            and (not self.priorities or row.priority in self.priorities)
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class AgencyState:
    agency: str
    state: AssignmentState


@dataclass(frozen=True, kw_only=True, slots=True)
class BoardRow:
    id: str  # LIM-2026-000123
    category: str
    priority: Priority
    district: str | None
    address: str | None
    reference: str | None
    lat: float | None
    lon: float | None
    source: Source
    status: Status
    summary: str
    created_at: datetime
    updated_at: datetime
    version: int
    merged_into: str | None
    agencies: tuple[AgencyState, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class LogEntry:
    """One event of the log, as the board's reader needs it."""

    id: int
    incident_id: str
    district: str | None
    seq: int
    kind: str
    at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class BoardPage:
    rows: tuple[BoardRow, ...]
    total: int  # open incidents the filter matches, on this page or not
    position: int  # the log's last id when the page was read


@dataclass(kw_only=True, slots=True)
class Changes:
    entries: list[LogEntry] = field(default_factory=list)
    complete: bool = True  # False: more entries past the last one (read again)


class Board:
    def __init__(self, db: Database) -> None:
        self.db = db

    def page(self, board: BoardFilter, limit: int) -> BoardPage:
        """The board's first ``limit`` rows: most urgent first, then newest."""
        c = t.incidents.c
        where = [c.status.in_([s.value for s in (board.statuses or OPEN) if s in OPEN])]
        if board.districts:
            where.append(c.district.in_(board.districts))
        if board.categories:
            where.append(c.category.in_(board.categories))
        if board.priorities:
            where.append(c.priority.in_([p.value for p in board.priorities]))
        rank = case(PRIORITY_RANK, value=c.priority, else_=len(PRIORITY_RANK))
        with self.db.read() as conn:
            # the position first: a change committed after it is sent again, never lost
            position = conn.execute(select(func.max(t.incident_events.c.id))).scalar() or 0
            total = conn.execute(select(func.count()).select_from(t.incidents).where(*where))
            found = conn.execute(
                select(t.incidents)
                .where(*where)
                .order_by(rank, c.created_at.desc(), c.id.desc())
                .limit(limit)
            ).all()
            rows = _with_agencies(conn, found)
        return BoardPage(rows=tuple(rows), total=int(total.scalar_one()), position=int(position))

    def rows(self, incident_ids: Iterable[str]) -> list[BoardRow]:
        """The current rows of these incidents (open or not), in no particular order."""
        ids = sorted(set(incident_ids))
        if not ids:
            return []
        with self.db.read() as conn:
            found = conn.execute(select(t.incidents).where(t.incidents.c.public_id.in_(ids)))
            return _with_agencies(conn, found.all())

    def position(self) -> int:
        """The log's last id."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.max(t.incident_events.c.id))).scalar() or 0)

    def changes(self, after: int, gaps: Sequence[int] = (), *, limit: int = MAX_BATCH) -> Changes:
        """The log's events past ``after``, and those of ``gaps`` (ids below it not seen
        before) now visible, in the order of their ids."""
        e, i = t.incident_events.c, t.incidents.c
        wanted = e.id > after
        if gaps:
            wanted = or_(wanted, e.id.in_(list(gaps)))
        with self.db.read() as conn:
            found = conn.execute(
                select(e.id, i.public_id, i.district, e.seq, e.kind, e.at)
                .join(t.incidents, i.id == e.incident_id)
                .where(wanted)
                .order_by(e.id)
                .limit(limit + 1)
            ).all()
        entries = [
            LogEntry(id=r.id, incident_id=r.public_id, district=r.district, seq=r.seq,
                     kind=r.kind, at=r.at)
            for r in found[:limit]
        ]  # fmt: skip
        return Changes(entries=entries, complete=len(found) <= limit)

    def changed_since(self, at: datetime, after: int) -> set[str]:
        """The incidents with an event past ``after`` or at ``at`` or later (what a
        viewer who saw the log up to ``after`` may have missed, a late commit included)."""
        e, i = t.incident_events.c, t.incidents.c
        with self.db.read() as conn:
            return set(
                conn.execute(
                    select(i.public_id)
                    .join(t.incident_events, i.id == e.incident_id)
                    .where(or_(e.id > after, e.at >= at))
                    .distinct()
                ).scalars()
            )

    def at_of(self, event_id: int) -> datetime | None:
        """When the event ``event_id`` (or the last one before it) was recorded."""
        e = t.incident_events.c
        with self.db.read() as conn:
            return conn.execute(
                select(e.at).where(e.id <= event_id).order_by(e.id.desc()).limit(1)
            ).scalar()


def _with_agencies(conn: Any, found: Sequence[Any]) -> list[BoardRow]:
    by_incident: dict[int, list[AgencyState]] = {r.id: [] for r in found}
    if by_incident:
        a = t.assignments.c
        for row in conn.execute(
            select(a.incident_id, a.agency, a.state)
            .where(a.incident_id.in_(list(by_incident)))
            .order_by(a.incident_id, a.priority, a.id)
        ):
            by_incident[row.incident_id].append(
                AgencyState(agency=row.agency, state=AssignmentState(row.state))
            )
    return [_row(r, by_incident[r.id]) for r in found]


def _row(r: Any, agencies: list[AgencyState]) -> BoardRow:
    return BoardRow(
        id=r.public_id,
        category=r.category,
        priority=Priority(r.priority),
        district=r.district,
        address=r.address,
        reference=r.reference,
        lat=r.lat,
        lon=r.lon,
        source=Source(r.source),
        status=Status(r.status),
        summary=r.summary,
        created_at=r.created_at,
        updated_at=r.updated_at,
        version=r.version,
        merged_into=r.merged_into,
        agencies=tuple(agencies),
    )


DUPLICATE_RADIUS_M = 500.0  # wider than the join of citizens' reports: an operator decides
DUPLICATE_WINDOW = timedelta(hours=2)


def duplicates(
    board: Board,
    *,
    category: str,
    now: datetime,
    lat: float | None,
    lon: float | None,
    district: str | None,
    address: str | None,
    scope: frozenset[str] | None = None,
) -> list[tuple[BoardRow, float | None]]:
    """The open incidents of ``category`` an operator's new report may be a duplicate of
    (within 500 m, or the same district and address, in the last two hours), nearest
    first, each with its distance in metres (None: matched by address); only those of
    the districts of ``scope`` (None: every district)."""
    key = address_key(address) if address else None
    nearby = Nearby(radius_m=DUPLICATE_RADIUS_M, window=DUPLICATE_WINDOW)
    with board.db.read() as conn:
        matches = find_matches(
            conn, category=category, now=now, lat=lat, lon=lon, district=district,
            address_key=key, nearby=nearby,
        )  # fmt: skip
    if not matches:
        return []
    rows = {r.id: r for r in board.rows(m.public_id for m in matches)}
    found = [
        (rows[m.public_id], m.distance_m)
        for m in matches
        if m.public_id in rows and (scope is None or rows[m.public_id].district in scope)
    ]
    return found[:10]
