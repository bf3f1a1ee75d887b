"""The console's one reader of the incident log (:class:`voicebridge.console.feed.LogFeed`)
on both databases: every change reaches the viewers once read, an event that commits
after one with a larger id (PostgreSQL gives ids out before commit) is not lost, and a
reconnect is answered from what the feed remembers."""

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from routing import schema as t
from routing.board import BoardFilter, BoardRow
from routing.events import FilledIn, event
from routing.models import Priority
from tests.conftest import FakeClock, _truncate, make_settings
from tests.routing.test_store import ACTOR, new
from voicebridge.console.feed import LogFeed, Viewer
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.settings import Settings


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return make_settings(database_url, redis_url)


async def blocking(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


def encode(rows: Sequence[BoardRow]) -> dict[str, Any]:
    return {r.id: {"id": r.id, "version": r.version} for r in rows}


def filled_in(priority: str) -> Any:
    return event(FilledIn(priority=priority), actor=ACTOR, cause="prueba")


async def started(runtime: Runtime) -> LogFeed:
    feed = LogFeed(runtime.board, blocking, encode)
    feed.position = feed.floor = await blocking(runtime.board.position)
    feed.started.set()
    return feed


async def test_every_change_is_read_once_and_handed_to_each_viewer(runtime: Runtime) -> None:
    feed = await started(runtime)
    viewers = [Viewer(scope=None, board=BoardFilter()) for _ in range(3)]
    for viewer in viewers:
        feed.watch(viewer)
    a, _ = await blocking(runtime.store.create_incident, new(), actor=ACTOR)
    batch = await feed.step()
    assert batch is not None
    assert [r.id for r in batch.rows] == [a.id]
    for viewer in viewers:
        assert viewer.queue.get_nowait() is batch
    assert await feed.step() is None  # nothing new: nothing handed out
    assert feed.missed(0) == {a.id}
    assert feed.missed(batch.position) == {a.id}  # the last batch again: harmless
    assert feed.missed(batch.position + 1) == {a.id}  # a replica ahead: the last seconds


@pytest.fixture
def pg_runtime(postgres_url: str, redis_url: str, clock: FakeClock) -> Iterator[Runtime]:
    _truncate(postgres_url)
    rt = build_runtime(make_settings(postgres_url, redis_url), clock=clock, media=frozenset())
    yield rt
    rt.close()


@pytest.mark.postgres  # SQLite has one writer at a time: its ids commit in order
async def test_an_event_that_commits_late_with_a_smaller_id_is_not_lost(
    pg_runtime: Runtime,
) -> None:
    runtime = pg_runtime
    store = runtime.store
    a, _ = await blocking(store.create_incident, new(), actor=ACTOR)
    b, _ = await blocking(store.create_incident, new(district="150122"), actor=ACTOR)
    feed = await started(runtime)
    viewer = Viewer(scope=None, board=BoardFilter())
    feed.watch(viewer)
    logged, release = threading.Event(), threading.Event()

    def slow_transaction() -> None:  # takes its id, then commits after the other
        with runtime.db.write() as conn:
            row = store.locked(conn, a.id)
            store.log(conn, row.id, runtime.clock.now(), filled_in(Priority.HIGH.value))
            logged.set()
            release.wait(10)

    slow = asyncio.create_task(asyncio.to_thread(slow_transaction))
    await asyncio.to_thread(logged.wait, 10)
    await blocking(store.append_event, b.id, filled_in(Priority.LOW.value))
    first = await feed.step()
    assert first is not None
    assert [r.id for r in first.rows] == [b.id]
    assert len(feed.gaps) == 1  # a's event: its id given out, not yet visible
    position = first.position
    release.set()
    await slow
    late = await feed.step()
    assert late is not None
    assert [(r.id, r.version) for r in late.rows] == [(a.id, 2)]
    assert feed.gaps == {}
    assert late.position == position  # the position never goes back
    # a browser that had seen the first batch, reconnecting, gets the late one
    assert a.id in (feed.missed(position) or set())
    assert [viewer.queue.get_nowait(), viewer.queue.get_nowait()] == [first, late]


async def test_an_id_that_never_commits_is_waited_for_a_while_only(runtime: Runtime) -> None:
    from voicebridge.console.feed import GAP_SECONDS

    feed = await started(runtime)
    now = time.monotonic()
    feed.gaps = {1_000_001: now - GAP_SECONDS - 1, 1_000_002: now}  # a rollback's, a fresh one
    await feed.step()
    assert list(feed.gaps) == [1_000_002]


def test_a_commit_that_grew_the_log_is_told_and_no_other(runtime: Runtime) -> None:
    told: list[int] = []
    runtime.db.after_log = lambda: told.append(1)
    incident, _ = runtime.store.create_incident(new(), actor=ACTOR)
    assert told == [1]  # its "created" event
    runtime.store.append_event(incident.id, filled_in(Priority.HIGH.value))
    assert told == [1, 1]
    with runtime.db.write() as conn:  # a write without events
        conn.execute(t.tasks.delete().where(t.tasks.c.id < 0))
    assert told == [1, 1]

    def abandoned() -> None:
        with runtime.db.write() as conn:
            store = runtime.store
            store.log(conn, store.locked(conn, incident.id).id, runtime.clock.now(),
                      filled_in(Priority.LOW.value))  # fmt: skip
            raise RuntimeError("abandoned")

    with pytest.raises(RuntimeError):  # rolled back
        abandoned()
    assert told == [1, 1]
    with runtime.db.write() as conn:  # the same pooled connection, nothing logged now
        conn.execute(t.tasks.delete().where(t.tasks.c.id < 0))
    assert told == [1, 1]


async def test_the_feed_is_woken_by_a_commit_in_another_process(
    runtime: Runtime, redis_url: str
) -> None:
    """Another process's commit reaches this one's reader through Redis, long before
    its next poll."""
    from voicebridge.console import feed as console_feed

    feed = await started(runtime)
    woken = runtime.logged.listener()
    follow = asyncio.create_task(runtime.logged.follow(redis_url))
    try:
        await asyncio.sleep(0.2)  # subscribed
        other = build_runtime(runtime.settings, clock=runtime.clock, media=frozenset())
        try:  # "another process": its own database pool and Redis client
            await asyncio.to_thread(other.store.create_incident, new(), actor=ACTOR)
        finally:
            other.close()
        async with asyncio.timeout(console_feed.POLL_SECONDS / 2):
            await woken.wait()
        assert await feed.step() is not None
    finally:
        follow.cancel()
        runtime.logged.forget(woken)


async def test_a_read_that_fails_midway_is_read_again_whole(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = await started(runtime)
    viewer = Viewer(scope=None, board=BoardFilter())
    feed.watch(viewer)
    a, _ = await blocking(runtime.store.create_incident, new(), actor=ACTOR)
    real = runtime.board.rows
    fail = [True]

    def rows_once_failing(ids: Any) -> Any:
        if fail.pop() if fail else False:
            raise RuntimeError("the database went away")
        return real(ids)

    monkeypatch.setattr(runtime.board, "rows", rows_once_failing)
    position = feed.position
    with pytest.raises(RuntimeError):
        await feed.step()
    assert (feed.position, len(feed.ring)) == (position, 0)  # nothing moved
    batch = await feed.step()
    assert batch is not None
    assert [r.id for r in batch.rows] == [a.id]
    assert viewer.queue.get_nowait() is batch


async def test_a_reconnect_is_answered_from_memory(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = await started(runtime)
    a, _ = await blocking(runtime.store.create_incident, new(), actor=ACTOR)
    first = await feed.step()
    assert first is not None

    def no_reads(*args: Any) -> Any:
        raise AssertionError("a reconnect read the database")

    monkeypatch.setattr(runtime.board, "rows", no_reads)
    replayed = feed.replay(feed.missed(0) or set())
    assert [(r.id, r.version) for r in replayed.rows] == [(a.id, 1)]
    assert replayed.encoded == first.encoded
