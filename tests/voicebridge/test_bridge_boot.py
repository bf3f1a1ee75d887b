"""An Asterisk that takes the Login before it has booted (README of the traces,
"Restart (08b)": an Originate then is ``Extension does not exist.``): the incident
dispatched meanwhile is originated once FullyBooted has come, not before, and none of
its calls is lost to the boot."""

import asyncio

from routing.models import ContactState, Status
from tests.conftest import FakeClock
from tests.voicebridge.rig import SPEED, connected
from voicebridge.ami.session import AmiTarget
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.runtime import Runtime

BOOT_WINDOW = 400.0  # 4 s: the dispatch lands inside it on a busy machine too
"""Seconds of Asterisk's boot: 1.5 s here, longer than the dispatch takes."""


async def test_an_incident_dispatched_while_asterisk_boots_is_originated_after_fullybooted(
    runtime: Runtime, clock: FakeClock
) -> None:
    fake = FakeAsterisk(
        speed=SPEED,
        boot_window=BOOT_WINDOW,
        default=Endpoint(behaviour=Behaviour.PRESS, after=1.0),
    )
    await fake.start()
    target = AmiTarget(
        host="127.0.0.1", port=fake.port, username="voicebridge", secret="voicebridge"
    )
    try:
        async with connected(runtime, clock, target, wait=False) as b:
            await b.until(lambda: fake.actions("Login"), "logged in to the booting Asterisk")
            incident_id = await b.dispatch()
            assert fake.booting
            assert not b.session.connected.is_set()
            await b.until(lambda: fake.booted_at is not None, "Asterisk booted", within=10)
            await b.until(lambda: len(fake.actions("Originate")) == 3, "three Originates")
            booted_at = fake.booted_at
            assert booted_at is not None
            assert [r.at >= booted_at for r in fake.actions("Originate")] == [True] * 3
            # the reconciliation after login waited for the boot too
            assert all(r.at >= booted_at for r in fake.actions("CoreShowChannels"))
            await b.until(
                lambda: runtime.store.get(incident_id).status is Status.BRIDGED, "bridged"
            )
            await b.until(
                lambda: all(leg.state is ContactState.IN_ROOM for leg in b.legs(incident_id)),
                "every leg in the room",
            )
            assert len(fake.actions("Originate")) == 3
            assert len(fake.actions("Login")) == 1
    finally:
        errors = list(fake.errors)
        await asyncio.wait_for(fake.stop(), 5)
    assert errors == []
