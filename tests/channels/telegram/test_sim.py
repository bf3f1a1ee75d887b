"""The fake Bot API itself: Telegram's wire format (routes, tokens, JSON, form and
multipart bodies, envelopes, limits), ids, getUpdates, webhook delivery, and the
citizens it plays (CHANNELS.md, "Telegram Bot API fake")."""

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from channels.telegram.limits import TELEGRAM
from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import SECRET_HEADER, FakeTelegram, SimulationError
from channels.telegram.updates import (
    Blocked,
    Button,
    Command,
    Photo,
    SharedContact,
    SharedLocation,
    Text,
    Unblocked,
    Unsupported,
    parse_update,
)
from tests.channels.telegram.conftest import BOT, TOKEN, Receiver
from tests.conftest import FakeClock

CHAT = 51987654
KEYBOARD = {"inline_keyboard": [[{"text": "Robo", "callback_data": "cat:robo"}]]}


async def call(
    fake: FakeTelegram,
    method: str,
    *,
    json_body: dict[str, Any] | None = None,
    form: dict[str, str] | aiohttp.FormData | None = None,
    token: str = TOKEN,
    http: str = "POST",
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            http, f"{fake.url}/bot{token}/{method}", json=json_body, data=form, params=query
        ) as response,
    ):
        return response.status, await response.json()


async def test_tokens_are_checked_like_telegram(fake: FakeTelegram) -> None:
    assert await call(fake, "getMe", token="999:someone-else") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await call(fake, "getMe", token="not-a-token") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert await call(fake, "sendSticker") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_get_me_by_get_and_case_insensitive_names(fake: FakeTelegram) -> None:
    status, body = await call(fake, "GETME", http="GET")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["username"] == BOT
    assert body["result"]["is_bot"] is True


async def test_a_json_body_with_reply_markup_as_an_object(fake: FakeTelegram) -> None:
    await fake.citizen(CHAT).starts()
    status, body = await call(
        fake,
        "sendMessage",
        json_body={"chat_id": CHAT, "text": "¿Qué pasó?", "reply_markup": KEYBOARD},
    )
    assert status == 200
    message = body["result"]
    assert message["reply_markup"] == KEYBOARD
    assert (message["chat"], message["from"]["is_bot"], message["text"]) == (
        {"id": CHAT, "first_name": "Rosa", "type": "private"},
        True,
        "¿Qué pasó?",
    )
    assert fake.requests[-1].content_type == "application/json"


async def test_a_urlencoded_form_with_reply_markup_as_json_text(fake: FakeTelegram) -> None:
    await fake.citizen(CHAT).starts()
    form = {"chat_id": str(CHAT), "text": "hola", "reply_markup": json.dumps(KEYBOARD)}
    status, body = await call(fake, "sendMessage", form=form)
    assert status == 200
    assert body["result"]["reply_markup"] == KEYBOARD  # an object, not the string sent


async def test_parameters_in_the_query_string(fake: FakeTelegram) -> None:
    await fake.citizen(CHAT).starts()
    status, body = await call(
        fake, "sendMessage", http="GET", query={"chat_id": str(CHAT), "text": "por GET"}
    )
    assert (status, body["result"]["text"]) == (200, "por GET")


async def test_multipart_bodies(fake: FakeTelegram, sender: TelegramSender) -> None:
    await fake.citizen(CHAT).starts()
    picture = b"\xff\xd8\xff\xe0" + b"p" * 3000
    message = await sender.bot.send_photo(CHAT, photo=picture, caption="foto del lugar")
    upload = fake.calls("sendPhoto")[0]
    assert upload.content_type == "multipart/form-data"
    assert upload.files == ("photo",)
    assert message.caption == "foto del lugar"
    assert message.photo[-1].file_size == len(picture)
    assert await sender.get_file(message.photo[-1].file_id, 10_000) == picture
    form = aiohttp.FormData()
    form.add_field("chat_id", str(CHAT))
    form.add_field("text", "texto en multipart")
    form.add_field("reply_markup", json.dumps(KEYBOARD))
    status, body = await call(fake, "sendMessage", form=form)
    assert (status, body["result"]["reply_markup"]) == (200, KEYBOARD)


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "   "}, "Bad Request: message text is empty"),
        ({"text": "x", "chat_id": 404}, "Bad Request: chat not found"),
        ({"text": "x", "chat_id": "@vecinos"}, "Bad Request: chat not found"),
        ({"text": "x", "chat_id": ""}, "Bad Request: chat_id is empty"),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": "{not json"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "solo texto"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
    ],
)
async def test_what_telegram_refuses(
    fake: FakeTelegram, fields: dict[str, Any], description: str
) -> None:
    await fake.citizen(CHAT).starts()
    status, body = await call(fake, "sendMessage", json_body={"chat_id": CHAT, **fields})
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


async def test_captions_and_chat_actions(fake: FakeTelegram) -> None:
    await fake.citizen(CHAT).starts()
    status, body = await call(
        fake,
        "sendPhoto",
        json_body={"chat_id": CHAT, "photo": "https://x/y.jpg", "caption": "c" * 1025},
    )
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")
    status, body = await call(
        fake, "sendChatAction", json_body={"chat_id": CHAT, "action": "typing"}
    )
    assert (status, body) == (200, {"ok": True, "result": True})


async def test_ids_and_dates(fake: FakeTelegram, sender: TelegramSender, clock: FakeClock) -> None:
    """message_id counts per chat, shared by both sides; update_id by one per update."""
    rosa, luis = fake.citizen(CHAT), fake.citizen(CHAT + 1, first_name="Luis")
    first = await rosa.starts()
    second = await luis.starts()
    reply = await sender.send_text(CHAT, "hola")
    third = await rosa.says("robo")
    assert [first.update_id, second.update_id, third.update_id] == [100000001, 100000002, 100000003]
    assert first.update["message"]["message_id"] == 1
    assert second.update["message"]["message_id"] == 1
    assert reply.message_id == 2
    assert third.update["message"]["message_id"] == 3
    assert third.update["message"]["date"] == int(clock.now().timestamp())


async def test_edits_follow_telegram(fake: FakeTelegram) -> None:
    citizen = fake.citizen(CHAT)
    await citizen.starts()
    _, sent = await call(
        fake, "sendMessage", json_body={"chat_id": CHAT, "text": "a", "reply_markup": KEYBOARD}
    )
    message_id = sent["result"]["message_id"]
    same = {"chat_id": CHAT, "message_id": message_id, "text": "a", "reply_markup": KEYBOARD}
    status, body = await call(fake, "editMessageText", json_body=same)
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified")
    status, body = await call(fake, "editMessageText", json_body={**same, "text": "b"})
    assert (status, body["result"]["text"], body["result"]["reply_markup"]) == (200, "b", KEYBOARD)
    status, body = await call(
        fake, "editMessageText", json_body={"chat_id": CHAT, "message_id": 1, "text": "z"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message can't be edited")
    status, body = await call(
        fake, "editMessageReplyMarkup", json_body={"chat_id": CHAT, "message_id": 99}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


async def test_an_unknown_press_is_too_old(fake: FakeTelegram) -> None:
    status, body = await call(fake, "answerCallbackQuery", json_body={"callback_query_id": "1"})
    assert status == 400
    assert body["description"] == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )


async def test_get_updates_offset_limit_and_conflicts(fake: FakeTelegram) -> None:
    citizen = fake.citizen(CHAT)
    ids = [(await citizen.says(f"mensaje {n}")).update_id for n in range(4)]
    _, body = await call(fake, "getUpdates", json_body={"limit": 2})
    assert [u["update_id"] for u in body["result"]] == ids[:2]
    _, body = await call(fake, "getUpdates", json_body={"offset": ids[1] + 1})
    assert [u["update_id"] for u in body["result"]] == ids[2:]  # the first two confirmed
    _, body = await call(fake, "getUpdates", json_body={"offset": -1})
    assert [u["update_id"] for u in body["result"]] == ids[3:]
    await call(fake, "setWebhook", json_body={"url": "http://127.0.0.1:9/hook"})
    status, body = await call(fake, "getUpdates", json_body={})
    assert status == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method while webhook")


async def test_a_newer_poll_ends_an_older_one(fake: FakeTelegram) -> None:
    older = asyncio.create_task(call(fake, "getUpdates", json_body={"timeout": 30}))
    await fake.polled()
    newer = asyncio.create_task(call(fake, "getUpdates", json_body={"timeout": 30}))
    status, body = await older
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    await fake.citizen(CHAT).says("hola")
    status, body = await newer
    assert (status, len(body["result"])) == (200, 1)


async def set_webhook(fake: FakeTelegram, url: str, **more: Any) -> None:
    status, _ = await call(
        fake, "setWebhook", json_body={"url": url, "secret_token": "S3cret_-token", **more}
    )
    assert status == 200


async def test_webhook_delivery_one_update_per_post_with_the_secret(
    fake: FakeTelegram, receiver: Receiver
) -> None:
    await set_webhook(fake, receiver.url)
    delivery = await fake.citizen(CHAT).says("hay un herido en jr. huallaga 450")
    assert (delivery.outcome, delivery.status) == ("delivered", 200)
    [post] = receiver.received
    assert post.headers[SECRET_HEADER] == "S3cret_-token"
    assert post.headers["Content-Type"] == "application/json"
    assert post.body == delivery.update
    assert isinstance(parse_update(post.body), Text)


async def test_a_failing_webhook_is_retried_then_given_up(
    fake: FakeTelegram, receiver: Receiver
) -> None:
    await set_webhook(fake, receiver.url)
    receiver.statuses = [500, 502]
    delivered = await fake.citizen(CHAT).says("uno")
    assert delivered.outcome == "delivered"
    assert [a.status for a in delivered.attempts] == [500, 502, 200]
    assert len({post.body["update_id"] for post in receiver.received}) == 1
    receiver.statuses = [500, 500, 500]
    failed = await fake.citizen(CHAT).says("dos")
    assert (failed.outcome, [a.status for a in failed.attempts]) == ("failed", [500, 500, 500])
    _, info = await call(fake, "getWebhookInfo")
    assert info["result"]["last_error_message"] == (
        "Wrong response from the webhook: 500 Internal Server Error"
    )


async def test_an_unreachable_webhook(fake: FakeTelegram) -> None:
    await set_webhook(fake, "http://127.0.0.1:9/nobody-listens")
    failed = await fake.citizen(CHAT).says("hola")
    assert failed.outcome == "failed"
    assert failed.attempts[0].status is None
    assert (failed.attempts[0].error or "").startswith("Connection failed")


async def test_parallel_deliveries_up_to_max_connections(
    fake: FakeTelegram, receiver: Receiver
) -> None:
    await set_webhook(fake, receiver.url, max_connections=2)
    receiver.gate = asyncio.Event()
    citizens = [fake.citizen(CHAT + n) for n in range(4)]
    deliveries = [asyncio.create_task(c.says("sismo")) for c in citizens]
    while len(receiver.received) < 2:  # two POSTs reach the bot and wait there
        receiver.arrived.clear()
        await receiver.arrived.wait()
    assert receiver.in_flight == 2
    receiver.gate.set()
    assert {d.outcome for d in await asyncio.gather(*deliveries)} == {"delivered"}
    assert (len(receiver.received), receiver.most_in_flight) == (4, 2)


async def test_a_duplicate_delivery(fake: FakeTelegram, receiver: Receiver) -> None:
    await set_webhook(fake, receiver.url)
    delivery = await fake.citizen(CHAT).says("robo", duplicate=True)
    assert [post.body for post in receiver.received] == [delivery.update, delivery.update]
    assert [a.status for a in delivery.duplicates] == [200]


async def test_allowed_updates_filter_what_is_sent(fake: FakeTelegram, receiver: Receiver) -> None:
    await set_webhook(fake, receiver.url, allowed_updates=["message"])
    citizen = fake.citizen(CHAT)
    await citizen.starts()
    blocked = await citizen.blocks()
    assert blocked.outcome == "filtered"
    assert len(receiver.received) == 1
    assert (await fake.inject({"chat_member": {}})).outcome == "filtered"
    await set_webhook(fake, receiver.url, allowed_updates=[])  # empty: Telegram's default
    assert (await citizen.unblocks()).outcome == "delivered"
    assert (await fake.inject({"chat_member": {}})).outcome == "filtered"


async def test_queued_updates_go_to_a_new_webhook(fake: FakeTelegram, receiver: Receiver) -> None:
    queued = await fake.citizen(CHAT).says("antes del webhook")
    assert queued.outcome == "queued"
    _, info = await call(fake, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 1
    await set_webhook(fake, receiver.url)
    await fake.settled()  # the fake sends them in the background
    assert receiver.received[0].body == queued.update
    assert fake.pending == []


async def test_the_automatic_flood_limit(clock: FakeClock) -> None:
    async with FakeTelegram(
        TOKEN, flood_limits=TELEGRAM, clock=lambda: clock.now().timestamp()
    ) as fake:
        await fake.citizen(CHAT).starts()
        message = {"chat_id": CHAT, "text": "x"}
        assert (await call(fake, "sendMessage", json_body=message))[0] == 200
        status, body = await call(fake, "sendMessage", json_body=message)
        assert (status, body) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
        clock.advance(1.0)
        assert (await call(fake, "sendMessage", json_body=message))[0] == 200


async def test_scripted_errors_count_down_per_chat(fake: FakeTelegram) -> None:
    await fake.citizen(CHAT).starts()
    await fake.citizen(CHAT + 1).starts()
    fake.flood(CHAT, retry_after=30, times=2)
    statuses = [
        (await call(fake, "sendMessage", json_body={"chat_id": chat, "text": "x"}))[0]
        for chat in (CHAT + 1, CHAT, CHAT, CHAT)
    ]
    assert statuses == [200, 429, 429, 200]


async def test_every_citizen_action_reads_as_its_kind(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    """The fake's updates are what the parser expects (and PTB accepts)."""
    citizen = fake.citizen(CHAT, first_name="Rosa", username="rosa_sjl")
    kinds = [await citizen.starts(), await citizen.command("estado", "LIM-2026-000123")]
    await sender.send_text(CHAT, "¿Qué pasó?", buttons=[[("Robo", "cat:robo")]])
    kinds += [
        await citizen.presses("Robo"),
        await citizen.says("me robaron el celular"),
        await citizen.shares_location(-12.0464, -77.0428, accuracy=12.0, live_period=600),
        await citizen.moves_to(-12.0470, -77.0430),
        await citizen.shares_venue(-12.05, -77.03, "Mercado Central", "Jr. Huallaga 450"),
        await citizen.shares_contact("+51987654321"),
        await citizen.sends_photo(caption="poste caído"),
        await citizen.sends(
            sticker={
                "file_id": "x",
                "file_unique_id": "y",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        ),
        await citizen.blocks(),
        await citizen.unblocks(),
    ]
    parsed = [parse_update(delivery.update, bot_username=BOT) for delivery in kinds]
    assert [type(p) for p in parsed] == [
        Command,
        Command,
        Button,
        Text,
        SharedLocation,
        SharedLocation,
        SharedLocation,
        SharedContact,
        Photo,
        Unsupported,
        Blocked,
        Unblocked,
    ]
    command, button, moved, venue = parsed[1], parsed[2], parsed[5], parsed[6]
    assert isinstance(command, Command)
    assert command.args == ("LIM-2026-000123",)
    assert isinstance(button, Button)
    assert button.data == "cat:robo"
    assert isinstance(moved, SharedLocation)
    assert (moved.live, moved.lat) == (True, -12.0470)
    assert isinstance(venue, SharedLocation)
    assert venue.place == "Mercado Central, Jr. Huallaga 450"
    press = kinds[2].update["callback_query"]
    assert press["message"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Robo"
    assert press["chat_instance"]
    blocked = kinds[-2].update["my_chat_member"]
    assert blocked["new_chat_member"] == {
        "user": {"id": 123456789, "is_bot": True, "first_name": "Voicebridge", "username": BOT},
        "status": "kicked",
        "until_date": 0,
    }


async def test_a_photo_has_sizes_small_to_large(fake: FakeTelegram) -> None:
    delivery = await fake.citizen(CHAT).sends_photo(b"z" * 4000, width=1600, height=1200)
    sizes = delivery.update["message"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 67),
        (320, 240),
        (800, 600),
        (1280, 960),
        (1600, 1200),
    ]
    assert sizes[-1]["file_size"] == 4000
    assert len({s["file_unique_id"] for s in sizes}) == len(sizes)


async def test_an_album_shares_its_group(fake: FakeTelegram) -> None:
    first, second = await fake.citizen(CHAT).sends_album([b"a" * 100, b"b" * 100], caption="x")
    photos = [parse_update(d.update) for d in (first, second)]
    assert all(isinstance(p, Photo) for p in photos)
    groups = {p.media_group_id for p in photos if isinstance(p, Photo)}
    assert len(groups) == 1
    assert None not in groups


async def test_what_a_client_would_not_let_a_citizen_do(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    citizen = fake.citizen(CHAT)
    await citizen.starts()
    await sender.send_text(CHAT, "¿Qué pasó?", buttons=[[("Robo", "cat:robo")]])
    with pytest.raises(SimulationError, match=r"no inline button 'Incendio'.*\['Robo'\]"):
        await citizen.presses("Incendio")
    with pytest.raises(SimulationError, match="no live location shared"):
        await citizen.moves_to(-12.0, -77.0)
    await citizen.blocks()
    with pytest.raises(SimulationError, match="blocked the bot: call unblocks"):
        await citizen.says("hola")
