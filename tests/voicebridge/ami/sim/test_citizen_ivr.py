"""The citizen IVR (``vb-citizen``, as ``dialplans/templates`` render it with the routing
file's numbers) run by the fake Asterisk for scripted callers: what each caller's keys
make of the report that leaves in ``UserEvent(CitizenReport)``, and what never does."""

import time
from collections.abc import AsyncIterator

import pytest

from dialplans.render import CitizenLine
from tests.voicebridge.ami.sim.test_session import Client, check_shapes, logged_in, running
from voicebridge.ami.codec import Message
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.ami.sim.far import citizen_call

LINES = (
    CitizenLine(number="018022000", district="22"),  # the central of Miraflores
    CitizenLine(number="018990000"),  # the centre's: every district, the code asked
)
CALLER_ID = '"Vecino, Miraflores" <987-654-321>'
SPEED = 0.05
"""1 s of the lab is 50 ms here: a caller's keys come a second or two apart against the
menus' 6 s waits, a margin a busy machine's pause must not eat (at 10 ms a second it was
under 50 ms)."""


@pytest.fixture
async def sim() -> AsyncIterator[FakeAsterisk]:
    async with running(citizen_lines=LINES, speed=SPEED) as fake:
        yield fake


@pytest.fixture
async def client(sim: FakeAsterisk) -> AsyncIterator[Client]:
    async with logged_in(sim) as c:
        yield c


def call(
    sim: FakeAsterisk,
    client: Client,
    dialled: str,
    keys: list[tuple[float, str]],
    *,
    name: str,
    hangup_after: float | None = None,
    caller_id: str = CALLER_ID,
) -> None:
    """A caller who dials ``dialled`` and presses each of ``keys`` (seconds after the
    previous press, digits) on the IVR's channel."""
    (after, digit), *more = keys or [(3600.0, "")]
    behaviour = Behaviour.PRESS if keys else Behaviour.SILENT
    sim.script(
        f"Local/s@{name}",
        Endpoint(
            behaviour=behaviour,
            digit=digit,
            after=after,
            more=tuple(more),
            hangup_after=hangup_after,
        ),
    )
    client.send("Originate", *citizen_call(dialled, caller_id, dial=f"Local/s@{name}"))


async def report(client: Client, name: str) -> Message:
    """The CitizenReport of the caller ``name`` (its IVR leg is ``Local/s@<name>-N;1``)."""
    return await client.wait_for(
        lambda m: (
            m.event == "UserEvent"
            and m.get("UserEvent") == "CitizenReport"
            and m.get("Channel", "").startswith(f"Local/s@{name}-")
        ),
        10.0,
    )


def said(m: Message) -> dict[str, str]:
    return {k: m[k] for k in ("Choice", "District", "Line", "Caller", "Status")}


async def test_a_central_s_number_knows_its_district_and_one_key_reports(
    sim: FakeAsterisk, client: Client
) -> None:
    taken = int(time.time())
    call(sim, client, "018022000", [(1.0, "3")], name="fire")
    m = await report(client, "fire")
    assert taken <= int(m["Began"]) <= time.time()  # ${EPOCH}: the wall clock's seconds
    assert said(m) == {
        "Choice": "3",
        "District": "22",
        "Line": "018022000",
        "Caller": "987654321",  # FILTERed to digits: no comma, no name, no line break
        "Status": "CHOSEN",
    }
    assert m["Uniqueid"]
    assert m["Channel"].endswith(";1")
    assert m["Context"] == "vb-citizen"
    # the other events as recorded (a UserEvent's own headers are the dialplan's)
    check_shapes([e for e in client.log if e.event != "UserEvent"])


async def test_a_shared_number_asks_for_the_district_and_reads_it_back(
    sim: FakeAsterisk, client: Client
) -> None:
    # 1 (robo o asalto); 44: no such district; 22, then 2 (correct it); 22, then 1
    keys = [(1.0, "1"), (1.0, "44"), (1.0, "22"), (1.0, "2"), (1.0, "22"), (1.0, "1")]
    call(sim, client, "018990000", keys, name="robbery")
    m = await report(client, "robbery")
    assert said(m) == {
        "Choice": "1",
        "District": "22",
        "Line": "018990000",
        "Caller": "987654321",
        "Status": "CHOSEN",
    }


async def test_the_second_menu_makes_a_two_digit_choice(sim: FakeAsterisk, client: Client) -> None:
    call(sim, client, "018022000", [(1.0, "6"), (1.0, "2")], name="power")
    assert said(await report(client, "power"))["Choice"] == "62"


@pytest.mark.parametrize(
    ("keys", "what"),
    [
        ([], "a silent caller"),
        ([(1.0, "7"), (1.0, "9"), (1.0, "*")], "three invalid keys"),
        ([(1.0, "0")], "0, the operator now"),
    ],
)
async def test_silence_or_invalid_keys_three_times_go_to_the_operator(
    sim: FakeAsterisk, client: Client, keys: list[tuple[float, str]], what: str
) -> None:
    call(sim, client, "018022000", keys, name="lost")
    m = await report(client, "lost")
    assert said(m) == {
        "Choice": "",
        "District": "22",
        "Line": "018022000",
        "Caller": "987654321",
        "Status": "OPERATOR",
    }, what
    menus = [
        e
        for e in client.events("Newexten")
        if e.get("Context") == "vb-citizen-menu" and e.get("Application") == "Background"
    ]
    assert len(menus) == (1 if keys == [(1.0, "0")] else 3)  # three plays, then the operator


async def test_a_caller_who_hangs_up_after_choosing_still_leaves_a_report(
    sim: FakeAsterisk, client: Client
) -> None:
    # chose 5 (gas) on the shared number and hung up while asked for the district
    call(sim, client, "018990000", [(1.0, "5")], name="gas", hangup_after=3.0)
    m = await report(client, "gas")
    assert said(m) == {
        "Choice": "5",
        "District": "",
        "Line": "018990000",
        "Caller": "987654321",
        "Status": "HANGUP",
    }


async def test_a_caller_who_hangs_up_before_choosing_leaves_nothing(
    sim: FakeAsterisk, client: Client
) -> None:
    call(sim, client, "018022000", [], name="gone", hangup_after=2.0)
    await client.event("Hangup", Channel="Local/s@gone-00000000;1", within=10.0)
    assert not [e for e in client.events("UserEvent") if e["UserEvent"] == "CitizenReport"]


async def test_a_number_the_routing_file_does_not_list_asks_for_the_district(
    sim: FakeAsterisk, client: Client
) -> None:
    call(sim, client, "017777777", [(1.0, "4"), (1.0, "01"), (1.0, "1")], name="medical")
    m = await report(client, "medical")
    assert (m["Choice"], m["District"], m["Line"]) == ("4", "01", "017777777")


async def test_no_district_after_three_tries_still_reports_for_the_operator_to_ask(
    sim: FakeAsterisk, client: Client
) -> None:
    call(sim, client, "018990000", [(1.0, "2"), (1.0, "99")], name="crash")
    m = await report(client, "crash")
    assert (m["Choice"], m["District"], m["Status"]) == ("2", "", "CHOSEN")
    asked = [
        e
        for e in client.events("Newexten")
        if e.get("Application") == "Read" and "citizen-district" in e.get("AppData", "")
    ]
    assert len(asked) == 3


async def test_a_caller_played_over_ami_alone_by_the_originate_s_variables(
    client: Client,
) -> None:
    """``Local/s@vb-caller-sim`` presses ``VBSIM_KEYS`` (``voicebridge demo call``)."""
    client.send("Originate", *citizen_call("018990000", CALLER_ID, keys=["6", "3", "22", "1"]))
    m = await report(client, "vb-caller-sim")
    assert (m["Choice"], m["District"], m["Status"]) == ("63", "22", "CHOSEN")


async def test_the_welcome_plays_once_even_when_a_key_cuts_it() -> None:
    """Prompts that take time: a key pressed during the welcome (invalid) brings the
    menu back without the welcome."""
    async with running(citizen_lines=LINES, prompt_seconds=2.0) as sim, logged_in(sim) as c:
        call(sim, c, "018022000", [(1.0, "9"), (3.0, "3")], name="impatient")
        m = await report(c, "impatient")
        assert m["Choice"] == "3"
        played = [
            e["AppData"]
            for e in c.events("Newexten")
            if e.get("Application") == "Background" and e.get("Context") == "vb-citizen-menu"
        ]
        assert played[0].startswith("vb/citizen-welcome&vb/distrito-22&")
        assert played[1:]
        assert all("welcome" not in p for p in played[1:])


async def test_a_number_in_e164_form_reaches_the_ivr(sim: FakeAsterisk, client: Client) -> None:
    call(sim, client, "+5118022000", [(1.0, "4"), (1.0, "22"), (1.0, "1")], name="e164")
    m = await report(client, "e164")
    assert (m["Choice"], m["District"], m["Line"]) == ("4", "22", "5118022000")


async def test_a_caller_id_that_looks_like_fields_leaves_only_its_digits(
    sim: FakeAsterisk, client: Client
) -> None:
    """Whatever the trunk passes as the caller's number, only its digits (and +) leave
    the dialplan: a comma cannot add a field to the UserEvent."""
    call(
        sim,
        client,
        "018022000",
        [(1.0, "3")],
        name="forged",
        caller_id='"Status: OPERATOR" <987,Status: HANGUP;Choice: 0>',
    )
    m = await report(client, "forged")
    assert (m["Caller"], m["Status"], m["Choice"]) == ("9870", "CHOSEN", "3")
