"""``voicebridge worker``: an RQ worker with RQ's scheduler, bound to a :class:`Runtime`.

RQ forks a work horse per job; the horse drops the database connections it inherited
and runs the job with the runtime bound (see :func:`voicebridge.jobs.current_runtime`).
When the job ends, its task row is settled: deleted on success, marked failed when RQ
has no retry left. If Redis goes away the worker logs it once, waits and starts again.
"""

import logging
import signal
import threading
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer

from voicebridge.jobs import bound
from voicebridge.queueing import QUEUES, make_redis, queue
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 30  # how often abandoned jobs are looked for (RQ's default: 600)


class _Bound:
    """Bound to a :class:`Runtime` from its construction."""

    def __init__(self, *args: Any, runtime: Runtime, stop: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.stop = stop  # set by SIGINT/SIGTERM, also while RQ's loop is not running
        self.stopping = False  # a SIGINT or SIGTERM asked this worker to stop

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[misc]
        if self.stop.is_set():  # the signal came before RQ's handlers were in place
            self.stopping = True
            self._stop_requested = True  # RQ's loop checks this before each dequeue

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self.stop.set()
        super().request_stop(signum, frame)  # type: ignore[misc]

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        with bound(self.runtime):
            ok: bool = super().perform_job(job, queue, execution)  # type: ignore[misc]
        try:
            if ok:
                self.runtime.tasks.complete(job.id)
            elif not job.retries_left:
                result = job.latest_result()
                error = getattr(result, "exc_string", None) or "job failed"
                self.runtime.tasks.fail(job.id, error)
        except Exception:  # the relay's sweep settles the row later
            log.exception("could not settle the task of job %s", job.id)
        return ok


class VoicebridgeWorker(_Bound, Worker):
    """The production worker: one forked horse per job."""

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        self.runtime.after_fork()
        super().main_work_horse(job, queue)


class InlineWorker(_Bound, SimpleWorker):
    """Runs jobs in its own process (tests and one-off runs)."""


def make_worker(
    runtime: Runtime,
    *,
    inline: bool = False,
    name: str | None = None,
    stop: threading.Event | None = None,
) -> VoicebridgeWorker | InlineWorker:
    connection = make_redis(runtime.settings.redis_url, timeout=None)
    cls = InlineWorker if inline else VoicebridgeWorker
    worker = cls(
        [queue(n, connection) for n in QUEUES],
        connection=connection,
        serializer=JSONSerializer,
        name=name,
        maintenance_interval=MAINTENANCE_SECONDS,
        runtime=runtime,
        stop=stop or threading.Event(),
    )
    return worker


def run_worker(runtime: Runtime, *, burst: bool = False) -> int:
    """Work until SIGINT or SIGTERM (or, with ``burst``, until the queues are empty).

    RQ's loop quits when it loses Redis; this one logs that once, waits (a signal still
    stops it at once) and starts a new RQ worker."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # RQ logs every job at INFO; at our INFO it says only what goes wrong
    rq_level = "DEBUG" if runtime.settings.log_level == "DEBUG" else "WARNING"
    log.info("worker: queues %s, with the scheduler", ", ".join(QUEUES))
    delay, down = 1.0, False
    while not stop.is_set():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        try:
            worker = make_worker(runtime, stop=stop)
            worker.work(burst=burst, with_scheduler=True, logging_level=rq_level)
            if burst or worker.stopping:
                break
            reason = "the worker lost its connection"
        except RedisError as exc:
            reason = str(exc)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        if not down:
            log.error("Redis is unreachable (%s); the worker waits for it", reason)
            down = True
        if stop.wait(delay):
            break
        delay = min(delay * 2, 30.0)
        if _redis_up(runtime):
            log.info("Redis is reachable again; the worker resumes")
            down, delay = False, 1.0
    log.info("worker stops")
    return 0


def _redis_up(runtime: Runtime) -> bool:
    try:
        return bool(runtime.redis.ping())
    except RedisError:
        return False
