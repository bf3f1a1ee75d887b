"""The fake Bot API as a long-running process, for ``voicebridge fake-telegram`` and the
demo of ``make run``: serve until cancelled (Ctrl-C), announcing where it listens and
how to play a citizen through the control API."""

import asyncio
import contextlib
from collections.abc import Callable

from channels.telegram.limits import TELEGRAM
from channels.telegram.sim.server import FakeTelegram


def instructions(fake: FakeTelegram, chat_id: int = 51987654321) -> list[str]:
    """What to tell a person who wants to try the bot through the fake."""
    chat = f"{fake.url}/_fake/chats/{chat_id}"
    return [
        f"fake Telegram Bot API: {fake.api_url} (bot @{fake.state.bot_username})",
        f"  point the bot at it: VOICEBRIDGE_TELEGRAM_API_URL={fake.api_url}",
        "  a citizen writes:   curl -s -X POST -H 'Content-Type: application/json' "
        f"""-d '{{"text": "/start"}}' {chat}/says""",
        "  presses a button:   curl -s -X POST -H 'Content-Type: application/json' "
        f"""-d '{{"button": "Robo"}}' {chat}/presses""",
        "  shares a location:  curl -s -X POST -H 'Content-Type: application/json' "
        f"""-d '{{"lat": -12.0464, "lon": -77.0428}}' {chat}/location""",
        f"  what the bot sent:  curl -s {chat}/sent",
    ]


async def serve(
    fake: FakeTelegram,
    *,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Run ``fake`` until ``stop`` is set or the task is cancelled."""
    async with fake:
        for line in instructions(fake):
            announce(line)
        await (stop or asyncio.Event()).wait()


def run_fake_telegram(
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    bot_username: str = "voicebridge_bot",
    flood_limit: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve a fake Bot API for ``token`` on ``host:port`` until Ctrl-C.
    ``flood_limit``: answer 429 over Telegram's flood limits, as Telegram does."""
    fake = FakeTelegram(
        token,
        bot_username=bot_username,
        host=host,
        port=port,
        flood_limits=TELEGRAM if flood_limit else None,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(fake, announce=announce))
