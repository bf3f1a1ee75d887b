"""The fixtures of the fake's own tests: a fake Asterisk on loopback, and a raw AMI
client logged in to it."""

from collections.abc import AsyncIterator

import pytest

from tests.voicebridge.ami.sim.test_session import Client, logged_in, running
from voicebridge.ami.sim import FakeAsterisk


@pytest.fixture
async def sim() -> AsyncIterator[FakeAsterisk]:
    async with running() as fake:
        yield fake


@pytest.fixture
async def client(sim: FakeAsterisk) -> AsyncIterator[Client]:
    async with logged_in(sim) as c:
        yield c
