"""Lines dialled as Local channels (the small test configuration), as the lab's
simulated responders are: a line behind its own menu gets the routing file's ``dtmf``
once it answers, before the prompt (``VB_DTMF``, ``SendDTMF`` in ``vb-ack``); a busy
line whose ``;1`` hangs up with Cause 0 before the OriginateResponse is busy."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis

from routing.models import AttemptOutcome, ContactState, NewIncident, NewReport, Source
from tests.conftest import FakeClock, make_settings
from tests.routing.configs import SMALL
from tests.voicebridge.conftest import AMI_MEDIA
from tests.voicebridge.rig import Rig, bridged
from voicebridge.ami.sim import Behaviour
from voicebridge.runtime import Runtime, build_runtime

GUARDIA = '{phone: "014451111", label: Guardia}'
LINE = "Local/014451111@epr-sim"


@pytest.fixture
def runtime(
    sqlite_url: str, redis_url: str, redis: Redis, clock: FakeClock, tmp_path: Path
) -> Iterator[Runtime]:
    assert GUARDIA in SMALL
    path = tmp_path / "routing.yaml"
    path.write_text(
        SMALL.replace(GUARDIA, '{phone: "014451111", label: Guardia, dtmf: "w5#"}'),
        encoding="utf-8",
    )
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    rt = build_runtime(settings, clock=clock, media=AMI_MEDIA)
    rt.rules.load_file(actor="test")
    yield rt
    rt.close()


@pytest.fixture
async def rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    async with bridged(runtime, clock) as rig:
        yield rig


def robbery_in_miraflores(rig: Rig) -> str:
    incident, _ = rig.runtime.store.create_incident(
        NewIncident(
            category="robo",
            district="150122",  # Miraflores: the police's Guardia first
            report=NewReport(source=Source.API, text="robo al paso"),
        ),
        actor="operator:test",
    )
    rig.runtime.dispatcher.dispatch(incident.id, actor="operator:test")
    return incident.id


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (Behaviour.BUSY, AttemptOutcome.BUSY),
        (Behaviour.CONGESTION, AttemptOutcome.CONGESTION),
        (Behaviour.NO_SUCH_CONTEXT, AttemptOutcome.FAILED),
    ],
)
async def test_a_local_line_s_outcome_comes_from_the_originate_response(
    rig: Rig, behaviour: Behaviour, outcome: AttemptOutcome
) -> None:
    rig.script(LINE, behaviour)
    incident_id = robbery_in_miraflores(rig)
    await rig.until(
        lambda: rig.leg(incident_id, "pnp").state is ContactState.FAILED, "the try failed"
    )
    await rig.settled()
    [attempt] = [a for a in rig.runtime.store.detail(incident_id).attempts if a.agency == "pnp"]
    assert attempt.outcome is outcome
    assert "Unknown, 0" not in (attempt.cause or "")
    assert rig.leg(incident_id, "pnp").state is ContactState.FAILED


@pytest.fixture
async def slow_rig(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Rig]:
    """Asterisk's time five times slower than the rig's: the key pressed once the menu is
    through comes 120 ms of real time after the extension's digits, not 18 ms, which a
    pause of the test's event loop (a garbage collection) could swallow."""
    async with bridged(runtime, clock, speed=0.05) as rig:
        yield rig


async def test_the_extension_is_dialled_before_the_prompt(slow_rig: Rig) -> None:
    rig = slow_rig
    rig.script(LINE, Behaviour.PRESS, digit="1", after=3.0)  # once the menu is through
    incident, _ = rig.runtime.store.create_incident(
        NewIncident(
            category="robo",
            district="150122",  # Miraflores: the police's Guardia, behind its menu
            report=NewReport(source=Source.API, text="robo al paso"),
        ),
        actor="operator:test",
    )
    rig.runtime.dispatcher.dispatch(incident.id, actor="operator:test")
    leg = rig.leg(incident.id, "pnp")
    await rig.until(
        lambda: "pnp" in [a.agency for a in rig.runtime.store.detail(incident.id).acks],
        "the police acknowledged",
    )
    [orig] = rig.originated(leg.ref)
    assert "VB_DTMF=w5#" in orig["Variable"]
    assert rig.fake.pbx.sent_dtmf[leg.ref] == "5#"
    attempts = rig.runtime.store.detail(incident.id).attempts
    assert [a.outcome for a in attempts if a.agency == "pnp"] == [AttemptOutcome.ACKNOWLEDGED]
    # a line without dtmf gets no VB_DTMF
    other = rig.leg(incident.id, "serenazgo")
    [orig] = rig.originated(other.ref)
    assert not any(v.startswith("VB_DTMF=") for v in orig["Variable"])
