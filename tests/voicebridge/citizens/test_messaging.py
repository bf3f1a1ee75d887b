"""The send job's retry rules against the fake Twilio, through the twilio client: 20429
is sent again after a backoff, 30003 a few times after Twilio's status callback said
so, 30008 once; 21211, 21610, 21635, 30005 and 30006 never. Every send and its delivery
is in the incident's log."""

import asyncio
from datetime import timedelta

import pytest

from channels.twilio.signature import sign
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER
from channels.twilio.simstate import Outcome
from routing.events import EventKind, MessageStatus
from routing.models import NewIncident, NewReport, Source
from routing.outbox import MessageState, Outgoing, Purpose
from tests.conftest import FakeClock
from tests.voicebridge.citizens.conftest import PUBLIC, Sms, row_of

NUMBER = "+51987000555"


async def message_to(sms: Sms, number: str = NUMBER) -> tuple[str, int]:
    incident, _ = sms.runtime.store.create_incident(
        NewIncident(category="robo", district="150122", report=NewReport(source=Source.SMS)),
        actor="citizen:sms",
    )
    [message_id] = sms.runtime.outbox.record(
        [
            Outgoing(
                key=f"news-test-{number}",
                channel="sms",
                chat=number,
                purpose=Purpose.NEWS,
                body=f"{incident.id} derivado a: PNP",
                incident_row=row_of(sms.runtime, incident.id),
            )
        ]
    )
    return incident.id, message_id


def statuses(sms: Sms, incident_id: str) -> list[tuple[str, int | None]]:
    return [
        (e.payload.state, e.payload.error_code)
        for e in sms.runtime.store.events(incident_id)
        if isinstance(e.payload, MessageStatus)
    ]


async def test_20429_is_sent_again_after_a_backoff(sms: Sms, clock: FakeClock) -> None:
    sms.fake.script(NUMBER, throttle=1)
    incident_id, message_id = await message_to(sms)
    await sms.jobs()
    message = sms.runtime.outbox.get(message_id)
    assert message is not None
    assert message.state is MessageState.QUEUED
    assert message.error_code == 20429
    assert sms.fake.sent_to(NUMBER) == []  # a 429 changes nothing at Twilio
    clock.advance(2)
    await sms.jobs()
    assert [m.body for m in sms.fake.sent_to(NUMBER)] == [f"{incident_id} derivado a: PNP"]
    assert sms.runtime.outbox.get(message_id).state is MessageState.DELIVERED  # type: ignore[union-attr]
    assert statuses(sms, incident_id) == [("failed", 20429), ("delivered", None)]


async def test_30003_is_sent_again_after_twilios_callback(sms: Sms, clock: FakeClock) -> None:
    sms.fake.script(NUMBER, first=[Outcome(status="undelivered", error_code=30003)])
    incident_id, message_id = await message_to(sms)
    await sms.jobs()
    assert sms.runtime.outbox.get(message_id).state is MessageState.QUEUED  # type: ignore[union-attr]
    clock.advance(61)
    await sms.jobs()
    assert len(sms.fake.sent_to(NUMBER)) == 2
    assert statuses(sms, incident_id) == [("undelivered", 30003), ("delivered", None)]
    kinds = [e.kind for e in sms.runtime.store.events(incident_id)]
    assert kinds.count(EventKind.MESSAGE_SENT) == 2


@pytest.mark.parametrize("code", [30005, 30006])
async def test_a_permanent_delivery_failure_is_never_sent_again(
    sms: Sms, clock: FakeClock, code: int
) -> None:
    sms.fake.script(NUMBER, first=[Outcome(status="undelivered", error_code=code)])
    incident_id, message_id = await message_to(sms)
    await sms.jobs()
    clock.advance(3600)
    await sms.jobs()
    assert len(sms.fake.sent_to(NUMBER)) == 1
    assert statuses(sms, incident_id) == [("undelivered", code)]
    message = sms.runtime.outbox.get(message_id)
    assert message is not None
    assert message.state is MessageState.UNDELIVERED


async def test_30008_is_sent_again_once(sms: Sms, clock: FakeClock) -> None:
    sms.fake.script(NUMBER, then=Outcome(status="undelivered", error_code=30008))
    incident_id, _ = await message_to(sms)
    for _ in range(4):
        await sms.jobs()
        clock.advance(3600)
    assert len(sms.fake.sent_to(NUMBER)) == 2
    assert statuses(sms, incident_id) == [("undelivered", 30008), ("undelivered", 30008)]


@pytest.mark.parametrize(
    ("script", "number", "code"),
    [
        ({}, "+5100", 21211),
        ({"landline": True}, "+5114270000", 21635),
        ({"opted_out": True}, NUMBER, 21610),
    ],
)
async def test_a_refused_send_is_never_tried_again(
    sms: Sms, clock: FakeClock, script: dict[str, bool], number: str, code: int
) -> None:
    if script:
        sms.fake.script(number, landline=script.get("landline"), opted_out=script.get("opted_out"))
    incident_id, message_id = await message_to(sms, number)
    await sms.jobs()
    clock.advance(timedelta(hours=1).total_seconds())
    await sms.jobs()
    message = sms.runtime.outbox.get(message_id)
    assert message is not None
    assert message.state is MessageState.FAILED
    assert message.error_code == code
    assert message.tries == 1
    assert statuses(sms, incident_id) == [("failed", code)]
    if code == 21610:  # Twilio says the number sent STOP: nothing more is sent there
        chat = sms.runtime.chats.get("sms", number)
        assert chat is not None
        assert chat.opted_out_at is not None


async def test_a_delivery_reported_before_the_sender_recorded_the_sid_is_not_lost(
    sms: Sms,
) -> None:
    """Twilio answers the send, then the sender records its MessageSid; the status
    callback may come between the two (the fake's did, now and then): it waits for it."""
    incident_id, message_id = await message_to(sms)
    sid = "SM" + "a" * 32
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": DEMO_ACCOUNT_SID,
            "To": NUMBER, "From": DEMO_NUMBER}  # fmt: skip
    url = PUBLIC + "/webhooks/twilio/status"
    headers = {"X-Twilio-Signature": sign(DEMO_AUTH_TOKEN, url, {k: [v] for k, v in form.items()})}

    async def sender_records_it_late() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(sms.runtime.outbox.sent, message_id, sid)

    recording = asyncio.create_task(sender_records_it_late())
    response = await sms.client.post("/webhooks/twilio/status", data=form, headers=headers)
    await recording
    assert response.status == 204
    found = sms.runtime.outbox.get(message_id)
    assert found is not None
    assert found.state is MessageState.DELIVERED
    assert incident_id
