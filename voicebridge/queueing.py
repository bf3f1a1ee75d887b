"""RQ on Redis: queues, job ids, and the relay that hands stored tasks to the queues.

Every job is recorded first as a task row in the database, in the transaction of the
change that calls for it (:mod:`routing.tasks`); the relay enqueues it afterwards, with
the task's key as job id. A task is claimed by one relay at a time; jobs are idempotent,
so the rare job that runs twice (a resend after a crash) does no harm.
"""

import logging
import re
import secrets
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.scripts import release_lock
from rq.serializers import JSONSerializer

from routing.ports import Clock
from routing.tasks import StoredTask, TaskStore

log = logging.getLogger(__name__)

QUEUE_CALLS = "voicebridge-calls"  # call attempts and escalations: served first
QUEUE_DEFAULT = "voicebridge-default"
QUEUES = (QUEUE_CALLS, QUEUE_DEFAULT)

_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ID_PART = re.compile(r"^[A-Za-z0-9-]{1,40}$")


def job_id(incident_id: str, purpose: str, attempt: int) -> str:
    """``LIM-2026-000123--call_pnp--2``: the id of the job doing ``purpose`` for an
    incident, ``attempt`` counting repeats. Only ``[A-Za-z0-9_-]``, as RQ requires."""
    if not _ID_PART.match(incident_id):
        raise ValueError(f"incident id {incident_id!r} cannot be part of a job id")
    if not _PURPOSE.match(purpose):
        raise ValueError(f"purpose {purpose!r}: lower-case letters, digits and _ only")
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return f"{incident_id}--{purpose}--{attempt}"


def periodic_job_id(purpose: str, period: int) -> str:
    """``periodic--sweep_overdue--179557104``: the job doing ``purpose`` in one period."""
    return job_id("periodic", purpose, period)


@dataclass(frozen=True, kw_only=True, slots=True)
class JobSpec:
    func: str  # dotted path, imported by the worker
    queue: str
    timeout: int  # seconds
    retry: tuple[int, ...]  # intervals between retries, in seconds


JOBS: Mapping[str, JobSpec] = {
    "escalate": JobSpec(
        func="voicebridge.jobs.escalate", queue=QUEUE_CALLS, timeout=30, retry=(2, 5, 15)
    ),
    # a message out (a responder's alert, a citizen's reply or news): the channel's own
    # failures are retried by new tasks (messaging.py); these retries are for the rest
    "send_message": JobSpec(
        func="voicebridge.messaging.send_message", queue=QUEUE_CALLS, timeout=60, retry=(2, 10, 60)
    ),
    "citizen_news": JobSpec(
        func="voicebridge.messaging.citizen_news",
        queue=QUEUE_DEFAULT,
        timeout=60,
        retry=(5, 30, 120),
    ),
    # citizens' messages answered at intake (an SMS's TwiML reply): filed by a worker
    "process_inbox": JobSpec(
        func="voicebridge.citizens.channels.process_inbox",
        queue=QUEUE_CALLS,
        timeout=300,
        retry=(2, 10, 60),
    ),
    "sweep_overdue": JobSpec(
        func="voicebridge.jobs.sweep_overdue", queue=QUEUE_DEFAULT, timeout=120, retry=()
    ),
    # the scheduled checks of the responder lines due in one period (lost: the next one)
    "check_lines": JobSpec(
        func="voicebridge.jobs.check_lines", queue=QUEUE_DEFAULT, timeout=120, retry=()
    ),
    # the analytics' rollup of one period (lost or cut short: the next one goes on)
    "roll_analytics": JobSpec(
        func="voicebridge.jobs.roll_analytics", queue=QUEUE_DEFAULT, timeout=3600, retry=()
    ),
}

RESULT_TTL = 3600  # a finished job stays visible for an hour (and blocks a duplicate)
FAILURE_TTL = 7 * 24 * 3600


def make_redis(url: str, *, timeout: float | None = 5.0) -> "Redis":
    """A client that gives up on a Redis that is down in a fraction of a second (redis-py's
    default retries take seconds, which an emergency call must not wait for)."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry=RedisRetry(ExponentialBackoff(cap=0.2, base=0.02), 2),
    )


def worker_registered(connection: "Redis", pid: int) -> bool:
    """Whether an RQ worker of process ``pid`` on this machine has registered in Redis
    (it is up). False when Redis does not answer."""
    hostname = socket.gethostname()
    try:
        workers = Worker.all(connection=connection, serializer=JSONSerializer)
    except RedisError:
        return False
    return any(w.pid == pid and w.hostname == hostname for w in workers)


def scheduler_name(pid: int) -> str:
    """The name of the RQ scheduler of the worker process ``pid`` on this machine: the
    token of its locks (RQ's lock holds its owner's name), so that whoever saw that
    worker die can release them (:func:`release_scheduler_locks`)."""
    return f"voicebridge-{socket.gethostname()}-{pid}"


def release_scheduler_locks(connection: "Redis", pid: int) -> list[str]:
    """Release the scheduler locks still held by the scheduler of the worker process
    ``pid``, dead (killed with its scheduler), rather than wait for them to expire (61 s);
    a lock another scheduler holds is left alone (RQ's token-checked release). The
    queues whose lock was released."""
    token = scheduler_name(pid)
    return [
        name
        for name in QUEUES
        if release_lock(connection, RQScheduler.get_locking_key(name), token)
    ]


def queue(name: str, connection: "Redis") -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


class Outage:
    """Redis as one process sees it: its going away is logged once (an error), its return
    once (info), however many of the process's parts stumble on it meanwhile. Thread-safe.
    """

    def __init__(self, logger: logging.Logger, down: str, up: str) -> None:
        """``down``: the message when Redis goes away, with one ``%s`` for the error."""
        self.log = logger
        self.down_message = down
        self.up_message = up
        self._lock = threading.Lock()
        self._down = False

    @property
    def is_down(self) -> bool:
        return self._down

    def down(self, error: object) -> bool:
        """Redis failed; True if that starts an outage (and was logged)."""
        with self._lock:
            if self._down:
                return False
            self._down = True
        self.log.error(self.down_message, error)
        return True

    def up(self) -> bool:
        """Redis answered; True if that ends an outage (and was logged)."""
        with self._lock:
            if not self._down:
                return False
            self._down = False
        self.log.info(self.up_message)
        return True


class TaskRelay:
    """Moves stored tasks into RQ. Synchronous: the server runs it in a thread.

    A relay first claims a batch of tasks in the database (one relay per task, however
    many ``serve`` replicas run), then sends the batch to Redis in one pipelined round
    trip; if Redis fails, the claims are given back. The database is the truth: a job
    Redis lost with its data is sent again once :meth:`check` sees Redis back without it;
    a relay that dies between the two steps leaves claimed tasks without a job, which the
    next relay to start (:meth:`check`) or :meth:`sweep` finds and resends.
    """

    # an enqueued task still in the table this long after it was due is looked at again
    OVERDUE = timedelta(minutes=5)
    # a scheduled job this late means no RQ scheduler is running
    LATE = timedelta(seconds=5)
    # a key every relay keeps in Redis: gone means Redis lost its data (restarted empty,
    # flushed, or another server behind the same address)
    MARK = "voicebridge:relay:mark"
    CHECK_BATCH = 500

    def __init__(self, tasks: TaskStore, redis: "Redis", clock: Clock) -> None:
        self.tasks = tasks
        self.redis = redis
        self.clock = clock
        self.queues = {name: queue(name, redis) for name in QUEUES}
        self.outage = Outage(
            log,
            "Redis is unreachable, tasks wait in the database: %s",
            "Redis is reachable again; sending the tasks that waited",
        )
        self._seen: tuple[str, bytes] | None = None  # Redis's run_id and the mark

    def check(self) -> int:
        """Ask Redis whether it is the one the tasks were sent to, at every tick of the
        relay (one round trip). When this relay first reaches it, when it restarted (a new
        ``run_id``: a restart with its append-only file may still lose its last second)
        and when it lost :data:`MARK` (its data), the tasks the database says are in the
        queue are compared with Redis's jobs, and those whose job is gone are sent again
        (:meth:`recover`): a job lost with Redis's data is enqueued again about a second
        after Redis is back. The number sent again."""
        token = secrets.token_hex(8).encode()
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.MARK, token, nx=True)
                pipe.get(self.MARK)
                pipe.info("server")
                _, mark, info = pipe.execute()
            seen = (str(info.get("run_id", "")), bytes(mark or b""))
            resent = self.recover() if seen != self._seen else 0
        except RedisError as exc:
            self.outage.down(exc)
            return 0
        self._seen = seen
        self.outage.up()
        return resent

    def recover(self) -> int:
        """Send again every task the database says is in the queue whose job Redis does
        not hold: Redis lost it (or the relay that claimed it died before sending it). A
        task whose job runs twice (another replica sent it meanwhile) is harmless: jobs
        are idempotent. The number sent again."""
        keys = self.tasks.in_queue_keys()
        missing: list[str] = []
        for start in range(0, len(keys), self.CHECK_BATCH):
            batch = keys[start : start + self.CHECK_BATCH]
            with self.redis.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.exists(Job.key_for(key))
                found = pipe.execute()
            missing += [key for key, there in zip(batch, found, strict=True) if not there]
        if missing:
            log.warning(
                "%d task(s) in the queue had no job in Redis (its data lost); sent again "
                "from the database",
                len(missing),
            )
            self.tasks.resend(missing)
        return len(missing)

    def flush(self) -> int:
        """Send every unsent task; the number sent. On a Redis error they stay unsent."""
        sent = 0
        while batch := self.tasks.claim():
            try:
                sent += self._send(batch)
            except RedisError as exc:
                self.tasks.release([task.key for task in batch])
                self.outage.down(exc)
                return sent
            self.outage.up()
        return sent

    def promote_late(self) -> int:
        """Enqueue the scheduled jobs :data:`LATE` past their time: no RQ scheduler is
        running (the worker holding the scheduler's lock died: the lock outlives it by
        61 s). Each job is taken out of the registry with ZREM first, so however many
        relays try, one enqueues it. The number enqueued."""
        cutoff = int((self.clock.now() - self.LATE).timestamp())
        moved = 0
        try:
            for q in self.queues.values():
                registry = q.scheduled_job_registry
                for job_id in registry.get_jobs_to_schedule(cutoff):
                    if not self.redis.zrem(registry.key, job_id):
                        continue  # the scheduler (or another relay) took it
                    try:
                        job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
                    except NoSuchJobError:
                        continue
                    q.enqueue_job(job)
                    moved += 1
        except RedisError as exc:
            self.outage.down(exc)
            return moved
        if moved:
            log.warning("%d scheduled job(s) were late: no RQ scheduler runs; enqueued", moved)
        return moved

    def sweep(self) -> int:
        """Look at tasks overdue in the table: resend those whose job vanished from Redis,
        settle those whose job finished or failed. The number resent."""
        cutoff = self.clock.now() - self.OVERDUE
        resend: list[str] = []
        try:
            for task in self.tasks.overdue(cutoff):
                try:
                    job = Job.fetch(task.key, connection=self.redis, serializer=JSONSerializer)
                    status = job.get_status()
                except NoSuchJobError:
                    resend.append(task.key)
                    continue
                if status == JobStatus.FINISHED:
                    self.tasks.complete(task.key)
                elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                    self.tasks.fail(task.key, f"job {status.value} in RQ")
        except RedisError as exc:
            self.outage.down(exc)
            return 0
        if resend:
            log.warning("%d task(s) lost their job in Redis; sending them again", len(resend))
            self.tasks.resend(resend)
        return len(resend)

    def _send(self, batch: list[StoredTask]) -> int:
        now = self.clock.now()
        sent = 0
        with self.redis.pipeline() as pipe:
            # MULTI from the start: RQ's enqueue_job calls multi() on a pipeline not yet
            # in one, which fails once schedule_job has queued commands before it
            pipe.multi()
            for task in batch:
                spec = JOBS.get(task.name)
                if spec is None:
                    self.tasks.fail(task.key, f"no job is named {task.name!r}")
                    log.error("task %s names no known job %r", task.key, task.name)
                    continue
                q = self.queues[spec.queue]
                job = q.create_job(
                    spec.func,
                    kwargs=task.args,
                    job_id=task.key,
                    timeout=spec.timeout,
                    result_ttl=RESULT_TTL,
                    failure_ttl=FAILURE_TTL,
                    retry=Retry(max=len(spec.retry), interval=list(spec.retry))
                    if spec.retry
                    else None,
                    description=f"{task.name} {task.args}",
                )
                if task.not_before is not None and task.not_before > now:
                    q.schedule_job(job, task.not_before, pipeline=pipe)
                else:
                    q.enqueue_job(job, pipeline=pipe)
                sent += 1
            pipe.execute()
        return sent
