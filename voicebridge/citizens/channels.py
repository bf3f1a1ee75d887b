"""The citizens' channels in ``serve``: the intake of their messages (the webhooks hand
them over), the recovery of what was stored and not processed, the responders' alerts
by SMS and Telegram (the contact ledger's adapter of those media), and, in Telegram's
polling mode, the loop that asks the Bot API for updates."""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web
from rq import Retry

from channels.telegram.errors import BadUpdate, SendFailed
from channels.telegram.outbound import TelegramSender
from channels.telegram.updates import chat_key, parse_update, update_id_of
from routing.inbox import Inbound
from voicebridge.citizens.intake import ChannelIntake, Processor
from voicebridge.citizens.sms import SmsAnswerer, SmsProcessor
from voicebridge.citizens.telegram import TelegramProcessor
from voicebridge.jobs import current_runtime
from voicebridge.messaging import AlertAdapter, bot_api
from voicebridge.queueing import FAILURE_TTL, JOBS, RESULT_TTL, queue
from voicebridge.runtime import Runtime
from voicebridge.web import BLOCKING, CHANNELS, RUNTIME

log = logging.getLogger(__name__)

RECOVER_SECONDS = 1.0
PROCESS_INBOX = "process_inbox"  # the workers' job (voicebridge.queueing.JOBS)
KICK_KEY = "voicebridge:inbox:queued"  # set while a process_inbox job waits to start
KICK_TTL = 600  # seconds: a key left by a job that never started stops nothing for long
ALERT_SECONDS = 1.0
POLL_TIMEOUT = 25  # seconds a getUpdates call waits for updates
POLL_BACKOFF = (1.0, 30.0)


def channel_processors(runtime: Runtime) -> dict[str, Processor]:
    """What processes each configured channel's messages."""
    processors: dict[str, Processor] = {}
    if runtime.settings.sms_configured:
        processors["sms"] = SmsProcessor(runtime)
    if runtime.settings.telegram_configured:
        processors["telegram"] = TelegramProcessor(runtime)
    return processors


def kick_workers(runtime: Runtime) -> bool:
    """Queue a ``process_inbox`` job, unless one is queued and not started yet (it will
    take what was just stored): whether one was queued. Raises RedisError when Redis is
    down (the messages wait in the inbox; every serve's recovery takes them after
    :data:`~voicebridge.citizens.intake.STALE_SECONDS`)."""
    redis = runtime.redis
    if not redis.set(KICK_KEY, b"1", nx=True, ex=KICK_TTL):
        return False
    spec = JOBS[PROCESS_INBOX]
    try:
        queue(spec.queue, redis).enqueue_call(
            spec.func,
            timeout=spec.timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=Retry(max=len(spec.retry), interval=list(spec.retry)),
            description=PROCESS_INBOX,
        )
    except BaseException:
        redis.delete(KICK_KEY)  # the next commit asks again
        raise
    return True


def process_inbox() -> int:
    """The workers' job: process the messages answered at intake (in order per chat;
    see :meth:`ChannelIntake.work`). How many were processed. A job queued from now on
    (:func:`kick_workers`) takes what is stored after this one's last look."""
    runtime = current_runtime()
    runtime.redis.delete(KICK_KEY)
    intake = ChannelIntake(
        runtime.inbox, runtime.db, runtime.clock, None, channel_processors(runtime)
    )
    return intake.work()


async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    settings = runtime.settings
    processors = channel_processors(runtime)
    intake = ChannelIntake(
        runtime.inbox,
        runtime.db,
        runtime.clock,
        app[BLOCKING],
        processors,
        answerers={"sms": SmsAnswerer(runtime)} if settings.sms_configured else {},
        kick=lambda: kick_workers(runtime),
    )
    app[CHANNELS] = intake
    tasks = []
    if processors:
        tasks.append(asyncio.create_task(_recover(app, intake), name="voicebridge-recover"))
    adapter = AlertAdapter(runtime, runtime.media, f"{socket.gethostname()}:{os.getpid()}")
    if adapter.media:
        tasks.append(asyncio.create_task(_alerts(app, adapter), name="voicebridge-alerts"))
    if settings.telegram_configured and settings.telegram_mode == "polling":
        tasks.append(asyncio.create_task(_poll(app, intake), name="voicebridge-telegram-poll"))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await intake.stop()


async def _recover(app: web.Application, intake: ChannelIntake) -> None:
    """Messages stored and not processed (by a process that died, or whose processing
    failed) are processed: all of them at start-up, then every second those left a few
    seconds behind."""
    everything = True
    failing = False
    while True:
        try:
            done = await app[BLOCKING](intake.recover, everything=everything)
            if done:
                log.warning("%d stored message(s) processed late (recovered)", done)
            everything = False
            if failing:
                log.info("recovering stored messages works again")
                failing = False
        except Exception:
            if not failing:
                log.exception("recovering stored messages failed; trying again")
                failing = True
        await asyncio.sleep(RECOVER_SECONDS)


async def _alerts(app: web.Application, adapter: AlertAdapter) -> None:
    """Responders' contacts by SMS and Telegram become alerts, as soon as the ledger
    has them (woken like the AMI bridge) and at least every second."""
    runtime = app[RUNTIME]
    woken = runtime.wakeup.listener()
    failing = False
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ALERT_SECONDS):
                    await woken.wait()
            woken.clear()
            try:
                await app[BLOCKING](adapter.turn)
                if failing:
                    log.info("responders' alerts by SMS and Telegram work again")
                    failing = False
            except Exception:
                if not failing:
                    log.exception("placing responders' alerts failed; trying again")
                    failing = True
    finally:
        runtime.wakeup.forget(woken)


async def _poll(app: web.Application, intake: ChannelIntake) -> None:
    """Telegram's polling mode: updates asked for with getUpdates, each stored like a
    webhook's; the next call's offset confirms to Telegram only those stored. When an
    update cannot be stored (the database failing) the loop waits and asks again from
    it: it is not confirmed, so it is not lost; nothing else stops the loop."""
    settings = app[RUNTIME].settings
    assert settings.telegram_token is not None  # noqa: S101 - polling needs the bot
    offset: int | None = None
    delay = POLL_BACKOFF[0]
    down = False
    while True:
        try:
            async with TelegramSender(
                settings.telegram_token, bot_api(settings.telegram_api_url)
            ) as sender:
                await sender.delete_webhook()
                while True:
                    updates = await sender.get_updates(offset, POLL_TIMEOUT)
                    if down:
                        log.info("Telegram's updates are read and stored again")
                        down, delay = False, POLL_BACKOFF[0]
                    for raw in updates:
                        update_id = update_id_of(raw)
                        await _take(intake, raw)
                        offset = max(offset or 0, update_id + 1)  # stored: confirm it
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not down:
                if isinstance(exc, SendFailed | OSError):
                    log.warning("Telegram's getUpdates failed (%s); retrying", exc)
                else:
                    log.exception("storing Telegram's updates failed; asking for them again")
                down = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_BACKOFF[1])


async def _take(intake: ChannelIntake, raw: dict[str, object]) -> None:
    """Store an update for its processing; a malformed one is skipped (logged): asked
    for again it would be the same."""
    try:
        parsed = parse_update(raw)
    except BadUpdate as exc:
        log.warning("a malformed Telegram update skipped: %s", exc)
        return
    chat = chat_key(parsed) or "-"
    await intake.submit(
        Inbound(channel="telegram", external_id=str(update_id_of(raw)), chat=chat, raw=raw),
        wait=False,
    )
