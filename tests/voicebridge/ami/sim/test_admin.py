"""The fake Asterisk's administration actions: ConfBridge (04), channel lists and
Command (08a), configs and the dialplan (06), Redirect, variables and UserEvent."""

import re
from collections import Counter

from tests.voicebridge.ami.sim.test_session import (
    Client,
    by_channel,
    check_shapes,
    connect,
    names,
)
from voicebridge.ami.sim import FakeAsterisk


def into_room(client: Client, dial: str, room: str, cid: str) -> str:
    return client.send(
        "Originate",
        ("Channel", dial),
        ("Application", "ConfBridge"),
        ("Data", f"{room},default_bridge,quiet_user"),
        ("CallerID", cid),
        ("Async", "true"),
    )


# ---------------------------------------------------------------- 04

OPERATOR_04 = [
    "Newchannel", "Newexten", "NewCallerid", "NewConnectedLine", "LocalBridge", "DialBegin",
    "Newstate", "DialEnd", "ConfbridgeJoin", "BridgeEnter", "VarSet", "VarSet", "VarSet",
    "ConfbridgeLeave", "BridgeLeave", "Hangup",
]  # fmt: skip
RESPONDER_04 = [
    "Newchannel", "Newexten", "NewCallerid", "NewConnectedLine", "LocalBridge", "DialBegin",
    "Newstate", "DialEnd", "ConfbridgeJoin", "BridgeEnter", "VarSet", "VarSet",
    "ConfbridgeMute", "ConfbridgeUnmute", "VarSet", "VarSet", "ConfbridgeLeave",
    "BridgeLeave", "VarSet", "Hangup",
]  # fmt: skip
"""04's channels (without the list items); their order inside varies (README: 04's
ConfbridgeJoin came before BridgeEnter), so these are compared as multisets."""


async def test_04_confbridge_admin(sim: FakeAsterisk, client: Client) -> None:
    into_room(client, "Local/s@epr-silent-sim", "9004", '"EPR Unit 15" <115>')
    into_room(client, "Local/s@operator-sim", "9004", '"District 21 Operator" <7021>')
    epr, op = "Local/s@epr-silent-sim-00000000;1", "Local/s@operator-sim-00000001;1"
    await client.event("ConfbridgeJoin", Channel=epr)
    await client.event("ConfbridgeJoin", Channel=op)

    first, rooms = await client.listing("ConfBridgeListRooms")
    assert names(first) == ["ActionID", "EventList", "Message"]
    assert (first["EventList"], first["Message"]) == ("start", "Confbridge conferences will follow")
    assert [list(m.fields.items())[2:] for m in rooms] == [
        [
            ("Conference", "9004"),
            ("Parties", "2"),
            ("Marked", "0"),
            ("Locked", "No"),
            ("Muted", "No"),
        ],
        [("EventList", "Complete"), ("ListItems", "1")],
    ]
    first, users = await client.listing("ConfBridgeList", ("Conference", "9004"))
    assert first["Message"] == "Confbridge user list will follow"
    assert [u.get("Channel") for u in users] == [epr, op, ""]
    assert [u["Muted"] for u in users[:2]] == ["No", "No"]
    assert users[0]["AnsweredTime"].isdigit()
    assert users[-1]["ListItems"] == "2"
    check_shapes([*rooms, *users])

    for headers, message in [
        ([("Conference", "9999")], "No Conference by that name found."),
        ([], "No Conference name provided."),
    ]:
        reply = await client.act("ConfBridgeList", *headers)
        assert (reply.response, reply["Message"]) == ("Error", message)

    muted = await client.act("ConfBridgeMute", ("Conference", "9004"), ("Channel", epr))
    assert muted["Message"] == "User muted"
    event = await client.event("ConfbridgeMute")
    assert client.log.index(muted) < client.log.index(event)
    assert (event["Channel"], event["Admin"]) == (epr, "No")
    assert sim.channels[event["Uniqueid"]].muted
    _, users = await client.listing("ConfBridgeList", ("Conference", "9004"))
    assert users[0]["Muted"] == "Yes"
    unmuted = await client.act("ConfBridgeUnmute", ("Conference", "9004"), ("Channel", epr))
    assert unmuted["Message"] == "User unmuted"
    await client.event("ConfbridgeUnmute", Channel=epr)

    kicked = await client.act("ConfBridgeKick", ("Conference", "9004"), ("Channel", op))
    assert kicked["Message"] == "User kicked"
    result = await client.event("VarSet", Channel=op, Variable="CONFBRIDGE_RESULT")
    assert result["Value"] == "KICKED"
    gone = await client.event("Hangup", Channel=op)
    assert (gone["Cause"], gone["Cause-txt"]) == ("16", "Normal Clearing")
    reply = await client.act(
        "ConfBridgeKick", ("Conference", "9004"), ("Channel", "Local/nobody@conf-00000000;1")
    )
    assert (reply.response, reply["Message"]) == (
        "Error",
        "No Channel by that name found in Conference.",
    )

    hung = await client.act("Hangup", ("Channel", epr), ("Cause", "16"))
    assert hung["Message"] == "Channel Hungup"
    await client.event("BridgeDestroy")
    assert [m.event for m in client.log if m.event in ("ConfbridgeEnd", "BridgeDestroy")] == [
        "ConfbridgeEnd",
        "BridgeDestroy",
    ]
    reply = await client.act("Hangup", ("Channel", epr))
    assert (reply.response, reply["Message"]) == ("Error", "No such channel")
    reply = await client.act("ConfBridgeListRooms")
    assert (reply.response, reply["Message"]) == ("Error", "No active conferences.")

    chans = by_channel(client.log)
    assert Counter(chans[op]) == Counter(OPERATOR_04)
    assert Counter(chans[epr]) == Counter(RESPONDER_04)
    for seq in (chans[op], chans[epr]):
        assert (seq[0], seq[-1]) == ("Newchannel", "Hangup")
    check_shapes(client.log)


# ---------------------------------------------------------------- 08a


async def test_08a_coreshowchannels_status_and_core_show_channels(
    sim: FakeAsterisk, client: Client
) -> None:
    quiet = await connect(sim, events="off")
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "Wait"),
        ("Data", "20"),
        ("CallerID", '"District 33 Operator" <7033>'),
        ("Async", "true"),
    )
    one, two = "Local/s@operator-sim-00000000;1", "Local/s@operator-sim-00000000;2"
    await client.event("Newexten", Channel=two, Application="Wait")

    first, items = await client.listing("CoreShowChannels")
    assert list(first.fields.items())[1:] == [
        ("ActionID", first.action_id or ""),
        ("EventList", "start"),
        ("Message", "Channels will follow"),
    ]
    assert [(m.get("Channel"), m.get("ApplicationData"), m.get("Priority")) for m in items] == [
        (two, "3600", "3"),
        (one, "20", "1"),
        ("", "", ""),
    ]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", m["Duration"]) for m in items[:2])
    assert (items[0]["Application"], items[0]["BridgeId"]) == ("Wait", "")
    assert (items[-1]["EventList"], items[-1]["ListItems"]) == ("Complete", "2")

    first, status = await client.listing("Status")
    assert (first["EventList"], first["Message"]) == ("start", "Channel status will follow")
    assert [m.get("Channel") for m in status] == [two, one, ""]
    assert [status[1]["Type"], status[1]["Application"], status[1]["Data"]] == [
        "Local",
        "Wait",
        "20",
    ]
    assert list(status[1].fields)[-1] == "ActionID"
    assert [status[-1]["ListItems"], status[-1]["Items"]] == ["2", "2"]
    _, single = await client.listing("Status", ("Channel", one))
    assert [m.get("Channel") for m in single] == [one, ""]
    reply = await client.act("Status", ("Channel", "Local/nobody-00000000;1"))
    assert (reply.response, reply["Message"]) == ("Error", "No such channel")
    check_shapes([*items, *status])

    out = await client.act("Command", ("Command", "core show channels"))
    assert (out.response, out["Message"]) == ("Success", "Command output follows")
    assert out.all("Output") == [
        "Channel                                                          Location                         State   Application(Data)             ",  # noqa: E501
        "Local/s@operator-sim-00000000;2                                  s@operator-sim:3                 Up      Wait(3600)                    ",  # noqa: E501
        "Local/s@operator-sim-00000000;1                                  s@operator-sim:1                 Up      Wait(20)                      ",  # noqa: E501
        "2 active channels",
        "1 active call",
        "1 call processed",
    ]  # fmt: skip

    assert (await quiet.act("Ping"))["Ping"] == "Pong"
    reply = await client.act("Hangup", ("Channel", one))  # no Cause: 0, "Unknown"
    await client.event("Hangup", Channel=two)
    tail = [
        (m.event, m["Channel"], m["Cause"], m.get("Cause-txt"))
        for m in client.log[client.log.index(reply) :]
        if m.event
    ]
    assert tail == [
        ("HangupRequest", two, "0", ""),
        ("Hangup", one, "0", "Unknown"),
        ("SoftHangupRequest", two, "16", ""),
        ("Hangup", two, "0", "Unknown"),
    ]
    assert by_channel(client.log) == {
        one: ["Newchannel", "Newexten", "NewCallerid", "NewConnectedLine", "LocalBridge",
              "DialBegin", "Newstate", "DialEnd", "Hangup"],
        two: ["Newchannel", "NewCallerid", "NewConnectedLine", "Newexten", "Newexten",
              "Newstate", "Newexten", "HangupRequest", "SoftHangupRequest", "Hangup"],
    }  # fmt: skip
    _, empty = await client.listing("CoreShowChannels")
    assert [m["ListItems"] for m in empty] == ["0"]
    assert all(m.event is None for m in quiet.log)  # Events: off: responses only
    await quiet.close()


# ---------------------------------------------------------------- 06

ACK_PROMPT = [
    "exten=s,1,NoOp(ack-prompt for room ${CONFROOM})",
    "same=n,Answer()",
    "same=n,Read(ACK,,1,,,5)",
    "same=n,UserEvent(ResponderAck,Digit: ${ACK},ReadStatus: ${READSTATUS},Room: ${CONFROOM})",
    'same=n,GotoIf($["${ACK}" = "1"]?join)',
    "same=n,Hangup()",
    "same=n(join),ConfBridge(${CONFROOM},default_bridge,default_user)",
    "same=n,Hangup()",
]
LAB_CONTEXTS = [
    "general", "globals", "operator-sim", "epr-ack-sim", "epr-decline-sim", "epr-silent-sim",
    "epr-noanswer-sim", "epr-busy-sim", "epr-congestion-sim", "epr-reject-sim", "conf",
    "ack-prompt", "citizen-ivr", "citizen-sim-3", "citizen-sim-silent",
]  # fmt: skip
CITIZEN_JSON = (
    '{"citizen-ivr":{"exten":"s,1,NoOp(citizen-ivr)","same":"n,Answer()",'
    '"same":"n,Read(DIGIT,beep,1,,,5)","same":"n,UserEvent(IncidentReport,Type: ${DIGIT},'
    'CallerID: ${CALLERID(num)})","same":"n,Hangup()"}}'
)
FILES = [("SrcFilename", "extensions.conf"), ("DstFilename", "extensions.conf")]


async def test_06_config_and_dialplan(sim: FakeAsterisk) -> None:
    c = await connect(sim, events="off")
    got = await c.act("GetConfig", ("Filename", "extensions.conf"), ("Category", "ack-prompt"))
    assert got["Category-000000"] == "ack-prompt"
    assert [got[f"Line-000000-{i:06d}"] for i in range(8)] == ACK_PROMPT
    whole = await c.act("GetConfig", ("Filename", "extensions.conf"))
    assert [v for k, v in whole.fields.items() if k.startswith("Category-")] == LAB_CONTEXTS
    assert whole["Line-000000-000000"] == "static=yes"
    js = await c.act("GetConfigJSON", ("Filename", "extensions.conf"), ("Category", "citizen-ivr"))
    assert names(js) == ["ActionID", "JSON"]
    assert js["JSON"] == CITIZEN_JSON

    update = await c.act(
        "UpdateConfig",
        *FILES,
        ("Reload", "no"),
        ("Action-000000", "NewCat"),
        ("Cat-000000", "district-07-test"),
        *[
            pair
            for i, (var, value) in enumerate(
                [
                    ("exten", ">s,1,NoOp(district 07 test line)"),
                    ("same", ">n,ConfBridge(9007,default_bridge,default_user)"),
                    ("same", ">n,Hangup()"),
                ],
                start=1,
            )
            for pair in (
                (f"Action-{i:06d}", "Append"),
                (f"Cat-{i:06d}", "district-07-test"),
                (f"Var-{i:06d}", var),
                (f"Value-{i:06d}", value),
            )
        ],
    )
    assert (update.response, names(update)) == ("Success", ["ActionID"])
    show = ("Command", "dialplan show district-07-test")
    before = await c.act("Command", show)
    assert (before.response, before["Message"]) == ("Error", "Command output follows")
    assert before.all("Output") == [
        "There is no existence of 'district-07-test' context",
        "Command 'dialplan show district-07-test' failed.",
    ]
    reload = await c.act("Command", ("Command", "dialplan reload"))
    assert (reload.response, reload.all("Output")) == ("Success", ["Dialplan reloaded."])
    after = await c.act("Command", show)
    assert after.response == "Success"
    assert after.all("Output") == [
        "[ Context 'district-07-test' created by 'pbx_config' ]",
        "  's' =>            1. NoOp(district 07 test line)                [extensions.conf:121]",
        "                    2. ConfBridge(9007,default_bridge,default_user) [extensions.conf:122]",
        "                    3. Hangup()                                   [extensions.conf:123]",
        "",
        "-= 1 extension (3 priorities) in 1 context. =-",
    ]
    assert b"Output: \r\nOutput: -= 1 extension" in bytes(c.raw)
    got = await c.act(
        "GetConfig", ("Filename", "extensions.conf"), ("Category", "district-07-test")
    )
    assert [got[f"Line-000000-{i:06d}"] for i in range(3)] == [
        "exten=s,1,NoOp(district 07 test line)",
        "same=n,ConfBridge(9007,default_bridge,default_user)",
        "same=n,Hangup()",
    ]

    for headers, message in [
        ([*FILES, ("Action-000000", "Append"), ("Cat-000000", "no-such-context"),
          ("Var-000000", "exten"), ("Value-000000", ">s,1,NoOp(x)")],
         "Given category does not exist"),
        ([*FILES, ("Action-000000", "Frobnicate"), ("Cat-000000", "district-07-test")],
         "Unknown action command"),
        ([*FILES, ("Action-000000", "NewCat")], "Category not specified"),
        ([*FILES, ("Action-000000", "NewCat"), ("Cat-000000", "district-07-test")],
         "Create category did not complete successfully"),
        ([("DstFilename", "extensions.conf"), ("Action-000000", "NewCat"), ("Cat-000000", "x")],
         "Filename not specified"),
        ([("SrcFilename", "no-such-file.conf"), ("DstFilename", "no-such-file.conf"),
          ("Action-000000", "NewCat"), ("Cat-000000", "x")],
         "File requires escalated privileges"),
    ]:  # fmt: skip
        reply = await c.act("UpdateConfig", *headers)
        assert (reply.response, reply["Message"]) == ("Error", message)
    for filename, message in [
        ("no-such-file.conf", "Config file not found"),
        ("../../../../../../../etc/hostname", "File requires escalated privileges"),
    ]:
        reply = await c.act("GetConfig", ("Filename", filename))
        assert (reply.response, reply["Message"]) == ("Error", message)
    none = await c.act("GetConfig", ("Filename", "extensions.conf"), ("Category", "nope"))
    assert (none.response, none.lines) == ("Success", ["No categories found"])

    unknown = await c.act("Command", ("Command", "frobnicate the widgets"))
    assert (unknown.response, unknown.all("Output")) == (
        "Error",
        [
            "No such command 'frobnicate the widgets' "
            "(type 'core show help frobnicate the' for other possible commands)"
        ],
    )
    version = await c.act("Command", ("Command", "core show version"))
    assert version["Output"].startswith("Asterisk 22.10.1 built by root @ vm on a x86_64")
    missing = await c.act("Command", ("Command", "dialplan show nonexistent-context"))
    assert missing.response == "Error"
    assert missing.all("Output")[0] == "There is no existence of 'nonexistent-context' context"
    reply = await c.act("Command")
    assert (reply.response, reply["Message"]) == ("Error", "No command provided")

    cleanup = await c.act(
        "UpdateConfig",
        *FILES,
        ("Reload", "pbx_config"),
        ("Action-000000", "DelCat"),
        ("Cat-000000", "district-07-test"),
    )
    assert (cleanup.response, names(cleanup)) == ("Success", ["ActionID"])
    assert (await c.act("Command", show)).response == "Error"
    assert c.events() == []
    await c.close()


async def test_a_pushed_context_is_run_after_the_reload(client: Client) -> None:
    """A context that is neither an ack nor a room context shows its first step. A
    reload of pbx_config says so to every session that hears system events."""
    await client.act(
        "UpdateConfig",
        *FILES,
        ("Reload", "pbx_config"),
        ("Action-000000", "NewCat"),
        ("Cat-000000", "vb-test"),
        ("Action-000001", "Append"),
        ("Cat-000001", "vb-test"),
        ("Var-000001", "exten"),
        ("Value-000001", ">s,1,Playback(${VB_PROMPT})"),
    )
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Context", "vb-test"),
        ("Exten", "s"),
        ("Variable", "VB_PROMPT=hello"),
        ("Async", "true"),
    )
    step = await client.event("Newexten", Context="vb-test")
    assert (step["Application"], step["AppData"]) == ("Playback", "hello")
    reload = await client.event("Reload", anywhere=True)  # right after the response
    assert [reload.get(k) for k in ("Privilege", "Module", "Status")] == [
        "system,all",
        "pbx_config",
        "0",
    ]


# ---------------------------------------------------------------- Redirect, variables


async def test_redirect_moves_a_channel_to_another_room(sim: FakeAsterisk, client: Client) -> None:
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Context", "vb-room"),
        ("Exten", "s"),
        ("Variable", "VB_ROOM=LIM-2026-000001"),
        ("ChannelId", "op-1"),
        ("Async", "true"),
    )
    await client.event("ConfbridgeJoin", Conference="LIM-2026-000001")
    name = sim.channels["op-1"].name
    reply = await client.act(
        "Redirect", ("Channel", name), ("Context", "vb-room"), ("Exten", "LIM-2026-000002"),
        ("Priority", "1"),
    )  # fmt: skip
    assert reply["Message"] == "Redirect successful"
    leave = await client.event("ConfbridgeLeave")
    join = await client.event("ConfbridgeJoin")
    assert (leave["Conference"], join["Conference"]) == ("LIM-2026-000001", "LIM-2026-000002")
    assert sim.rooms == {"LIM-2026-000002": {"op-1"}}
    for headers, message in [
        ([("Channel", "Local/nobody-00000000;1"), ("Context", "vb-room"), ("Exten", "s"),
          ("Priority", "1")], "Channel does not exist: Local/nobody-00000000;1"),
        ([("Channel", name), ("Exten", "s"), ("Priority", "1")], "Context not specified"),
    ]:  # fmt: skip
        bad = await client.act("Redirect", *headers)
        assert (bad.response, bad["Message"]) == ("Error", message)
    check_shapes(client.log)


async def test_setvar_getvar_on_a_channel_and_userevent(sim: FakeAsterisk, client: Client) -> None:
    client.send(
        "Originate",
        ("Channel", "Local/s@operator-sim"),
        ("Application", "Wait"),
        ("Data", "60"),
        ("CallerID", '"Op" <7001>'),
        ("Async", "true"),
    )
    await client.event("Newstate", ChannelStateDesc="Up")
    name = "Local/s@operator-sim-00000000;1"
    await client.act("Setvar", ("Channel", name), ("Variable", "VB_X"), ("Value", "42"))
    varset = await client.event("VarSet", Variable="VB_X")
    assert (varset["Channel"], varset["Value"]) == (name, "42")
    assert (await client.act("Getvar", ("Channel", name), ("Variable", "VB_X")))["Value"] == "42"
    cid = await client.act("Getvar", ("Channel", name), ("Variable", "CALLERID(num)"))
    assert cid["Value"] == "7001"
    bad = await client.act("Setvar", ("Channel", "nope"), ("Variable", "X"), ("Value", "1"))
    assert (bad.response, bad["Message"]) == ("Error", "No such channel")
    sent = await client.act("UserEvent", ("UserEvent", "IncidentNote"), ("Note", "hello"))
    assert sent["Message"] == "Event Sent"
    note = await client.event("UserEvent")
    assert list(note.fields.items())[1:] == [
        ("Privilege", "user,all"),
        ("UserEvent", "IncidentNote"),
        ("ActionID", sent.action_id or ""),
        ("Note", "hello"),
    ]
