"""Citizens report by SMS, end to end: the fake Twilio posts signed SMS to the real app
(aiohttp on loopback, SQLite, Redis), reads its TwiML, takes the messages the worker
sends through the twilio client and posts signed status callbacks to the app."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis import Redis
from sqlalchemy import Table, func, select

from channels.twilio.segments import fits_one_segment
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from routing import schema as t
from routing.models import Source, Status
from routing.outbox import MessageState
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from voicebridge.app import make_app
from voicebridge.runtime import Runtime, build_runtime

PUBLIC = "https://vb.example.pe"
CITIZEN = "+51987654321"


@dataclass
class Sms:
    runtime: Runtime
    client: TestClient[web.Request, web.Application]
    fake: FakeTwilio

    async def says(self, body: str, sender: str = CITIZEN) -> str:
        """The citizen's SMS; the one reply it got (its TwiML)."""
        result = await self.fake.send_inbound(sender, body)
        assert result.ok, result.error
        assert len(result.replies) == 1, result.replies
        return result.replies[0].body

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
async def fake() -> AsyncIterator[FakeTwilio]:
    twilio = FakeTwilio(public_url=PUBLIC)
    await twilio.start()
    yield twilio
    await twilio.stop()


@pytest.fixture
def runtime(
    sqlite_url: str, redis_url: str, redis: Redis, clock: FakeClock, fake: FakeTwilio
) -> Iterator[Runtime]:
    del redis  # emptied for the test
    settings = make_settings(
        sqlite_url,
        redis_url,
        public_url=PUBLIC,
        twilio_account_sid=DEMO_ACCOUNT_SID,
        twilio_auth_token=DEMO_AUTH_TOKEN,
        twilio_number=DEMO_NUMBER,
        twilio_api_url=fake.url,
    )
    rt = build_runtime(settings, clock=clock)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


@pytest.fixture
async def sms(runtime: Runtime, fake: FakeTwilio) -> AsyncIterator[Sms]:
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(runtime.settings, runtime=runtime))
    )
    await client.start_server()
    fake.webhook_url = str(client.make_url("/webhooks/twilio/sms"))
    try:
        yield Sms(runtime=runtime, client=client, fake=fake)
    finally:
        await client.close()


def incident_of(rt: Runtime, reply: str) -> str:
    ids = [w.strip(".,:") for w in reply.split() if w.startswith(rt.settings.incident_prefix + "-")]
    assert ids, reply
    return ids[0]


async def test_a_citizens_sms_becomes_an_incident_answered_with_its_number(sms: Sms) -> None:
    reply = await sms.says("robo en av abancay 123 cercado")
    assert fits_one_segment(reply), reply
    incident_id = incident_of(sms.runtime, reply)
    detail = sms.runtime.store.detail(incident_id)
    assert detail.incident.category == "robo"
    assert detail.incident.district == "150101"
    assert detail.incident.source is Source.SMS
    assert detail.incident.location.address == "Av. Abancay 123"
    [report] = detail.reports
    assert report.reporter.phone == CITIZEN
    assert report.external_id is not None
    assert report.external_id.startswith("SM")


async def test_a_repeated_sms_is_answered_as_the_first_time_and_stored_once(sms: Sms) -> None:
    first = await sms.fake.send_inbound(CITIZEN, "fuga de gas jr. huallaga 450")
    again = await sms.fake.redeliver(first.message_sid)
    assert [m.body for m in again.replies] == [m.body for m in first.replies]
    assert sms.count(t.incidents) == 1
    assert sms.count(t.inbound_messages) == 1


async def test_without_a_valid_signature_it_is_403_and_nothing_is_stored(sms: Sms) -> None:
    form = {"MessageSid": "SM" + "a" * 32, "From": CITIZEN, "To": DEMO_NUMBER, "Body": "robo"}
    for headers in ({}, {"X-Twilio-Signature": "c2lnbmF0dXJh"}):
        response = await sms.client.post("/webhooks/twilio/sms", data=form, headers=headers)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "invalid_signature"
    assert sms.count(t.inbound_messages) == 0


async def test_news_reach_the_citizen_once_each_with_their_delivery_in_the_log(sms: Sms) -> None:
    reply = await sms.says("hay un buzon sin tapa en la av. brasil cuadra 5 jesus maria")
    incident_id = incident_of(sms.runtime, reply)
    await asyncio.to_thread(sms.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await sms.jobs()
    news = [m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    assert len(news) == 1, news
    assert incident_id in news[0].body
    assert "derivad" in news[0].body.lower()
    assert fits_one_segment(news[0].body)
    await sms.jobs()  # again: nobody is told twice
    assert len([m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]) == 1
    [message] = [
        m for m in sms.runtime.outbox.of_incident(_row(sms, incident_id)) if m.purpose == "news"
    ]
    assert message.state is MessageState.DELIVERED  # the fake's signed status callback
    kinds = [e.kind.value for e in sms.runtime.store.events(incident_id)]
    assert "message_sent" in kinds
    assert "message_status" in kinds


async def test_para_stops_every_message_until_inicio(sms: Sms) -> None:
    reply = await sms.says("choque de combi en la av. arequipa 1500 lince")
    incident_id = incident_of(sms.runtime, reply)
    assert "INICIO" in await sms.says("PARA")
    await asyncio.to_thread(sms.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await sms.jobs()
    assert [m for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"] == []
    news = [m for m in sms.runtime.outbox.of_incident(_row(sms, incident_id)) if m.chat == CITIZEN]
    assert [m.state for m in news] == [MessageState.HELD]
    await sms.says("INICIO")
    await asyncio.to_thread(
        sms.runtime.store.transition,
        incident_id,
        Status.RESOLVED,
        actor="operator:test",
        cause="atendido",
    )
    await sms.jobs()
    told = [m.body for m in sms.fake.sent_to(CITIZEN) if m.direction == "outbound-api"]
    assert len(told) == 1
    assert incident_id in told[0]


async def test_estado_answers_the_state_of_the_citizens_own_incident_only(sms: Sms) -> None:
    reply = await sms.says("incendio en jr. huallaga 450 cercado")
    incident_id = incident_of(sms.runtime, reply)
    status = await sms.says(f"estado {incident_id}")
    assert incident_id in status
    assert "No encontramos" not in status
    stranger = await sms.says(f"ESTADO {incident_id}", sender="+51912345678")
    assert "No encontramos" in stranger


def _row(sms: Sms, incident_id: str) -> int:
    with sms.runtime.db.read() as conn:
        return int(
            conn.execute(
                select(t.incidents.c.id).where(t.incidents.c.public_id == incident_id)
            ).scalar_one()
        )
