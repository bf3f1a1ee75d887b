"""The fake driven from another process: its control API over HTTP, the synchronous
client a command uses, and the runner of ``voicebridge fake-telegram``."""

import asyncio
import base64
from typing import Any

import aiohttp
import pytest

from channels.telegram.errors import Retryable
from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import FakeTelegram, FakeTelegramRemote, RemoteError, serve
from channels.telegram.updates import Photo, SharedLocation, parse_update
from tests.channels.telegram.conftest import BOT, TOKEN, Threaded

CHAT = 51987654


async def control(
    fake: FakeTelegram, path: str, body: dict[str, Any] | None = None, *, method: str = "POST"
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{fake.url}/_fake{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_a_conversation_over_http(fake: FakeTelegram, sender: TelegramSender) -> None:
    status, started = await control(fake, f"/chats/{CHAT}", {"first_name": "Rosa"})
    assert (status, started) == (200, {"chat_id": CHAT, "user_id": CHAT})
    status, delivery = await control(fake, f"/chats/{CHAT}/says", {"text": "/start"})
    assert (status, delivery["outcome"]) == (200, "queued")
    assert delivery["update"]["message"]["entities"][0]["type"] == "bot_command"
    await sender.send_text(CHAT, "¿Qué pasó?", buttons=[[("Robo", "cat:robo")]])
    status, press = await control(fake, f"/chats/{CHAT}/presses", {"button": "Robo"})
    assert press["update"]["callback_query"]["data"] == "cat:robo"
    status, located = await control(
        fake, f"/chats/{CHAT}/location", {"lat": -12.0464, "lon": -77.0428, "accuracy": 20}
    )
    assert isinstance(parse_update(located["update"]), SharedLocation)
    picture = base64.b64encode(b"\xff\xd8foto").decode()
    status, photo = await control(
        fake, f"/chats/{CHAT}/photo", {"data_base64": picture, "caption": "aquí"}
    )
    parsed = parse_update(photo["update"])
    assert isinstance(parsed, Photo)
    assert await sender.get_file(parsed.file_id, 100) == b"\xff\xd8foto"
    status, sent = await control(fake, f"/chats/{CHAT}/sent", method="GET")
    assert [(s["method"], s["text"]) for s in sent] == [("sendMessage", "¿Qué pasó?")]
    status, overview = await control(fake, "", method="GET")
    assert (overview["bot_username"], overview["api_url"]) == (BOT, fake.api_url)
    assert overview["pending_updates"] == 4
    status, requests = await control(fake, "/requests", method="GET")
    assert [r["method"] for r in requests][:2] == ["getMe", "sendMessage"]


async def test_scripts_and_raw_updates_over_http(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    await fake.citizen(CHAT).starts()
    status, _ = await control(fake, "/scripts", {"code": 429, "retry_after": 9, "chat_id": CHAT})
    assert status == 200
    with pytest.raises(Retryable, match="reintentar en 9 s"):
        await sender.send_text(CHAT, "x")
    status, delivery = await control(fake, "/updates", {"update": {"poll": {"id": "1"}}})
    assert (status, delivery["update_id"], delivery["outcome"]) == (200, 100000002, "queued")


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        (f"/chats/{CHAT}/dances", {}, 404, "unknown action; one of: blocks, command, contact"),
        (f"/chats/{CHAT}/says", {"text": ""}, 400, "text: a non-empty string is required"),
        (f"/chats/{CHAT}/location", {"lat": "x", "lon": 1}, 400, "lat: a number is required"),
        ("/chats/abc/says", {"text": "x"}, 400, "chat_id: an integer is required"),
        (f"/chats/{CHAT}/photo", {"data_base64": "%%%"}, 400, "data_base64: not base64"),
        (f"/chats/{CHAT}/presses", {"button": "Robo"}, 409, "no inline button 'Robo'"),
        ("/updates", {"update": []}, 400, "update: a JSON object is required"),
    ],
)
async def test_bad_control_requests(
    fake: FakeTelegram, path: str, body: dict[str, Any], status: int, error: str
) -> None:
    answered, answer = await control(fake, path, body)
    assert answered == status
    assert answer["error"].startswith(error)


def test_the_synchronous_remote(threaded_fake: Threaded) -> None:
    remote = FakeTelegramRemote(threaded_fake.fake.url)
    remote.chat(CHAT, first_name="Luis", started=True)
    delivery = remote.act(CHAT, "says", text="choque de combi en la av. abancay")
    assert delivery["update"]["message"]["from"]["first_name"] == "Luis"
    assert remote.sent(CHAT) == []
    assert remote.overview()["chats"] == [{"chat_id": CHAT, "first_name": "Luis", "blocked": False}]
    with pytest.raises(RemoteError) as caught:
        remote.act(CHAT, "presses", button="Robo")
    assert caught.value.status == 409
    with pytest.raises(ValueError, match="not an http URL"):
        FakeTelegramRemote("file:///etc/passwd")


def test_an_unreachable_remote() -> None:
    with pytest.raises(RemoteError) as caught:
        FakeTelegramRemote("http://127.0.0.1:9", timeout=5).overview()
    assert caught.value.status is None


async def test_the_runner_announces_how_to_use_it() -> None:
    lines: list[str] = []
    announced, stop = asyncio.Event(), asyncio.Event()

    def announce(line: str) -> None:
        lines.append(line)
        announced.set()

    fake = FakeTelegram(TOKEN, bot_username=BOT)
    task = asyncio.create_task(serve(fake, announce=announce, stop=stop))
    await announced.wait()  # announced once listening
    async with TelegramSender(TOKEN, fake.api_url) as sender:
        assert sender.me.username == BOT
    stop.set()
    await task
    assert lines[0] == f"fake Telegram Bot API: {fake.api_url} (bot @{BOT})"
    assert any(f"{fake.url}/_fake/chats/51987654321/says" in line for line in lines)
