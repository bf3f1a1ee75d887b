"""Rate limits per destination, so that one line is not flooded by many incidents and a
carrier does not flag the centre's number (GoAlert's buckets are the model: a voice line
takes at most 3 calls in 15 minutes and 7 in an hour).

The domain names what it needs (:class:`Limiter`); the application implements it on
Redis so that every worker shares the counts.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

_LIMIT = re.compile(r"^(\d+)\s*/\s*(\d*)\s*(s|m|min|h|d)$")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, kw_only=True, slots=True)
class Limit:
    count: int
    seconds: int

    def __str__(self) -> str:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.seconds % size == 0:
                return f"{self.count}/{self.seconds // size}{unit}"
        return f"{self.count}/{self.seconds}s"

    def spanish(self) -> str:
        minutes = self.seconds // 60
        span = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
        return f"{self.count} en {span}"


def parse_limit(text: str) -> Limit:
    """``"3/15m"``, ``"7/1h"``, ``"20/1d"``, ``"2/30s"``, or ValueError."""
    match = _LIMIT.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r}: se esperaba una cantidad por período, p. ej. '3/15m' o '7/1h'")
    count, size = int(match[1]), int(match[2] or 1)
    if count < 1 or size < 1:
        raise ValueError(f"{text!r}: la cantidad y el período deben ser de al menos 1")
    return Limit(count=count, seconds=size * _UNIT[match[3]])


@dataclass(frozen=True, kw_only=True, slots=True)
class Grant:
    """One use counted by a limiter, which :meth:`Limiter.release` can take back."""

    destination: str
    token: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    allowed: bool
    limit: Limit | None = None  # the limit that refused
    retry_in: float = 0.0  # seconds until that limit lets a call through
    grant: Grant | None = None  # the use counted, when allowed and counted


class Limiter(Protocol):
    def acquire(self, destination: str, limits: Sequence[Limit]) -> Verdict:
        """Count one use of ``destination`` if every limit allows it; atomically."""
        ...

    def release(self, grant: Grant, limits: Sequence[Limit]) -> None:
        """Take back a use counted for a try that was never placed (its transaction
        did not commit)."""
        ...


Taken = list[tuple[Grant | None, Sequence[Limit]]]
"""Uses counted (or not: None) with the limits they were counted under."""


def give_back(limiter: Limiter, taken: Taken) -> None:
    """Release every use in ``taken`` (a transaction that took them did not commit, a
    sign-in that succeeded), and forget them."""
    for grant, limits in taken:
        if grant is not None:
            limiter.release(grant, limits)
    taken.clear()


class NoLimits:
    def acquire(self, destination: str, limits: Sequence[Limit]) -> Verdict:
        return Verdict(allowed=True)

    def release(self, grant: Grant, limits: Sequence[Limit]) -> None:
        return None
