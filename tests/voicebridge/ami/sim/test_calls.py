"""The fake Asterisk's calls: Originate into a room or the ack prompt (02a, 02b), the
failure modes (03), the citizen IVR (05), and the behaviours a test can script.

The per-channel event sequences are literal, copied from the recordings with
OriginateResponse taken out (its place varies, README)."""

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from tests.voicebridge.ami.sim.test_session import (
    Client,
    by_channel,
    check_shapes,
    connect,
    running,
)
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk

SPEED = 0.05
"""1 s of the lab is 50 ms here, not the other tests' 10 ms: these compare orders of
events a few lab seconds apart (a key at 1.2 s, a Read's end at 5 s, a join at 3.1 s),
which a busy machine's pause of some tens of milliseconds must not swap."""


@pytest.fixture
async def sim() -> AsyncIterator[FakeAsterisk]:
    async with running(speed=SPEED) as fake:
        yield fake


EPR_CID = ("CallerID", '"EPR Unit 14" <114>')


def originate_ack(client: Client, dial: str, room: str, *extra: tuple[str, str]) -> str:
    return client.send(
        "Originate",
        ("Channel", dial),
        ("Context", "ack-prompt"),
        ("Exten", "s"),
        ("Priority", "1"),
        *extra,
        ("Variable", f"CONFROOM={room}"),
        ("Async", "true"),
    )


# ---------------------------------------------------------------- 02a


OPERATOR_1 = [
    "Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
    "DialBegin", "Newstate", "DialEnd", "BridgeEnter", "VarSet", "ConfbridgeJoin",
    "ConfbridgeLeave", "VarSet", "BridgeLeave", "VarSet", "Hangup",
]  # fmt: skip
OPERATOR_2 = [
    "Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
    "Newstate", "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup",
]  # fmt: skip
RESPONDER_1 = [
    "Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
    "DialBegin", "Newstate", "DialEnd", "Newexten", "Newexten", "Newexten", "VarSet",
    "DTMFBegin", "DTMFEnd", "VarSet", "VarSet", "Newexten", "UserEvent", "Newexten",
    "Newexten", "BridgeEnter", "VarSet", "ConfbridgeJoin", "VarSet", "VarSet",
    "ConfbridgeLeave", "VarSet", "BridgeLeave", "VarSet", "SoftHangupRequest", "Hangup",
]  # fmt: skip
RESPONDER_2 = [
    "Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
    "Newstate", "Newexten", "Newexten", "Newexten", "HangupRequest", "SoftHangupRequest",
    "Hangup",
]  # fmt: skip


async def test_02a_operator_and_acknowledging_responder_meet_in_the_room(
    sim: FakeAsterisk, client: Client
) -> None:
    op_id = client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "ConfBridge"),
        ("Data", "9001,default_bridge,default_user"),
        ("CallerID", '"District 07 Operator" <7007>'),
        ("Timeout", "30000"),
        ("Variable", "ROLE=operator"),
        ("Async", "true"),
        action_id="orig-operator-9001",
    )
    epr_id = originate_ack(
        client,
        "Local/s@epr-ack-sim",
        "9001",
        ("CallerID", '"EPR Unit 12" <112>'),
        ("Timeout", "30000"),
        ("ChannelId", "epr12-call-0001"),
        ("OtherChannelId", "epr12-call-0001-far"),
    )
    op, epr = "Local/s@operator-sim-00000000", "Local/s@epr-ack-sim-00000001"
    op_join = await client.event("ConfbridgeJoin", Channel=f"{op};1")
    epr_join = client.events("ConfbridgeJoin")[0]
    assert epr_join["Channel"] == f"{epr};1"  # the operator heard "only person" first
    log = client.log
    for action_id, base in ((op_id, op), (epr_id, epr)):  # each Response before its events
        reply = await client.response(action_id)
        assert reply["Message"] == "Originate successfully queued"
        first = next(m for m in log if m.event and base in m.get("Channel"))
        assert log.index(reply) < log.index(first)
    new = {m["Channel"]: m for m in client.events("Newchannel")}
    assert (new[f"{op};1"]["ChannelState"], new[f"{op};1"]["ChannelStateDesc"]) == ("0", "Down")
    assert (new[f"{op};2"]["ChannelState"], new[f"{op};2"]["ChannelStateDesc"]) == ("4", "Ring")
    assert (new[f"{epr};1"]["Uniqueid"], new[f"{epr};1"]["Linkedid"]) == ("epr12-call-0001",) * 2
    assert new[f"{epr};2"]["Uniqueid"] == "epr12-call-0001-far"
    assert new[f"{epr};2"]["Linkedid"] == "epr12-call-0001"
    op_uid = new[f"{op};1"]["Uniqueid"]
    assert re.fullmatch(r"\d{10}\.\d+", op_uid)  # <epoch>.<counter>, no SystemName
    assert new[f"{op};2"]["Linkedid"] == op_uid
    varsets = {(m["Channel"], m["Variable"], m["Value"]) for m in client.events("VarSet")}
    assert {(f"{op};1", "ROLE", "operator"), (f"{op};2", "ROLE", "operator")} <= varsets
    assert {(f"{epr};1", "CONFROOM", "9001"), (f"{epr};2", "CONFROOM", "9001")} <= varsets

    responses = {m["ActionID"]: m for m in client.events("OriginateResponse")}
    assert list(responses["orig-operator-9001"].fields.items())[3:] == [
        ("Response", "Success"),
        ("Channel", f"{op};1"),
        ("Application", "ConfBridge"),
        ("Data", "9001,default_bridge,default_user"),
        ("Reason", "4"),
        ("Uniqueid", op_uid),
        ("CallerIDNum", "7007"),
        ("CallerIDName", "District 07 Operator"),
    ]
    assert list(responses[epr_id].fields.items())[3:] == [
        ("Response", "Success"),
        ("Channel", f"{epr};1"),
        ("Context", "ack-prompt"),
        ("Exten", "s"),
        ("Reason", "4"),
        ("Uniqueid", "epr12-call-0001"),
        ("CallerIDNum", "112"),
        ("CallerIDName", "EPR Unit 12"),
    ]
    begin, end = client.events("DTMFBegin")[0], client.events("DTMFEnd")[0]
    assert (begin["Channel"], begin["Digit"], begin["Direction"]) == (f"{epr};1", "1", "Received")
    assert (end["Digit"], end["DurationMs"], end["Direction"]) == ("1", "100", "Received")
    ack = client.events("UserEvent")[0]
    assert [ack["Channel"], ack["Context"], ack["Priority"]] == [f"{epr};1", "ack-prompt", "4"]
    assert [ack["UserEvent"], ack["Digit"], ack["ReadStatus"], ack["Room"]] == [
        "ResponderAck",
        "1",
        "OK",
        "9001",
    ]
    counts = [
        (m.event, m["BridgeNumChannels"])
        for m in client.log
        if m.event in ("BridgeCreate", "ConfbridgeStart", "BridgeEnter", "ConfbridgeJoin")
    ]
    assert counts == [
        ("BridgeCreate", "0"),
        ("ConfbridgeStart", "1"),
        ("BridgeEnter", "2"),
        ("ConfbridgeJoin", "2"),
        ("BridgeEnter", "3"),
        ("ConfbridgeJoin", "3"),
    ]
    assert (op_join["Admin"], op_join["Muted"]) == ("No", "No")
    assert sim.rooms == {"9001": {op_uid, "epr12-call-0001"}}
    assert sim.channels[op_uid].room == "9001"
    assert sim.channels["epr12-call-0001"].variables["CONFROOM"] == "9001"

    reply = await client.act("Hangup", ("Channel", f"{op};1"), ("Cause", "16"))
    assert reply["Message"] == "Channel Hungup"
    assert client.log.index(reply) < client.log.index(client.events("ConfbridgeLeave")[0])
    await client.act("Hangup", ("Channel", f"{epr};1"), ("Cause", "16"))
    await client.event("Hangup", Channel=f"{epr};2")
    chans = by_channel(client.log)
    assert chans == {
        f"{op};1": OPERATOR_1,
        f"{op};2": OPERATOR_2,
        f"{epr};1": RESPONDER_1,
        f"{epr};2": RESPONDER_2,
    }
    assert {(m["Channel"], m["Cause"], m["Cause-txt"]) for m in client.events("Hangup")} == {
        (f"{c};{h}", "16", "Normal Clearing") for c in (op, epr) for h in (1, 2)
    }
    end_room, destroy = client.events("ConfbridgeEnd")[0], client.events("BridgeDestroy")[0]
    assert (end_room["BridgeNumChannels"], destroy["BridgeNumChannels"]) == ("1", "0")
    assert client.log.index(end_room) < client.log.index(destroy)
    assert sim.channels == {}
    assert sim.rooms == {}
    check_shapes(client.log)


async def test_the_first_default_profile_user_joins_after_the_only_person_prompt(
    sim: FakeAsterisk, client: Client
) -> None:
    """02a: 3.1 s after answer; the quiet profile joins at once (04)."""
    loop = asyncio.get_running_loop()
    for profile, room in (("default_user", "9101"), ("quiet_user", "9102")):
        client.send(
            "Originate",
            ("Channel", "Local/s@operator-sim"),
            ("Application", "ConfBridge"),
            ("Data", f"{room},default_bridge,{profile}"),
            ("Async", "true"),
        )
        start = loop.time()
        await client.event("ConfbridgeJoin", Conference=room)
        waited = loop.time() - start
        if profile == "default_user":
            assert waited >= 3.1 * SPEED
        else:
            assert waited < 3.1 * SPEED


# ---------------------------------------------------------------- 02b


DECLINE_1 = [
    "Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
    "DialBegin", "Newstate", "DialEnd", "Newexten", "Newexten", "Newexten", "VarSet",
    "DTMFBegin", "DTMFEnd", "VarSet", "VarSet", "Newexten", "UserEvent", "Newexten",
    "Newexten", "SoftHangupRequest", "Hangup",
]  # fmt: skip
DECLINE_2 = [
    "Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
    "Newstate", "Newexten", "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup",
]  # fmt: skip
SILENT_1 = [
    "Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
    "DialBegin", "Newstate", "DialEnd", "Newexten", "Newexten", "Newexten", "VarSet",
    "VarSet", "VarSet", "Newexten", "UserEvent", "Newexten", "Newexten",
    "SoftHangupRequest", "Hangup",
]  # fmt: skip
SILENT_2 = [
    "Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
    "Newstate", "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup",
]  # fmt: skip


async def test_02b_decline_and_read_timeout(client: Client) -> None:
    """2 declines (ReadStatus OK, hangs up); no key: ``Digit: `` empty, TIMEOUT after
    the 5 s Read timeout."""
    loop = asyncio.get_running_loop()
    cid = ("CallerID", '"EPR Unit 13" <113>')
    originate_ack(client, "Local/s@epr-decline-sim", "9002", cid)
    originate_ack(client, "Local/s@epr-silent-sim", "9002", cid)
    answered = loop.time()
    decline = await client.event("UserEvent", Digit="2")
    assert (decline["ReadStatus"], decline["Room"]) == ("OK", "9002")
    timeout = await client.event("UserEvent", ReadStatus="TIMEOUT")
    assert loop.time() - answered >= 5 * SPEED
    assert (timeout["Digit"], timeout["Room"]) == ("", "9002")
    assert b"Digit: \r\nReadStatus: TIMEOUT\r\nRoom: 9002\r\n" in bytes(client.raw)
    await client.event("Hangup", Channel="Local/s@epr-silent-sim-00000001;2")
    assert by_channel(client.log) == {
        "Local/s@epr-decline-sim-00000000;1": DECLINE_1,
        "Local/s@epr-decline-sim-00000000;2": DECLINE_2,
        "Local/s@epr-silent-sim-00000001;1": SILENT_1,
        "Local/s@epr-silent-sim-00000001;2": SILENT_2,
    }
    check_shapes(client.log)


# ---------------------------------------------------------------- 03


FAILURES = {
    "Local/s@epr-noanswer-sim": (
        3,
        [("1", 19), ("2", 19)],
        ["Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
         "DialBegin", "Newstate", "DialState", "Hangup"],
        ["Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
         "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup"],
    ),
    "Local/s@epr-busy-sim": (
        5,
        [("1", 0), ("2", 17)],
        ["Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
         "DialBegin", "DialEnd", "Hangup"],
        ["Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
         "Newstate", "HangupRequest", "SoftHangupRequest", "Hangup"],
    ),
    "Local/s@epr-congestion-sim": (
        8,
        [("1", 0), ("2", 34)],
        ["Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
         "DialBegin", "DialEnd", "Hangup"],
        ["Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
         "Newstate", "HangupRequest", "SoftHangupRequest", "Hangup"],
    ),
    "Local/s@epr-reject-sim": (
        0,
        [("1", 21), ("2", 21)],
        ["Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "LocalBridge",
         "DialBegin", "HangupRequest", "DialEnd", "Hangup"],
        ["Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
         "SoftHangupRequest", "Hangup"],
    ),
    "Local/s@no-such-context": (
        0,
        [("1", 0), ("2", 0)],
        ["Newchannel", "Newexten", "VarSet", "NewCallerid", "NewConnectedLine", "Hangup"],
        ["Newchannel", "VarSet", "NewCallerid", "NewConnectedLine", "Hangup"],
    ),
}  # fmt: skip
"""03: dial string -> Reason, (half, Hangup Cause), the two halves' event names."""
CAUSE_TEXT = {
    0: "Unknown",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}


@pytest.mark.parametrize("dial", list(FAILURES))
async def test_03_originate_failures(sim: FakeAsterisk, client: Client, dial: str) -> None:
    reason, causes, seq1, seq2 = FAILURES[dial]
    sim.script("Local/s@no-such-context", Endpoint(behaviour=Behaviour.NO_SUCH_CONTEXT))
    loop = asyncio.get_running_loop()
    start = loop.time()
    action_id = originate_ack(client, dial, "9003", EPR_CID, ("Timeout", "5000"))
    assert (await client.response(action_id))["Message"] == "Originate successfully queued"
    failed = await client.event("OriginateResponse")
    if "noanswer" in dial:
        assert loop.time() - start >= 5 * SPEED
    assert list(failed.fields.items())[1:] == [
        ("Privilege", "call,all"),
        ("ActionID", action_id),
        ("Response", "Failure"),
        ("Channel", dial),
        ("Context", "ack-prompt"),
        ("Exten", "s"),
        ("Reason", str(reason)),
        ("Uniqueid", "<unknown>"),
        ("CallerIDNum", "114"),
        ("CallerIDName", "EPR Unit 14"),
    ]
    base = f"{dial}-00000000"
    for half, cause in causes:
        hangup = await client.event("Hangup", anywhere=True, Channel=f"{base};{half}")
        assert (hangup["Cause"], hangup["Cause-txt"]) == (str(cause), CAUSE_TEXT[cause])
    assert by_channel(client.log) == {f"{base};1": seq1, f"{base};2": seq2}
    assert sim.channels == {}
    check_shapes(client.log)


async def test_an_unloaded_technology_fails_at_once_without_channel_events(
    client: Client,
) -> None:
    """03 badtech: Failure, Reason 0, right after the Response, no channel event."""
    action_id = originate_ack(client, "Skinny/responder-112", "9003", EPR_CID)
    failed = await client.event("OriginateResponse")
    assert [failed["Response"], failed["Reason"], failed["Channel"]] == [
        "Failure",
        "0",
        "Skinny/responder-112",
    ]
    assert client.log.index(await client.response(action_id)) < client.log.index(failed)
    await client.act("Ping")
    assert [m.event for m in client.events() if m.event != "SuccessfulAuth"] == [
        "FullyBooted",
        "OriginateResponse",
    ]


async def test_synchronous_originate_blocks_and_sends_no_originateresponse(
    client: Client,
) -> None:
    """03: failure is ``Originate failed`` after the Timeout, success ``Originate
    successfully queued``; the session's events come after the Response."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    failed = await client.act(
        "Originate",
        ("Channel", "Local/s@epr-noanswer-sim"),
        ("Context", "ack-prompt"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", "3000"),
    )
    assert loop.time() - start >= 3 * SPEED
    assert (failed.response, failed["Message"]) == ("Error", "Originate failed")
    first = next(m for m in client.log if m.event == "Newchannel")
    assert client.log.index(failed) < client.log.index(first)
    ok = await client.act(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "Wait"),
        ("Data", "2"),
        ("Timeout", "5000"),
    )
    assert (ok.response, ok["Message"]) == ("Success", "Originate successfully queued")
    base = "Local/s@operator-sim-00000001"
    hangup = await client.event("Hangup", Channel=f"{base};2")
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("0", "Unknown")  # Wait(2) ended
    assert client.events("OriginateResponse") == []
    assert by_channel(client.log)[f"{base};1"] == [
        "Newchannel", "Newexten", "LocalBridge", "DialBegin", "Newstate", "DialEnd", "Hangup",
    ]  # fmt: skip
    check_shapes(client.log)


async def test_originate_validation(client: Client) -> None:
    """03: no Channel; plus Asterisk's other checks."""
    for headers, message in [
        ([("Context", "ack-prompt"), ("Exten", "s")], "Channel not specified"),
        ([("Channel", "nonsense")], "Invalid channel"),
        ([("Channel", "Local/s@operator-sim"), ("Timeout", "soon")], "Invalid timeout"),
    ]:
        reply = await client.act("Originate", *headers, ("Async", "true"))
        assert (reply.response, reply["Message"]) == ("Error", message)


async def test_originate_without_destination_is_accepted_and_the_call_stays(
    sim: FakeAsterisk, client: Client
) -> None:
    """03 orig-nodest: Reason 4, empty Context/Exten; ;1 runs the far end's context
    from priority 2 and stays up until hung up (SoftHangupRequest of its own first)."""
    client.send("Originate", ("Channel", "Local/s@operator-sim"), ("Async", "true"))
    answered = await client.event("OriginateResponse")
    assert [answered["Reason"], answered["Context"], answered["Exten"]] == ["4", "", ""]
    assert (answered["CallerIDNum"], answered["CallerIDName"]) == ("<unknown>", "<unknown>")
    assert b"Context: \r\nExten: \r\nReason: 4\r\n" in bytes(client.raw)
    await client.event("Newexten", Channel="Local/s@operator-sim-00000000;1", Application="Wait")
    assert len(sim.channels) == 2
    await client.act("Hangup", ("Channel", "Local/s@operator-sim-00000000;1"))
    await client.event("Hangup", Channel="Local/s@operator-sim-00000000;2")
    assert by_channel(client.log)["Local/s@operator-sim-00000000;1"] == [
        "Newchannel", "Newexten", "LocalBridge", "DialBegin", "Newstate", "DialEnd",
        "Newexten", "Newexten", "SoftHangupRequest", "Hangup",
    ]  # fmt: skip


async def test_callerid_name_in_utf8_arrives_intact(client: Client) -> None:
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "Wait"),
        ("Data", "60"),
        ("CallerID", '"Peña Núñez" <5551234>'),
        ("Async", "true"),
    )
    cid = await client.event("NewCallerid")
    assert (cid["CallerIDName"], cid["CallerIDNum"]) == ("Peña Núñez", "5551234")
    assert "CallerIDName: Peña Núñez\r\n".encode() in bytes(client.raw)


async def test_a_comma_splits_a_variable_header(sim: FakeAsterisk, client: Client) -> None:
    client.send_raw(
        b"Action: Originate\r\nActionID: o-1\r\nChannel: Local/s@operator-sim\r\n"
        b"Application: Wait\r\nData: 60\r\nVariable: A=1,B=2\r\nAsync: true\r\n\r\n"
    )
    await client.event("Newstate")
    (uid,) = [u for u, c in sim.channels.items() if c.name.endswith(";1")]
    assert sim.channels[uid].variables == {"A": "1", "B": "2"}


# ---------------------------------------------------------------- 05


CITIZEN_1 = [
    "Newchannel", "Newexten", "NewCallerid", "NewConnectedLine", "LocalBridge", "DialBegin",
    "Newstate", "DialEnd", "Newexten", "Newexten", "Newexten", "VarSet", "DTMFBegin",
    "DTMFEnd", "VarSet", "VarSet", "Newexten", "UserEvent", "Newexten", "SoftHangupRequest",
    "Hangup",
]  # fmt: skip
CITIZEN_2 = [
    "Newchannel", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten", "Newstate",
    "Newexten", "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup",
]  # fmt: skip


async def test_05_citizen_ivr(client: Client) -> None:
    """DTMF 3 gives IncidentReport Type 3 with the caller's number; a silent caller
    ``Type: `` after the Read timeout plus the beep."""
    loop = asyncio.get_running_loop()
    for sim_ctx, number in (("citizen-sim-3", "5551234"), ("citizen-sim-silent", "5559876")):
        client.send(
            "Originate",
            ("Channel", f"Local/s@{sim_ctx}"),
            ("Context", "citizen-ivr"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("CallerID", f'"Citizen" <{number}>'),
            ("Async", "true"),
        )
        start = loop.time()
        report = await client.event("UserEvent", CallerID=number)
        assert report["UserEvent"] == "IncidentReport"
        assert report["Type"] == ("3" if number == "5551234" else "")
        if not report["Type"]:
            assert loop.time() - start >= 5.44 * SPEED
    await client.event("Hangup", Channel="Local/s@citizen-sim-silent-00000001;2")
    chans = by_channel(client.log)
    assert chans["Local/s@citizen-sim-3-00000000;1"] == CITIZEN_1
    assert chans["Local/s@citizen-sim-3-00000000;2"] == CITIZEN_2
    assert b"Type: \r\nCallerID: 5559876\r\n" in bytes(client.raw)
    check_shapes(client.log)


# ---------------------------------------------------------------- scripted endpoints


@pytest.mark.parametrize(
    ("behaviour", "reason", "status", "cause"),
    [
        (Behaviour.NO_ANSWER, 3, "NOANSWER", 19),
        (Behaviour.BUSY, 5, "BUSY", 17),
        (Behaviour.CONGESTION, 8, "CONGESTION", 34),
        (Behaviour.REJECT, 0, "NOANSWER", 21),
    ],
)
async def test_a_pjsip_line_fails_with_the_same_reasons_and_causes(
    sim: FakeAsterisk, client: Client, behaviour: Behaviour, reason: int, status: str, cause: int
) -> None:
    sim.script("PJSIP/112@epr-trunk", Endpoint(behaviour=behaviour))
    originate_ack(client, "PJSIP/112@epr-trunk", "9003", EPR_CID, ("Timeout", "1000"))
    failed = await client.event("OriginateResponse")
    assert (failed["Reason"], failed["Channel"]) == (str(reason), "PJSIP/112@epr-trunk")
    end = await client.event("DialEnd", anywhere=True)
    hangup = await client.event("Hangup", anywhere=True)
    assert end["DestChannel"] == hangup["Channel"] == "PJSIP/epr-trunk-00000000"
    assert (end["DialStatus"], hangup["Cause"]) == (status, str(cause))
    check_shapes(client.log)


async def test_a_pjsip_responder_acknowledges(sim: FakeAsterisk, client: Client) -> None:
    """One channel: DTMF on it, the ack prompt, the room, all on that channel."""
    sim.script("PJSIP/112@epr-trunk", Endpoint(behaviour=Behaviour.PRESS, after=0.5))
    originate_ack(client, "PJSIP/112@epr-trunk", "9010", EPR_CID, ("ChannelId", "leg-1"))
    join = await client.event("ConfbridgeJoin")
    assert (join["Channel"], join["Uniqueid"]) == ("PJSIP/epr-trunk-00000000", "leg-1")
    assert client.events("DTMFEnd")[0]["Channel"] == "PJSIP/epr-trunk-00000000"
    assert sim.rooms == {"9010": {"leg-1"}}
    check_shapes(client.log)


async def test_the_default_endpoint_and_script_overrides() -> None:
    async with running(speed=SPEED, default=Endpoint(behaviour=Behaviour.BUSY)) as sim:
        await _default_and_overrides(sim)


async def _default_and_overrides(sim: FakeAsterisk) -> None:
    c = await connect(sim)
    c.send("Originate", ("Channel", "Local/100@phones"), ("Application", "Wait"), ("Async", "true"))
    assert (await c.event("OriginateResponse"))["Reason"] == "5"
    sim.script("Local/100@phones", Endpoint(behaviour=Behaviour.ANSWER))
    sim.script("Local/s@operator-sim", Endpoint(behaviour=Behaviour.CONGESTION))
    c.send("Originate", ("Channel", "Local/100@phones"), ("Application", "Wait"), ("Async", "true"))
    assert (await c.event("OriginateResponse"))["Reason"] == "4"
    c.send(
        "Originate", ("Channel", "Local/s@operator-sim"), ("Application", "Wait"), ("Async", "true")
    )
    assert (await c.event("OriginateResponse"))["Reason"] == "8"
    await c.close()


async def test_the_far_end_hangs_up_after_answer(sim: FakeAsterisk, client: Client) -> None:
    sim.script("Local/s@op-gone", Endpoint(behaviour=Behaviour.ANSWER, hangup_after=1.0))
    client.send(
        "Originate",
        ("Channel", "Local/s@op-gone"),
        ("Application", "ConfBridge"),
        ("Data", "9020,default_bridge,quiet_user"),
        ("Async", "true"),
    )
    await client.event("ConfbridgeJoin")
    leave = await client.event("ConfbridgeLeave")
    await client.event("Hangup", Channel="Local/s@op-gone-00000000;1")
    assert leave["Channel"] == "Local/s@op-gone-00000000;1"
    soft = client.events("SoftHangupRequest")[0]
    assert soft["Channel"] == "Local/s@op-gone-00000000;2"
    assert sim.rooms == {}
    assert sim.channels == {}
    check_shapes(client.log)


async def test_nine_replays_the_prompt_at_most_three_reads(
    sim: FakeAsterisk, client: Client
) -> None:
    """vb-ack (its built-in copy, dialplans/templates): 9 plays the message again, at most
    three plays; the lab's ack-prompt has no repeat (one Read, then Hangup)."""
    sim.script("Local/s@nines", Endpoint(behaviour=Behaviour.PRESS, digit="999", after=0.5))
    client.send(
        "Originate",
        ("Channel", "Local/s@nines"),
        ("Context", "vb-ack"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Variable", "VB_ROOM=LIM-2026-000030"),
        ("Async", "true"),
    )
    await client.event("Hangup", Channel="Local/s@nines-00000000;2")
    acks = [(m["Digit"], m["ReadStatus"]) for m in client.events("UserEvent")]
    assert acks == [("9", "OK")] * 3
    reads = [m for m in client.events("Newexten") if m["Application"] == "Read"]
    assert len(reads) == 3
    originate_ack(client, "Local/s@nines", "9030")
    await client.event("Hangup", Channel="Local/s@nines-00000001;2")
    assert [m["Digit"] for m in client.events("UserEvent")] == ["9"] * 4


async def test_voicebridge_ack_reports_a_hangup_during_the_prompt(
    sim: FakeAsterisk, client: Client
) -> None:
    """vb-ack's ``h`` extension: ``ResponderAck`` with ``ReadStatus: HANGUP``."""
    sim.script("Local/s@gone-sim", Endpoint(behaviour=Behaviour.SILENT, hangup_after=1.0))
    client.send(
        "Originate",
        ("Channel", "Local/s@gone-sim"),
        ("Context", "vb-ack"),
        ("Exten", "s"),
        ("Variable", "VB_ROOM=LIM-2026-000123"),
        ("Async", "true"),
    )
    ack = await client.event("UserEvent")
    assert [ack["Digit"], ack["ReadStatus"], ack["Room"]] == ["", "HANGUP", "LIM-2026-000123"]
    await client.event("Hangup", Channel="Local/s@gone-sim-00000000;1")
    check_shapes(client.log)


async def test_room_contexts_join_the_room(sim: FakeAsterisk, client: Client) -> None:
    """``vb-room`` (VB_ROOM, quiet), ``conf`` (exten = room, the lab's default_user)."""
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Context", "vb-room"),
        ("Exten", "s"),
        ("Variable", "VB_ROOM=LIM-2026-000042"),
        ("ChannelId", "op-1"),
        ("Async", "true"),
    )
    client.send(
        "Originate",
        ("Channel", "Local/s@epr-silent-sim"),
        ("Context", "conf"),
        ("Exten", "9040"),
        ("ChannelId", "epr-1"),
        ("Async", "true"),
    )
    await client.event("ConfbridgeJoin", Conference="LIM-2026-000042")
    await client.event("ConfbridgeJoin", Conference="9040")
    assert sim.rooms == {"LIM-2026-000042": {"op-1"}, "9040": {"epr-1"}}
    assert sim.channels["op-1"].context == "vb-room"
    check_shapes(client.log)
