"""A talkgroup patched into an incident's room, with push-to-talk (issue 12, points 5
and 7): the fake Asterisk patches the talkgroup through the gateway's dial string and
says who talks in the room (ConfbridgeTalking); the centre's radio (the simulator) sets
up the group call and transmits while someone in the room talks; a radio user who talks
on the talkgroup is logged and shown on the talkgroup's leg."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from routing.events import EventKind
from routing.models import (
    AckMethod,
    ContactRole,
    ContactState,
    Medium,
    NewIncident,
    NewReport,
    Source,
)
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.rig import Rig, bridged
from tetra.client import CallEvent, PeiClient, PeiTarget, RadioEvent, Timing
from tetra.identity import Network, Tsi
from tetra.sim import RadioSim
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.api.timeline import describe
from voicebridge.blocking import Blocking
from voicebridge.ptt import TalkgroupKeyer
from voicebridge.radio import RadioAdapter
from voicebridge.runtime import build_runtime

ROUTING = """\
version: 1
centre:
  name: Centro de prueba
  dial: "Local/{{number}}@epr-sim"
  tetra_gateway: "Local/{{gssi}}@tetra-sim"
  tetra: {{mcc: 716, mnc: 1, ptt: {ptt}}}
  supervisor:
    - {{phone: "014270000", label: Supervisión, rate_limit: none}}
  operator: {{phone: "014270001", label: Operador de turno del centro}}
rate_limits: {{phone: none, talkgroup: none}}
policies:
  tg: {{ring_seconds: 20, attempts_per_target: 1, retry_after: [30]}}
status_plans:
  epr:
    32769: {{means: received, label: recibido}}
agencies:
  - code: serenazgo
    name: Serenazgo de prueba
    kind: municipal
    policy: tg
    status_plan: epr
    stations:
      - code: serenazgo-1
        name: Base de prueba
        districts: all
        targets:
          - {{talkgroup: "11022", label: TG Serenazgo}}
          - {{radio: "2008", label: Radio del jefe}}
rules:
  - name: todo
    categories: ["*"]
    respond: [{{agency: serenazgo}}]
"""
GSSI = 11022


class Patched:
    def __init__(self, rig: Rig, sim: RadioSim, client: PeiClient, keyer: TalkgroupKeyer) -> None:
        self.rig, self.sim, self.client, self.keyer = rig, sim, client, keyer

    async def until(self, condition: Callable[[], object], what: str) -> None:
        await self.rig.until(condition, what, within=10)


@pytest.fixture(params=["talk"])
def ptt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def patched(
    sqlite_url: str, redis_url: str, redis: object, clock: FakeClock, tmp_path: Path, ptt: str
) -> AsyncIterator[Patched]:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING.format(ptt=ptt), encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    media = frozenset({Medium.VOICE, Medium.TALKGROUP, Medium.SDS})
    runtime = build_runtime(settings, clock=clock, media=media)
    runtime.rules.load_file(actor="test")
    fake = FakeAsterisk(speed=0.05, default=Endpoint(behaviour=Behaviour.ANSWER))
    await fake.start()
    sim = RadioSim(own=Tsi(716, 1, 100), speed=0.05, talkgroups={GSSI: {2008, 2009}})
    await sim.start()

    def handle(event: RadioEvent) -> None:
        if isinstance(event, CallEvent):
            keyer.call_event(event)
        adapter.handle(event)

    client = PeiClient(
        PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}"),
        Network(716, 1),
        handle,
        timing=Timing(command=1.0, keepalive=0.3),
    )
    blocking = Blocking(2)
    try:
        async with bridged(runtime, clock, fake) as rig:
            keyer = TalkgroupKeyer(
                runtime, rig.session, blocking, lambda: client, owner=rig.bridge.owner
            )
            adapter = RadioAdapter(runtime, client, blocking, owner="ptt-test")
            adapter.start()
            keyer.start()
            client.start()
            await asyncio.wait_for(client.ready.wait(), 5)
            try:
                yield Patched(rig, sim, client, keyer)
            finally:
                await keyer.stop()
                await adapter.stop()
    finally:
        await client.stop()
        await sim.stop()
        blocking.shutdown()
        await fake.stop()
        runtime.close()


async def in_the_room(p: Patched) -> tuple[str, str, str]:
    """An incident dispatched, its operator and the talkgroup in the room: their refs."""

    def go() -> str:
        incident, _ = p.rig.runtime.store.create_incident(
            NewIncident(
                category="robo",
                district="150101",
                report=NewReport(source=Source.API, text="robo al paso"),
            ),
            actor="operator:test",
        )
        p.rig.runtime.dispatcher.dispatch(incident.id, actor="operator:test")
        return incident.id

    incident_id = await asyncio.to_thread(go)
    await p.until(
        lambda: (
            all(leg.state is ContactState.IN_ROOM for leg in p.rig.legs(incident_id))
            and len(p.rig.legs(incident_id)) == 2
        ),
        "the operator and the talkgroup in the room",
    )
    operator = p.rig.leg(incident_id, role=ContactRole.OPERATOR)
    talkgroup = p.rig.leg(incident_id, "serenazgo")
    assert talkgroup.medium is Medium.TALKGROUP
    return incident_id, operator.ref, talkgroup.ref


async def test_the_radio_transmits_while_someone_in_the_room_talks(patched: Patched) -> None:
    _, operator, talkgroup = await in_the_room(patched)
    fake, sim = patched.rig.fake, patched.sim
    assert fake.talk(operator, True)  # the rooms' users have talk detection
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    [call] = sim.calls.values()
    assert (call.gssi, call.ours, call.talker) == (GSSI, True, 100)
    assert "ATD11022" in sim.commands
    # both radios of the talkgroup hear the room (through the centre's radio)
    assert [sim.radio(ssi).heard for ssi in (2008, 2009)] == [[(GSSI, 100)], [(GSSI, 100)]]
    assert fake.talk(operator, False)
    await patched.until(lambda: patched.keyer.log[-1:] == [f"release {GSSI}"], "released")
    await patched.until(lambda: call.talker is None, "the radio stopped transmitting")
    # the talkgroup's own voice keys nothing (it would key itself)
    assert fake.talk(talkgroup, True)
    await asyncio.sleep(0.3)  # the event reached the keyer
    await patched.keyer.idle()
    assert patched.keyer.log == [f"key {GSSI}", f"release {GSSI}"]


async def test_a_talker_who_hangs_up_mid_sentence_releases_the_radio(patched: Patched) -> None:
    """Asterisk says no "off" for a user who leaves: the leave (or the hang-up) does."""
    _, operator, _ = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    await patched.rig.session.send("Hangup", [("Channel", operator)])
    await patched.until(lambda: patched.keyer.log[-1:] == [f"release {GSSI}"], "released")
    [call] = patched.sim.calls.values()
    await patched.until(lambda: call.talker is None, "the radio stopped transmitting")


async def test_the_talkgroup_leaving_the_room_releases_the_radio(patched: Patched) -> None:
    _, operator, talkgroup = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    await patched.rig.session.send("Hangup", [("Channel", talkgroup)])
    await patched.until(lambda: patched.keyer.log[-1:] == [f"release {GSSI}"], "released")


async def test_a_radio_set_up_again_has_nothing_keyed_and_keys_again(patched: Patched) -> None:
    _, operator, _ = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    resets = patched.client.resets
    patched.sim.reset()  # the radio restarted: its calls and transmission gone
    await patched.until(lambda: patched.client.resets > resets, "set up again")
    patched.rig.fake.talk(operator, False)
    patched.rig.fake.talk(operator, True)  # the next words key it again, a new call
    await patched.until(lambda: patched.keyer.log.count(f"key {GSSI}") == 2, "keyed again")
    assert [c.talker for c in patched.sim.calls.values()] == [100]


async def test_a_radio_user_on_the_floor_is_not_talked_over(patched: Patched) -> None:
    _, operator, _ = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    patched.rig.fake.talk(operator, False)
    await patched.until(lambda: patched.keyer.log[-1:] == [f"release {GSSI}"], "released")
    talking = asyncio.ensure_future(patched.sim.talk(GSSI, 2008, seconds=20))  # 1 s here
    await asyncio.sleep(0.2)  # 2008 holds the floor now
    patched.rig.fake.talk(operator, True)
    await asyncio.sleep(0.3)
    assert patched.keyer.log.count(f"key {GSSI}") == 1  # not over the radio user
    await talking  # the floor is free: the room's talker keys it
    await patched.until(lambda: patched.keyer.log.count(f"key {GSSI}") == 2, "keyed after")


async def test_a_talker_who_never_stops_is_cut_after_the_longest_transmission(
    patched: Patched, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voicebridge.ptt.MAX_TRANSMIT", 0.5)
    _, operator, _ = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)  # and its "off" is lost
    await patched.until(lambda: patched.keyer.log == [f"key {GSSI}"], "keyed")
    await asyncio.sleep(0.6)
    patched.keyer._spawn(patched.keyer._apply())  # what the keyer's tick does
    await patched.until(lambda: patched.keyer.log[-1:] == [f"release {GSSI}"], "cut")
    await asyncio.sleep(0.2)
    assert patched.keyer.log == [f"key {GSSI}", f"release {GSSI}"]  # not keyed again


async def test_a_radio_user_who_talks_is_shown_on_the_talkgroup_s_leg(patched: Patched) -> None:
    incident_id, _, talkgroup = await in_the_room(patched)
    await patched.sim.talk(GSSI, 2008, seconds=0.5)

    def talkers() -> list[int | None]:
        events = patched.rig.runtime.store.events(incident_id)
        return [e.data.get("talker") for e in events if e.kind is EventKind.RADIO_TALKER]

    await patched.until(lambda: talkers() == [2008, None], "the talker, then nobody")
    assert patched.sim.radio(2009).heard == [(GSSI, 2008)]  # the other radio heard 2008
    with pytest.raises(ValueError, match="not of talkgroup"):
        await patched.sim.talk(GSSI, 3000, seconds=0.1)
    events = patched.rig.runtime.store.events(incident_id)
    [on, off] = [e for e in events if e.kind is EventKind.RADIO_TALKER]
    assert on.data["leg"] == talkgroup
    names = patched.rig.runtime.rules.names()
    assert describe(on.payload, names) == "Habla por radio la unidad 2008 en el grupo 11022."
    assert describe(off.payload, names) == "Nadie habla ya por radio en el grupo 11022."


@pytest.mark.parametrize("ptt", ["dtmf"], indirect=True)
async def test_a_gateway_keyed_by_dtmf_gets_star_and_hash(patched: Patched) -> None:
    _, operator, talkgroup = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await patched.until(lambda: patched.keyer.log == ["dtmf *"], "keyed by *")
    patched.rig.fake.talk(operator, False)
    await patched.until(lambda: patched.keyer.log == ["dtmf *", "dtmf #"], "released by #")
    sent = [dict(r.headers) for r in patched.rig.fake.actions("PlayDTMF")]
    assert [(h["Channel"], h["Digit"]) for h in sent] == [(talkgroup, "*"), (talkgroup, "#")]
    assert patched.sim.calls == {}  # the radio is not used


@pytest.mark.parametrize("ptt", ["vox", "none"], indirect=True)
async def test_a_gateway_on_vox_or_listening_only_is_left_alone(patched: Patched) -> None:
    _, operator, _ = await in_the_room(patched)
    patched.rig.fake.talk(operator, True)
    await asyncio.sleep(0.2)
    await patched.keyer.idle()
    assert patched.keyer.log == []
    assert patched.sim.calls == {}


async def test_a_radio_of_the_agency_acknowledges_it_for_its_patched_talkgroup(
    patched: Patched,
) -> None:
    """The agency was reached by its talkgroup, patched into the room (it cannot press
    keys): a status "received" from one of its radios (2008, of its station in the
    routing file) is the agency's acknowledgement, with no alert sent to that radio."""
    incident_id, _, talkgroup = await in_the_room(patched)
    runtime = patched.rig.runtime
    assert not runtime.store.detail(incident_id).acks
    assert patched.sim.status(2008, 32769)
    await patched.until(lambda: runtime.store.detail(incident_id).acks, "acknowledged")
    [ack] = runtime.store.detail(incident_id).acks
    assert (ack.agency, ack.method) == ("serenazgo", AckMethod.TETRA_STATUS)
    assert [e for to, e in patched.sim.sent if to == 2008] == []  # no alert went there
    assert patched.rig.leg_by_ref(incident_id, talkgroup).state is ContactState.IN_ROOM
