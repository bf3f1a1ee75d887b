"""Telling the loops that work is waiting (contacts to place, tasks to relay): one
signal inside a process, one Redis pub/sub channel between processes.

A :class:`Wakeup` is built once per process by the composition root. Whatever may have
left work behind calls :meth:`Wakeup.notify` (from any thread); the loops of ``serve``
(the adapters, the task relay) each hold a :meth:`Wakeup.listener`. ``serve`` also runs
:meth:`Wakeup.follow`, which turns the other processes' messages into local wake-ups. A
message lost (Redis restarting, a process not yet subscribed) costs at most a loop's
poll interval, never a contact.

A second one, on :data:`LOG_CHANNEL`, tells the consoles' log readers that a write
transaction appended to the incident log (``Database.after_log``)."""

import asyncio
import contextlib
import logging
import threading
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "voicebridge:legs"
LOG_CHANNEL = "voicebridge:log"  # the incident log grew: the consoles' readers read it
RETRY_SECONDS = 1.0
STOP_SECONDS = 1.0  # how soon follow() sees its stop


class Wakeup:
    def __init__(self, redis: "Redis", channel: str = CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self._lock = threading.Lock()
        self._listeners: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def listener(self) -> asyncio.Event:
        """An event set at every wake-up, for a loop of the running event loop."""
        woken = asyncio.Event()
        with self._lock:
            self._listeners.append((asyncio.get_running_loop(), woken))
        return woken

    def forget(self, woken: asyncio.Event) -> None:
        with self._lock:
            self._listeners = [(lp, ev) for lp, ev in self._listeners if ev is not woken]

    def local(self) -> None:
        """Wake this process's loops (from any thread)."""
        with self._lock:
            listeners = list(self._listeners)
        for loop, woken in listeners:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(woken.set)

    def notify(self) -> None:
        """Wake this process's loops and every other process's."""
        self.local()
        try:
            self.redis.publish(self.channel, b"1")
        except RedisError as exc:  # the loops poll anyway
            log.debug("could not publish a wake-up: %s", exc)

    async def follow(self, redis_url: str, stop: asyncio.Event | None = None) -> None:
        """Wake this process's loops on every message of its channel, resubscribing
        after any failure, until ``stop`` is set (within a second) or cancelled. (A
        cancellation that lands while redis-py connects or subscribes can be lost in it:
        ``stop`` is the way to end this for sure.)"""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            # a Redis that takes connections and never answers does not hold the stop up
            client = AsyncRedis.from_url(
                redis_url, socket_connect_timeout=STOP_SECONDS, socket_timeout=2 * STOP_SECONDS
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.local()  # anything published while we were not subscribed
                    while not stop.is_set():
                        message = await _until(
                            stop,
                            pubsub.get_message(
                                ignore_subscribe_messages=True, timeout=STOP_SECONDS
                            ),
                        )
                        if message is not None and message.get("type") == "message":
                            self.local()
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("wake-up channel: %s; resubscribing", exc)
            finally:
                await client.aclose()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS):
                    await stop.wait()


async def _until(stop: asyncio.Event, read: Any) -> Any:
    """``read``'s result, or None as soon as ``stop`` is set (the read is then cancelled,
    and waited for a moment only: redis-py can lose a cancel)."""
    reading = asyncio.ensure_future(read)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if reading.done():
        return reading.result()
    reading.cancel()
    await asyncio.wait({reading}, timeout=0.2)
    return None


async def stop_follower(task: "asyncio.Task[None]") -> None:
    """Wait for a :meth:`Wakeup.follow` whose stop is set; one that failed otherwise,
    or does not end in time, is logged and cancelled (a service stopping goes on)."""
    try:
        async with asyncio.timeout(5 * STOP_SECONDS):
            await task
    except TimeoutError:
        log.warning("a wake-up follower did not stop in time; cancelled")
        task.cancel()
    except Exception:
        log.exception("a wake-up follower had failed")
