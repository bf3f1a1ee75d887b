"""The SMS rig of the citizens' tests: the real app (aiohttp on loopback, SQLite, Redis)
with the fake Twilio posting signed SMS to it, reading its TwiML, taking the messages the
send jobs send through the twilio client and posting signed status callbacks."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis
from sqlalchemy import Table, func, select

from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from routing import schema as t
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from voicebridge.app import make_app
from voicebridge.citizens.channels import process_inbox
from voicebridge.jobs import bound
from voicebridge.runtime import Runtime, build_runtime

PUBLIC = "https://vb.example.pe"
CITIZEN = "+51987654321"


@dataclass
class Sms:
    runtime: Runtime
    client: TestClient[web.Request, web.Application]
    fake: FakeTwilio

    async def says(self, body: str, sender: str = CITIZEN) -> str:
        """The citizen's SMS; the one reply it got (its TwiML), once a worker filed it."""
        result = await self.fake.send_inbound(sender, body)
        assert result.ok, result.error
        assert len(result.replies) == 1, result.replies
        await self.filed()
        return result.replies[0].body

    async def filed(self) -> int:
        """Run the workers' filing of the SMS answered at intake (``process_inbox``)."""

        def job() -> int:
            with bound(self.runtime):
                return process_inbox()

        return await asyncio.to_thread(job)

    async def jobs(self) -> None:
        """Run the stored tasks that are due, as a worker would, until none is left (in a
        thread: the sends reach the fake Twilio on this loop), and let the fake's status
        callbacks reach the app."""
        await asyncio.to_thread(run_due_tasks, self.runtime)
        await self.fake.settled()

    def count(self, table: Table) -> int:
        with self.runtime.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
async def sms_fake() -> AsyncIterator[FakeTwilio]:
    twilio = FakeTwilio(public_url=PUBLIC)
    await twilio.start()
    yield twilio
    await twilio.stop()


@pytest.fixture
def sms_runtime(
    sqlite_url: str, redis_url: str, redis: Redis, clock: FakeClock, sms_fake: FakeTwilio
) -> Iterator[Runtime]:
    del redis  # emptied for the test
    settings = make_settings(
        sqlite_url,
        redis_url,
        public_url=PUBLIC,
        twilio_account_sid=DEMO_ACCOUNT_SID,
        twilio_auth_token=DEMO_AUTH_TOKEN,
        twilio_number=DEMO_NUMBER,
        twilio_api_url=sms_fake.url,
    )
    rt = build_runtime(settings, clock=clock)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


@pytest.fixture
async def sms(sms_runtime: Runtime, sms_fake: FakeTwilio) -> AsyncIterator[Sms]:
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(sms_runtime.settings, runtime=sms_runtime))
    )
    await client.start_server()
    sms_fake.webhook_url = str(client.make_url("/webhooks/twilio/sms"))
    try:
        yield Sms(runtime=sms_runtime, client=client, fake=sms_fake)
    finally:
        await client.close()


def incident_of(rt: Runtime, reply: str) -> str:
    ids = [
        w.strip(".,:;") for w in reply.split() if w.startswith(rt.settings.incident_prefix + "-")
    ]
    assert ids, reply
    return ids[0]


def row_of(rt: Runtime, incident_id: str) -> int:
    with rt.db.read() as conn:
        return int(
            conn.execute(
                select(t.incidents.c.id).where(t.incidents.c.public_id == incident_id)
            ).scalar_one()
        )
