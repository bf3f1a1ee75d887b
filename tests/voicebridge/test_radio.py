"""Radio alerts end to end (issue 12, points 5 and 7): an incident's radio target gets a
Spanish SDS alert through the PEI client and the radio simulator; the radio's report is
the try's outcome; a status message means what the agency's status plan says (received
acknowledges like a keypress and stops the retries; en route and on scene are logged as
phases; unavailable declines); a text "recibido" acknowledges; a radio off the air is
not reached; a radio reset in the middle loses nothing and sends nothing twice."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from routing import analytics
from routing.analytics import Phase
from routing.events import EventKind
from routing.models import (
    AckMethod,
    AssignmentState,
    AttemptOutcome,
    ContactState,
    Location,
    Medium,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from tests.conftest import FakeClock, make_settings
from tests.contract.harness import RadioHarness, radio_harness
from tests.voicebridge.rig import run_due_escalations
from tetra import sds
from tetra.client import PeiTarget
from tetra.identity import Network, Tsi
from tetra.sim import RadioSim
from voicebridge.blocking import Blocking
from voicebridge.radio import ALERT_CHARACTERS, RadioDriver, latin1, radio_alert
from voicebridge.runtime import build_runtime

Out = AttemptOutcome
ROUTING = """\
version: 1
centre:
  name: Centro de prueba
  dial: "Local/{number}@epr-sim"
  tetra_gateway: "Local/{gssi}@tetra-sim"
  tetra: {mcc: 716, mnc: 1}
  supervisor:
    - {phone: "014270000", label: Supervisión, rate_limit: none}
  operator: {phone: "014270001", label: Operador de turno del centro}
rate_limits: {phone: none, sms: none, talkgroup: none, radio: none}
policies:
  radio: {ring_seconds: 5, attempts_per_target: 2, retry_after: [60]}
status_plans:
  epr:
    32769: {means: received, label: recibido}
    32770: {means: en_route, label: en camino}
    32771: {means: on_scene, label: en la escena}
    32772: {means: unavailable, label: no disponible}
    32773: {means: info, label: unidad libre}
agencies:
  - code: serenazgo
    name: Serenazgo de prueba
    kind: municipal
    policy: radio
    status_plan: epr
    stations:
      - code: serenazgo-1
        name: Base de prueba
        districts: all
        targets:
          - {radio: "2001", label: Radio del jefe}
          - {radio: "716000100002002", label: Radio de la camioneta}
rules:
  - name: todo
    categories: ["*"]
    respond: [{agency: serenazgo}]
"""
RADIO_1, RADIO_2 = 2001, 2002


@pytest.fixture
async def radio(
    sqlite_url: str, redis_url: str, redis: object, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[RadioHarness]:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    runtime = build_runtime(settings, clock=clock, media=frozenset({Medium.SDS}))
    runtime.rules.load_file(actor="test")
    try:
        async with radio_harness(runtime) as found:
            yield found
    finally:
        runtime.close()


async def dispatch(h: RadioHarness, address: str = "Av. Abancay 123") -> str:
    def go() -> str:
        incident, _ = h.runtime.store.create_incident(
            NewIncident(
                category="robo",
                district="150101",
                report=NewReport(
                    source=Source.API, text="robo al paso", location=Location(address=address)
                ),
            ),
            actor="operator:test",
        )
        h.runtime.dispatcher.dispatch(incident.id, actor="operator:test")
        return incident.id

    return await asyncio.to_thread(go)


async def until(
    h: RadioHarness, condition: Callable[[], object], what: str, within: float = 10
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        await h.settled()
        if await asyncio.to_thread(condition):
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")


def tries(h: RadioHarness, incident_id: str) -> list[AttemptOutcome]:
    return [a.outcome for a in h.runtime.store.detail(incident_id).attempts]


def alerts_to(h: RadioHarness, ssi: int) -> list[sds.Text]:
    return [p for to, p in h.sim.sent if to == ssi and isinstance(p, sds.Text)]


def acknowledged(h: RadioHarness, incident_id: str) -> bool:
    return bool(h.runtime.store.detail(incident_id).acks)


async def test_a_status_received_acknowledges_the_agency_and_stops_its_retries(
    radio: RadioHarness,
) -> None:
    radio.sim.radio(RADIO_1, reply_status=32769, reply_after=0.5)
    incident_id = await dispatch(radio)
    await until(radio, lambda: acknowledged(radio, incident_id), "acknowledged by radio")
    [alert] = alerts_to(radio, RADIO_1)
    assert alert.text == f"INC {incident_id} ROBO Av. Abancay 123, Lima. Responda estado 32769 o 1"
    assert alert.coding == sds.Coding.LATIN1
    assert alert.report is sds.ReportRequest.RECEIVED
    detail = radio.runtime.store.detail(incident_id)
    [ack] = detail.acks
    assert ack.method is AckMethod.TETRA_STATUS
    assert tries(radio, incident_id) == [Out.ACKNOWLEDGED]
    [state] = [a.state for a in radio.runtime.calls.dispatches.assignments(incident_id)]
    assert state is AssignmentState.ACKNOWLEDGED
    assert detail.incident.status is Status.ACKNOWLEDGED
    [status] = [e for e in detail.events if e.kind is EventKind.RADIO_STATUS]
    assert (status.data["status"], status.data["means"], status.data["label"]) == (
        32769,
        "received",
        "recibido",
    )
    # no further try, no second alert: the retries stopped
    radio.runtime.clock.advance(3600)  # type: ignore[attr-defined]
    await run_due_escalations(radio.runtime)
    await radio.settled()
    assert len(alerts_to(radio, RADIO_1)) == 1
    assert alerts_to(radio, RADIO_2) == []


async def test_en_route_and_on_scene_are_logged_as_phases(radio: RadioHarness) -> None:
    radio.sim.radio(RADIO_1, reply_status=32770, reply_after=0.5)  # "en camino" at once
    incident_id = await dispatch(radio)
    await until(radio, lambda: acknowledged(radio, incident_id), "acknowledged by en route")
    radio.sim.status(RADIO_1, 32771)  # then on scene
    radio.sim.status(RADIO_1, 32773)  # and free: information only
    radio.sim.status(RADIO_1, 40000)  # a number the plan does not name

    def phases() -> list[tuple[int, str | None]]:
        events = radio.runtime.store.events(incident_id)
        return [
            (e.data["status"], e.data.get("means"))
            for e in events
            if e.kind is EventKind.RADIO_STATUS
        ]

    await until(radio, lambda: len(phases()) == 4, "four statuses logged")
    assert phases() == [
        (32770, "en_route"),
        (32771, "on_scene"),
        (32773, "info"),
        (40000, None),
    ]
    detail = radio.runtime.store.detail(incident_id)
    assert len(detail.acks) == 1
    # the analytics read them as the agency's phases (issue 15)
    found = analytics.phases(detail)
    serenazgo = found.agencies["serenazgo"]
    assert set(serenazgo) == {Phase.NOTIFIED, Phase.ACKNOWLEDGED, Phase.EN_ROUTE, Phase.ON_SCENE}
    assert serenazgo[Phase.ACKNOWLEDGED] == serenazgo[Phase.EN_ROUTE]  # the same status
    assert found.at[Phase.RECEIVED] <= found.at[Phase.CREATED] <= found.at[Phase.DISPATCHED]
    [travel] = analytics.measure(found, analytics.BY_CODE["travel"])
    assert travel.agency == "serenazgo"
    assert travel.seconds is not None


async def test_unavailable_moves_to_the_next_radio_at_once(radio: RadioHarness) -> None:
    radio.sim.radio(RADIO_1, reply_status=32772, reply_after=0.5)
    radio.sim.radio(RADIO_2, reply_text="Recibido", reply_after=0.5)
    incident_id = await dispatch(radio)
    await until(radio, lambda: acknowledged(radio, incident_id), "the second radio took it")
    assert tries(radio, incident_id) == [Out.DECLINED, Out.ACKNOWLEDGED]
    [ack] = radio.runtime.store.detail(incident_id).acks
    assert ack.method is AckMethod.SDS
    # the second radio was written as a 15-digit TSI: the same network, reached by its SSI
    assert len(alerts_to(radio, RADIO_2)) == 1


async def test_a_radio_off_the_air_is_not_reached_with_the_network_s_words(
    radio: RadioHarness,
) -> None:
    radio.sim.radio(RADIO_1, registered=False)
    incident_id = await dispatch(radio)
    await until(radio, lambda: tries(radio, incident_id) == [Out.FAILED], "not reached")
    [attempt] = radio.runtime.store.detail(incident_id).attempts
    assert attempt.cause == "la radio no está registrada en la red (apagada o fuera de cobertura)"


async def test_a_radio_reset_in_the_middle_loses_nothing_and_sends_nothing_twice(
    radio: RadioHarness,
) -> None:
    # its user answers a few seconds later, after the radio is set up again
    radio.sim.radio(RADIO_1, reply_status=32769, reply_after=40.0)
    incident_id = await dispatch(radio)
    await until(radio, lambda: alerts_to(radio, RADIO_1), "the alert sent")
    resets = radio.client.resets
    radio.sim.reset()  # echo back on, the routing forgotten: the status would be lost
    await until(radio, lambda: radio.client.resets > resets, "the radio set up again")
    await until(radio, lambda: acknowledged(radio, incident_id), "acknowledged after the reset")
    assert len(alerts_to(radio, RADIO_1)) == 1
    assert radio.sim.undelivered == []


async def test_an_alert_still_waiting_when_the_incident_ends_is_withdrawn_and_its_report_ignored(
    radio: RadioHarness,
) -> None:
    radio.sim.radio(RADIO_1, report_after=60.0)  # its "received" report comes 3 s later
    incident_id = await dispatch(radio)
    await until(radio, lambda: tries(radio, incident_id) == [Out.RINGING], "the alert sent")
    await asyncio.to_thread(
        radio.runtime.store.transition,
        incident_id,
        Status.CANCELLED,
        actor="operator:test",
        cause="llamada falsa",
    )
    radio.runtime.wakeup.local()
    await until(
        radio,
        lambda: not any(c.state.live for c in radio.runtime.calls.legs(incident_id)),
        "nothing live",
    )
    [contact] = [c for c in radio.runtime.calls.legs(incident_id) if c.agency == "serenazgo"]
    assert contact.withdraw
    assert contact.state is ContactState.FAILED  # it was never confirmed on the radio
    assert contact.cause == "terminado a pedido; la alerta ya no espera respuesta"
    assert tries(radio, incident_id) == [Out.CANCELLED]
    await asyncio.sleep(3.2)  # the radio's report arrives: it changes nothing
    await radio.settled()
    assert radio.sim.radio(RADIO_1).received  # (it did get the alert)
    [after] = [c for c in radio.runtime.calls.legs(incident_id) if c.agency == "serenazgo"]
    assert after.state is ContactState.FAILED
    assert after.cause == contact.cause
    assert tries(radio, incident_id) == [Out.CANCELLED]
    [assignment] = radio.runtime.calls.dispatches.assignments(incident_id)
    assert assignment.state is AssignmentState.CANCELLED
    assert len(alerts_to(radio, RADIO_1)) == 1


def test_the_alert_fits_a_radio_s_display() -> None:
    long = "Jr. " + "Muy Largo " * 30 + "123"
    text = radio_alert("LIM-2026-000123", "robo", long, 32769)
    assert len(text) == ALERT_CHARACTERS
    assert text.startswith("INC LIM-2026-000123 ROBO Jr. Muy Largo")
    assert text.endswith("M.... Responda estado 32769 o 1")  # the place cut, then ". "
    [pdu] = sds.text_messages(text, 1)
    assert sds.bits(pdu) <= sds.MAX_BITS


def test_an_alert_is_one_iso_8859_1_part_whatever_the_address_holds() -> None:
    text = latin1(radio_alert("LIM-2026-000123", "robo", "Av. O’Higgins – Lince ✓", 32769))
    assert text == "INC LIM-2026-000123 ROBO Av. O'Higgins - Lince ?. Responda estado 32769 o 1"
    [pdu] = sds.text_messages(text, 1)
    assert pdu.coding == sds.Coding.LATIN1


async def test_the_network_s_refusal_is_the_try_s_outcome(radio: RadioHarness) -> None:
    radio.sim.radio(RADIO_1)
    radio.sim.refuse_next = 1
    incident_id = await dispatch(radio)
    await until(radio, lambda: tries(radio, incident_id)[:1] == [Out.FAILED], "refused")
    [attempt] = radio.runtime.store.detail(incident_id).attempts[:1]
    assert attempt.cause == "la red no aceptó el mensaje (estado 5)"


async def test_a_message_to_a_talkgroup_acknowledges_nothing(radio: RadioHarness) -> None:
    radio.sim.radio(RADIO_1, report_after=0.1)
    incident_id = await dispatch(radio)
    await until(radio, lambda: tries(radio, incident_id)[:1] == [Out.DELIVERED], "delivered")
    radio.sim.text(RADIO_1, "1", group=11022)  # "1" to a talkgroup the centre's radio is in
    await asyncio.sleep(0.3)
    await radio.settled()
    assert not acknowledged(radio, incident_id)


async def test_a_late_answer_counts_and_the_deadline_runs_while_the_radio_is_away(
    radio: RadioHarness,
) -> None:
    """Store and forward: the radio's report never came within the ring time (5 s here),
    and the centre's radio was switched off meanwhile: the try ends not reached all the
    same (the next target's turn is not held up); then the radio's "received" comes:
    it is the agency's acknowledgement."""
    radio.sim.radio(RADIO_1, report_after=10_000.0)  # no report in this test's time
    incident_id = await dispatch(radio)
    await until(radio, lambda: alerts_to(radio, RADIO_1), "the alert sent")
    await radio.sim.switch_off()
    await until(
        radio, lambda: tries(radio, incident_id)[:1] == [Out.NO_ANSWER], "not reached", within=15
    )
    await radio.sim.switch_on()
    await asyncio.wait_for(radio.client.ready.wait(), 5)
    radio.sim.status(RADIO_1, 32769)
    await until(radio, lambda: acknowledged(radio, incident_id), "acknowledged late")
    assert tries(radio, incident_id)[0] is Out.ACKNOWLEDGED


TWO_WAYS = ROUTING.replace(
    """rules:
  - name: todo
    categories: ["*"]
    respond: [{agency: serenazgo}]""",
    """  - code: pnp
    name: Policía de prueba
    kind: police
    policy: radio
    status_plan: epr
    stations:
      - code: pnp-1
        name: Comisaría de prueba
        districts: all
        targets:
          - {radio: "716000100002001", label: Radio del patrullero}
rules:
  - name: todo
    categories: ["*"]
    respond: [{agency: serenazgo}, {agency: pnp}]""",
)


async def test_one_radio_written_two_ways_answers_each_alert_in_turn(
    sqlite_url: str, redis_url: str, redis: object, clock: FakeClock, tmp_path: Path
) -> None:
    """Serenazgo writes radio 2001 as its SSI, the police as a TSI: one radio, two
    alerts; its two "received" take the oldest waiting alert first, then the other."""
    path = tmp_path / "routing.yaml"
    path.write_text(TWO_WAYS, encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    runtime = build_runtime(settings, clock=clock, media=frozenset({Medium.SDS}))
    runtime.rules.load_file(actor="test")
    try:
        async with radio_harness(runtime) as h:
            h.sim.radio(RADIO_1)
            incident_id = await dispatch(h)
            await until(h, lambda: len(alerts_to(h, RADIO_1)) == 2, "both alerts")
            await until(h, lambda: set(tries(h, incident_id)) == {Out.DELIVERED}, "delivered")
            for _ in range(2):
                h.sim.status(RADIO_1, 32769)
                await asyncio.sleep(0.2)
            await until(h, lambda: len(h.runtime.store.detail(incident_id).acks) == 2, "both")
    finally:
        runtime.close()


async def test_of_two_replicas_one_drives_the_radio_and_the_other_takes_over(
    sqlite_url: str, redis_url: str, redis: object, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    runtime = build_runtime(settings, clock=clock, media=frozenset({Medium.SDS}))
    runtime.rules.load_file(actor="test")
    sim = RadioSim(own=Tsi(716, 1, 100), speed=0.05)
    await sim.start()
    blocking = Blocking(4)
    target = PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}")
    drivers = [
        RadioDriver(runtime, blocking, target, Network(716, 1), owner=name, lease_seconds=0.6)
        for name in ("serve-a", "serve-b")
    ]
    try:
        for driver in drivers:
            driver.start()
        loop = asyncio.get_running_loop()

        async def wait(condition: Callable[[], bool], what: str) -> None:
            deadline = loop.time() + 10
            while not condition():
                assert loop.time() < deadline, what
                await asyncio.sleep(0.02)

        await wait(lambda: any(d.client.ready.is_set() for d in drivers), "one drives it")
        await asyncio.sleep(1.0)  # a few renewals: the other stays by
        holders = [d for d in drivers if d.holding]
        assert len(holders) == 1
        [standby] = [d for d in drivers if not d.holding]
        assert standby.state() == "standby (another replica drives the radio)"
        assert rig_inits(sim) == 1  # the radio was set up once: nobody took it away
        await holders[0].stop()  # that replica ends
        await wait(lambda: standby.client.ready.is_set(), "the other takes over")
        assert standby.state() == "ok (radio 716000100000100)"
    finally:
        for driver in drivers:
            await driver.stop()
        await sim.stop()
        blocking.shutdown()
        runtime.close()


def rig_inits(sim: RadioSim) -> int:
    """How many times a terminal set the radio up (its first command of INIT)."""
    return sim.commands.count("ATE0")
