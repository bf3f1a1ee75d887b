"""Tasks, the relay and the RQ jobs, against a real Redis."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from routing import schema as t
from routing.ids import lima_day
from routing.ledger import escalation_task
from routing.models import NewIncident, NewReport, Source, Status, Task
from tests.conftest import FakeClock, make_settings
from voicebridge.jobs import (
    ANALYTICS_LOCK,
    ANALYTICS_PERIOD,
    analytics_task,
    line_check_task,
    overdue_sweep_task,
    sweep_period,
)
from voicebridge.queueing import QUEUE_DEFAULT, TaskRelay, job_id, periodic_job_id, queue
from voicebridge.runtime import Runtime
from voicebridge.worker import make_worker


def create(runtime: Runtime, category: str = "fuga_gas") -> str:
    incident, _ = runtime.store.create_incident(
        NewIncident(
            category=category,
            district="150122",
            report=NewReport(source=Source.API, text="olor a gas"),
        ),
        actor="operator:test",
    )
    return incident.id


def sweep(runtime: Runtime, deadline: int = 60) -> Task:
    task = overdue_sweep_task(runtime.clock.now(), deadline)
    runtime.tasks.add([task])
    return task


def run_jobs(runtime: Runtime) -> None:
    TaskRelay(runtime.tasks, runtime.redis, runtime.clock).flush()
    make_worker(runtime, inline=True).work(burst=True)


def test_job_ids_are_built_from_incident_purpose_and_attempt() -> None:
    assert job_id("LIM-2026-000123", "call_agency", 2) == "LIM-2026-000123--call_agency--2"
    assert periodic_job_id("sweep_overdue", 179557104) == "periodic--sweep_overdue--179557104"
    with pytest.raises(ValueError, match="purpose"):
        job_id("LIM-2026-000123", "Call Agency", 1)
    with pytest.raises(ValueError, match="cannot be part of a job id"):
        job_id("LIM 2026", "call", 1)
    with pytest.raises(ValueError, match="counts from 1"):
        job_id("LIM-2026-000123", "call", 0)


def test_the_readme_shows_the_id_of_a_real_job() -> None:
    """Its example is an escalation step's id, as the ledger builds it."""
    task = escalation_task("LIM-2026-000123", "pnp", 2, datetime(2026, 11, 25, tzinfo=UTC))
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"e.g. `{task.key}`" in readme


def test_one_sweep_task_per_period_however_many_ask(runtime: Runtime, clock: FakeClock) -> None:
    assert sweep_period(60) == 10
    assert sweep_period(1) == 1
    assert sweep_period(3600) == 10
    assert runtime.tasks.add([overdue_sweep_task(clock.now(), 60)] * 3) == 1
    assert runtime.tasks.add([overdue_sweep_task(clock.now(), 60)]) == 0  # another replica
    clock.advance(10)
    assert runtime.tasks.add([overdue_sweep_task(clock.now(), 60)]) == 1


def test_the_relay_sends_each_task_once(runtime: Runtime, redis: Redis) -> None:
    task = sweep(runtime)
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    assert relay.flush() == 1
    assert relay.flush() == 0
    q = queue(QUEUE_DEFAULT, redis)
    assert q.job_ids == [task.key]
    job = Job.fetch(task.key, connection=redis, serializer=JSONSerializer)
    assert job.func_name == "voicebridge.jobs.sweep_overdue"
    assert job.kwargs == {"deadline_seconds": 60}


def test_two_relays_never_claim_the_same_task(runtime: Runtime) -> None:
    runtime.tasks.add([Task(key=f"t-{n}", name="sweep_overdue", args={}) for n in range(5)])
    first = runtime.tasks.claim(limit=3)
    second = runtime.tasks.claim(limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert not {t.key for t in first} & {t.key for t in second}
    runtime.tasks.release([t.key for t in second])
    assert sorted(t.key for t in runtime.tasks.claim()) == sorted(t.key for t in second)


def test_a_task_due_later_waits_in_rq_scheduler(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    due = clock.now() + timedelta(seconds=90)
    runtime.tasks.add(
        [Task(key="later-1", name="sweep_overdue", args={"deadline_seconds": 60}, not_before=due)]
    )
    TaskRelay(runtime.tasks, runtime.redis, runtime.clock).flush()
    registry = ScheduledJobRegistry(queue=queue(QUEUE_DEFAULT, redis))  # type: ignore[no-untyped-call]
    assert registry.get_job_ids() == ["later-1"]
    assert registry.get_scheduled_time("later-1") == due.replace(microsecond=0)


def test_a_scheduled_job_no_scheduler_moved_is_enqueued_by_the_relay(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    due = clock.now() + timedelta(seconds=10)
    runtime.tasks.add(
        [Task(key="later-2", name="sweep_overdue", args={"deadline_seconds": 60}, not_before=due)]
    )
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    relay.flush()
    registry = ScheduledJobRegistry(queue=queue(QUEUE_DEFAULT, redis))  # type: ignore[no-untyped-call]
    clock.advance(14)  # due 4 s ago: RQ's scheduler still has a second to move it
    assert relay.promote_late() == 0
    clock.advance(2)  # 6 s late: no scheduler runs (its worker died holding the lock)
    assert relay.promote_late() == 1
    assert relay.promote_late() == 0  # moved once
    assert registry.get_job_ids() == []
    assert queue(QUEUE_DEFAULT, redis).job_ids == ["later-2"]
    make_worker(runtime, inline=True).work(burst=True)
    assert runtime.tasks.counts().unsent == runtime.tasks.counts().in_queue == 0


def test_the_sweep_records_incidents_nobody_dispatched(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    late = create(runtime)
    dispatched = create(runtime)
    runtime.store.transition(dispatched, Status.DISPATCHED, actor="system:router", cause="rules")
    clock.advance(45)
    recent = create(runtime)
    clock.advance(20)  # late and dispatched are 65 s old, recent 20 s
    task = sweep(runtime)
    run_jobs(runtime)
    events = runtime.store.events(late)
    assert [e.kind for e in events] == ["created", "dispatch_overdue"]
    assert (events[-1].actor, events[-1].cause) == (
        "system:worker",
        "sin despachar 60 s después de recibido",
    )
    assert [e.kind for e in runtime.store.events(dispatched)] == ["created", "status_changed"]
    assert [e.kind for e in runtime.store.events(recent)] == ["created"]
    job = Job.fetch(task.key, connection=redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "1 incident(s) recorded as overdue"
    assert runtime.tasks.counts().in_queue == 0  # the worker settled the task row


def test_the_sweep_is_idempotent(runtime: Runtime, redis: Redis, clock: FakeClock) -> None:
    late = create(runtime)
    clock.advance(61)
    sweep(runtime)
    run_jobs(runtime)
    clock.advance(10)  # the next period, and the same job again after Redis lost it
    sweep(runtime)
    run_jobs(runtime)
    redis.flushdb()
    runtime.tasks.resend([overdue_sweep_task(clock.now(), 60).key])
    assert [e.kind for e in runtime.store.events(late)] == ["created", "dispatch_overdue"]


def test_the_sweep_resends_tasks_whose_job_vanished(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    late = create(runtime)
    clock.advance(61)
    sweep(runtime)
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    relay.flush()
    redis.flushdb()  # a Redis that restarted without its data
    clock.advance(TaskRelay.OVERDUE.total_seconds() + 1)
    assert relay.sweep() == 1
    run_jobs(runtime)
    assert runtime.store.events(late)[-1].kind == "dispatch_overdue"


def test_the_sweep_settles_failed_jobs(runtime: Runtime, redis: Redis, clock: FakeClock) -> None:
    task = sweep(runtime)
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    relay.flush()
    Job.fetch(task.key, connection=redis, serializer=JSONSerializer).set_status(JobStatus.FAILED)
    clock.advance(TaskRelay.OVERDUE.total_seconds() + 1)
    assert relay.sweep() == 0
    assert runtime.tasks.counts().failed == 1


def test_a_failing_job_marks_its_task_failed(runtime: Runtime, redis: Redis) -> None:
    runtime.tasks.add([Task(key="bad-1", name="sweep_overdue", args={"deadline_seconds": "x"})])
    run_jobs(runtime)
    assert runtime.tasks.counts().failed == 1


def test_an_unknown_job_name_fails_its_task(runtime: Runtime, redis: Redis) -> None:
    runtime.tasks.add([Task(key="x-1", name="no_such_job", args={})])
    assert TaskRelay(runtime.tasks, runtime.redis, runtime.clock).flush() == 0
    assert runtime.tasks.counts().failed == 1


def test_the_scheduled_line_checks_run_in_their_window_at_their_rate(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    """A turn of the schedule is one task a minute (however many replicas ask); in the
    window it asks for the checks due, at most the rate's; off, none."""
    assert runtime.tasks.add([line_check_task(clock.now())] * 3) == 1
    run_jobs(runtime)
    assert runtime.linechecks.status(runtime.linechecks.lines())[0].last is None  # off
    on = make_settings(
        runtime.settings.database_url,
        runtime.settings.redis_url,
        line_check_window="lun-vie 10:00-12:00",  # the clock: Wednesday 10:00 in Lima
        line_check_rate="3/1h",
    )
    scheduled = replace(runtime, settings=on)
    clock.advance(60)
    task = line_check_task(clock.now())
    assert scheduled.tasks.add([task]) == 1
    run_jobs(scheduled)
    job = Job.fetch(task.key, connection=redis, serializer=JSONSerializer)
    assert job.return_value() == "3 line check(s) scheduled, 0 stuck one(s) ended"
    checks = runtime.linechecks
    pending = [c for line in checks.lines() for c in checks.history(line.id)]
    assert [(c.scheduled, c.state.value) for c in pending] == [(True, "pending")] * 3


def test_the_analytics_are_rolled_up_by_a_periodic_job_one_run_at_a_time(
    runtime: Runtime, redis: Redis, clock: FakeClock
) -> None:
    """Every five minutes one task (however many replicas ask) rolls the days that are
    over; a run that finds another under way leaves it the work."""
    incident, _ = runtime.store.create_incident(
        NewIncident(category="robo", district="150122", report=NewReport(source=Source.SMS)),
        actor="citizen:sms",
    )
    clock.advance(24 * 3600)  # its day is over
    task = analytics_task(clock.now())
    assert runtime.tasks.add([task] * 3) == 1
    held = redis.lock(ANALYTICS_LOCK, timeout=60)
    assert held.acquire()
    run_jobs(runtime)
    job = Job.fetch(task.key, connection=redis, serializer=JSONSerializer)
    assert job.return_value() == "another rollup is under way"
    held.release()
    clock.advance(ANALYTICS_PERIOD)
    again = analytics_task(clock.now())
    assert runtime.tasks.add([again]) == 1
    run_jobs(runtime)
    job = Job.fetch(again.key, connection=redis, serializer=JSONSerializer)
    assert str(job.return_value()).startswith("1 day(s) rolled (1 incidents)")
    day = lima_day(incident.created_at).isoformat()
    with runtime.db.read() as conn:
        rolled = conn.execute(
            select(t.analytics_rolled.c.period).where(t.analytics_rolled.c.kind == "day")
        ).scalars()
        assert list(rolled) == [day]
