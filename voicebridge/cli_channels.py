"""The channels' commands.

- ``voicebridge telegram set-webhook | delete-webhook | webhook-info``: the bot's
  webhook on Telegram, or on the Bot API server ``VOICEBRIDGE_TELEGRAM_API_URL`` names.
- ``voicebridge fake-twilio`` and ``voicebridge fake-telegram``: the fakes of the tests
  as servers of their own, for the demo of ``make run`` (:mod:`voicebridge.devrun`
  starts them when no Twilio account or bot is configured).
- ``voicebridge demo sms | telegram | outbox``: a citizen played through those fakes of
  a running ``make run`` (their URLs are in the settings it published, ``var/run.json``),
  and what the fakes received (:mod:`voicebridge.demo`).

An expected failure is one line in English: settings that do not allow the command
(:class:`~voicebridge.errors.VoicebridgeError`, exit 2), a Bot API or a fake that refuses
or does not answer (:class:`Failed`, exit 1). What citizens and the bot say is printed
as it is, in Spanish.
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from voicebridge.errors import VoicebridgeError
from voicebridge.settings import Settings

if TYPE_CHECKING:
    from channels.telegram.errors import SendFailed
    from channels.telegram.outbound import TelegramSender

COMMANDS = frozenset({"telegram", "fake-twilio", "fake-telegram", "demo"})
# started by ``voicebridge run``: they never read the settings a run published
SERVICE_COMMANDS = frozenset({"fake-twilio", "fake-telegram"})

TELEGRAM_PATH = "/webhooks/telegram"  # voicebridge.webhooks.TELEGRAM_PATH
SMS_PATH = "/webhooks/twilio/sms"  # voicebridge.webhooks.SMS_PATH
# the updates voicebridge reads: words, live locations, buttons, blocks
WEBHOOK_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
TELEGRAM_API = "https://api.telegram.org"
# the fake bot of ``make run``: a token of the form @BotFather gives, known to nobody
DEMO_TELEGRAM_TOKEN = "7000000001:voicebridge-demo-bot-not-a-secret"  # noqa: S105
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,64}")  # as the settings check it
# the fake's first update_id: tenths of a second since 2025-01-01 (see _fake_telegram)
_UPDATE_EPOCH = 1_735_689_600


class Failed(VoicebridgeError):
    """A Bot API or a fake refused, or did not answer: one line, exit 1."""


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    telegram = sub.add_parser(
        "telegram", help="the Telegram bot's webhook (VOICEBRIDGE_TELEGRAM_*)"
    ).add_subparsers(dest="telegram_command", required=True)
    telegram.add_parser(
        "set-webhook",
        help=f"have Telegram post the bot's updates to VOICEBRIDGE_PUBLIC_URL{TELEGRAM_PATH} "
        "with the secret VOICEBRIDGE_TELEGRAM_SECRET",
    )
    delete = telegram.add_parser(
        "delete-webhook", help="stop Telegram posting updates (they wait for getUpdates)"
    )
    delete.add_argument(
        "--drop-pending-updates", action="store_true", help="forget the updates waiting"
    )
    telegram.add_parser("webhook-info", help="where Telegram posts the bot's updates, and why not")

    twilio = sub.add_parser(
        "fake-twilio",
        help="development: Twilio's REST API and citizens who write SMS (nothing is sent)",
    )
    twilio.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    twilio.add_argument("--port", type=_port, default=0, help="the port (default: any free one)")
    twilio.add_argument(
        "--webhook-url",
        help=f"where voicebridge takes SMS, e.g. http://127.0.0.1:8080{SMS_PATH}",
    )
    twilio.add_argument(
        "--public-url",
        help="voicebridge's VOICEBRIDGE_PUBLIC_URL: webhooks are signed over it, as Twilio does",
    )
    bot = sub.add_parser(
        "fake-telegram",
        help="development: a Telegram Bot API and citizens who write to the bot "
        "(nothing reaches Telegram)",
    )
    bot.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    bot.add_argument("--port", type=_port, default=8081, help="the port (default: 8081)")
    bot.add_argument(
        "--token", type=_token, default=DEMO_TELEGRAM_TOKEN, help="the bot's token it accepts"
    )
    from voicebridge import demo

    demo.add_parsers(sub)


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port, 0 to 65535, got {text!r}")
    return int(text)


def _token(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected a bot token such as 123456:ABC-def..., got {text!r}"
        )
    return text


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "telegram":
            return _telegram(args, settings)
        if args.command == "fake-twilio":
            asyncio.run(_fake_twilio(args))
            return 0
        if args.command == "fake-telegram":
            asyncio.run(_fake_telegram(args))
            return 0
        from voicebridge import demo

        return demo.run(args, settings)
    except Failed as exc:
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 1


# ----------------------------------------------------------------- the webhook


def webhook_url(settings: Settings) -> str:
    """Where Telegram is to post the bot's updates: the public URL's webhook."""
    return settings.public_url + TELEGRAM_PATH


def bot_server(settings: Settings) -> str:
    """The Bot API server, for messages."""
    return settings.telegram_api_url or TELEGRAM_API


async def set_webhook(settings: Settings) -> str:
    """Have the Bot API post the bot's updates to :func:`webhook_url` with the secret
    (the updates of :data:`WEBHOOK_UPDATES`); the URL. Raises
    :class:`~voicebridge.errors.VoicebridgeError` when the settings do not allow it,
    :class:`Failed` when the Bot API refuses or does not answer."""
    _require_token(settings)
    secret = settings.telegram_secret
    if secret is None:
        raise VoicebridgeError(
            "VOICEBRIDGE_TELEGRAM_SECRET is not set: Telegram sends it with every update, and "
            "voicebridge refuses updates without it (1 to 256 of A-Z a-z 0-9 _ -; make one "
            "with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if settings.telegram_mode != "webhook":
        raise VoicebridgeError(
            f"VOICEBRIDGE_TELEGRAM_MODE is {settings.telegram_mode}: serve asks for updates "
            "with getUpdates and deletes any webhook; set it to webhook first"
        )
    url = webhook_url(settings)
    async with _bot(settings) as sender:
        await sender.set_webhook(url, secret, WEBHOOK_UPDATES)
    return url


def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    server = bot_server(settings)
    if args.telegram_command == "set-webhook":
        url = asyncio.run(set_webhook(settings))
        print(
            f"{server} posts the bot's updates ({', '.join(WEBHOOK_UPDATES)}) to {url}, "
            "with the secret VOICEBRIDGE_TELEGRAM_SECRET"
        )
    elif args.telegram_command == "delete-webhook":
        asyncio.run(_delete(settings, drop=args.drop_pending_updates))
        dropped = "; the updates waiting were dropped" if args.drop_pending_updates else ""
        print(f"{server} posts the bot's updates nowhere: they wait for getUpdates{dropped}")
    else:
        for line in asyncio.run(_info(settings)):
            print(line)
    return 0


async def _delete(settings: Settings, *, drop: bool) -> None:
    async with _bot(settings) as sender:
        await sender.delete_webhook(drop_pending_updates=drop)


async def _info(settings: Settings) -> list[str]:
    async with _bot(settings) as sender:
        state = await sender.webhook_state()
        username = sender.me.username
    ours = webhook_url(settings)
    if not state.url:
        where = "nowhere: updates wait for getUpdates"
    else:
        where = state.url + (" (voicebridge's)" if state.url == ours else f" (not {ours})")
    kinds = ", ".join(state.allowed_updates) or "Telegram's default"
    return [
        f"bot          @{username} on {bot_server(settings)}",
        f"webhook      {where}",
        f"updates      {kinds}",
        f"pending      {state.pending_update_count}",
        f"last error   {state.last_error_message or 'none'}",
    ]


@asynccontextmanager
async def _bot(settings: Settings) -> AsyncIterator["TelegramSender"]:
    """The bot (its token checked with getMe); a failure of any call raised as
    :class:`Failed`, in English. httpx, which PTB calls the Bot API with, logs every
    request's URL at INFO, the token in it: its logger is set to WARNING."""
    from channels.telegram.errors import SendFailed
    from channels.telegram.outbound import TelegramSender
    from voicebridge.messaging import bot_api

    token = _require_token(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        async with TelegramSender(token, bot_api(settings.telegram_api_url)) as sender:
            yield sender
    except SendFailed as exc:
        raise Failed(_explain(exc, bot_server(settings), token)) from None


def _require_token(settings: Settings) -> str:
    if settings.telegram_token is None:
        raise VoicebridgeError(
            "VOICEBRIDGE_TELEGRAM_TOKEN is not set: the bot's token from @BotFather is needed"
        )
    return settings.telegram_token


def _explain(exc: "SendFailed", server: str, token: str) -> str:
    """What went wrong, in English: from the Bot API's own answer (the channel's
    reasons are Spanish, for incidents' logs)."""
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    from channels.telegram.transport import FloodWait

    cause = exc.__cause__
    said = str(cause.message if isinstance(cause, TelegramError) else cause).replace(token, "***")
    if isinstance(cause, FloodWait):
        return f"{server} asks to wait {cause.seconds:g} s before calling again (429)"
    if isinstance(cause, InvalidToken):
        return f"{server} refused the bot's token (VOICEBRIDGE_TELEGRAM_TOKEN): {said}"
    if isinstance(cause, NetworkError) and not isinstance(cause, BadRequest):
        return f"cannot reach the Bot API at {server}: {said}"
    if isinstance(cause, TelegramError):
        return f"{server} refused: {said}"
    return f"cannot reach the Bot API at {server}: {type(cause).__name__}: {said}"


# ------------------------------------------------------------------- the fakes


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _cannot_listen(args: argparse.Namespace, exc: OSError) -> VoicebridgeError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)  # not aiohttp's wording
    return VoicebridgeError(f"cannot listen on {args.host}:{args.port}: {reason}")


async def _fake_twilio(args: argparse.Namespace) -> None:
    """Serve the fake Twilio until SIGINT or SIGTERM."""
    from channels.twilio.sim import FakeTwilio
    from channels.twilio.simrun import run_fake_twilio

    def ready(fake: FakeTwilio) -> None:
        webhook = f"citizens' SMS go to {args.webhook_url}" if args.webhook_url else "no webhook"
        print(
            f"fake Twilio: REST API on {fake.url} (account {fake.account_sid}, number "
            f"{', '.join(fake.numbers)}); {webhook}; no real SMS is sent",
            file=sys.stderr,
            flush=True,
        )

    try:
        await run_fake_twilio(
            host=args.host,
            port=args.port,
            webhook_url=args.webhook_url,
            public_url=args.public_url,
            stop=_stop_on_signals(),
            ready=ready,
        )
    except OSError as exc:
        raise _cannot_listen(args, exc) from exc


async def _fake_telegram(args: argparse.Namespace) -> None:
    """Serve the fake Bot API until SIGINT or SIGTERM.

    Not :func:`channels.telegram.sim.run_fake_telegram`: that one stops at Ctrl-C only
    (``make run`` stops its processes with SIGTERM) and counts ``update_id`` from the
    same number at every start. voicebridge takes an update whose id it stored already
    as a repeat, so a fake started again (after it died, or by the next ``make run`` on
    the same database) starts from the clock: tenths of a second since 2025, as
    Telegram's ids only grow."""
    from channels.telegram.sim import FakeTelegram

    first = int((time.time() - _UPDATE_EPOCH) * 10)
    fake = FakeTelegram(args.token, host=args.host, port=args.port, first_update_id=first)
    try:
        await fake.start()
    except OSError as exc:
        await fake.stop()
        raise _cannot_listen(args, exc) from exc
    try:
        print(
            f"fake Telegram: Bot API on {fake.url} (bot @{fake.state.bot_username}); "
            "nothing reaches Telegram",
            file=sys.stderr,
            flush=True,
        )
        await _stop_on_signals().wait()
    finally:
        await fake.stop()
