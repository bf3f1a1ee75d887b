"""The sender (PTB's own ``Bot`` underneath) against the fake Bot API: what goes on the
wire, and every failure as the send jobs see it."""

import asyncio
import socket
from datetime import UTC, datetime

import pytest
from telegram.error import TelegramError

from channels.telegram.errors import FileTooLarge, Permanent, Retryable
from channels.telegram.outbound import SentMessage, TelegramSender, file_url_for, send_text_sync
from channels.telegram.sim import FakeTelegram
from channels.telegram.updates import Command, Text, parse_update
from tests.channels.telegram.conftest import BOT, TOKEN, Threaded
from tests.conftest import FakeClock

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # the clock fixture's start
CHAT = 51987654


def test_file_url_follows_the_api_url() -> None:
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url_for("http://h/x/bot{token}/") == "http://h/x/file/bot{token}/"
    with pytest.raises(ValueError, match="no /bot part"):
        file_url_for("http://127.0.0.1:8081/api")


async def test_entering_checks_the_token_with_get_me(fake: FakeTelegram) -> None:
    async with TelegramSender(TOKEN, fake.api_url) as sender:
        assert (sender.me.username, sender.me.is_bot, sender.me.id) == (BOT, True, 123456789)
    assert [r.method for r in fake.requests] == ["getMe"]


@pytest.mark.parametrize(("token", "status"), [("999:not-this-bot", 401), ("garbage", 404)])
async def test_a_token_the_server_refuses(fake: FakeTelegram, token: str, status: int) -> None:
    with pytest.raises(Permanent) as caught:
        async with TelegramSender(token, fake.api_url):
            pass
    assert caught.value.reason == "Telegram rechazó el token del bot (401/404)"
    assert [(r.method, r.status) for r in fake.requests] == [("getMe", status)]


async def test_a_message_with_an_inline_keyboard(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    await fake.citizen(CHAT).starts()
    sent = await sender.send_text(
        CHAT, "¿Qué pasó?", buttons=[[("Robo", "cat:robo"), ("Incendio", "cat:fuego")]]
    )
    assert sent == SentMessage(chat_id=CHAT, message_id=2, date=NOW)  # /start was 1
    request = fake.calls("sendMessage")[0]
    assert request.content_type == "application/x-www-form-urlencoded"  # PTB sends forms
    keyboard = {
        "inline_keyboard": [
            [
                {"text": "Robo", "callback_data": "cat:robo"},
                {"text": "Incendio", "callback_data": "cat:fuego"},
            ]
        ]
    }
    assert request.params == {"chat_id": str(CHAT), "text": "¿Qué pasó?", "reply_markup": keyboard}
    [message] = fake.sent(CHAT)
    assert message.buttons == (((("Robo", "cat:robo"), ("Incendio", "cat:fuego"))),)
    assert message.message["reply_markup"] == keyboard  # echoed as an object


async def test_asking_for_the_location(fake: FakeTelegram, sender: TelegramSender) -> None:
    await fake.citizen(CHAT).starts()
    await sender.send_text(CHAT, "Comparta su ubicación", request_location=True)
    await sender.send_text(CHAT, "Gracias", remove_keyboard=True)
    asks, thanks = fake.sent(CHAT)
    assert asks.asks_location
    assert "reply_markup" not in asks.message  # Telegram echoes inline keyboards only
    assert thanks.reply_markup == {"remove_keyboard": True}
    with pytest.raises(ValueError, match="exclude each other"):
        await sender.send_text(CHAT, "x", buttons=[[("a", "a")]], request_location=True)


async def test_a_location(fake: FakeTelegram, sender: TelegramSender) -> None:
    await fake.citizen(CHAT).starts()
    await sender.send_location(CHAT, -12.0464, -77.0428)
    assert fake.sent(CHAT)[0].message["location"] == {"latitude": -12.0464, "longitude": -77.0428}


async def test_429_is_retried_after_what_telegram_says(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    """No PTBDeprecationWarning either (pytest turns warnings into errors)."""
    await fake.citizen(CHAT).starts()
    fake.flood(CHAT, retry_after=7)
    with pytest.raises(Retryable) as caught:
        await sender.send_text(CHAT, "Su reporte fue registrado")
    assert caught.value.after_seconds == 7.0
    assert caught.value.reason == "Telegram limitó los envíos (429): reintentar en 7 s"
    assert isinstance(caught.value.__cause__, TelegramError)
    await sender.send_text(CHAT, "Su reporte fue registrado")  # the script is spent
    assert [r.status for r in fake.calls("sendMessage")] == [429, 200]


async def test_5xx_is_retried_with_backoff(fake: FakeTelegram, sender: TelegramSender) -> None:
    await fake.citizen(CHAT).starts()
    fake.fail(CHAT, code=502, description="Bad Gateway")
    with pytest.raises(Retryable) as caught:
        await sender.send_text(CHAT, "x")
    assert caught.value.after_seconds is None
    assert caught.value.reason == "sin conexión con Telegram o error del servidor: Bad Gateway"


async def test_a_dead_server_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with TelegramSender(TOKEN, f"http://127.0.0.1:{port}/bot", check_token=False) as dead:
        with pytest.raises(Retryable, match="sin conexión con Telegram"):
            await dead.send_text(CHAT, "x")


async def test_a_blocked_bot_is_permanent_and_marks_the_chat(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    citizen = fake.citizen(CHAT)
    await citizen.starts()
    await citizen.blocks()
    with pytest.raises(Permanent) as caught:
        await sender.send_text(CHAT, "Su incidente LIM-2026-000123 fue atendido")
    assert (caught.value.blocked, caught.value.reason) == (True, "el ciudadano bloqueó el bot")
    request = fake.calls("sendMessage")[0]
    assert (request.status, request.description) == (403, "Forbidden: bot was blocked by the user")


async def test_a_chat_that_never_wrote_is_unreachable(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    fake.citizen(CHAT)  # known to Telegram, never wrote to the bot
    with pytest.raises(Permanent) as caught:
        await sender.send_text(CHAT, "x")
    assert caught.value.blocked
    assert caught.value.reason == "el destinatario nunca inició una conversación con el bot"


@pytest.mark.parametrize(
    ("chat_id", "text", "reason"),
    [
        (777, "hola", "el chat no existe para este bot"),
        (CHAT, "x" * 4097, "el mensaje supera los 4096 caracteres de Telegram"),
    ],
)
async def test_bad_requests_are_permanent_but_not_blocks(
    fake: FakeTelegram, sender: TelegramSender, chat_id: int, text: str, reason: str
) -> None:
    await fake.citizen(CHAT).starts()
    with pytest.raises(Permanent) as caught:
        await sender.send_text(chat_id, text)
    assert (caught.value.reason, caught.value.blocked) == (reason, False)


async def test_answering_a_press_and_removing_the_keyboard(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    citizen = fake.citizen(CHAT)
    await citizen.starts()
    sent = await sender.send_text(CHAT, "¿Qué pasó?", buttons=[[("Robo", "cat:robo")]])
    press = await citizen.presses("Robo")
    query_id = press.update["callback_query"]["id"]
    assert await sender.answer_button(query_id, "Anotado: robo")
    assert fake.answer_to(query_id) == (True, "Anotado: robo")
    assert not await sender.answer_button(query_id)  # too old now: nothing to retry
    await sender.edit_buttons(CHAT, sent.message_id)
    await sender.edit_buttons(CHAT, sent.message_id)  # "not modified": already done
    message = fake.message(CHAT, sent.message_id)
    assert message is not None
    assert "reply_markup" not in message
    assert [r.status for r in fake.calls("editMessageReplyMarkup")] == [200, 400]
    await sender.edit_text(CHAT, sent.message_id, "Elegiste: Robo")
    message = fake.message(CHAT, sent.message_id)
    assert message is not None
    assert (message["text"], message["edit_date"]) == ("Elegiste: Robo", int(NOW.timestamp()))


async def test_a_photo_downloaded_within_the_cap(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    picture = bytes(range(256)) * 20  # 5120 bytes
    delivery = await fake.citizen(CHAT).sends_photo(picture, caption="poste caído")
    photo = parse_update(delivery.update)
    assert photo.__class__.__name__ == "Photo"
    file_id = delivery.update["message"]["photo"][-1]["file_id"]
    assert await sender.get_file(file_id, max_bytes=len(picture)) == picture


async def test_a_declared_size_over_the_cap_is_not_downloaded(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    delivery = await fake.citizen(CHAT).sends_photo(b"x" * 5000)
    file_id = delivery.update["message"]["photo"][-1]["file_id"]
    with pytest.raises(FileTooLarge) as caught:
        await sender.get_file(file_id, max_bytes=4999)
    assert (caught.value.size, caught.value.limit) == (5000, 4999)
    assert caught.value.reason == "el archivo pesa 5000 bytes, más que el máximo de 4999 bytes"
    assert [r.method for r in fake.requests] == ["getMe", "getFile"]  # no download


async def test_an_undeclared_size_stops_the_download_past_the_cap(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    delivery = await fake.citizen(CHAT).sends_photo(b"y" * 50_000, declare_size=False)
    file_id = delivery.update["message"]["photo"][-1]["file_id"]
    with pytest.raises(FileTooLarge) as caught:
        await sender.get_file(file_id, max_bytes=10_000)
    assert caught.value.size is None
    assert caught.value.reason == (
        "el archivo supera el máximo de 10000 bytes; descarga interrumpida"
    )
    assert await sender.get_file(file_id, max_bytes=50_000) == b"y" * 50_000


async def test_an_unknown_file(sender: TelegramSender) -> None:
    with pytest.raises(Permanent, match="el identificador del archivo no es válido"):
        await sender.get_file("AgAC-nope", max_bytes=1000)


async def test_polling_returns_json_objects_the_intake_reads(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    citizen = fake.citizen(CHAT, first_name="Rosa")
    await citizen.starts()
    await citizen.says("hay un buzon sin tapa en la av. brasil cuadra 5")
    first, second = await sender.get_updates(None, 0)
    assert [type(parse_update(u)) for u in (first, second)] == [Command, Text]
    assert first["message"]["from"]["first_name"] == "Rosa"
    assert await sender.get_updates(second["update_id"] + 1, 0) == []  # confirmed
    assert fake.pending == []


async def test_a_long_poll_returns_when_an_update_arrives(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    poll = asyncio.create_task(sender.get_updates(None, 30))
    await fake.polled()
    delivery = await fake.citizen(CHAT).says("auxilio")
    [update] = await poll
    assert update["update_id"] == delivery.update_id


async def test_the_webhook_is_set_and_deleted(fake: FakeTelegram, sender: TelegramSender) -> None:
    kinds = ["message", "edited_message", "callback_query", "my_chat_member"]
    await sender.set_webhook("http://127.0.0.1:9/webhooks/telegram", "s3cr3t-_X", kinds)
    state = await sender.webhook_state()
    assert (state.url, state.allowed_updates, state.pending_update_count) == (
        "http://127.0.0.1:9/webhooks/telegram",
        tuple(kinds),
        0,
    )
    assert fake.webhook.secret_token == "s3cr3t-_X"
    with pytest.raises(Permanent, match="conflicto con otro cliente del bot"):
        await sender.get_updates(None, 0)
    await sender.delete_webhook()
    assert (await sender.webhook_state()).url == ""


def test_a_synchronous_send_for_an_rq_job(threaded_fake: Threaded) -> None:
    fake = threaded_fake.fake
    threaded_fake.run(fake.citizen(CHAT).starts())
    sent = send_text_sync(TOKEN, fake.api_url, CHAT, "Su reporte es LIM-2026-000123")
    assert sent.message_id == 2
    assert [r.method for r in fake.requests] == ["sendMessage"]  # no getMe
    threaded_fake.run(fake.citizen(CHAT).blocks())
    with pytest.raises(Permanent) as caught:
        send_text_sync(TOKEN, fake.api_url, CHAT, "x")
    assert caught.value.blocked


async def test_dates_follow_the_fake_clock(
    fake: FakeTelegram, sender: TelegramSender, clock: FakeClock
) -> None:
    await fake.citizen(CHAT).starts()
    clock.advance(90)
    sent = await sender.send_text(CHAT, "x")
    assert sent.date == datetime(2026, 11, 25, 15, 1, 30, tzinfo=UTC)
