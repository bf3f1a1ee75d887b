"""Faults of the foundation: Redis away at intake loses nothing; Redis back without its
data gets its jobs again from the database; a batch of tasks Redis took badly is not
mistaken for Redis being away."""

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from redis import Redis
from rq.registry import ScheduledJobRegistry

from routing.models import Status, Task
from tests.conftest import FakeClock, RedisServer, make_settings
from tests.voicebridge.conftest import AiohttpClient
from voicebridge.apikeys import WATCH_BACKOFF, RevocationNotShared, Role
from voicebridge.app import make_app
from voicebridge.jobs import overdue_sweep_task
from voicebridge.queueing import QUEUE_CALLS, QUEUE_DEFAULT, TaskRelay, queue
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.worker import make_worker


async def _wait_for(predicate: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_intake_works_while_redis_is_down_and_the_jobs_follow_later(
    sqlite_url: str, tmp_path: Path, aiohttp_client: AiohttpClient, clock: FakeClock
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    settings = make_settings(sqlite_url, server.url, dispatch_deadline="0")
    runtime = build_runtime(settings, clock=clock)
    token, _ = runtime.apikeys.create(Role.OPERATOR)
    client: TestClient = await aiohttp_client(make_app(settings, runtime=runtime))  # type: ignore[type-arg]
    try:
        server.stop()
        response = await client.post(
            "/api/v1/incidents",
            json={"category": "incendio", "district": "150101"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 201
        incident_id = (await response.json())["id"]
        assert runtime.store.get(incident_id).status is Status.RECEIVED
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["redis"] != "ok"
        clock.advance(1)
        # the periodic sweep is asked for (and the line checks' turn, and the analytics'
        # rollup); none can reach Redis: they wait in the database
        await _wait_for(lambda: runtime.tasks.counts().unsent == 3)

        server.start()
        await _wait_for(lambda: runtime.tasks.counts().unsent == 0)
        make_worker(runtime, inline=True).work(burst=True)
        assert runtime.store.events(incident_id)[-1].kind == "dispatch_overdue"
    finally:
        await client.close()
        runtime.close()
        server.stop()


async def test_a_key_revoked_while_redis_is_down_is_refused_at_once(
    sqlite_url: str, tmp_path: Path, aiohttp_client: AiohttpClient, clock: FakeClock
) -> None:
    """Without Redis no replica can read the revocation counter: none remembers any key,
    every request asks the database, and a revocation holds at the next request. When
    Redis is back, keys are remembered again."""
    server = RedisServer(tmp_path)
    server.start()
    settings = make_settings(sqlite_url, server.url)
    runtime = build_runtime(settings, clock=clock)
    token, identity = runtime.apikeys.create(Role.OPERATOR)
    other, _ = runtime.apikeys.create(Role.OPERATOR)
    client: TestClient = await aiohttp_client(make_app(settings, runtime=runtime))  # type: ignore[type-arg]
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert (await client.get("/api/v1/incidents", headers=auth)).status == 200
        server.stop()
        with pytest.raises(RevocationNotShared, match="Redis could not be told"):
            runtime.apikeys.revoke(identity.key_id)
        response = await client.get("/api/v1/incidents", headers=auth)
        assert response.status == 401
        server.start()
        await asyncio.sleep(WATCH_BACKOFF)
        response = await client.get("/api/v1/incidents", headers=auth)
        assert response.status == 401
        response = await client.get(
            "/api/v1/incidents", headers={"Authorization": f"Bearer {other}"}
        )
        assert response.status == 200
    finally:
        await client.close()
        runtime.close()
        server.stop()


def test_a_batch_with_a_job_due_later_before_one_due_now_is_sent(
    runtime: Runtime, redis: Redis
) -> None:
    """RQ's enqueue_job puts a pipeline in MULTI itself, which fails once schedule_job has
    queued commands on it: such a batch was refused at every try (as if Redis were down),
    and every task behind it waited."""
    now = runtime.clock.now()
    later = Task(
        key="LIM-2026-000001--esc_pnp--1",
        name="escalate",
        args={"incident_id": "LIM-2026-000001", "agency": "pnp", "after": 1},
        not_before=now + timedelta(seconds=30),
    )
    runtime.tasks.add([later, overdue_sweep_task(now, 60)])
    assert TaskRelay(runtime.tasks, runtime.redis, runtime.clock).flush() == 2
    scheduled = ScheduledJobRegistry(queue=queue(QUEUE_CALLS, redis))  # type: ignore[no-untyped-call]
    assert scheduled.get_job_ids() == [later.key]
    assert queue(QUEUE_DEFAULT, redis).count == 1


def test_the_relay_sends_again_the_jobs_redis_lost(runtime: Runtime, redis: Redis) -> None:
    """The database is the truth: once Redis is back without its data (restarted empty,
    flushed), the relay's next check sends again every task whose job is gone."""
    now = runtime.clock.now()
    later = Task(
        key="LIM-2026-000001--esc_pnp--1",
        name="escalate",
        args={"incident_id": "LIM-2026-000001", "agency": "pnp", "after": 1},
        not_before=now + timedelta(seconds=30),
    )
    runtime.tasks.add([later, overdue_sweep_task(now, 60)])
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    assert relay.check() == 0  # nothing sent yet
    assert relay.flush() == 2
    assert relay.check() == 0  # Redis holds them
    redis.flushdb()  # its data lost
    assert relay.check() == 2
    assert runtime.tasks.counts().unsent == 2
    assert relay.flush() == 2
    scheduled = ScheduledJobRegistry(queue=queue(QUEUE_CALLS, redis))  # type: ignore[no-untyped-call]
    assert scheduled.get_job_ids() == [later.key]  # due later still
    assert queue(QUEUE_DEFAULT, redis).count == 1
    assert relay.check() == 0  # once
    other = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    assert other.check() == 0  # a relay that starts compares too: nothing is missing


def test_tasks_claimed_by_a_relay_that_died_are_sent_by_the_next_one(
    runtime: Runtime, redis: Redis
) -> None:
    """A serve killed between the claim of a batch and its sending leaves tasks marked
    in the queue with no job: the next relay to start (the serve restarted) finds them at
    its first check."""
    runtime.tasks.add([overdue_sweep_task(runtime.clock.now(), 60)])
    [claimed] = runtime.tasks.claim()  # ...and the relay dies
    assert runtime.tasks.counts().in_queue == 1
    relay = TaskRelay(runtime.tasks, runtime.redis, runtime.clock)
    assert relay.check() == 1
    assert relay.flush() == 1
    assert queue(QUEUE_DEFAULT, redis).job_ids == [claimed.key]


def test_every_test_the_faults_table_names_exists() -> None:
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Faults", 1)[1].split("\n### ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 10
    assert all("`tests/" in row for row in rows[1:]), "a row without a test"
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not re.search(rf"^(async )?def {name}\(", (root / path).read_text(), re.MULTILINE)
    ]
    assert missing == []
