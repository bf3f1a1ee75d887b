"""Telegram's polling mode (VOICEBRIDGE_TELEGRAM_MODE=polling, for development): serve's
loop asks the fake Bot API for updates with getUpdates, stores each like a webhook's,
and the next call's offset confirms them; nothing is processed twice across restarts of
the loop, and a failure to store an update leaves it unconfirmed, to be asked for again."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from channels import texts
from channels.telegram.sim import FakeTelegram
from routing import schema as t
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from voicebridge.app import make_app
from voicebridge.citizens import channels
from voicebridge.runtime import Runtime, build_runtime

TOKEN = "123456:" + "B" * 35


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as telegram:
        yield telegram


@pytest.fixture
def runtime(
    sqlite_url: str,
    redis_url: str,
    redis: Redis,
    clock: FakeClock,
    fake: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    del redis  # emptied for the test
    monkeypatch.setattr(channels, "POLL_BACKOFF", (0.01, 0.01))  # no real waits
    settings = make_settings(
        sqlite_url,
        redis_url,
        telegram_token=TOKEN,
        telegram_api_url=fake.url,
        telegram_mode="polling",
    )
    rt = build_runtime(settings, clock=clock)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


async def serving(runtime: Runtime) -> TestClient[web.Request, web.Application]:
    """``serve``'s app (its polling loop starts with it)."""
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(runtime.settings, runtime=runtime))
    )
    await client.start_server()
    return client


async def until(what: Callable[[], bool], why: str) -> None:
    for _ in range(1000):
        if await asyncio.to_thread(what):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(why)


def processed(runtime: Runtime, n: int) -> Callable[[], bool]:
    """``n`` updates stored and processed."""

    def check() -> bool:
        c = t.inbound_messages.c
        with runtime.db.read() as conn:
            done = conn.execute(
                select(func.count()).where(c.processed_at.is_not(None))
            ).scalar_one()
        return int(done) == n and runtime.inbox.counts() == (0, 0)

    return check


def stored(runtime: Runtime) -> int:
    with runtime.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.inbound_messages)).scalar_one())


async def jobs(runtime: Runtime, clock: FakeClock) -> None:
    for _ in range(20):
        await asyncio.to_thread(run_due_tasks, runtime)
        clock.advance(1)


async def test_updates_asked_for_are_stored_processed_and_confirmed(
    runtime: Runtime, fake: FakeTelegram, clock: FakeClock
) -> None:
    client = await serving(runtime)
    try:
        await fake.polled()
        rosa = fake.citizen(601)
        delivery = await rosa.starts()
        assert delivery.outcome == "queued"  # no webhook: waiting for getUpdates
        await until(processed(runtime, 1), "the update was not processed")
        await jobs(runtime, clock)
        assert [s.text for s in rosa.sent()] == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
        # the next call's offset confirmed it: Telegram keeps it no more
        await until(lambda: fake.pending == [], "the update was not confirmed")
    finally:
        await client.close()
    assert fake.calls("deleteWebhook")  # polling takes the updates a webhook would


async def test_no_update_is_processed_twice_across_restarts_of_the_loop(
    runtime: Runtime, fake: FakeTelegram, clock: FakeClock
) -> None:
    rosa = fake.citizen(602)
    client = await serving(runtime)
    try:
        await rosa.starts()
        await until(processed(runtime, 1), "the first update was not processed")
        await jobs(runtime, clock)
    finally:
        await client.close()
    await rosa.presses(texts.category_label("robo"))  # while nobody polls
    client = await serving(runtime)
    try:
        await until(processed(runtime, 2), "the update that waited was not processed")
        await jobs(runtime, clock)
        await rosa.shares_location(-12.1211, -77.0297)
        await until(processed(runtime, 3), "the third update was not processed")
    finally:
        await client.close()
    client = await serving(runtime)  # and once more, with nothing new
    try:
        await fake.polled()
    finally:
        await client.close()
    assert stored(runtime) == 3
    await jobs(runtime, clock)
    sent = [s.text for s in rosa.sent()]
    assert sent == [
        texts.TG_GREETING,
        texts.TG_ASK_CATEGORY,
        texts.TG_ASK_LOCATION,
        texts.TG_ASK_DESCRIPTION,
    ]


async def test_an_update_that_could_not_be_stored_is_asked_for_again(
    runtime: Runtime, fake: FakeTelegram, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = runtime.inbox.store
    failures = [OperationalError("INSERT", {}, Exception("disk I/O error"))]

    def failing(messages: Any, *args: Any) -> Any:
        if failures:
            raise failures.pop()
        return store(messages, *args)

    monkeypatch.setattr(runtime.inbox, "store", failing)
    client = await serving(runtime)
    try:
        rosa = fake.citizen(603)
        await rosa.starts()
        await until(processed(runtime, 1), "the update was lost")
        await rosa.command("ayuda")
        await until(processed(runtime, 2), "polling stopped after the failure")
    finally:
        await client.close()
    await jobs(runtime, clock)
    assert [s.text for s in rosa.sent()][:2] == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
