"""What an AMI adapter heard from Asterisk, recorded in the domain one job at a time, in
the order heard, in the I/O threads (:class:`~voicebridge.blocking.Blocking`). After each
burst of records the local wake-up is told once: the records may have left work behind
(contacts to place, a line a check left), and each wake-up costs the loops a
transaction. :class:`AdapterTasks` runs an adapter's loop (woken by the wake-up) and its
recorder as tasks, and stops them."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from voicebridge.blocking import Blocking
from voicebridge.wakeup import Wakeup

log = logging.getLogger(__name__)

Job = Callable[[], Any]


class Recorder:
    def __init__(self, blocking: Blocking, wakeup: Wakeup, what: str) -> None:
        """``what``: the adapter, for the log."""
        self.blocking = blocking
        self.wakeup = wakeup
        self.what = what
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()

    def put(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    async def run(self) -> None:
        """The task that records, until cancelled."""
        while True:
            job = await self._jobs.get()
            try:
                await self.blocking(job)
            except Exception:
                log.exception("%s: an Asterisk event could not be recorded", self.what)
            finally:
                self._jobs.task_done()
            if self._jobs.empty():
                self.wakeup.local()

    def discard(self) -> int:
        """Drop what waits to be recorded (a benchmark of the handlers alone); how many."""
        n = 0
        while not self._jobs.empty():
            self._jobs.get_nowait()
            self._jobs.task_done()
            n += 1
        return n

    async def idle(self) -> None:
        """Wait until every event received so far has been recorded."""
        await self._jobs.join()


class AdapterTasks:
    """An adapter's loop, given a wake-up listener of its own, and its recorder."""

    def __init__(self, wakeup: Wakeup, recorder: Recorder, name: str) -> None:
        self.wakeup = wakeup
        self.recorder = recorder
        self.name = name
        self._tasks: list[asyncio.Task[None]] = []
        self._woken: asyncio.Event | None = None

    def start(self, loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        running = asyncio.get_running_loop()
        self._woken = self.wakeup.listener()
        self._tasks = [
            running.create_task(loop(self._woken), name=self.name),
            running.create_task(self.recorder.run(), name=f"{self.name}-events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._woken is not None:
            self.wakeup.forget(self._woken)
            self._woken = None
