"""The routing suites' store on both databases (see tests/conftest.py's database_url),
the call store over it with a rate limiter in memory, and a revision of the rules."""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest

from routing.calls import CallStore
from routing.db import Database
from routing.dispatching import DispatchStore
from routing.ledger import stop_all
from routing.models import Medium
from routing.ratelimits import Grant, Limit, Verdict
from routing.store import IncidentStore
from tests.conftest import FakeClock
from tests.routing.configs import SMALL


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url, pool_size=8)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> IncidentStore:
    return IncidentStore(db, clock=clock)


class CountingLimiter:
    """A limiter in memory that counts as the Redis one does (a log of the uses of each
    destination, by the test's clock) and records what it was asked and given back."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.uses: dict[str, list[tuple[datetime, str]]] = {}
        self.asked: list[str] = []
        self.released: list[str] = []
        self.broken: set[str] = set()  # destinations whose counter fails

    def acquire(self, destination: str, limits: Sequence[Limit]) -> Verdict:
        self.asked.append(destination)
        if destination in self.broken:
            raise RuntimeError(f"the counter of {destination} failed")
        if not limits:
            return Verdict(allowed=True)
        now = self.clock.now()
        used = self.uses.setdefault(destination, [])
        for limit in limits:
            window = timedelta(seconds=limit.seconds)
            recent = sorted(at for at, _ in used if at > now - window)
            if len(recent) >= limit.count:
                retry = (recent[0] + window - now).total_seconds()
                return Verdict(allowed=False, limit=limit, retry_in=retry)
        token = f"{destination}#{len(self.asked)}"
        used.append((now, token))
        return Verdict(allowed=True, grant=Grant(destination=destination, token=token))

    def release(self, grant: Grant, limits: Sequence[Limit]) -> None:
        self.released.append(grant.destination)
        used = self.uses.get(grant.destination, [])
        self.uses[grant.destination] = [u for u in used if u[1] != grant.token]

    def held(self) -> dict[str, int]:
        """The slots taken, by destination."""
        return {d: len(u) for d, u in self.uses.items() if u}


@pytest.fixture
def limiter(clock: FakeClock) -> CountingLimiter:
    return CountingLimiter(clock)


@pytest.fixture
def media() -> frozenset[Medium]:
    """The media with an adapter configured (parametrize to take some away)."""
    return frozenset(Medium)


@pytest.fixture
def calls(
    db: Database, clock: FakeClock, limiter: CountingLimiter, media: frozenset[Medium]
) -> CallStore:
    store = IncidentStore(db, clock=clock, on_final=stop_all)
    return CallStore(DispatchStore(store), limiter, media)


@pytest.fixture
def revision(db: Database, clock: FakeClock) -> None:
    from routing.revisions import RevisionStore

    RevisionStore(db, clock=clock).record(SMALL, source="test", actor="test")
