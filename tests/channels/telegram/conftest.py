"""The fake Bot API, a sender pointed at it, and a webhook receiver: the pieces every
Telegram channel test uses. Everything listens on 127.0.0.1."""

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiohttp import web

from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import FakeTelegram
from tests.conftest import FakeClock

TOKEN = "123456789:AAH-fake_token-for-tests"
BOT = "voicebridge_test_bot"
T = TypeVar("T")


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(
        TOKEN, bot_username=BOT, clock=lambda: clock.now().timestamp(), webhook_backoff=0.0
    ) as server:
        yield server


@pytest.fixture
async def sender(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(TOKEN, fake.api_url) as opened:
        yield opened


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A bot's webhook endpoint: records every POST, answers ``statuses`` in turn (200
    once they run out)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set up, every POST waits for it to open
    in_flight: int = 0
    most_in_flight: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set on every POST

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), json.loads(await request.read())))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        self.in_flight -= 1
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/telegram", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/telegram"
    yield hook
    await runner.cleanup()


@dataclass
class Threaded:
    """A fake served by an event loop of its own thread, for synchronous callers."""

    fake: FakeTelegram
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@pytest.fixture
def threaded_fake() -> Iterator[Threaded]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    served = Threaded(FakeTelegram(TOKEN, bot_username=BOT, webhook_backoff=0.0), loop)
    served.run(served.fake.start())
    yield served
    served.run(served.fake.stop())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()
