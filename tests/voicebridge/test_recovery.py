"""Recovery bounds (README, "Faults"), with real ``voicebridge serve`` and ``voicebridge
worker`` processes on a Redis of the test's own (append-only file on, as ``make run``
starts it) and an SQLite file:

- a job lost with Redis's data (Redis restarted empty) runs within 15 s of Redis being
  back, every kind of job voicebridge enqueues (:data:`voicebridge.queueing.JOBS`);
- a Redis outage is logged once when it starts and once when it ends, in ``serve`` and in
  the worker, and no process dies (RQ's scheduler neither);
- RQ's scheduler killed under its worker is started again, logged once.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from routing import schema as t
from routing.events import EventKind
from routing.models import NewIncident, NewReport, Reporter, Source, Status
from routing.outbox import Outgoing, Purpose
from tests.conftest import free_port
from tests.routing.configs import SMALL
from tests.voicebridge.test_worker_faults import first_try_unanswered
from voicebridge.devrun import redis_command
from voicebridge.jobs import overdue_sweep_task
from voicebridge.queueing import (
    JOBS,
    QUEUE_CALLS,
    QUEUE_DEFAULT,
    QUEUES,
    TaskRelay,
    queue,
    scheduler_name,
)
from voicebridge.runtime import build_runtime
from voicebridge.settings import load_settings
from voicebridge.worker import LOCK_TTL_SECONDS

BOUND = 15.0  # seconds from Redis's return to a lost job's run (README, "Faults")
RETRY = 3  # seconds between the police's tries here
ROUTING = SMALL.replace("retry_after: [30, 60]", f"retry_after: [{RETRY}]").replace(
    "retry_after: [300]", f"retry_after: [{RETRY}]"
)


def until(condition: Callable[[], object], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


class RedisProcess:
    """A redis-server as ``make run`` starts it (append-only file on), stopped, wiped and
    started again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(redis_command(self.directory, self.port))
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            until(lambda: _answers(client), "Redis answering", within=10)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def wipe(self) -> None:
        """Its data gone, as a Redis restarted without a volume."""
        shutil.rmtree(self.directory)


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


class Service:
    """``voicebridge serve`` or ``voicebridge worker``, its output in a file."""

    def __init__(self, command: str, env: dict[str, str], directory: Path) -> None:
        self.log = directory / f"{command}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voicebridge", command],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self, since: int = 0) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[since:]

    def mark(self) -> int:
        return len(self.output())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class System:
    """A Redis, ``serve`` and a worker started by the test, and a runtime of its own on
    the same database."""

    def __init__(self, directory: Path, env: dict[str, str], redis: RedisProcess) -> None:
        self.directory = directory
        self.env = env
        self.redis = redis
        self.services: list[Service] = []
        self.runtime = build_runtime(load_settings(env))
        self.runtime.rules.load_file(actor="test")

    def start(self, command: str) -> Service:
        service = Service(command, self.env, self.directory)
        self.services.append(service)
        return service

    def close(self) -> None:
        for service in self.services:
            service.stop()
        self.runtime.close()
        self.redis.stop()


@pytest.fixture
def system(sqlite_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[System]:
    redis = RedisProcess(tmp_path / "redis")
    redis.start()
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    env = {
        "VOICEBRIDGE_DATABASE_URL": sqlite_url,
        "VOICEBRIDGE_REDIS_URL": redis.url,
        "VOICEBRIDGE_HTTP_PORT": str(free_port()),
        "VOICEBRIDGE_ROUTING_FILE": str(routing),
        "VOICEBRIDGE_AUTO_MIGRATE": "false",
        "VOICEBRIDGE_LOG_LEVEL": "INFO",
        "VOICEBRIDGE_DISPATCH_DEADLINE": "1",  # an overdue sweep every second
        **getattr(request, "param", {}),
    }
    s = System(tmp_path, env, redis)
    yield s
    s.close()


def scheduler_pid(redis: Redis) -> int | None:
    """The pid of the RQ scheduler running, as it registered itself."""
    for key in redis.scan_iter("rq:scheduler:*"):
        if not key.startswith(b"rq:scheduler:") or b"lock" in key:
            continue
        pid = redis.hget(key, "pid")
        if pid and _alive(int(pid)):
            return int(pid)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# calls are placed (by a serve whose Asterisk never answers): the worker takes steps to
# phone targets rather than skipping them
UNREACHABLE_ASTERISK = {"VOICEBRIDGE_AMI_URL": "ami://voicebridge:unused@127.0.0.1:9"}


@pytest.mark.parametrize("system", [UNREACHABLE_ASTERISK], indirect=True)
def test_every_job_lost_with_redis_data_runs_within_15_s_of_redis_back(system: System) -> None:
    # a new kind of job joins this test
    # (process_inbox is no stored task: a job lost with Redis leaves its messages in the
    # inbox, which every serve's recovery takes: tests/voicebridge/citizens/test_sms.py)
    assert set(JOBS) == {
        "escalate",
        "sweep_overdue",
        "citizen_news",
        "send_message",
        "process_inbox",
        "check_lines",
        "roll_analytics",
    }
    rt = system.runtime
    # a citizen's report, cancelled: the job that tells them; and a message to send
    citizens, _ = rt.store.create_incident(
        NewIncident(
            category="robo",
            district="150122",
            report=NewReport(
                source=Source.SMS, text="robo", reporter=Reporter(phone="+51987654321")
            ),
        ),
        actor="citizen:sms",
    )
    rt.store.transition(citizens.id, Status.CANCELLED, actor="operator:test", cause="falsa")
    [message] = rt.outbox.record(
        [Outgoing(key="reply-test", channel="sms", chat="+51987654321", purpose=Purpose.REPLY,
                  body="Reporte recibido")]
    )  # fmt: skip
    serve = system.start("serve")
    # its relay sends the escalation before it is due (RETRY s after the try), not after
    until(lambda: "serves on" in serve.output(), "serve listening", within=60)
    incident_id = first_try_unanswered(rt)
    redis = Redis.from_url(system.redis.url)
    scheduled = ScheduledJobRegistry(queue=queue(QUEUE_CALLS, redis))  # type: ignore[no-untyped-call]
    escalation = f"{incident_id}--esc_pnp--1"
    # serve's relay has sent the escalation (due later: RQ's scheduled registry) and an
    # overdue sweep (in its queue: no worker runs yet)
    until(lambda: scheduled.get_job_ids() == [escalation], "the escalation scheduled")
    until(lambda: queue(QUEUE_DEFAULT, redis).count > 0, "a sweep in the queue")
    until(lambda: len(rt.tasks.in_queue_keys()) >= 4, "every task sent to Redis")
    lost = rt.tasks.in_queue_keys()
    assert escalation in lost
    assert any(key.startswith("periodic--sweep_overdue--") for key in lost)
    assert any(key.startswith("periodic--check_lines--") for key in lost)
    assert any(key.startswith("periodic--roll_analytics--") for key in lost)
    assert any(key.startswith(f"{citizens.id}--news_cancelled--") for key in lost)
    assert f"msg-{message}--send--1" in lost

    system.redis.stop()
    system.redis.wipe()
    system.redis.start()  # empty
    back = time.monotonic()
    system.start("worker")

    def run() -> bool:  # each task's row is deleted once its job succeeded
        with rt.db.read() as conn:
            left = conn.execute(select(t.tasks.c.key).where(t.tasks.c.key.in_(lost))).all()
        return not left

    until(run, "every lost job run", within=BOUND - (time.monotonic() - back))
    pnp = [leg for leg in rt.calls.legs(incident_id) if leg.agency == "pnp"]
    assert len(pnp) == 2  # the police's second try, taken by the job itself...
    kinds = [e.kind for e in rt.store.events(incident_id)]
    assert EventKind.ESCALATION_RESUMED not in kinds  # ...not by the reconciliation
    resent = [line for line in serve.output().splitlines() if "had no job in Redis" in line]
    assert len(resent) == 1
    assert f"{len(lost)} task(s) in the queue had no job in Redis" in resent[0]
    redis.close()


SERVE_DOWN = "Redis is unreachable, tasks wait in the database: "


def test_a_redis_outage_is_logged_once_each_way_and_nothing_dies(system: System) -> None:
    rt = system.runtime
    serve = system.start("serve")
    worker = system.start("worker")
    redis = Redis.from_url(system.redis.url)
    until(lambda: scheduler_pid(redis) is not None, "RQ's scheduler running")
    scheduler = scheduler_pid(redis)
    assert scheduler is not None
    until(lambda: "serves on" in serve.output(), "serve listening")
    since = {"serve": serve.mark(), "worker": worker.mark()}

    system.redis.stop()  # its data kept
    time.sleep(4)  # RQ's scheduler polls every second; the worker's loop every 1-2 s
    system.redis.start()
    until(lambda: "Redis is reachable again" in serve.output(since["serve"]), "serve: Redis back")
    until(lambda: "Redis is reachable again" in worker.output(since["worker"]), "worker: back")

    # everything works after: an incident left received is recorded overdue (serve asks
    # for the sweep, the worker runs it)
    incident, _ = rt.store.create_incident(
        NewIncident(
            category="robo", district="150122", report=NewReport(source=Source.API, text="x")
        ),
        actor="operator:test",
    )

    def recorded() -> bool:
        return EventKind.DISPATCH_OVERDUE in [e.kind for e in rt.store.events(incident.id)]

    until(recorded, "the overdue sweep run")
    assert serve.proc.poll() is None
    assert worker.proc.poll() is None
    assert scheduler_pid(redis) == scheduler  # the same process, alive
    for name, service, down, up in (
        ("serve", serve, SERVE_DOWN, "Redis is reachable again; sending the tasks that waited"),
        (
            "worker",
            worker,
            "Redis is unreachable (",
            "Redis is reachable again; the worker resumes",
        ),
    ):
        lines = [  # but the overdue incident of the check above
            line
            for line in service.output(since[name]).splitlines()
            if "voicebridge.jobs" not in line
        ]
        assert "Traceback" not in service.output(since[name]), name
        about_redis = [line.split(": ", 1)[1] for line in lines if "Redis" in line]
        assert len(about_redis) == 2, (name, about_redis)
        assert about_redis[0].startswith(down), name
        assert about_redis[1] == up, name
        assert [line for line in lines if " ERROR " in line or " WARNING " in line] == [
            line for line in lines if down in line
        ], name
    redis.close()


def test_rq_scheduler_killed_is_started_again_by_its_worker(system: System) -> None:
    worker = system.start("worker")
    redis = Redis.from_url(system.redis.url)
    until(lambda: scheduler_pid(redis) is not None, "RQ's scheduler running")
    dead = scheduler_pid(redis)
    assert dead is not None
    os.kill(dead, signal.SIGKILL)
    until(lambda: scheduler_pid(redis) not in (None, dead), "a new scheduler", within=10)

    # it moves a job due later into its queue (no serve runs: nothing else would)
    rt = system.runtime
    relay = TaskRelay(rt.tasks, rt.redis, rt.clock)
    due = rt.clock.now() + timedelta(seconds=1)
    rt.tasks.add([replace(overdue_sweep_task(rt.clock.now(), 60), not_before=due)])
    assert relay.flush() == 1
    until(lambda: rt.tasks.counts().in_queue == 0, "the scheduled job run")
    died = [line for line in worker.output().splitlines() if "scheduler" in line and "died" in line]
    assert [line.split(": ", 1)[1] for line in died] == [
        f"RQ's scheduler (pid {dead}) died (killed by SIGKILL); restarting it in 0.5 s"
    ]
    assert worker.proc.poll() is None
    redis.close()


def test_a_worker_kept_from_the_scheduler_lock_says_so_once_and_once_when_it_takes_it(
    system: System,
) -> None:
    redis = Redis.from_url(system.redis.url)
    locks = [RQScheduler.get_locking_key(name) for name in QUEUES]
    for key in locks:  # a dead worker's scheduler's, not yet expired
        redis.set(key, "voicebridge-elsewhere-1", ex=LOCK_TTL_SECONDS)
    worker = system.start("worker")
    until(lambda: "lock is held by another scheduler" in worker.output(), "the wait logged")
    assert scheduler_pid(redis) is None
    redis.delete(*locks)  # expired
    until(lambda: "took its lock" in worker.output(), "the lock taken")
    until(lambda: scheduler_pid(redis) is not None, "RQ's scheduler running")
    lines = [line for line in worker.output().splitlines() if "lock" in line]
    assert len(lines) == 2
    assert lines[0].endswith(
        "RQ's scheduler lock is held by another scheduler (another worker's, or a dead "
        "worker's until it expires, 61 s at most); this worker's scheduler starts when it is free"
    )
    assert re.search(r"RQ's scheduler took its lock after \d+ s; it runs \(pid \d+\)$", lines[1])
    assert {redis.get(key) for key in locks} == {scheduler_name(worker.proc.pid).encode()}
    redis.close()
