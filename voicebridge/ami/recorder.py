"""What an AMI adapter heard from Asterisk, recorded in the domain one job at a time, in
the order heard, in the I/O threads (:class:`~voicebridge.blocking.Blocking`). After each
burst of records the local wake-up is told once: the records may have left work behind
(contacts to place, a line a check left), and each wake-up costs the loops a
transaction."""

import asyncio
import logging
from collections.abc import Callable
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
