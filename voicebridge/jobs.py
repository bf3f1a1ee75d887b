"""RQ jobs. Each takes ids and numbers, never objects, checks the database before acting
and is idempotent: a job run twice (a retry, a resend after Redis lost it) does no harm.

The worker process binds its :class:`Runtime` for the duration of each job; a job reads
it with :func:`current_runtime`.
"""

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from redis.exceptions import LockError

from routing.events import DispatchOverdue, event
from routing.linechecks import Schedule
from routing.models import Task
from routing.ratelimits import parse_limit
from routing.rollups import Progress, Rollups
from routing.schedule import parse_window
from voicebridge.queueing import periodic_job_id
from voicebridge.runtime import Runtime
from voicebridge.settings import Settings

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

WORKER = "system:worker"
OVERDUE_KEY = "dispatch_overdue"
LINE_CHECK_PERIOD = 60  # seconds between two turns of the scheduled line checks
ANALYTICS_PERIOD = 300  # seconds between two rollups of the analytics
ANALYTICS_LOCK = "voicebridge:analytics-roll"
ANALYTICS_LEASE = 300  # seconds the lock lasts unless the rollup renews it (each day)
SWEEP_BATCH = 500

_runtime: ContextVar[Runtime] = ContextVar("voicebridge_runtime")


@contextmanager
def bound(runtime: Runtime) -> Iterator[None]:
    token = _runtime.set(runtime)
    try:
        yield
    finally:
        _runtime.reset(token)


def current_runtime() -> Runtime:
    try:
        return _runtime.get()
    except LookupError:
        raise RuntimeError("voicebridge jobs run inside `voicebridge worker`") from None


def sweep_period(deadline_seconds: int) -> int:
    """Seconds between overdue sweeps: a quarter of the deadline, from 1 to 10 s."""
    return max(1, min(10, deadline_seconds // 4))


def overdue_sweep_task(now: datetime, deadline_seconds: int) -> Task:
    """The sweep of the current period: every replica that asks for it in the same
    period asks for the same task (the same key), which is stored once."""
    period = int(now.timestamp()) // sweep_period(deadline_seconds)
    return Task(
        key=periodic_job_id("sweep_overdue", period),
        name="sweep_overdue",
        args={"deadline_seconds": deadline_seconds},
    )


def escalate(incident_id: str, agency: str, after: int) -> str:
    """The next step of an agency's escalation, once its try ``after`` ended: call the
    next target, the supervisors, or give up (unanswered). Checks and acts in one
    transaction; a job whose moment passed (the agency acknowledged, someone cancelled,
    another job took the step) does nothing. Never waits for the contact's outcome: its
    adapter reports it, and the report takes the next step."""
    rt = current_runtime()
    step = rt.dispatcher.escalate(incident_id, agency, after)
    if step is None:
        return f"{incident_id} {agency}: nothing to do after try {after}"
    return f"{incident_id} {agency}: {step.kind.value} ({step.reason})"


def sweep_overdue(deadline_seconds: int) -> str:
    """Record, once per incident, that an incident is still ``received`` (nobody
    dispatched it) ``deadline_seconds`` after intake, so the supervisors see it.

    One periodic sweep rather than a timer per incident: its cost does not grow with the
    number of reports, and a sweep that is lost is made good by the next one."""
    rt = current_runtime()
    cutoff = rt.clock.now() - timedelta(seconds=deadline_seconds)
    recorded = 0
    for incident_id in rt.store.received_before(cutoff, without_key=OVERDUE_KEY, limit=SWEEP_BATCH):
        recorded_event = rt.store.append_event(
            incident_id,
            event(
                DispatchOverdue(deadline_seconds=deadline_seconds),
                actor=WORKER,
                cause=f"sin despachar {deadline_seconds} s después de recibido",
            ),
            key=OVERDUE_KEY,
        )
        if recorded_event is not None:
            recorded += 1
            log.warning(
                "%s not dispatched %d s after intake",
                incident_id,
                deadline_seconds,
                extra={"incident": incident_id},
            )
    return f"{recorded} incident(s) recorded as overdue"


def line_check_schedule(settings: Settings) -> Schedule | None:
    """The schedule of the line checks the settings set; None when it is off."""
    if settings.line_check_window == "off":
        return None
    return Schedule(
        windows=tuple(parse_window(w) for w in settings.line_check_window.split(";")),
        rate=parse_limit(settings.line_check_rate),
        every=timedelta(days=settings.line_check_days),
    )


def line_check_task(now: datetime) -> Task:
    """The turn of the scheduled line checks of the current period (one task however
    many replicas ask for it)."""
    period = int(now.timestamp()) // LINE_CHECK_PERIOD
    return Task(key=periodic_job_id("check_lines", period), name="check_lines", args={})


def check_lines() -> str:
    """One turn of the scheduled line checks: the lines due get a check (the voice
    adapter places it), and checks left in flight by a dead adapter end interrupted."""
    rt = current_runtime()
    stuck = rt.linechecks.stuck()
    schedule = line_check_schedule(rt.settings)
    due = rt.linechecks.schedule(schedule) if schedule is not None else []
    if due:
        rt.wakeup.notify()
        log.info("line checks: %d scheduled (%s)", len(due), ", ".join(c.line for c in due))
    return f"{len(due)} line check(s) scheduled, {len(stuck)} stuck one(s) ended"


def analytics_task(now: datetime) -> Task:
    """The rollup of the analytics of the current period (one task however many replicas
    ask for it)."""
    period = int(now.timestamp()) // ANALYTICS_PERIOD
    return Task(key=periodic_job_id("roll_analytics", period), name="roll_analytics", args={})


@contextmanager
def analytics_lock(redis: "Redis", *, wait: bool) -> Iterator[Progress | None]:
    """The one rollup of the analytics at a time, whoever runs it (the job, ``analytics
    roll | rebuild``, ``demo year``): a :data:`~routing.rollups.Progress` that keeps the
    lock as the work goes (its lease is ``ANALYTICS_LEASE`` seconds, so a process that
    died holding it frees it soon), or None when another holds it and ``wait`` is
    false."""
    lock = redis.lock(ANALYTICS_LOCK, timeout=ANALYTICS_LEASE, blocking=wait)
    if not lock.acquire():
        yield None
        return

    def keep(done: int, total: int) -> None:
        lock.reacquire()

    try:
        yield keep
    finally:
        with contextlib.suppress(LockError):  # it lapsed: nothing to give back
            lock.release()


def roll_analytics() -> str:
    """Roll up the analytics (:meth:`routing.rollups.Rollups.roll`): the days that are
    over and not rolled, the days whose incidents changed, their weeks and months. One
    roll at a time: a run that finds another under way leaves it the work (each day is
    written in its own transaction, so a run cut short is taken up by the next)."""
    rt = current_runtime()
    with analytics_lock(rt.redis, wait=False) as keep:
        if keep is None:
            return "another rollup is under way"
        rollups = Rollups(rt.db, clock=rt.clock, targets=rt.settings.analytics_targets)
        report = rollups.roll(keep)
    return (
        f"{report.days} day(s) rolled ({report.incidents} incidents), "
        f"{report.weeks} week(s), {report.months} month(s)"
    )
