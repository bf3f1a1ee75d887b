"""Citizens report by Telegram, end to end: the fake Bot API plays the citizens and posts
their updates, signed with the webhook's secret, to the real app (aiohttp on loopback,
SQLite, Redis); the send jobs, run as a worker would, reach the fake through
python-telegram-bot, and the test reads what each chat received."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis
from sqlalchemy import Table, func, select, update

from channels import texts
from channels.conversation.models import Step, TelegramState
from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import SECRET_HEADER, Citizen, FakeTelegram, Sent, methods
from channels.telegram.sim.state import BotState
from channels.telegram.sim.wire import Params
from routing import schema as t
from routing.analytics import BY_CODE, measure, phases
from routing.models import Source, Status
from routing.outbox import MessageState, OutMessage, Purpose
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from voicebridge.apikeys import Role
from voicebridge.app import make_app
from voicebridge.runtime import Runtime, build_runtime

TOKEN = "123456:" + "A" * 35
SECRET = "s3creto-del-webhook"
PUBLIC = "https://vb.example.pe"
KENNEDY = (-12.1211, -77.0297)  # Parque Kennedy, Miraflores
MIRAFLORES = "150122"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8  # a JPEG's head, ~2 KB
PHOTO_MAX = 4096
BIG_PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 24  # past PHOTO_MAX


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
    async with FakeTelegram(TOKEN, webhook_backoff=0.0) as telegram:
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
        photo_max_bytes=str(PHOTO_MAX),
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


async def report(
    tg: Tg, citizen: Citizen, words: str, *, photo: bytes | None = None, declare_size: bool = True
) -> str:
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
    if photo is not None:
        await citizen.sends_photo(photo, declare_size=declare_size)
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
    began = tg.clock.now()
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
    tg.clock.advance(30)  # she reads the summary for half a minute
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
    # the contact began with her first message: the answering interval runs from it
    assert filed.began == began
    assert filed.received_at >= began + timedelta(seconds=30)
    [answering] = measure(phases(detail), BY_CODE["answering"])
    assert answering.seconds == (incident.created_at - began).total_seconds()
    # every press's spinner was stopped, with a word
    answers = tg.fake.calls("answerCallbackQuery")
    assert len(answers) == 3
    assert all(a.status == 200 for a in answers)
    for query in (a.params["callback_query_id"] for a in answers):
        answered, text = tg.fake.answer_to(str(query))
        assert answered
        assert text


async def test_a_photo_is_kept_as_its_telegram_file_id(tg: Tg) -> None:
    rosa = tg.fake.citizen(502)
    incident_id = await report(tg, rosa, "Se llevaron mi mochila", photo=PHOTO)
    photo = [r for r in tg.fake.requests if r.method == "getFile"]
    assert photo == []  # not fetched: kept as its id, fetched when an operator asks
    [payload] = reports_payloads(tg, incident_id)
    sizes = rosa_photo_sizes(tg, 502)
    assert payload == {"photo": sizes[-1]["file_id"]}  # the largest size
    [shown] = tg.runtime.store.detail(incident_id).reports
    assert shown.photo  # the report says so: operators fetch it from its photo_url


def reports_payloads(tg: Tg, incident_id: str) -> list[dict[str, object]]:
    r, i = t.reports.c, t.incidents.c
    with tg.runtime.db.read() as conn:
        rows = conn.execute(
            select(r.payload)
            .join(t.incidents, i.id == r.incident_id)
            .where(i.public_id == incident_id)
            .order_by(r.id)
        ).scalars()
        return [dict(p) for p in rows]


def rosa_photo_sizes(tg: Tg, chat_id: int) -> list[dict[str, object]]:
    """The sizes of the last photo the citizen of ``chat_id`` sent."""
    photos = [
        m["photo"]
        for (chat, _), m in sorted(tg.fake.state.messages.items())
        if chat == chat_id and "photo" in m
    ]
    assert photos
    return list(photos[-1])


async def test_estado_answers_the_state_of_the_citizens_own_incident_only(tg: Tg) -> None:
    rosa = tg.fake.citizen(503)
    incident_id = await report(tg, rosa, "Robaron una cartera")
    await rosa.command("estado", incident_id)
    await tg.jobs()
    answer = rosa.last().text or ""
    assert answer.startswith(f"Estado de {incident_id}"), answer
    stranger = tg.fake.citizen(504, first_name="Pedro")
    await stranger.command("estado", incident_id)
    await tg.jobs()
    assert stranger.last().text == texts.incident_not_found(texts.Channel.TELEGRAM, incident_id)


async def test_cancelar_drops_the_draft(tg: Tg) -> None:
    rosa = tg.fake.citizen(505)
    await rosa.starts()
    await tg.jobs()
    category_message = rosa.last().message_id
    await rosa.presses(texts.category_label("incendio"))
    await tg.jobs()
    await rosa.command("cancelar")
    await tg.jobs()
    assert rosa.last().text == texts.TG_CANCELLED
    chat = tg.runtime.chats.get("telegram", "505")
    assert chat is not None
    state = TelegramState.from_data(chat.state)
    assert state.step is Step.IDLE
    assert state.category is None
    # the draft's buttons are stale now
    delivery = await rosa.presses(texts.category_label("robo"), message_id=category_message)
    await tg.jobs()
    query = delivery.update["callback_query"]["id"]
    assert tg.fake.answer_to(query) == (True, texts.TG_STALE)
    assert tg.count(t.incidents) == 0


async def test_a_restart_in_the_middle_of_a_conversation_continues_it(
    tg: Tg, runtime: Runtime, clock: FakeClock, fake: FakeTelegram
) -> None:
    rosa = tg.fake.citizen(506)
    await rosa.starts()
    await tg.jobs()
    await rosa.presses(texts.category_label("robo"))
    await tg.jobs()
    await rosa.shares_location(*KENNEDY)
    await tg.jobs()
    await tg.client.close()  # the process stops; another starts on the same database
    again = build_runtime(runtime.settings, clock=clock)
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(again.settings, runtime=again))
    )
    await client.start_server()
    try:
        async with TelegramSender(TOKEN, fake.api_url) as sender:
            await sender.set_webhook(str(client.make_url("/webhooks/telegram")), SECRET)
        after = Tg(runtime=again, client=client, fake=fake, clock=clock)
        await rosa.says("Un tipo con cuchillo le quitó el celular a una señora")
        await after.jobs()
        assert rosa.last().text == texts.TG_ASK_PHOTO
        await rosa.presses(texts.TG_SKIP_BUTTON)
        await after.jobs()
        await rosa.presses(texts.TG_CONFIRM_BUTTON)
        await after.jobs()
        incident = again.store.detail(incident_in(after, rosa.last().text or "")).incident
        assert incident.category == "robo"
        assert incident.district == MIRAFLORES
    finally:
        await client.close()
        again.close()


@pytest.mark.parametrize("header", [None, "otro-secreto", SECRET + "x", ""])
async def test_without_the_right_secret_it_is_403_and_nothing_is_stored(
    tg: Tg, header: str | None
) -> None:
    update = {
        "update_id": 900,
        "message": {
            "message_id": 1,
            "date": 1_795_000_000,
            "chat": {"id": 507, "type": "private", "first_name": "Rosa"},
            "from": {"id": 507, "is_bot": False, "first_name": "Rosa"},
            "text": "/start",
        },
    }
    headers = {} if header is None else {SECRET_HEADER: header}
    response = await tg.client.post("/webhooks/telegram", json=update, headers=headers)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "invalid_signature"
    assert tg.count(t.inbound_messages) == 0


async def test_a_webhook_set_with_another_secret_is_refused(tg: Tg) -> None:
    async with TelegramSender(TOKEN, tg.fake.api_url) as sender:
        await sender.set_webhook(str(tg.client.make_url("/webhooks/telegram")), "otro-secreto")
    delivery = await tg.fake.citizen(508).starts()
    assert delivery.outcome == "failed"
    assert {a.status for a in delivery.attempts} == {403}
    assert tg.count(t.inbound_messages) == 0
    assert tg.fake.webhook.last_error_message is not None


async def test_a_repeated_update_is_stored_and_processed_once(tg: Tg) -> None:
    rosa = tg.fake.citizen(509)
    delivery = await rosa.says("/start", duplicate=True)
    assert delivery.status == 200
    assert [a.status for a in delivery.duplicates] == [200]
    await tg.jobs()
    assert tg.count(t.inbound_messages) == 1
    assert texts_of(rosa.sent()) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]


async def test_a_citizen_who_blocks_the_bot_gets_no_news_until_unblocking(tg: Tg) -> None:
    rosa = tg.fake.citizen(510)
    incident_id = await report(tg, rosa, "Robaron en la tienda de la esquina")
    before = len(rosa.sent())
    await rosa.blocks()
    await tg.settle()
    chat = tg.runtime.chats.get("telegram", "510")
    assert chat is not None
    assert chat.unreachable_at is not None
    await asyncio.to_thread(tg.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await tg.jobs()
    assert len(rosa.sent()) == before
    news = [m for m in outbox_of(tg, incident_id) if m.purpose is Purpose.NEWS]
    assert news
    assert {m.state for m in news} == {MessageState.HELD}
    await rosa.unblocks()  # "Reiniciar": the chat may be written to again
    await tg.settle()
    chat = tg.runtime.chats.get("telegram", "510")
    assert chat is not None
    assert chat.writable
    await asyncio.to_thread(
        tg.runtime.store.transition,
        incident_id,
        Status.RESOLVED,
        actor="operator:test",
        cause="atendido",
    )
    await tg.jobs()
    assert rosa.last().text == texts.news_resolved(texts.Channel.TELEGRAM, incident_id)


async def test_a_403_on_send_marks_the_chat_unreachable(tg: Tg) -> None:
    rosa = tg.fake.citizen(511)
    incident_id = await report(tg, rosa, "Robaron una bicicleta")
    before = len(rosa.sent())
    tg.fake.script(code=403, description="Forbidden: bot was blocked by the user", chat_id=511)
    await asyncio.to_thread(tg.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await tg.jobs()
    [news] = [m for m in outbox_of(tg, incident_id) if m.purpose is Purpose.NEWS]
    assert news.state is MessageState.FAILED
    chat = tg.runtime.chats.get("telegram", "511")
    assert chat is not None
    assert chat.unreachable_at is not None
    await asyncio.to_thread(
        tg.runtime.store.transition,
        incident_id,
        Status.RESOLVED,
        actor="operator:test",
        cause="atendido",
    )
    await tg.jobs()
    assert len(rosa.sent()) == before  # the later news held, never tried
    states = [m.state for m in outbox_of(tg, incident_id) if m.purpose is Purpose.NEWS]
    assert states == [MessageState.FAILED, MessageState.HELD]


async def test_a_429_is_sent_again_after_its_retry_after(tg: Tg) -> None:
    rosa = tg.fake.citizen(512, started=True)
    await rosa.command("ayuda")
    await tg.settle()
    tg.fake.flood(512, retry_after=7)
    await asyncio.to_thread(run_due_tasks, tg.runtime)
    [message] = outbox_rows(tg, "512")
    assert message.state is MessageState.QUEUED
    assert message.tries == 1
    [retry] = send_tasks(tg, message.id, number=2)
    assert retry == tg.clock.now() + timedelta(seconds=7)
    tg.clock.advance(6)
    await asyncio.to_thread(run_due_tasks, tg.runtime)
    assert rosa.sent() == []
    tg.clock.advance(1)
    await asyncio.to_thread(run_due_tasks, tg.runtime)
    assert rosa.last().text is not None
    [message] = outbox_rows(tg, "512")
    assert message.state is MessageState.DELIVERED


async def test_the_updates_of_a_chat_are_processed_in_arrival_order(tg: Tg) -> None:
    rosa = tg.fake.citizen(513)
    await rosa.starts()
    await tg.jobs()
    words = [f"mensaje {n}" for n in range(12)]
    deliveries = await asyncio.gather(*(rosa.says(w) for w in words))
    assert all(d.status == 200 for d in deliveries)
    await tg.settle()
    c = t.inbound_messages.c
    with tg.runtime.db.read() as conn:
        stored = conn.execute(select(c.raw).where(c.chat == "513").order_by(c.id)).scalars()
        arrived = [raw["message"].get("text") for raw in stored]
    chat = tg.runtime.chats.get("telegram", "513")
    assert chat is not None
    state = TelegramState.from_data(chat.state)
    assert list(state.notes) == [w for w in arrived if w in words]
    assert sorted(state.notes) == sorted(words)


def outbox_of(tg: Tg, incident_id: str) -> list[OutMessage]:
    with tg.runtime.db.read() as conn:
        row = conn.execute(
            select(t.incidents.c.id).where(t.incidents.c.public_id == incident_id)
        ).scalar_one()
    return tg.runtime.outbox.of_incident(int(row))


def outbox_rows(tg: Tg, chat: str) -> list[OutMessage]:
    c = t.outbound_messages.c
    with tg.runtime.db.read() as conn:
        ids = list(conn.execute(select(c.id).where(c.chat == chat).order_by(c.id)).scalars())
    return [m for i in ids if (m := tg.runtime.outbox.get(int(i))) is not None]


def send_tasks(tg: Tg, message_id: int, *, number: int) -> list[datetime | None]:
    c = t.tasks.c
    with tg.runtime.db.read() as conn:
        rows = conn.execute(select(c.args, c.not_before).where(c.name == "send_message")).all()
    return [r.not_before for r in rows if r.args == {"message_id": message_id, "number": number}]


async def test_a_pressed_button_is_answered_at_once_with_the_next_question(tg: Tg) -> None:
    rosa = tg.fake.citizen(514)
    await rosa.starts()
    await tg.jobs()
    delivery = await rosa.presses(texts.category_label("robo"))
    tg.clock.advance(1)  # the chat's flood slot of the last question is free again
    await tg.settle()
    await asyncio.to_thread(run_due_tasks, tg.runtime)  # one round, no time passing
    query = delivery.update["callback_query"]["id"]
    assert tg.fake.answer_to(query) == (True, texts.TG_ANSWER_NOTED)
    assert rosa.last().text == texts.TG_ASK_LOCATION


async def test_a_live_location_moving_moves_the_draft_point_without_a_word(tg: Tg) -> None:
    rosa = tg.fake.citizen(515)
    await rosa.starts()
    await tg.jobs()
    await rosa.presses(texts.category_label("accidente_transito"))
    await tg.jobs()
    await rosa.shares_location(*KENNEDY, live_period=900)
    await tg.jobs()
    asked = len(rosa.sent())
    assert rosa.last().text == texts.TG_ASK_DESCRIPTION
    for step in range(1, 4):
        await rosa.moves_to(KENNEDY[0] - step * 0.0005, KENNEDY[1])
    await tg.jobs()
    assert len(rosa.sent()) == asked  # no question asked again for each move
    await rosa.says("Choque de combi con un auto, hay un herido")
    await tg.jobs()
    await rosa.presses(texts.TG_SKIP_BUTTON)
    await tg.jobs()
    await rosa.presses(texts.TG_CONFIRM_BUTTON)
    await tg.jobs()
    incident = tg.runtime.store.detail(incident_in(tg, rosa.last().text or "")).incident
    assert incident.location.lat == pytest.approx(KENNEDY[0] - 0.0015)


async def test_a_conversation_state_it_cannot_read_starts_over(tg: Tg) -> None:
    rosa = tg.fake.citizen(516)
    await rosa.starts()
    await tg.jobs()
    c = t.citizen_chats.c
    with tg.runtime.db.write() as conn:  # as another version of voicebridge wrote it
        conn.execute(
            update(t.citizen_chats).where(c.chat == "516").values(state={"v": 99, "paso": 3})
        )
    await rosa.starts()
    await tg.jobs()
    assert texts_of(rosa.sent())[-2:] == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]


# ------------------------------------------------------------- the photo, on demand


def photo_url(incident_id: str, report_id: int) -> str:
    return f"/api/v1/incidents/{incident_id}/reports/{report_id}/photo"


def key(tg: Tg, district: str | None = None) -> dict[str, str]:
    secret, _ = tg.runtime.apikeys.create(Role.OPERATOR, district=district, label="central")
    return {"Authorization": f"Bearer {secret}"}


async def photo_report(tg: Tg, chat_id: int, photo: bytes, **kwargs: bool) -> tuple[str, int]:
    citizen = tg.fake.citizen(chat_id)
    incident_id = await report(tg, citizen, "Me arranchan la cartera", photo=photo, **kwargs)
    [filed] = tg.runtime.store.detail(incident_id).reports
    return incident_id, filed.id


async def test_an_operator_gets_the_photo_fetched_from_telegram_when_asked(tg: Tg) -> None:
    incident_id, report_id = await photo_report(tg, 520, PHOTO)
    response = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg))
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert await response.read() == PHOTO
    assert [r.status for r in tg.fake.calls("getFile")] == [200]
    assert [r.status for r in tg.fake.calls("GET /file")] == [200]
    # the district's central sees it; another's does not, and nothing is fetched for it
    ok = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg, MIRAFLORES))
    assert ok.status == 200
    other = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg, "150132"))
    assert other.status == 403
    assert (await other.json())["error"]["code"] == "district_forbidden"
    assert len(tg.fake.calls("getFile")) == 2
    anonymous = await tg.client.get(photo_url(incident_id, report_id))
    assert anonymous.status == 401


async def test_a_report_without_a_photo_is_404(tg: Tg) -> None:
    incident_id = await report(tg, tg.fake.citizen(521), "Robaron un celular")
    [filed] = tg.runtime.store.detail(incident_id).reports
    for url in (
        photo_url(incident_id, filed.id),
        photo_url(incident_id, filed.id + 1),  # not a report of this incident
        photo_url("LIM-2026-000999", filed.id),
    ):
        response = await tg.client.get(url, headers=key(tg))
        assert response.status == 404, url
        assert (await response.json())["error"]["code"] == "not_found"
    assert tg.fake.calls("getFile") == []


@pytest.mark.parametrize("declared", [True, False])
async def test_a_photo_past_the_cap_is_refused_with_413(tg: Tg, declared: bool) -> None:
    incident_id, report_id = await photo_report(tg, 522, BIG_PHOTO, declare_size=declared)
    response = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg))
    assert response.status == 413
    error = (await response.json())["error"]
    assert error["code"] == "photo_too_large"
    assert str(PHOTO_MAX) in error["message"]
    downloads = tg.fake.calls("GET /file")
    assert downloads == [] if declared else len(downloads) == 1  # refused before, or cut


@pytest.mark.parametrize(
    ("code", "description", "retry_after"),
    [
        (500, "Internal Server Error", None),
        (429, "Too Many Requests: retry after 9", 9),
        (400, "Bad Request: invalid file_id", None),
    ],
)
async def test_telegram_failing_to_give_the_photo_is_a_clear_502(
    tg: Tg, code: int, description: str, retry_after: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident_id, report_id = await photo_report(tg, 523, PHOTO)
    get_file = methods.HANDLERS["getfile"]

    def scripted(state: BotState, params: Params) -> dict[str, Any]:
        state.apply_scripts("getFile", None)  # the fake scripts errors of sends only
        return get_file(state, params)

    monkeypatch.setitem(methods.HANDLERS, "getfile", scripted)
    tg.fake.script(code=code, description=description, retry_after=retry_after, methods=["getFile"])
    response = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg))
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "photo_unavailable"
    assert response.headers.get("Retry-After") == (str(retry_after) if retry_after else None)


async def test_telegram_out_of_reach_is_a_clear_502(tg: Tg) -> None:
    incident_id, report_id = await photo_report(tg, 524, PHOTO)
    await tg.fake.stop()
    response = await tg.client.get(photo_url(incident_id, report_id), headers=key(tg))
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "photo_unavailable"


async def test_after_a_429_the_chats_next_messages_wait_too_and_keep_their_order(
    tg: Tg,
) -> None:
    rosa = tg.fake.citizen(517, started=True)
    await rosa.starts()  # two messages: the greeting, then the question
    await tg.settle()
    tg.fake.flood(517, retry_after=7)
    for _ in range(6):
        await asyncio.to_thread(run_due_tasks, tg.runtime)
        tg.clock.advance(1)
    assert rosa.sent() == []  # Telegram said to wait 7 s: nothing before
    await tg.jobs()
    assert texts_of(rosa.sent()) == [texts.TG_GREETING, texts.TG_ASK_CATEGORY]


CALIDDA_GROUP = -1003324491181  # the directory's Telegram target of Cálidda


async def test_a_responders_group_confirms_an_alert_with_its_button(tg: Tg) -> None:
    group = tg.fake.citizen(CALIDDA_GROUP, user_id=7001, first_name="Luis", started=True)
    rosa = tg.fake.citizen(518)
    await rosa.starts()
    await tg.jobs()
    await rosa.presses(texts.category_label("fuga_gas"))
    await tg.jobs()
    await rosa.shares_location(*KENNEDY)
    await tg.jobs()
    await rosa.says("Huele fuerte a gas en el edificio")
    await tg.jobs()
    await rosa.presses(texts.TG_SKIP_BUTTON)
    await tg.jobs()
    await rosa.presses(texts.TG_CONFIRM_BUTTON)
    await tg.jobs()
    incident_id = incident_in(tg, rosa.last().text or "")
    await asyncio.to_thread(tg.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    for _ in range(300):  # serve's alert loop records the alert (woken, or each second)
        await tg.jobs()
        if group.sent():
            break
        await asyncio.sleep(0.01)
    alert = group.last()
    assert incident_id in (alert.text or "")
    delivery = await group.presses("Confirmo (1)")
    await tg.settle()
    await tg.jobs()
    query = delivery.update["callback_query"]["id"]
    answered, text = tg.fake.answer_to(query)
    assert answered
    assert text
    assert group.last().text == texts.responder_confirmed(texts.Channel.TELEGRAM, incident_id)
    acks = tg.runtime.store.detail(incident_id).acks
    assert [a.agency for a in acks] == ["calidda"]
    confirmed = texts.news_confirmed(
        texts.Channel.TELEGRAM, incident_id, tg.runtime.rules.names().agency("calidda")
    )
    assert rosa.last().text == confirmed  # and the citizen hears it, in their chat


@pytest.mark.parametrize(
    "sends",
    [
        {"contact": {"phone_number": "+51987654321", "first_name": "Rosa", "user_id": 519}},
        {"sticker": {"file_id": "CAACAgIAAx", "file_unique_id": "AgAD", "width": 512,
                     "height": 512, "is_animated": False, "is_video": False,
                     "type": "regular"}},
    ],
    ids=["contact", "sticker"],
)  # fmt: skip
async def test_what_the_conversation_does_not_take_asks_the_step_again(
    tg: Tg, sends: dict[str, Any]
) -> None:
    rosa = tg.fake.citizen(519)
    await rosa.starts()
    await tg.jobs()
    await rosa.presses(texts.category_label("robo"))
    await tg.jobs()
    before = len(rosa.sent())
    await rosa.sends(**sends)
    await tg.jobs()
    assert len(rosa.sent()) == before + 1  # never silence
    assert rosa.last().text == texts.TG_REASK_LOCATION
