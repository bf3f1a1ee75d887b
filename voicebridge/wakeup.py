"""Telling every ``serve`` process that legs wait to be originated: one Redis pub/sub
channel. A message lost (Redis restarting, a process not yet subscribed) costs at most
the bridge's poll interval, never a call."""

import asyncio
import logging
from collections.abc import Callable

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "voicebridge:legs"
RETRY_SECONDS = 1.0


def publisher(redis: Redis) -> Callable[[], None]:
    """A ``wake`` for the dispatcher: publish on :data:`CHANNEL`."""

    def publish() -> None:
        try:
            redis.publish(CHANNEL, b"1")
        except RedisError as exc:  # the bridges poll anyway
            log.debug("could not publish a wake-up: %s", exc)

    return publish


async def listen(redis_url: str, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every message of :data:`CHANNEL`, resubscribing after any
    failure, until cancelled."""
    while True:
        client = AsyncRedis.from_url(redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                wake()  # anything published while we were not subscribed
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        wake()
        except (RedisError, OSError) as exc:
            log.debug("wake-up channel: %s; resubscribing", exc)
        finally:
            await client.aclose()
        await asyncio.sleep(RETRY_SECONDS)
