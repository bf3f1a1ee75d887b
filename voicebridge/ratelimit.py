"""Rate limits per destination on Redis, shared by every worker and replica.

A sliding-window log per (destination, period): a sorted set of the times the
destination was used. One Lua script checks every limit of the destination and, if
all allow it, counts the use in all of them, atomically. If Redis cannot be reached
the call goes ahead (an emergency call is never held back for want of a counter) and
that is logged once; a limiter made ``fail_open=False`` (sign-in attempts) refuses
instead, for a minute at a time.
"""

import logging
import secrets
from collections.abc import Sequence

from redis import Redis
from redis.exceptions import RedisError

from routing.ports import Clock
from routing.ratelimits import Grant, Limit, Verdict

log = logging.getLogger(__name__)

PREFIX = "voicebridge:ratelimit"

_SCRIPT = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= count then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return {0, 0}
"""


UNAVAILABLE_RETRY = 60.0  # a closed limiter without Redis: try again in a minute


class RedisLimiter:
    def __init__(self, redis: "Redis", clock: Clock, *, fail_open: bool = True) -> None:
        self.redis = redis
        self.clock = clock
        self.fail_open = fail_open
        self._script = redis.register_script(_SCRIPT)
        self._down = False

    def acquire(self, destination: str, limits: Sequence[Limit]) -> Verdict:
        if not limits:
            return Verdict(allowed=True)
        now_ms = int(self.clock.now().timestamp() * 1000)
        keys = [f"{PREFIX}:{destination}:{limit.seconds}" for limit in limits]
        args: list[int | str] = [now_ms, f"{now_ms}-{secrets.token_hex(4)}"]
        for limit in limits:
            args += [limit.count, limit.seconds * 1000]
        try:
            refused, retry_ms = self._script(keys=keys, args=args)
        except RedisError as exc:
            if not self._down:
                what = "calls go ahead unlimited" if self.fail_open else "refused meanwhile"
                log.error("rate limits unavailable (Redis: %s); %s", exc, what)
                self._down = True
            if self.fail_open:
                return Verdict(allowed=True)
            return Verdict(allowed=False, retry_in=UNAVAILABLE_RETRY)
        if self._down:
            log.info("rate limits available again")
            self._down = False
        if refused == 0:
            return Verdict(allowed=True, grant=Grant(destination=destination, token=str(args[1])))
        return Verdict(allowed=False, limit=limits[int(refused) - 1], retry_in=int(retry_ms) / 1000)

    def release(self, grant: Grant, limits: Sequence[Limit]) -> None:
        """Remove the use ``grant`` counted from every window of the destination."""
        keys = [f"{PREFIX}:{grant.destination}:{limit.seconds}" for limit in limits]
        if not keys:
            return
        try:
            with self.redis.pipeline() as pipe:
                for key in keys:
                    pipe.zrem(key, grant.token)
                pipe.execute()
        except RedisError as exc:
            log.warning("could not give back a rate-limit slot of %s: %s", grant.destination, exc)
