"""Citizens report by Telegram, end to end: the fake Bot API plays the citizens and posts
their updates, signed with the webhook's secret, to the real app (aiohttp on loopback,
SQLite, Redis); the send jobs, run as a worker would, reach the fake through
python-telegram-bot, and the test reads what each chat received."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis
from sqlalchemy import Table, func, select

from channels import texts
from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import Citizen, FakeTelegram, Sent
from routing import schema as t
from routing.models import Source
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from voicebridge.app import make_app
from voicebridge.runtime import Runtime, build_runtime

TOKEN = "123456:" + "A" * 35
SECRET = "s3creto-del-webhook"
PUBLIC = "https://vb.example.pe"
KENNEDY = (-12.1211, -77.0297)  # Parque Kennedy, Miraflores
MIRAFLORES = "150122"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # a JPEG's head, ~10 KB


@dataclass
class Tg:
    runtime: Runtime
    client: TestClient[web.Request, web.Application]
    fake: FakeTelegram
    clock: FakeClock

    async def settle(self) -> None:
        """Until every stored update is processed (the webhook answers once stored)."""
        for _ in range(500):
            unprocessed, _ = await asyncio.to_thread(self.runtime.inbox.counts)
            if not unprocessed:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("stored updates left unprocessed")

    async def jobs(self) -> None:
        """The send jobs, as a worker runs them, until none is left: Telegram's flood
        limit per chat (one message a second) is waited out on the test's clock."""
        await self.settle()
        for _ in range(50):
            await asyncio.to_thread(run_due_tasks, self.runtime)
            if not await asyncio.to_thread(self._waiting):
                return
            self.clock.advance(1)
        raise AssertionError("send tasks left waiting")

    def _waiting(self) -> int:
        c = t.tasks.c
        with self.runtime.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(t.tasks)
                    .where(c.failed_at.is_(None), c.name == "send_message")
                ).scalar_one()
            )

    def count(self, table: Table) -> int:
        with self.runtime.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as telegram:
        yield telegram


@pytest.fixture
def runtime(
    sqlite_url: str, redis_url: str, redis: Redis, clock: FakeClock, fake: FakeTelegram
) -> Iterator[Runtime]:
    del redis  # emptied for the test
    settings = make_settings(
        sqlite_url,
        redis_url,
        public_url=PUBLIC,
        telegram_token=TOKEN,
        telegram_secret=SECRET,
        telegram_api_url=fake.url,
    )
    rt = build_runtime(settings, clock=clock)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


@pytest.fixture
async def tg(runtime: Runtime, fake: FakeTelegram, clock: FakeClock) -> AsyncIterator[Tg]:
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(runtime.settings, runtime=runtime))
    )
    await client.start_server()
    async with TelegramSender(TOKEN, fake.api_url) as sender:
        await sender.set_webhook(str(client.make_url("/webhooks/telegram")), SECRET)
    try:
        yield Tg(runtime=runtime, client=client, fake=fake, clock=clock)
    finally:
        await client.close()


def texts_of(sent: list[Sent]) -> list[str]:
    return [s.text or "" for s in sent]


async def report(tg: Tg, citizen: Citizen, words: str, *, photo: bool = False) -> str:
    """The guided report from /start to the receipt (a robbery at Parque Kennedy);
    the incident's id."""
    await citizen.starts()
    await tg.jobs()
    await citizen.presses(texts.category_label("robo"))
    await tg.jobs()
    await citizen.shares_location(*KENNEDY)
    await tg.jobs()
    await citizen.says(words)
    await tg.jobs()
    if photo:
        await citizen.sends_photo(PHOTO)
    else:
        await citizen.presses(texts.TG_SKIP_BUTTON)
    await tg.jobs()
    await citizen.presses(texts.TG_CONFIRM_BUTTON)
    await tg.jobs()
    return incident_in(tg, citizen.last().text or "")


def incident_in(tg: Tg, text: str) -> str:
    prefix = tg.runtime.settings.incident_prefix + "-"
    ids = [w.strip(".,:") for w in text.split() if w.startswith(prefix)]
    assert ids, text
    return ids[0]


async def test_a_guided_conversation_becomes_an_incident_with_its_receipt(tg: Tg) -> None:
    rosa = tg.fake.citizen(501, first_name="Rosa")
    await rosa.starts()
    await tg.jobs()
    assert texts_of(rosa.sent()) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]
    labels = [label for row in rosa.last().buttons for label, _ in row]
    assert texts.category_label("robo") in labels
    await rosa.presses(texts.category_label("robo"))
    await tg.jobs()
    assert rosa.last().text == texts.TG_ASK_LOCATION
    assert rosa.last().asks_location
    await rosa.shares_location(*KENNEDY)
    await tg.jobs()
    assert rosa.last().text == texts.TG_ASK_DESCRIPTION
    await rosa.says("Me robaron el celular dos tipos en moto")
    await tg.jobs()
    assert rosa.last().text == texts.TG_ASK_PHOTO
    await rosa.presses(texts.TG_SKIP_BUTTON)
    await tg.jobs()
    summary = rosa.last()
    assert "Robo" in (summary.text or "")
    assert [label for row in summary.buttons for label, _ in row] == [
        texts.TG_CONFIRM_BUTTON,
        texts.TG_CANCEL_BUTTON,
    ]
    await rosa.presses(texts.TG_CONFIRM_BUTTON)
    await tg.jobs()
    receipt = rosa.last().text or ""
    incident_id = incident_in(tg, receipt)
    assert receipt == texts.report_received(texts.Channel.TELEGRAM, incident_id)

    detail = tg.runtime.store.detail(incident_id)
    incident = detail.incident
    assert incident.category == "robo"
    assert incident.source is Source.TELEGRAM
    assert (incident.location.lat, incident.location.lon) == KENNEDY
    assert incident.district == MIRAFLORES  # from the shared point
    [filed] = detail.reports
    assert filed.reporter.handle == "501"
    assert filed.reporter.name == "Rosa"
    assert filed.text == "Me robaron el celular dos tipos en moto"
    # every press's spinner was stopped, with a word
    answers = tg.fake.calls("answerCallbackQuery")
    assert len(answers) == 3
    assert all(a.status == 200 for a in answers)
    for query in (a.params["callback_query_id"] for a in answers):
        answered, text = tg.fake.answer_to(str(query))
        assert answered
        assert text
