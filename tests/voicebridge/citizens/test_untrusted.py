"""Nothing a citizen typed reaches Asterisk: a report by SMS whose text carries CR/LF,
AMI headers, dialplan functions and separators is filed, dispatched and called out
through the fake Asterisk; no action voicebridge sends carries any of it."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from channels.texts import Channel
from routing.normalise import read_message
from tests.conftest import FakeClock
from tests.voicebridge.rig import Rig, bridged
from voicebridge.citizens.reports import Filing
from voicebridge.runtime import Runtime

HOSTILE = (
    "robo en av abancay 123 cercado\r\nAction: Command\r\nCommand: core stop now\r\n\r\n"
    "${SHELL(id)},Set(X=1);|&`whoami`\x00 Peña"
)
PIECES = ("Command", "core stop", "SHELL", "whoami", "Set(", "abancay", "Peña", "Abancay")


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    async with bridged(runtime, clock) as rig:
        yield rig


async def test_a_citizens_text_never_reaches_an_ami_header(rig: Rig) -> None:
    filing = Filing(rig.runtime, channel=Channel.SMS)
    reading = read_message(HOSTILE)

    def file() -> str:
        report = filing.report(
            text=HOSTILE, reading=reading, external_id="SM" + "d" * 32, phone="+51987654321"
        )
        with rig.runtime.db.write() as conn:
            return filing.file(conn, reading, report, actor="citizen:sms").incident.id

    incident_id = await asyncio.to_thread(file)
    await asyncio.to_thread(rig.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    await rig.until(lambda: len(rig.fake.actions("Originate")) >= 2, "calls placed")
    await rig.settled()
    assert rig.fake.received
    for action in rig.fake.received:
        for name, value in action.headers:
            for piece in PIECES:
                assert piece not in value, (action.action, name, value)
    assert not rig.fake.actions("Command")
