"""Rate limits per destination on a real Redis, shared by every process."""

import logging
import threading

import pytest
from redis import Redis

from routing.ratelimits import Limit
from tests.conftest import FakeClock, free_port
from voicebridge.queueing import make_redis
from voicebridge.ratelimit import RedisLimiter

VOICE = (Limit(count=3, seconds=900), Limit(count=7, seconds=3600))
LINE = "phone:014451111"


@pytest.fixture
def limiter(redis: Redis, clock: FakeClock) -> RedisLimiter:
    return RedisLimiter(redis, clock)


def test_three_calls_in_fifteen_minutes(limiter: RedisLimiter, clock: FakeClock) -> None:
    for _ in range(3):
        assert limiter.acquire(LINE, VOICE).allowed
        clock.advance(60)
    refused = limiter.acquire(LINE, VOICE)
    assert not refused.allowed
    assert refused.limit == VOICE[0]
    assert refused.retry_in == pytest.approx(900 - 180)
    assert limiter.acquire("phone:016170000", VOICE).allowed  # another line is its own
    clock.advance(900 - 180)
    assert limiter.acquire(LINE, VOICE).allowed  # the first call left the window


def test_seven_in_an_hour(limiter: RedisLimiter, clock: FakeClock) -> None:
    used = 0
    for _ in range(3):  # three bursts of three, 15 minutes apart, would be nine
        for _ in range(3):
            if limiter.acquire(LINE, VOICE).allowed:
                used += 1
        clock.advance(901)
    assert used == 7
    verdict = limiter.acquire(LINE, VOICE)
    assert not verdict.allowed
    assert verdict.limit == VOICE[1]


def test_a_refused_call_is_not_counted(limiter: RedisLimiter, clock: FakeClock) -> None:
    for _ in range(3):
        limiter.acquire(LINE, VOICE)
    for _ in range(5):
        assert not limiter.acquire(LINE, VOICE).allowed
    clock.advance(901)
    assert [limiter.acquire(LINE, VOICE).allowed for _ in range(4)] == [True] * 3 + [False]


def test_workers_racing_for_one_line_share_the_limit(redis: Redis, clock: FakeClock) -> None:
    """Ten workers, each with its own connection, want the same line at once."""
    results: list[bool] = []
    barrier = threading.Barrier(10)

    def worker() -> None:
        own = RedisLimiter(Redis(connection_pool=redis.connection_pool), clock)
        barrier.wait()
        results.append(own.acquire(LINE, VOICE).allowed)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True] * 3


def test_no_limits_no_redis(clock: FakeClock) -> None:
    nowhere = RedisLimiter(make_redis(f"redis://127.0.0.1:{free_port()}/0"), clock)
    assert nowhere.acquire(LINE, ()).allowed


def test_without_redis_calls_go_ahead_and_that_is_logged_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = RedisLimiter(make_redis(f"redis://127.0.0.1:{free_port()}/0"), clock)
    with caplog.at_level(logging.ERROR, logger="voicebridge.ratelimit"):
        assert nowhere.acquire(LINE, VOICE).allowed
        assert nowhere.acquire(LINE, VOICE).allowed
    assert [r.getMessage()[:40] for r in caplog.records] == [
        "rate limits unavailable (Redis: Error 11"
    ]
