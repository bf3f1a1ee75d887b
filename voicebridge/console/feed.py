"""One reader of the incident log per process, for every console watching it.

:class:`LogFeed` reads the log past its position when it may have grown (a write
transaction that appended to it committed, in this process or another: a Redis message
on ``voicebridge:log``; and every :data:`POLL_SECONDS` at most, should a message be
lost), then reads the current board rows of the incidents those events touched, once,
and hands them to every viewer (:class:`Viewer`) whose board shows them. Two hundred
operators watching cost the database the same two reads per change as one.

Positions are the log's ids, which every replica shares: the SSE stream sends each
batch with its position as the event id, and a browser that reconnects (to this
replica or another) names the last one it got. The feed keeps the last
:data:`RING_SIZE` events it read, with the position of the batch that carried each, so
a reconnect is answered from memory: the incidents of every event the browser may not
have seen (:meth:`LogFeed.missed`). A position older than that memory gets ``resync``:
the browser reloads its board.

PostgreSQL gives out ids before a transaction commits, so an event with a smaller id
can become visible after a larger one was read. The feed remembers the ids it skipped
(``gaps``) and reads them again with every batch until they show up or
:data:`GAP_SECONDS` pass (a rolled-back insert never shows up).
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from routing.board import Board, BoardFilter, BoardRow, Changes

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # the longest a change waits to be read with no wake-up
GAP_SECONDS = 60.0  # how long an id skipped is waited for (a transaction's longest)
MAX_GAPS = 5000  # ids skipped that are waited for at once
RESUME_SLACK = 5.0  # seconds of events sent again on a reconnect (see LogFeed.missed)
RING_SIZE = 50_000  # events remembered for reconnects (minutes of a storm, hours of a day)
MISSED_MAX = 2000  # incidents a reconnect is sent again at most (else: resync)
QUEUE_SIZE = 256  # batches a slow viewer may fall behind before its stream is ended
RETRY_SECONDS = 2.0

Blocking = Callable[..., Awaitable[Any]]
Encode = Callable[[Sequence[BoardRow]], dict[str, Any]]  # blocking: may read the names


@dataclass(frozen=True, kw_only=True, slots=True)
class Batch:
    """What one read of the log changed: the rows of the incidents it touched, each with
    the district it was in before (when the feed saw it elsewhere)."""

    position: int
    rows: tuple[BoardRow, ...]
    moved_from: dict[str, str | None]  # incident -> its former district, when it moved
    encoded: dict[str, Any]  # incident -> its row, encoded once for every viewer
    payloads: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = field(default_factory=dict)
    """what viewers that see the same part of it are sent, serialized once for them all"""

    def payload(self, viewer: "Viewer", dumps: Callable[[Any], str]) -> str | None:
        """The ``rows`` event's data for ``viewer``; None when nothing of it is theirs."""
        shown, gone = viewer.split_ids(self)
        if not shown and not gone:
            return None
        key = (tuple(shown), tuple(gone))
        data = self.payloads.get(key)
        if data is None:
            data = dumps({"rows": [self.encoded[i] for i in shown], "gone": gone})
            self.payloads[key] = data
        return data


@dataclass(eq=False, kw_only=True)
class Viewer:
    """One browser tab's board: what it may see (``scope``: its districts, None for all
    of Lima) and what it asked to see (``board``)."""

    scope: frozenset[str] | None
    board: BoardFilter
    queue: asyncio.Queue[Batch | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    incident: str | None = None  # an incident's page follows that incident only
    overflowed: bool = False

    def drop(self) -> None:
        """It fell too far behind, or the service stops: its stream ends (the browser
        reconnects and resumes)."""
        self.overflowed = True

    def may_see(self, district: str | None) -> bool:
        return self.scope is None or district in self.scope

    def split(self, batch: Batch) -> tuple[list[Any], list[str]]:
        """The rows of ``batch`` for this viewer, and the incidents to take off its
        board (closed, filtered out, or moved to a district it does not see). Nothing of
        an incident it may not see, before or now, is ever in either."""
        shown, gone = self.split_ids(batch)
        return [batch.encoded[i] for i in shown], gone

    def split_ids(self, batch: Batch) -> tuple[list[str], list[str]]:
        """:meth:`split`, by the incidents' numbers."""
        shown: list[str] = []
        gone: list[str] = []
        for row in batch.rows:
            if self.incident is not None and row.id != self.incident:
                continue
            if self.may_see(row.district):
                if self.incident is not None or self.board.shows(row):
                    shown.append(row.id)
                else:
                    gone.append(row.id)
            elif row.id in batch.moved_from and self.may_see(batch.moved_from[row.id]):
                gone.append(row.id)
        return shown, gone


@dataclass(slots=True)
class _Seen:
    batch: int  # the position of the batch that carried it
    incident: str
    at: float  # when the feed read it (monotonic)


class LogFeed:
    def __init__(self, board: Board, blocking: Blocking, encode: Encode) -> None:
        self.board = board
        self.blocking = blocking
        self.encode = encode
        self.position = 0
        self.floor = 0  # a reconnect from below this position gets "resync"
        self.gaps: dict[int, float] = {}  # id skipped -> when (monotonic)
        self.ring: deque[_Seen] = deque()
        self.districts: dict[str, str | None] = {}  # incident -> its district last seen
        # incident -> its row and encoded row as last read (every incident of the ring)
        self.latest: OrderedDict[str, tuple[BoardRow, Any]] = OrderedDict()
        self.viewers: set[Viewer] = set()
        self.reads = 0  # reads of the log (for tests and the benchmark)
        self.started = asyncio.Event()

    # ------------------------------------------------------------------ viewers

    def watch(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)

    def forget(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    def missed(self, after: int) -> set[str] | None:
        """The incidents a viewer that got every batch up to position ``after`` may have
        missed; None when the feed no longer remembers that far (the viewer reloads).

        That is every incident of a batch at ``after`` or later, and of any event the
        feed read in the :data:`RESUME_SLACK` seconds before it first reached ``after``
        (a late commit another replica had not yet read, or read later): a row sent
        twice is harmless, the browser keeps the newer version."""
        if after < self.floor:
            return None
        reached = time.monotonic()  # not reached yet: the viewer came from a replica ahead
        found: set[str] = set()
        for seen in reversed(self.ring):
            if seen.batch >= after:
                reached = seen.at
            elif seen.at < reached - RESUME_SLACK:
                break
            found.add(seen.incident)
            if len(found) > MISSED_MAX:  # cheaper to reload the board
                return None
        return found

    # --------------------------------------------------------------------- loop

    async def run(self, wake: asyncio.Event) -> None:
        """Read the log at every wake-up, and at least every :data:`POLL_SECONDS`,
        until cancelled; a failing database is retried."""
        failing = False
        while True:
            try:
                if not self.started.is_set():
                    self.position = self.floor = await self.blocking(self.board.position)
                    self.started.set()
                await self.step()
                if failing:
                    log.info("the console's log reader works again")
                    failing = False
            except Exception:
                if not failing:
                    log.exception("the console's log reader failed; retrying")
                    failing = True
                await asyncio.sleep(RETRY_SECONDS)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await wake.wait()
            wake.clear()

    async def step(self) -> Batch | None:
        """One read of the log, handed to the viewers; the batch, if anything changed.
        Nothing of the feed's state moves until the rows of the batch are read and
        encoded: a read that fails is read again whole."""
        now = time.monotonic()
        for gap, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS:  # a rolled-back id: it never shows up
                del self.gaps[gap]
        changes: Changes = await self.blocking(self.board.changes, self.position, list(self.gaps))
        self.reads += 1
        if not changes.entries:
            return None
        gaps = dict(self.gaps)
        top = self.position
        for entry in changes.entries:
            if entry.id in gaps:
                del gaps[entry.id]
            elif entry.id > top:
                for skipped in range(max(top + 1, entry.id - MAX_GAPS), entry.id):
                    gaps[skipped] = now
                top = entry.id
        if len(gaps) > MAX_GAPS:  # the oldest first
            for gap in sorted(gaps)[: len(gaps) - MAX_GAPS]:
                del gaps[gap]
        touched = {e.incident_id for e in changes.entries}
        rows: list[BoardRow] = await self.blocking(self.board.rows, touched)
        encoded = await self.blocking(self.encode, rows)
        # read and encoded: now the feed moves on
        self.gaps, self.position = gaps, top
        for entry in changes.entries:
            self.ring.append(_Seen(batch=top, incident=entry.incident_id, at=now))
        while len(self.ring) > RING_SIZE:
            self.floor = max(self.floor, self.ring.popleft().batch)
        moved: dict[str, str | None] = {}
        for row in rows:
            before = self.districts.get(row.id, row.district)
            if before != row.district:
                moved[row.id] = before
            self.districts[row.id] = row.district
            self.latest[row.id] = (row, encoded[row.id])
            self.latest.move_to_end(row.id)
        while len(self.latest) > RING_SIZE:  # every incident of the ring stays
            gone, _ = self.latest.popitem(last=False)
            self.districts.pop(gone, None)
        batch = Batch(position=top, rows=tuple(rows), moved_from=moved, encoded=encoded)
        self.publish(batch)
        if not changes.complete:  # more waiting: read again at once
            await self.step()
        return batch

    def replay(self, incidents: set[str]) -> Batch:
        """The rows the feed last read of these incidents (all of the ring's), as one
        batch at its position: what a reconnect or a poll is sent, read from memory."""
        known = [self.latest[i] for i in incidents if i in self.latest]
        return Batch(
            position=self.position,
            rows=tuple(row for row, _ in known),
            moved_from={},
            encoded={row.id: data for row, data in known},
        )

    def publish(self, batch: Batch | None) -> None:
        for viewer in list(self.viewers):
            if viewer.overflowed:
                continue
            try:
                viewer.queue.put_nowait(batch)
            except asyncio.QueueFull:  # its stream ends; the browser reconnects, resumes
                viewer.drop()
                self.viewers.discard(viewer)

    def close(self) -> None:
        """End every stream (the service is stopping)."""
        for viewer in list(self.viewers):
            viewer.drop()
            with contextlib.suppress(asyncio.QueueFull):
                viewer.queue.put_nowait(None)
        self.viewers.clear()
