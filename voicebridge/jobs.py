"""RQ jobs. Each takes ids and numbers, never objects, checks the database before acting
and is idempotent: a job run twice (a retry, a resend after Redis lost it) does no harm.

The worker process binds its :class:`Runtime` for the duration of each job; a job reads
it with :func:`current_runtime`.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from routing.events import DispatchOverdue, event
from routing.models import Task
from voicebridge.queueing import periodic_job_id
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

WORKER = "system:worker"
OVERDUE_KEY = "dispatch_overdue"
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
