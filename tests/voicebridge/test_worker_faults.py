"""``kill -9`` of RQ workers (real ``voicebridge worker`` processes, PostgreSQL, Redis):
no escalation is lost, none is taken twice.

The bounds (README, "Faults"): a job whose worker is killed while it runs is retried
once RQ sees it abandoned, at most 90 s after its last heartbeat (the job's 30 s
timeout + RQ's 60 s grace) plus the 30 s between a surviving worker's maintenance
runs: within 2 minutes. A job scheduled for later whose scheduler's worker died is
enqueued by the relay of ``serve`` once it is 5 s late (RQ's scheduler lock outlives its
holder by 61 s)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy.engine import make_url

from routing.models import AttemptOutcome, Contact, Medium, NewIncident, NewReport, Source
from tests.conftest import _truncate
from tests.routing.configs import SMALL
from voicebridge.queueing import QUEUE_CALLS, TaskRelay, queue
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.settings import load_settings

pytestmark = pytest.mark.postgres

# the police's policies, with a 1 s interval between tries
ROUTING = SMALL.replace("retry_after: [30, 60]", "retry_after: [1]").replace(
    "retry_after: [300]", "retry_after: [1]"
)
ABANDONED_AFTER = 90 + 1  # the job's timeout (30 s) + RQ's heartbeat grace (60 s)


@pytest.fixture
def env(postgres_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    _truncate(postgres_url)
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    return {
        "VOICEBRIDGE_DATABASE_URL": postgres_url,
        "VOICEBRIDGE_REDIS_URL": redis_url,
        "VOICEBRIDGE_ROUTING_FILE": str(routing),
        "VOICEBRIDGE_AUTO_MIGRATE": "false",
        "VOICEBRIDGE_LOG_LEVEL": "WARNING",
        # calls are placed (by a serve this test does not run): the workers take steps
        # to phone targets rather than skipping them
        "VOICEBRIDGE_AMI_URL": "ami://voicebridge:unused@127.0.0.1:9",
    }


@pytest.fixture
def runtime(env: dict[str, str], redis: Redis) -> Iterator[Runtime]:
    rt = build_runtime(load_settings(env))  # the system clock, as the workers have
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicebridge", "worker"],
            env=self.env,
            start_new_session=True,  # its own process group: the work horses too
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def workers(env: dict[str, str]) -> Iterator[Workers]:
    w = Workers(env)
    yield w
    w.stop_all()


def until(condition: Callable[[], object], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


def dsn(env: dict[str, str]) -> str:
    url = make_url(env["VOICEBRIDGE_DATABASE_URL"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def row_locked(env: dict[str, str], incident_id: str) -> Iterator[None]:
    """The incident's row locked (``FOR UPDATE``) by a transaction of its own, as a slow
    job would hold it; rolled back and its connection closed on leaving, whatever
    happens (a lock left behind would block the next test's TRUNCATE)."""
    with psycopg.connect(dsn(env)) as holder:
        try:
            holder.execute(
                "SELECT id FROM incidents WHERE public_id = %s FOR UPDATE", (incident_id,)
            )
            yield
        finally:
            holder.rollback()


def pnp_legs(runtime: Runtime, incident_id: str) -> list[Contact]:
    return [leg for leg in runtime.calls.legs(incident_id) if leg.agency == "pnp"]


def first_try_unanswered(runtime: Runtime) -> str:
    """A robbery in Miraflores, dispatched; the police's first line did not answer."""
    incident, _ = runtime.store.create_incident(
        NewIncident(
            category="robo",
            district="150122",
            report=NewReport(source=Source.API, text="robo al paso"),
        ),
        actor="operator:test",
    )
    runtime.dispatcher.dispatch(incident.id, actor="operator:test")
    claimed = runtime.calls.contacts.claim(Medium.VOICE, "test-serve")
    [pnp] = [c for c in claimed if c.contact.agency == "pnp"]
    runtime.calls.contacts.not_reached(pnp.contact.ref, AttemptOutcome.NO_ANSWER, "no contestó")
    return incident.id


def test_a_row_lock_is_released_when_a_wait_fails(runtime: Runtime, env: dict[str, str]) -> None:
    incident_id = first_try_unanswered(runtime)
    with (
        pytest.raises(AssertionError, match="timed out waiting for: a job"),
        row_locked(env, incident_id),
    ):
        until(lambda: False, "a job", within=0.1)
    with psycopg.connect(dsn(env)) as other:  # LockNotAvailable if it were still held
        other.execute(
            "SELECT id FROM incidents WHERE public_id = %s FOR UPDATE NOWAIT", (incident_id,)
        )


def test_a_lock_left_held_fails_the_next_truncate_at_once(
    runtime: Runtime, env: dict[str, str]
) -> None:
    incident_id = first_try_unanswered(runtime)
    with row_locked(env, incident_id):
        with pytest.raises(pytest.fail.Exception) as failed:
            _truncate(env["VOICEBRIDGE_DATABASE_URL"], lock_timeout="100ms")
        assert "emptying the test tables waited 100ms for a lock" in str(failed.value)
        assert "idle in transaction: SELECT id FROM incidents WHERE" in str(failed.value)


def test_a_worker_killed_in_the_middle_of_a_job_loses_no_escalation(
    runtime: Runtime, env: dict[str, str], workers: Workers, redis: Redis
) -> None:
    incident_id = first_try_unanswered(runtime)
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    key = f"{incident_id}--esc_pnp--1"
    time.sleep(1.1)  # the policy's interval: the job is due now
    assert relay.flush() == 1
    started = StartedJobRegistry(queue=queue(QUEUE_CALLS, redis))

    def running() -> bool:  # in the registry, and its work horse has begun it
        job = Job.fetch(key, connection=redis, serializer=JSONSerializer)
        return key in started.get_job_ids() and job.get_status() == JobStatus.STARTED

    with row_locked(env, incident_id):  # the job will block on the incident's row
        worker = workers.start()
        until(running, "the job started")
        time.sleep(0.3)  # blocked on the row
        Workers.kill(worker)  # kill -9, the work horse with it

    # nothing happened, nothing is lost: the task is still owed, its job abandoned
    assert len(pnp_legs(runtime, incident_id)) == 1
    assert runtime.tasks.counts().in_queue == 1
    job = Job.fetch(key, connection=redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.STARTED

    # a surviving worker's maintenance, once the dead job's heartbeat has expired,
    # hands it back to its queue (RQ retries it: 3 retries left)
    started.cleanup(timestamp=time.time() + ABANDONED_AFTER)
    workers.start()
    until(lambda: len(pnp_legs(runtime, incident_id)) == 2, "the escalation taken")
    until(lambda: runtime.tasks.counts().in_queue == 0, "the task settled")
    time.sleep(0.5)
    second = pnp_legs(runtime, incident_id)[1]
    # the station's next target, the radio talkgroup
    assert (second.label, second.state.value) == ("TG Miraflores", "pending")
    assert len(pnp_legs(runtime, incident_id)) == 2  # once
    assert runtime.tasks.counts().failed == 0


def test_a_scheduled_escalation_survives_the_death_of_the_scheduler(
    runtime: Runtime, workers: Workers, redis: Redis
) -> None:
    first = workers.start()  # the one that will hold RQ's scheduler lock
    until(lambda: redis.keys("rq:scheduler-lock:*"), "the scheduler running")
    incident_id = first_try_unanswered(runtime)
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    assert relay.flush() == 1  # due in 1 s: it waits in RQ's scheduled registry
    scheduled = ScheduledJobRegistry(queue=queue(QUEUE_CALLS, redis))  # type: ignore[no-untyped-call]
    assert scheduled.get_job_ids() == [f"{incident_id}--esc_pnp--1"]
    Workers.kill(first)  # before it was due; its scheduler lock lives on for 61 s
    workers.start()

    # serve's relay, every 2 s: the job is enqueued once it is 5 s late
    def promoted() -> bool:
        relay.promote_late()
        return len(pnp_legs(runtime, incident_id)) == 2

    until(promoted, "the escalation taken", within=30)
    assert scheduled.get_job_ids() == []
    until(lambda: runtime.tasks.counts().in_queue == 0, "the task settled")
    assert len(pnp_legs(runtime, incident_id)) == 2
