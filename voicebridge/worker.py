"""``voicebridge worker``: an RQ worker with RQ's scheduler, bound to a :class:`Runtime`.

RQ forks a work horse per job; the horse drops the database connections it inherited
and runs the job with the runtime bound (see :func:`voicebridge.jobs.current_runtime`).
When the job ends, its task row is settled: deleted on success, marked failed when RQ
has no retry left.

RQ runs its scheduler (which moves jobs due later into their queue) in a process of its
own, forked from the worker and in the worker's process group. RQ's scheduler dies on
the first error reaching Redis (a traceback from RQ and another from multiprocessing,
rq/rq#2189), and RQ's worker starts a new one only at its next maintenance, which an
idle worker reaches after 405 s. Here, by subclassing (no fork of RQ):

- the scheduler (:class:`KeptScheduler`) waits for Redis and goes on, and stops when its
  worker is gone (an orphan would hold the scheduler's lock);
- a scheduler that dies all the same is restarted by its worker within a second or two,
  with backoff (0.5 s doubling to 30 s), and its death is logged once;
- a scheduler kept from its lock (another worker's scheduler holds it, or a dead
  worker's until it expires) tries again every 2 s rather than at RQ's next maintenance,
  logged once when it waits and once when it took the lock; it is named after its
  worker (:func:`~voicebridge.queueing.scheduler_name`), so that whoever saw a worker die
  can release its scheduler's locks (``voicebridge run`` does);
- a Redis outage is logged once when it starts and once when it ends (:class:`Outage`);
  RQ's own line for every failed try, from the worker loop and its pub/sub thread, is
  left out (:class:`_RedisChatter`), and the worker tries again every 2 s at most, so
  it takes jobs again within 2 s of Redis's return.
"""

import logging
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from voicebridge.jobs import bound
from voicebridge.queueing import QUEUES, Outage, make_redis, queue, scheduler_name
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 30  # how often abandoned jobs are looked for (RQ's default: 600)
TURN_SECONDS = 1  # the longest an idle worker waits for a job before it looks around
RECONNECT_SECONDS = 2.0  # the longest between two tries to reach Redis (RQ's: 60 s)
RESTART_MIN, RESTART_MAX = 0.5, 30.0  # backoff of a dead scheduler's restarts
STABLE_SECONDS = 30.0  # a scheduler up this long starts its backoff over
LOCK_RETRY_SECONDS = 2.0  # how often a scheduler kept from its lock tries it again
LOCK_TTL_SECONDS = 61  # RQ's scheduler lock: its interval (1 s) + 60 s unless refreshed


def describe_exit(code: int | None) -> str:
    """``exit code 1``, ``killed by SIGKILL``: how a process ended (``code`` as
    :attr:`subprocess.Popen.returncode` or :attr:`multiprocessing.Process.exitcode`)."""
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def redis_outage() -> Outage:
    return Outage(
        log,
        "Redis is unreachable (%s); the worker waits for it",
        "Redis is reachable again; the worker resumes",
    )


class KeptScheduler(RQScheduler):
    """RQ's scheduler, kept alive through Redis outages; it stops when its worker is gone."""

    def work(self) -> None:
        self._worker_pid = os.getppid()
        delay = RESTART_MIN
        while True:
            try:
                super().work()  # type: ignore[no-untyped-call]
                return
            except RedisError as exc:  # the worker logs the outage
                if self._stop_requested:
                    return  # its locks expire on their own
                self.log.debug("scheduler: Redis: %s; trying again in %g s", str(exc), delay)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not self._stop_requested:
                time.sleep(0.1)
                self._watch_worker()
            delay = min(delay * 2, RECONNECT_SECONDS)

    def heartbeat(self) -> None:  # once a second, in RQ's loop
        self._watch_worker()
        super().heartbeat()  # type: ignore[no-untyped-call]

    def _watch_worker(self) -> None:
        if os.getppid() != self._worker_pid:  # its worker died: stop, freeing the lock
            self._stop_requested = True


class _RedisChatter(logging.Filter):
    """Leaves out what RQ logs about Redis being unreachable (a line for every try, a
    traceback when a loop gives up), reporting it to the worker's :class:`Outage`
    instead; and RQ scheduler's warning that its lock had expired, which follows an
    outage longer than the lock (61 s) or Redis losing its data (serve logs that)."""

    def __init__(self, outage: Outage) -> None:
        super().__init__()
        self.outage = outage
        self.pid = os.getpid()  # the worker's; its work horses and scheduler stay quiet

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        exc = record.exc_info[1] if record.exc_info else None
        error = next((a for a in (exc, *args) if isinstance(a, RedisError)), None)
        if error is not None or "Redis connection timeout" in str(record.msg):
            if os.getpid() == self.pid:
                self.outage.down(error or "timeout")
            return False
        if record.name == "rq.scheduler" and "had expired; re-acquired" in str(record.msg):
            return logging.getLogger("rq.scheduler").isEnabledFor(logging.DEBUG)
        return True


class _Bound:
    """Bound to a :class:`Runtime` from its construction."""

    max_connection_wait_time = RECONNECT_SECONDS  # RQ's wait between tries grows to this
    scheduler: RQScheduler | None

    def __init__(
        self,
        *args: Any,
        runtime: Runtime,
        stop: threading.Event,
        outage: Outage,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.stop = stop  # set by SIGINT/SIGTERM, also while RQ's loop is not running
        self.outage = outage
        self.stopping = False  # a SIGINT or SIGTERM asked this worker to stop
        self._scheduler_seen: BaseProcess | None = None  # the last scheduler seen alive
        self._scheduler_since = 0.0
        self._scheduler_dead: BaseProcess | None = None  # the last one logged dead
        self._scheduler_restart_at: float | None = None
        self._scheduler_delay = RESTART_MIN
        self._lock_wait_since: float | None = None  # its scheduler waits for the lock
        self._lock_tried_at = 0.0

    @property
    def dequeue_timeout(self) -> int:
        """An idle worker looks around every second (heartbeat, its scheduler), rather
        than RQ's 405 s."""
        return TURN_SECONDS

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[misc]
        if self.stop.is_set():  # the signal came before RQ's handlers were in place
            self.stopping = True
            self._stop_requested = True  # RQ's loop checks this before each dequeue

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self.stop.set()
        super().request_stop(signum, frame)  # type: ignore[misc]

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat, at every turn of its loop: Redis answered (or not), and the
        scheduler is looked after."""
        try:
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
        except RedisError as exc:
            self.outage.down(exc)
            raise
        if pipeline is None:
            self.outage.up()
        if not self.is_horse:  # type: ignore[attr-defined]
            self._keep_scheduler()

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, thread: Any) -> None:
        """RQ's pub/sub thread (commands to the worker) reconnects quietly: the worker's
        loop reports the outage."""
        if isinstance(exc, RedisConnectionError):
            time.sleep(RECONNECT_SECONDS)
            return
        super()._pubsub_exception_handler(exc, pubsub, thread)  # type: ignore[misc]

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's own, with :class:`KeptScheduler`."""
        scheduler = KeptScheduler(
            self.queues,  # type: ignore[attr-defined]
            name=scheduler_name(os.getpid()),  # its locks' token: see release_scheduler_locks
            connection=self.connection,  # type: ignore[attr-defined]
            logging_level=logging_level if logging_level is not None else "INFO",
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,  # type: ignore[attr-defined]
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if not scheduler.acquired_locks:  # tried again every LOCK_RETRY_SECONDS
            if not burst and self._lock_wait_since is None:
                self._lock_wait_since = self._lock_tried_at = time.monotonic()
                log.info(
                    "RQ's scheduler lock is held by another scheduler (another worker's, or a "
                    "dead worker's until it expires, %d s at most); this worker's scheduler "
                    "starts when it is free",
                    LOCK_TTL_SECONDS,
                )
            return
        if burst:
            try:
                scheduler.register_birth()
                scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
            finally:
                scheduler.release_locks()  # type: ignore[no-untyped-call]
                scheduler.register_death()
        else:
            scheduler.start()  # type: ignore[no-untyped-call]

    def _keep_scheduler(self) -> None:
        """Restart the scheduler process when it died: logged once per death, with
        backoff (0.5 s doubling to 30 s, from the start once one stayed up 30 s)."""
        scheduler = self.scheduler
        if scheduler is None or self.stopping:
            return
        now = time.monotonic()
        process: BaseProcess | None = getattr(scheduler, "_process", None)
        if self._lock_wait_since is not None:
            if process is None and now - self._lock_tried_at >= LOCK_RETRY_SECONDS:
                self._lock_tried_at = now
                scheduler.acquire_locks(auto_start=True)  # type: ignore[no-untyped-call]
                process = getattr(scheduler, "_process", None)
            if process is None:
                return  # another scheduler holds the lock
            log.info(
                "RQ's scheduler took its lock after %.0f s; it runs (pid %s)",
                now - self._lock_wait_since,
                process.pid,
            )
            self._lock_wait_since = None
        if process is None:
            return
        if process.is_alive():
            if process is not self._scheduler_seen:
                self._scheduler_seen, self._scheduler_since = process, now
            elif now - self._scheduler_since > STABLE_SECONDS:
                self._scheduler_delay = RESTART_MIN
            return
        if process is not self._scheduler_dead:
            self._scheduler_dead = process
            self._scheduler_restart_at = now + self._scheduler_delay
            log.warning(
                "RQ's scheduler (pid %s) died (%s); restarting it in %g s",
                process.pid,
                describe_exit(process.exitcode),
                self._scheduler_delay,
            )
            self._scheduler_delay = min(self._scheduler_delay * 2, RESTART_MAX)
        elif self._scheduler_restart_at is not None and now >= self._scheduler_restart_at:
            self._scheduler_restart_at = None
            # a new process, under the same name: the dead one's lock is renewed, not
            # waited for (if another worker's scheduler took it, RQ's maintenance tries)
            scheduler.acquire_locks(auto_start=True)  # type: ignore[no-untyped-call]

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
        except RedisError as exc:  # the worker logs the outage; the relay settles the row
            log.debug("could not settle the task of job %s: %s", job.id, str(exc))
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
    outage: Outage | None = None,
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
        outage=outage or redis_outage(),
    )
    return worker


def run_worker(runtime: Runtime, *, burst: bool = False) -> int:
    """Work until SIGINT or SIGTERM (or, with ``burst``, until the queues are empty).

    RQ's loop rides out a Redis outage itself; when it quits all the same (a command
    that timed out, Redis gone while it registers), this one waits (a signal still stops
    it at once) and starts a new RQ worker."""
    stop = threading.Event()
    outage = redis_outage()
    chatter = _RedisChatter(outage)
    rq_loggers = [logging.getLogger(name) for name in ("rq.worker", "rq.scheduler", "rq.job")]
    for logger in rq_loggers:
        logger.addFilter(chatter)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # RQ logs every job at INFO; at our INFO it says only what goes wrong
    rq_level = "DEBUG" if runtime.settings.log_level == "DEBUG" else "WARNING"
    log.info("worker: queues %s, with the scheduler", ", ".join(QUEUES))
    delay = RESTART_MIN
    try:
        while not stop.is_set():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, on_signal)
            try:
                worker = make_worker(runtime, stop=stop, outage=outage)
                worker.work(burst=burst, with_scheduler=True, logging_level=rq_level)
                if burst or worker.stopping:
                    break
                if _redis_up(runtime):
                    log.warning("RQ's worker loop quit; starting a new one in %g s", delay)
                else:
                    outage.down("the worker lost its connection")
            except RedisError as exc:
                outage.down(exc)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, on_signal)
            if stop.wait(delay):
                break
            delay = min(delay * 2, RECONNECT_SECONDS)
            if _redis_up(runtime):
                outage.up()
                delay = RESTART_MIN
    finally:
        for logger in rq_loggers:
            logger.removeFilter(chatter)
    log.info("worker stops")
    return 0


def _redis_up(runtime: Runtime) -> bool:
    try:
        return bool(runtime.redis.ping())
    except RedisError:
        return False
