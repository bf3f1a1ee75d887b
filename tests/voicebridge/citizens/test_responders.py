"""Responders reached by SMS and Telegram: only the target an alert went to answers it;
anyone else's "1" (or a button pressed from another chat) changes nothing."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.telegram.sim import FakeTelegram
from channels.twilio.sim import FakeTwilio
from routing.models import AckMethod, AttemptOutcome, Medium
from tests.conftest import FakeClock
from tests.contract.harness import ChannelHarness, Response, harness
from tests.contract.test_contact_contract import dispatch, responders, tries, until


@pytest.fixture(params=[Medium.SMS, Medium.TELEGRAM], ids=["sms", "telegram"])
async def channel(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    redis_url: str,
    redis: object,
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[ChannelHarness]:
    async with harness(request.param, sqlite_url, redis_url, clock, tmp_path) as h:
        assert isinstance(h, ChannelHarness)
        yield h


async def test_an_answer_from_anyone_but_the_target_changes_nothing(
    channel: ChannelHarness,
) -> None:
    channel.respond(0, Response.RECEIVE)
    incident_id = await dispatch(channel)
    await until(channel, lambda: tries(channel, incident_id) == [AttemptOutcome.DELIVERED], "sent")
    [ref] = responders(channel, incident_id)
    target = next(c.address for c in channel.runtime.calls.legs(incident_id) if c.ref == ref)
    if isinstance(channel.fake, FakeTwilio):
        result = await channel.fake.send_inbound("+51999000333", "1")  # not the target
        assert result.ok
    else:
        assert isinstance(channel.fake, FakeTelegram)
        stranger = channel.fake.citizen(555000, started=True)
        await stranger.says("/start")
        await channel.fake.inject(
            {
                "callback_query": {
                    "id": "cb-stranger",
                    "from": {"id": 555000, "is_bot": False, "first_name": "Ana"},
                    "chat_instance": "ci-555000",
                    "data": f"ack:{ref}",
                    "message": {
                        "message_id": 1,
                        "date": 1764860000,
                        "chat": {"id": 555000, "type": "private", "first_name": "Ana"},
                        "text": "alerta",
                    },
                }
            }
        )
    await asyncio.sleep(0.3)
    await channel.settled()
    assert channel.runtime.store.detail(incident_id).acks == ()
    assert tries(channel, incident_id) == [AttemptOutcome.DELIVERED]
    # the target's own answer counts
    if isinstance(channel.fake, FakeTwilio):
        assert (await channel.fake.send_inbound(target, "ok")).ok
    else:
        await channel.fake.citizen(int(target)).presses("Confirmo (1)")
    await until(channel, lambda: channel.runtime.store.detail(incident_id).acks, "acknowledged")
    [ack] = channel.runtime.store.detail(incident_id).acks
    assert ack.method in (AckMethod.SMS, AckMethod.TELEGRAM)


async def test_a_late_answer_is_told_it_changes_nothing(channel: ChannelHarness) -> None:
    channel.respond(0, Response.ACKNOWLEDGE)
    incident_id = await dispatch(channel)
    await until(channel, lambda: channel.runtime.store.detail(incident_id).acks, "acknowledged")
    [ref] = responders(channel, incident_id)
    target = next(c.address for c in channel.runtime.calls.legs(incident_id) if c.ref == ref)
    if isinstance(channel.fake, FakeTwilio):
        result = await channel.fake.send_inbound(target, "SI")
        assert [m.body for m in result.replies] != []
        assert "ya no espera respuesta" in result.replies[0].body
    else:
        await channel.fake.citizen(int(target)).says("1")
        await until(
            channel,
            lambda: any(
                "ya no espera respuesta" in str(s.text)
                for s in channel.fake.sent(int(target))  # type: ignore[union-attr]
            ),
            "told",
        )
    assert len(channel.runtime.store.detail(incident_id).acks) == 1
