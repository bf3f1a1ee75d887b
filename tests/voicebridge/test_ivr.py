"""A citizen's call through the phone IVR, end to end over a real AMI socket: the fake
Asterisk runs ``vb-citizen`` (rendered with the shipped Lima numbers) for a scripted
caller, voicebridge's session hears the ``CitizenReport``, files it through the shared
deduplication, and takes the call on (the number said, the caller moved into the
incident's conference with the district operator)."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dialplans.render import CitizenLine
from routing import schema as t
from routing.analytics import BY_CODE, measure, phases
from routing.models import Contact, ContactRole, ContactState, Source, Status
from tests.conftest import FakeClock
from tests.voicebridge.rig import Rig, bridged
from tests.voicebridge.rig import headers as headers_of
from tests.voicebridge.test_bridge_faults import calls_dropped_unheard, recalled
from voicebridge.ami.citizens import FIELDS, GONE_BEFORE_ROOM, CallTaker
from voicebridge.ami.codec import Message
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.ami.sim.far import citizen_call
from voicebridge.ami.sim.media import LAB_SOUNDS, SHARED_SOUNDS
from voicebridge.blocking import Blocking
from voicebridge.ivr import CallReport, CallStatus, CitizenCalls, parse_report
from voicebridge.runtime import Runtime

MIRAFLORES = "018022000"  # the Miraflores central's number in the shipped routing file
CENTRE = "018990000"  # the centre's: every district, the code asked
CALLER_ID = '"Vecino" <987 654 321>'

SPEED = 0.03
"""1 s of the lab is 30 ms here: a caller's keys come a second apart against the menus'
6 s waits, a margin (150 ms) a busy machine's pause does not eat."""
DIGITS = {**SHARED_SOUNDS, **{k: v for k, v in LAB_SOUNDS.items() if k.startswith("digits/")}}
"""The lab's digits (0.7 to 0.9 s each): an incident's number takes seconds to say."""


@dataclass
class Ivr:
    rig: Rig
    taker: CallTaker
    events: list[Message]
    calls: int = 0

    async def call(
        self,
        dialled: str,
        keys: list[tuple[float, str]],
        *,
        hangup_after: float | None = None,
        caller_id: str = CALLER_ID,
    ) -> str:
        """A caller dials ``dialled`` and presses ``keys`` (seconds after the previous
        press, digits); the name of the IVR's channel (``;1``)."""
        self.calls += 1
        name = f"caller-{self.calls}"
        (after, digit), *more = keys
        self.rig.script(
            f"Local/s@{name}",
            Behaviour.PRESS,
            digit=digit,
            after=after,
            more=tuple(more),
            hangup_after=hangup_after,
        )
        headers = citizen_call(dialled, caller_id, dial=f"Local/s@{name}")
        await self.rig.session.send("Originate", headers)
        return f"Local/s@{name}-"

    async def report(self, channel: str) -> Message:
        for _ in range(500):
            for m in self.events:
                if m.get("UserEvent") == "CitizenReport" and m.get("Channel").startswith(channel):
                    await self.taker.idle()
                    return m
            await asyncio.sleep(0.01)
        raise AssertionError(f"no CitizenReport from {channel}")

    def incident_of(self, m: Message) -> str:
        """The incident the caller's report went to."""
        report = parse_report({k: m.get(k) for k in FIELDS})
        assert report is not None
        r, i = t.reports.c, t.incidents.c
        with self.rig.runtime.db.read() as conn:
            found = conn.execute(
                select(i.public_id)
                .join_from(t.reports, t.incidents, r.incident_id == i.id)
                .where(r.source == Source.PHONE.value, r.external_id == f"ivr:{report.uniqueid}")
            ).scalar_one()
        return str(found)

    def redirects(self, uniqueid: str) -> dict[str, str]:
        """The variables voicebridge set on the caller's channel before redirecting it,
        and where to."""
        out: dict[str, str] = {}
        for r in self.rig.fake.received:
            h = headers_of(r)
            if h.get("Channel") != uniqueid:
                continue
            if r.action == "Setvar":
                out[h["Variable"]] = h["Value"]
            elif r.action == "Redirect":
                out["->"] = f"{h['Context']},{h['Exten']},{h['Priority']}"
        return out


@pytest.fixture
async def ivr(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Ivr]:
    """The call taker of a replica whose bridge follows the callers from their
    ConfbridgeJoin (as every replica but the one that took the call on does)."""
    async with taking_calls(runtime, clock, speed=SPEED, follow=False) as found:
        yield found


@pytest.fixture
async def following_ivr(runtime: Runtime, clock: FakeClock) -> AsyncIterator[Ivr]:
    """The replica's own call taker, telling its bridge of each caller it puts into a
    room (as ``serve`` wires them); Asterisk at a tenth of real time and the digits as
    long as the lab's, so that the caller hears the incident's number for about half a
    second."""
    async with taking_calls(runtime, clock, speed=0.1, follow=True, sounds=DIGITS) as found:
        yield found


@asynccontextmanager
async def taking_calls(
    runtime: Runtime,
    clock: FakeClock,
    *,
    speed: float,
    follow: bool,
    sounds: Mapping[str, float] = SHARED_SOUNDS,
) -> AsyncIterator[Ivr]:
    config, _ = runtime.rules.current()
    lines = CitizenLine.from_routing(config.citizen_lines())
    fake = FakeAsterisk(
        speed=speed,
        default=Endpoint(behaviour=Behaviour.ANSWER),
        citizen_lines=lines,
        sounds=sounds,
    )
    await fake.start()
    blocking = Blocking(2)
    try:
        async with bridged(runtime, clock, fake) as rig:
            events: list[Message] = []
            rig.session.on("UserEvent", events.append)
            taker = CallTaker(
                rig.session,
                CitizenCalls(runtime),
                blocking,
                follow=rig.bridge.follow if follow else None,
            )
            yield Ivr(rig=rig, taker=taker, events=events)
    finally:
        blocking.shutdown()
        errors = list(fake.errors)
        await fake.stop()
        assert errors == []


async def test_a_fire_is_filed_the_caller_hears_its_number_and_meets_the_operator(
    ivr: Ivr,
) -> None:
    channel = await ivr.call(MIRAFLORES, [(1.0, "3")])
    m = await ivr.report(channel)
    incident_id = ivr.incident_of(m)
    store = ivr.rig.runtime.store
    detail = store.detail(incident_id)
    incident = detail.incident
    assert (incident.category, incident.district, incident.source) == (
        "incendio",
        "150122",
        Source.PHONE,
    )
    assert incident.reporter.phone == "+51987654321"  # normalised from "987 654 321"
    [report] = detail.reports
    assert (
        report.text
        == "Llamada a la central al 018022000: eligió 3 (Incendio), distrito Miraflores."
    )
    # fire is bridged: dispatched at once, the Miraflores operator into the room
    assert incident.status is not Status.RECEIVED
    operator = [leg for leg in ivr.rig.legs(incident_id) if leg.role is ContactRole.OPERATOR]
    assert len(operator) == 1
    config, _ = ivr.rig.runtime.rules.current()
    assert operator[0].address == config.centrals["150122"].operator.dial
    assert ivr.redirects(m["Uniqueid"]) == {
        "VB_DIGITS": incident_id.rsplit("-", 1)[-1],
        "VB_BRIDGE": "1",
        "VB_ROOM": incident_id,
        "->": "vb-citizen,filed,1",
    }
    # the caller hears the number digit by digit and joins the incident's conference,
    # where the room's legs show them (a contact voicebridge did not place)
    await ivr.rig.until(
        lambda: m["Uniqueid"] in ivr.rig.fake.rooms.get(incident_id, ()),
        "the caller in the incident's room",
    )
    await in_the_room(ivr, incident_id, m["Uniqueid"])
    [caller] = citizens(ivr, incident_id)
    assert (caller.ref, caller.label, caller.address) == (
        m["Uniqueid"],
        "Ciudadano +51987654321",
        "+51987654321",
    )
    assert caller.role.label == "ciudadano"
    assert ivr.rig.originated(caller.ref) == []  # the citizen called; nobody calls them


async def test_a_second_caller_for_the_same_fire_joins_the_same_incident(ivr: Ivr) -> None:
    first = ivr.incident_of(await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")])))
    # the second calls the centre's number and keys Miraflores in (22, then 1)
    m = await ivr.report(await ivr.call(CENTRE, [(1.0, "3"), (1.0, "22"), (1.0, "1")]))
    assert ivr.incident_of(m) == first
    detail = ivr.rig.runtime.store.detail(first)
    assert [r.source for r in detail.reports] == [Source.PHONE, Source.PHONE]
    assert "mismo distrito (llamada sin dirección)" in detail.events[-1].cause or any(
        "mismo distrito" in e.cause for e in detail.events
    )
    # the operator was called once, by the first call's dispatch
    legs = [leg for leg in ivr.rig.legs(first) if leg.role is ContactRole.OPERATOR]
    assert len(legs) == 1
    assert ivr.redirects(m["Uniqueid"])["VB_BRIDGE"] == "1"


async def test_a_category_that_is_not_bridged_hears_its_number_and_a_goodbye(ivr: Ivr) -> None:
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "2")]))  # traffic accident
    incident_id = ivr.incident_of(m)
    incident = ivr.rig.runtime.store.get(incident_id)
    assert incident.category == "accidente_transito"
    assert incident.status is Status.RECEIVED  # for the operators to dispatch
    assert ivr.rig.legs(incident_id) == []
    said = ivr.redirects(m["Uniqueid"])
    assert (said["VB_BRIDGE"], said["VB_DIGITS"]) == ("0", incident_id.rsplit("-", 1)[-1])


async def test_the_operator_now_is_an_unclassified_incident_with_its_operator(ivr: Ivr) -> None:
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "0")]))
    assert m["Status"] == CallStatus.OPERATOR.value
    incident_id = ivr.incident_of(m)
    incident = ivr.rig.runtime.store.get(incident_id)
    assert (incident.category, incident.district) == ("sin_clasificar", "150122")
    [leg] = [g for g in ivr.rig.legs(incident_id) if g.role is not ContactRole.CITIZEN]
    assert leg.role is ContactRole.OPERATOR
    assert [c.ref for c in citizens(ivr, incident_id)] == [m["Uniqueid"]]
    said = ivr.redirects(m["Uniqueid"])
    assert (said["VB_BRIDGE"], said["VB_DIGITS"]) == ("1", "")  # no number: the operator
    # the operator is called into the room the caller waits in
    await ivr.rig.until(
        lambda: {m["Uniqueid"], leg.ref} <= ivr.rig.fake.rooms.get(incident_id, set()),
        "the caller and the operator in the room",
    )
    # dispatching it later does not ring the operator again
    await asyncio.to_thread(ivr.rig.runtime.dispatcher.dispatch, incident_id, actor="operator:test")
    operators = [g for g in ivr.rig.legs(incident_id) if g.role is ContactRole.OPERATOR]
    assert operators == [ivr.rig.leg_by_ref(incident_id, leg.ref)]


def citizens(ivr: Ivr, incident_id: str) -> list[Contact]:
    return [g for g in ivr.rig.legs(incident_id) if g.role is ContactRole.CITIZEN]


async def in_the_room(ivr: Ivr, incident_id: str, uniqueid: str) -> Contact:
    """Wait until the caller's contact is in the incident's room."""
    await ivr.rig.until(
        lambda: (
            [(c.ref, c.state) for c in citizens(ivr, incident_id)]
            == [(uniqueid, ContactState.IN_ROOM)]
        ),
        "the caller's contact in the room",
    )
    return ivr.rig.leg_by_ref(incident_id, uniqueid)


def kinds(ivr: Ivr, incident_id: str, leg: str) -> list[str]:
    """The kinds of the incident's events about one leg, in order."""
    events = ivr.rig.runtime.store.events(incident_id)
    return [e.kind.value for e in events if e.data.get("leg") == leg]


async def test_the_caller_hangs_up_leaves_the_room_and_is_never_called_back(ivr: Ivr) -> None:
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id, uniqueid = ivr.incident_of(m), m["Uniqueid"]
    await in_the_room(ivr, incident_id, uniqueid)
    # a replica that did not see the caller join follows them from its reconciliation
    ivr.rig.bridge._citizens.clear()
    ivr.rig.clock.advance(1)
    await ivr.rig.bridge.reconcile()
    assert uniqueid in ivr.rig.bridge._citizens
    await ivr.rig.session.send("Hangup", [("Channel", uniqueid)])  # the caller's line drops
    await ivr.rig.until(
        lambda: ivr.rig.leg_by_ref(incident_id, uniqueid).state is ContactState.ENDED,
        "the caller's contact ended",
    )
    await ivr.rig.settled()
    assert kinds(ivr, incident_id, uniqueid) == ["leg_requested", "leg_joined", "leg_left"]
    assert [c.ref for c in citizens(ivr, incident_id)] == [uniqueid]  # nobody called back
    operator = ivr.rig.leg(incident_id, role=ContactRole.OPERATOR)
    assert operator.state is ContactState.IN_ROOM  # the room goes on without the caller


async def test_an_operator_drops_the_caller_from_the_room(ivr: Ivr) -> None:
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id, uniqueid = ivr.incident_of(m), m["Uniqueid"]
    await in_the_room(ivr, incident_id, uniqueid)
    await ivr.rig.drop_line(incident_id, uniqueid)
    await ivr.rig.until(
        lambda: ivr.rig.leg_by_ref(incident_id, uniqueid).state is ContactState.ENDED,
        "the caller's contact ended",
    )
    hangups = [headers_of(r) for r in ivr.rig.fake.actions("Hangup")]
    assert [h["Channel"] for h in hangups] == [uniqueid]  # by its Uniqueid
    assert uniqueid not in ivr.rig.fake.rooms.get(incident_id, set())
    caller = ivr.rig.leg_by_ref(incident_id, uniqueid)
    assert (caller.cause or "").startswith("colgado a pedido")
    assert "leg_dropped" in kinds(ivr, incident_id, uniqueid)


@pytest.mark.parametrize("fault", ["restart", "calls dropped unheard"])
async def test_a_caller_lost_with_asterisk_is_not_called_back(ivr: Ivr, fault: str) -> None:
    """Asterisk lost the room: the operator is called back into it; the caller, who
    called us, cannot be (the incident keeps their number for a call back)."""
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id, uniqueid = ivr.incident_of(m), m["Uniqueid"]
    await in_the_room(ivr, incident_id, uniqueid)
    await ivr.rig.until(
        lambda: ivr.rig.leg(incident_id, role=ContactRole.OPERATOR).state is ContactState.IN_ROOM,
        "the operator in the room",
    )
    ivr.rig.clock.advance(1)
    if fault == "restart":
        await ivr.rig.fake.restart()
    else:
        await calls_dropped_unheard(ivr.rig)
    await ivr.rig.until(
        lambda: ivr.rig.leg_by_ref(incident_id, uniqueid).state is ContactState.ENDED,
        "the caller's contact ended",
        within=10,
    )
    await ivr.rig.until(
        lambda: [c.role for c in recalled(ivr.rig, incident_id)] == [ContactRole.OPERATOR],
        "the operator called back",
        within=10,
    )
    await ivr.rig.settled()
    assert [c.ref for c in citizens(ivr, incident_id)] == [uniqueid]
    events = ivr.rig.runtime.store.events(incident_id)
    assert not any(e.data.get("lost") == uniqueid for e in events)


async def test_a_caller_gone_before_the_redirect_leaves_no_one_in_the_room(ivr: Ivr) -> None:
    """The caller hung up between the report and the move into the room: the Redirect
    finds no channel, and the contact recorded for them ends at once."""
    report = CallReport(
        uniqueid="1764900000.404",  # no such channel
        choice="3",
        category="incendio",
        district="150122",
        line=MIRAFLORES,
        caller="+51987654321",
        status=CallStatus.CHOSEN,
    )
    blocking = Blocking(1)
    taker = CallTaker(
        ivr.rig.session, CitizenCalls(ivr.rig.runtime), blocking, follow=ivr.rig.bridge.follow
    )
    try:
        await taker._take(report)
    finally:
        blocking.shutdown()
    [taken] = taker.taken
    caller = ivr.rig.leg_by_ref(taken.incident, report.uniqueid)
    assert (caller.state, caller.cause) == (ContactState.ENDED, GONE_BEFORE_ROOM)
    assert kinds(ivr, taken.incident, report.uniqueid) == ["leg_requested", "leg_failed"]


async def test_a_caller_who_hangs_up_while_hearing_the_number_is_gone_from_the_room(
    following_ivr: Ivr,
) -> None:
    """The replica that took the call on follows the caller from the Redirect: a hang-up
    before the ConfbridgeJoin ends their contact at once (no other replica knows the
    channel yet, and no reconciliation runs here)."""
    ivr = following_ivr
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id, uniqueid = ivr.incident_of(m), m["Uniqueid"]
    assert ivr.redirects(uniqueid)["->"] == "vb-citizen,filed,1"
    await ivr.rig.session.send("Hangup", [("Channel", uniqueid)])  # while it says the number
    await ivr.rig.until(
        lambda: ivr.rig.leg_by_ref(incident_id, uniqueid).state is ContactState.ENDED,
        "the caller's contact ended before the room",
    )
    assert uniqueid not in ivr.rig.fake.rooms.get(incident_id, set())
    assert kinds(ivr, incident_id, uniqueid) == ["leg_requested", "leg_failed"]
    events = ivr.rig.runtime.store.events(incident_id)
    [failed] = [e for e in events if e.kind.value == "leg_failed"]
    assert failed.cause.startswith("«Ciudadano +51987654321»")


async def test_resolving_the_incident_hangs_up_the_caller_with_the_room(ivr: Ivr) -> None:
    """The incident is over: the room closes, every leg is hung up, the caller too (alone
    in a closed room otherwise)."""
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id, uniqueid = ivr.incident_of(m), m["Uniqueid"]
    await in_the_room(ivr, incident_id, uniqueid)
    await asyncio.to_thread(
        ivr.rig.runtime.store.transition,
        incident_id,
        Status.RESOLVED,
        actor="operator:test",
        cause="atendido",
    )
    await ivr.rig.until(
        lambda: ivr.rig.leg_by_ref(incident_id, uniqueid).state is ContactState.ENDED,
        "the caller hung up with the room",
    )
    hung = [headers_of(r)["Channel"] for r in ivr.rig.fake.actions("Hangup")]
    assert uniqueid in hung
    caller = ivr.rig.leg_by_ref(incident_id, uniqueid)
    assert (caller.cause or "").startswith("colgado a pedido")


async def test_a_report_read_back_for_an_incident_that_ended_is_not_put_in_a_room(
    ivr: Ivr,
) -> None:
    """Filed, then the incident was cancelled before the call was taken on (the link was
    down): read back after the login, the caller hears a goodbye, not an empty room."""
    ivr.rig.session._handlers["UserEvent"].remove(ivr.taker._on_user_event)
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "0")]))  # the operator now
    fields = {k: m.get(k) for k in ("Uniqueid", "Choice", "District", "Line", "Caller", "Status")}
    report = parse_report(fields)
    assert report is not None
    calls = CitizenCalls(ivr.rig.runtime)
    await asyncio.to_thread(calls.file, report)
    incident_id = ivr.incident_of(m)
    await asyncio.to_thread(
        ivr.rig.runtime.store.transition,
        incident_id,
        Status.CANCELLED,
        actor="operator:test",
        cause="llamada falsa",
    )
    taken = await asyncio.to_thread(calls.file, report, waiting=True)
    assert not taken.bridge
    # the contact the first filing recorded was withdrawn with the room, none is added
    [caller] = citizens(ivr, incident_id)
    assert caller.withdraw or not caller.state.live


async def test_a_filing_that_failed_after_the_dispatch_still_takes_the_call_on(
    ivr: Ivr, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report was filed and the operator called, then the caller's contact could not
    be recorded (the database went away): the next try finds the report filed and still
    takes the call on, without ringing anyone twice."""
    contacts = ivr.rig.runtime.calls.contacts
    real = contacts.arrived
    failures = [RuntimeError("the database went away")]

    def flaky(*args: object, **kwargs: object) -> bool:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(contacts, "arrived", flaky)
    monkeypatch.setattr("voicebridge.ami.citizens.FILE_RETRY_SECONDS", 0.01)
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    incident_id = ivr.incident_of(m)
    assert failures == []
    assert ivr.redirects(m["Uniqueid"])["->"] == "vb-citizen,filed,1"
    await in_the_room(ivr, incident_id, m["Uniqueid"])
    operators = [g for g in ivr.rig.legs(incident_id) if g.role is ContactRole.OPERATOR]
    assert len(operators) == 1


async def test_a_caller_who_hung_up_after_choosing_leaves_a_report_to_call_back(
    ivr: Ivr,
) -> None:
    m = await ivr.report(await ivr.call(CENTRE, [(1.0, "5")], hangup_after=3.0))
    assert m["Status"] == CallStatus.HANGUP.value
    incident_id = ivr.incident_of(m)
    detail = ivr.rig.runtime.store.detail(incident_id)
    assert (detail.incident.category, detail.incident.district) == ("fuga_gas", None)
    assert detail.reports[0].text.endswith("colgó antes de terminar (devolver la llamada).")
    assert detail.incident.reporter.phone == "+51987654321"
    assert ivr.redirects(m["Uniqueid"]) == {}  # nobody to take on
    assert ivr.rig.legs(incident_id) == []


async def test_a_repeated_event_files_nothing_twice_and_takes_the_call_on_once(
    ivr: Ivr,
) -> None:
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "4")]))
    incident_id = ivr.incident_of(m)
    # another replica's taker, on the same events: it finds the report stored
    other = CallTaker(ivr.rig.session, CitizenCalls(ivr.rig.runtime), Blocking(1))
    other._on_user_event(m)
    await other.idle()
    assert other.taken == []
    assert len(ivr.rig.runtime.store.detail(incident_id).reports) == 1
    redirects = [r for r in ivr.rig.fake.received if r.action == "Redirect"]
    assert len(redirects) == 1


async def test_a_report_sent_while_no_replica_listened_is_taken_on_after_the_login(
    ivr: Ivr,
) -> None:
    """The AMI link was down when the caller's CitizenReport went out: the caller waits
    in ``report``; the reconciliation after the next login reads the report back from
    the channel, files it and takes the call on. Heard before, it files nothing twice."""
    ivr.rig.session._handlers["UserEvent"].remove(ivr.taker._on_user_event)
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "4")]))  # nobody took it
    assert ivr.taker.taken == []
    await ivr.taker.reconcile()  # what the login hook runs
    await ivr.taker.idle()
    [taken] = ivr.taker.taken
    assert taken.incident == ivr.incident_of(m)
    assert ivr.rig.runtime.store.get(taken.incident).category == "emergencia_medica"
    assert ivr.redirects(m["Uniqueid"])["->"] == "vb-citizen,filed,1"
    await ivr.taker.reconcile()  # again: found filed, nothing twice
    await ivr.taker.idle()
    assert len(ivr.taker.taken) == 1
    assert len(ivr.rig.runtime.store.detail(taken.incident).reports) == 1


async def test_no_operator_to_meet_the_caller_means_no_empty_room(ivr: Ivr) -> None:
    """The centre's number, 0 for the operator, and no district: the shipped routing has
    no ``centre.operator``, so nobody could meet the caller in a room; the caller is not
    put in one (a goodbye), and the report waits for the operators."""
    m = await ivr.report(await ivr.call(CENTRE, [(1.0, "0")]))
    assert (m["Status"], m["District"]) == ("OPERATOR", "")
    incident_id = ivr.incident_of(m)
    assert ivr.rig.runtime.store.get(incident_id).district is None
    assert ivr.redirects(m["Uniqueid"])["VB_BRIDGE"] == "0"
    assert ivr.rig.legs(incident_id) == []


async def test_assaults_are_one_person_s_each_caller_an_incident_of_its_own(ivr: Ivr) -> None:
    first = ivr.incident_of(await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "1")])))
    second = ivr.incident_of(await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "1")])))
    assert first != second  # no district-wide join for an assault


async def test_a_call_filed_but_not_taken_on_is_taken_on_after_the_login(ivr: Ivr) -> None:
    """A replica filed the report and lost the link before its Redirect: the caller
    still waits in ``report``; the reconciliation after the login finds the report
    filed and takes the call on from its incident."""
    ivr.rig.session._handlers["UserEvent"].remove(ivr.taker._on_user_event)
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    fields = {k: m.get(k) for k in ("Uniqueid", "Choice", "District", "Line", "Caller", "Status")}
    report = parse_report(fields)
    assert report is not None
    filed = await asyncio.to_thread(CitizenCalls(ivr.rig.runtime).file, report)  # then lost
    assert ivr.redirects(m["Uniqueid"]) == {}
    await ivr.taker.reconcile()
    await ivr.taker.idle()
    [taken] = ivr.taker.taken
    assert taken.incident == filed.incident
    said = ivr.redirects(m["Uniqueid"])
    assert (said["VB_ROOM"], said["->"]) == (filed.incident, "vb-citizen,filed,1")
    assert len(ivr.rig.runtime.store.detail(filed.incident).reports) == 1
    operators = [g for g in ivr.rig.legs(filed.incident) if g.role is ContactRole.OPERATOR]
    assert len(operators) == 1  # called once, by the first filing's dispatch


@pytest.mark.parametrize("district", ["44", "00", "1", "²²", "2a"])
def test_a_report_with_a_district_code_that_is_none_of_lima_s_is_ignored(district: str) -> None:
    fields = {
        "Uniqueid": "1.2",
        "Choice": "3",
        "District": district,
        "Line": "",
        "Status": "CHOSEN",
    }
    assert parse_report(fields) is None
    assert parse_report({**fields, "District": "07"}) == CallReport(
        uniqueid="1.2",
        choice="3",
        category="incendio",
        district="150107",
        line="",
        caller=None,
        status=CallStatus.CHOSEN,
    )


@pytest.mark.parametrize("began", ["", "17649", "1764900000.5", "1764900000x", "٣٣٣٣٣٣٣٣٣٣"])
def test_a_call_s_start_is_unix_seconds_or_not_said(began: str) -> None:
    """``Began`` (when the IVR took the call): Unix seconds, or absent (a dialplan
    revision before it); anything else is not what our dialplan sends."""
    fields = {"Uniqueid": "1.2", "Choice": "3", "District": "07", "Line": "", "Status": "CHOSEN"}
    assert parse_report(fields) is not None
    found = parse_report({**fields, "Began": began})
    if began:
        assert found is None
    else:
        assert found is not None
        assert found.began is None
    said = parse_report({**fields, "Began": "1764900000"})
    assert said is not None
    assert said.began == datetime(2025, 12, 5, 2, 0, tzinfo=UTC)


async def test_answering_runs_from_when_the_ivr_took_the_call(ivr: Ivr, clock: FakeClock) -> None:
    """The dialplan says when the IVR took the call (``${EPOCH}``, Asterisk's clock): the
    report's contact began then, and the answering interval runs from it to the
    incident's registration; a start over an hour back is a clock's error, not kept."""
    began = datetime.now(UTC)
    clock.current = began + timedelta(seconds=20)  # voicebridge files it 20 s later
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "3")]))
    assert m["Began"].isdigit()
    detail = ivr.rig.runtime.store.detail(ivr.incident_of(m))
    [report] = detail.reports
    assert report.began_at is not None
    assert abs((report.began_at - began).total_seconds()) <= 1.0  # to the second
    [answering] = measure(phases(detail), BY_CODE["answering"])
    assert answering.seconds is not None
    assert 19.0 <= answering.seconds <= 21.0
    clock.current = began + timedelta(hours=2)
    m = await ivr.report(await ivr.call(MIRAFLORES, [(1.0, "4")]))
    [late] = ivr.rig.runtime.store.detail(ivr.incident_of(m)).reports
    assert late.began_at is None
