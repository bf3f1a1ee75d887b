"""The routing suites' store on both databases (see tests/conftest.py's database_url)."""

from collections.abc import Iterator

import pytest

from routing.db import Database
from routing.store import IncidentStore
from tests.conftest import FakeClock


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url, pool_size=8)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> IncidentStore:
    return IncidentStore(db, clock=clock)
