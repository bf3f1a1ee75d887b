"""How an update reaches the bot (CHANNELS.md, "Telegram Bot API fake", point 5): POSTed
to the webhook when one is set (one update per request, JSON, the secret in
``X-Telegram-Bot-Api-Secret-Token``; a non-2xx answer or a failed connection is retried
with a doubling backoff, then given up; at most ``max_connections`` at once), else kept
for ``getUpdates``. Kinds outside the bot's ``allowed_updates`` are not sent at all.

Telegram keeps retrying a failing webhook for hours; the fake gives up after
``attempts`` tries so that a test sees the outcome.
"""

import asyncio
import json
import logging
from typing import Any

import aiohttp

from channels.telegram.sim.model import NOT_BY_DEFAULT, Attempt, Delivery
from channels.telegram.sim.state import BotState
from channels.telegram.webhook import SECRET_HEADER

log = logging.getLogger(__name__)


def update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class Deliverer:
    def __init__(self, state: BotState, *, attempts: int, backoff: float, timeout: float) -> None:
        self._state = state
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._slots: tuple[int, asyncio.Semaphore] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.arrived = asyncio.Condition()  # getUpdates waits on it

    async def open(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def allowed(self, update: dict[str, Any]) -> bool:
        kinds = self._state.webhook.allowed_updates
        kind = update_kind(update)
        return kind in kinds if kinds else kind not in NOT_BY_DEFAULT

    async def deliver(self, update: dict[str, Any], *, duplicate: bool = False) -> Delivery:
        update_id = int(update["update_id"])
        if not self.allowed(update):
            return Delivery(update_id=update_id, update=update, outcome="filtered")
        if not self._state.webhook.url:
            self._state.pending.append(update)
            async with self.arrived:
                self.arrived.notify_all()
            return Delivery(update_id=update_id, update=update, outcome="queued")
        attempts = await self._post(update)
        delivered = attempts[-1].status is not None and 200 <= attempts[-1].status < 300
        duplicates = await self._post(update) if delivered and duplicate else ()
        return Delivery(
            update_id=update_id,
            update=update,
            outcome="delivered" if delivered else "failed",
            attempts=attempts,
            duplicates=duplicates,
        )

    def webhook_changed(self) -> None:
        """A webhook was set: what waited for getUpdates goes to it, as on Telegram."""
        if not self._state.webhook.url or not self._state.pending:
            return
        pending = list(self._state.pending)
        self._state.pending.clear()
        task = asyncio.create_task(self._flush(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Until the background deliveries (a flush after setWebhook) are done."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wake_pollers(self) -> None:
        async with self.arrived:
            self.arrived.notify_all()

    async def _flush(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            await self.deliver(update)

    def _semaphore(self) -> asyncio.Semaphore:
        size = self._state.webhook.max_connections
        if self._slots is None or self._slots[0] != size:
            self._slots = (size, asyncio.Semaphore(size))
        return self._slots[1]

    async def _post(self, update: dict[str, Any]) -> tuple[Attempt, ...]:
        hook = self._state.webhook
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        attempts: list[Attempt] = []
        for number in range(self._attempts):
            if number:
                await asyncio.sleep(self._backoff * 2 ** (number - 1))
            async with self._semaphore():
                attempt = await self._post_once(hook.url, body, headers)
            attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                break
            hook.last_error_date = self._state.now()
            hook.last_error_message = attempt.error
            log.info("webhook delivery of update %s failed: %s", update["update_id"], attempt.error)
        return tuple(attempts)

    async def _post_once(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        if self._session is None:
            return Attempt(status=None, error="the fake Bot API is not started")
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return Attempt(status=response.status)
                return Attempt(
                    status=response.status,
                    error=f"Wrong response from the webhook: {response.status} {response.reason}",
                )
        except TimeoutError:
            return Attempt(status=None, error="Read timeout expired")
        except aiohttp.ClientError as exc:
            return Attempt(status=None, error=f"Connection failed: {type(exc).__name__}")
