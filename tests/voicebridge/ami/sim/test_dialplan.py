"""The fake Asterisk's dialplan as pbx_config loads it (the lines it skips, with
Asterisk's warnings) and the ``ShowDialPlan`` action that lists it.

The expectations are Asterisk 22.10.1's source (``pbx/pbx_config.c``'s
``pbx_load_config()``, ``main/pbx.c``'s ``manager_show_dialplan()`` and
``add_priority()``, ``main/manager.c``'s list helpers and ``process_message()``): no
trace recorded them."""

import pytest

from tests.voicebridge.ami.sim.test_session import Client, logged_in, running
from voicebridge.ami.sim import FakeAsterisk, LogMessage
from voicebridge.ami.sim.config import lab_files
from voicebridge.ami.sim.dialplan import (
    PRIORITY_HINT,
    build_dialplan,
    builtin_contexts,
    list_dialplan,
    parse_extensions,
    show_dialplan,
)

FILES = [("SrcFilename", "extensions.conf"), ("DstFilename", "extensions.conf")]
FIRST_LINE = 121
"""The line of the first variable of a category a NewCat appends to the lab's
extensions.conf (test_admin's 06: ``[extensions.conf:121]``)."""


def load(text: str) -> tuple[dict[str, list[tuple[int, str, str, str]]], list[LogMessage]]:
    """extensions.conf text (its lines numbered from 1, none blank) loaded: context ->
    (priority, label, application, data) of each extension in order, and the log."""
    log: list[LogMessage] = []
    plan = build_dialplan(parse_extensions(text), log)
    steps = {
        name: [(p.number, p.label, p.app, p.data) for e in exts for p in e.priorities]
        for name, exts in plan.items()
    }
    return steps, log


def warning(text: str) -> LogMessage:
    return LogMessage("WARNING", text)


async def push(client: Client, context: str, lines: list[str], reload: str = "yes") -> None:
    """UpdateConfig: a new category ``context`` with ``lines`` (``exten => ...``)."""
    headers = [*FILES, ("Reload", reload), ("Action-000000", "NewCat"), ("Cat-000000", context)]
    for i, line in enumerate(lines, start=1):
        var, arrow, value = line.partition(" => ")
        assert arrow, line
        headers += [
            (f"Action-{i:06d}", "Append"),
            (f"Cat-{i:06d}", context),
            (f"Var-{i:06d}", var),
            (f"Value-{i:06d}", ">" + value),
        ]
    reply = await client.act("UpdateConfig", *headers)
    assert reply.response == "Success"


# ---------------------------------------------------------------- the lines pbx_config skips

BAD_CONTEXT = """[vb-bad]
same => n,NoOp(before any exten)
exten => s,n,NoOp(next on the first line)
exten => s,1,Answer()
same => n(broken,NoOp(a label without its parenthesis))
same => frobnicate,NoOp(no such label)
same => 0,NoOp(priority zero)
same => 1,NoOp(priority 1 again)
same => n,Playback(hello
same => n,Hangup()
"""


def test_each_bad_line_is_skipped_with_asterisks_message_and_the_rest_loads() -> None:
    steps, log = load(BAD_CONTEXT)
    assert steps == {
        "vb-bad": [(1, "", "Answer", ""), (2, "", "Playback", "hello"), (3, "", "Hangup", "")]
    }
    assert log == [
        LogMessage(
            "ERROR",
            "No previous pattern in the first entry of context 'vb-bad' to match 'same' "
            "at line 2 of extensions.conf!",
        ),
        warning("Can't use 'next' priority on the first entry at line 3 of extensions.conf!"),
        warning("Label missing trailing ')' at line 5 of extensions.conf"),
        warning("Invalid priority/label 'frobnicate' at line 6 of extensions.conf"),
        warning("Invalid priority '0' at line 7 of extensions.conf"),
        warning("Unable to register extension 's' priority 1 in 'vb-bad', already in use"),
        warning("Unable to register extension at line 8 of extensions.conf"),
        warning("No closing parenthesis found? 'Playback(hello' at line 9 of extensions.conf"),
    ]


def test_next_counts_from_the_contexts_previous_line_whatever_its_extension() -> None:
    """``lastpri`` is the context's: ``n`` on an extension's first line follows the
    line before it; each context starts afresh."""
    steps, log = load(
        "[one]\nexten => a,1,NoOp(a1)\nsame => n,NoOp(a2)\nexten => b,n,NoOp(b3)\n"
        "exten => b,s,NoOp(b3 again)\n[two]\nexten => c,s,NoOp(c)\nexten => c,1,NoOp(c1)\n"
    )
    assert steps["one"] == [(1, "", "NoOp", "a1"), (2, "", "NoOp", "a2"), (3, "", "NoOp", "b3")]
    assert steps["two"] == [(1, "", "NoOp", "c1")]
    assert log == [
        warning("Unable to register extension 'b' priority 3 in 'one', already in use"),
        warning("Unable to register extension at line 5 of extensions.conf"),
        warning("Can't use 'same' priority on the first entry at line 7 of extensions.conf!"),
    ]


def test_priorities_take_their_numbers_order_and_a_label_names_a_priority() -> None:
    steps, log = load(
        "[ctx]\nexten => s,3,NoOp(three)\nexten => s,1(start),NoOp(one)\n"
        "exten => s,start+1,NoOp(two)\nexten => s,n+2,NoOp(four plus two)\n"
        "exten => s, 7 ,Set(X=${Y}) \n"
    )
    assert steps["ctx"] == [
        (1, "start", "NoOp", "one"),
        (2, "", "NoOp", "two"),
        (3, "", "NoOp", "three"),
        (5, "", "NoOp", "four plus two"),
        (7, "", "Set", "X=${Y}"),
    ]
    assert log == []


def test_some_doubtful_lines_load_with_a_warning() -> None:
    """Data without its ``)``, a label used twice (dropped), ``_.``; a hint loads
    quietly and numbers nothing (``n`` after it is priority 0: dropped, unsaid)."""
    steps, log = load(
        "[ctx]\nexten => s,1(top),NoOp(a)\nsame => n(top),NoOp(b)\nexten => _.,1,NoOp(any)\n"
        "exten => 100,hint,PJSIP/100\nsame => n,NoOp(lost)\nexten => 100,1,Dial(PJSIP/100\n"
    )
    assert steps["ctx"] == [
        (PRIORITY_HINT, "", "PJSIP/100", ""),
        (1, "", "Dial", "PJSIP/100"),
        (1, "top", "NoOp", "a"),
        (2, "", "NoOp", "b"),
        (1, "", "NoOp", "any"),
    ]
    assert log == [
        warning("Extension 's' priority 2 in 'ctx', label 'top' already in use at priority 1"),
        warning(
            "The use of '_.' for an extension is strongly discouraged and can have unexpected "
            "behavior.  Please use '_X.' instead at line 4 of extensions.conf"
        ),
        warning("No closing parenthesis found? 'Dial(PJSIP/100' at line 7 of extensions.conf"),
    ]


def test_an_unknown_directive_and_an_empty_extension_are_refused() -> None:
    steps, log = load(
        "[ctx]\nextn => s,1,NoOp(typo)\nexten => ,1,NoOp(nameless)\ninclude => other\nexten => s\n"
    )
    assert steps == {"ctx": []}
    assert log == [
        warning("==!!== Unknown directive: extn at line 2 of extensions.conf -- IGNORING!!!"),
        LogMessage(
            "ERROR",
            "You have to be kidding-- add exten '' to context ctx? Figure out a name and call "
            "me back. Action ignored.",
        ),
        warning("Unable to register extension at line 3 of extensions.conf"),
        warning("Invalid priority/label '' at line 5 of extensions.conf"),
    ]


def test_the_lab_and_voicebridges_contexts_load_without_a_word() -> None:
    log: list[LogMessage] = []
    build_dialplan(lab_files()["extensions.conf"], log)
    assert log == []
    assert builtin_contexts(["vb-ack"], ["vb-room"])  # built by the same loader
    assert all(e.priorities for exts in builtin_contexts(["a"], ["r"]).values() for e in exts)


BAD_LINES = [
    pytest.param(
        1, "same => n(done,NoOp(x))", [("WARNING", "Label missing trailing ')' at line {}")],
        id="label-without-parenthesis",
    ),
    pytest.param(
        0, "exten => s,n,NoOp(x)",
        [("WARNING", "Can't use 'next' priority on the first entry at line {}!")],
        id="next-on-the-first-line",
    ),
    pytest.param(
        1, "same => frobnicate,NoOp(x)",
        [("WARNING", "Invalid priority/label 'frobnicate' at line {}")],
        id="invalid-priority",
    ),
    pytest.param(
        1, "same => 0,NoOp(x)", [("WARNING", "Invalid priority '0' at line {}")],
        id="priority-below-1",
    ),
    pytest.param(
        0, "same => n,NoOp(x)",
        [("ERROR", "No previous pattern in the first entry of context 'vb-push' to match "
          "'same' at line {}!")],
        id="same-without-exten",
    ),
    pytest.param(
        1, "same => 1,NoOp(x)",
        [("WARNING", "Unable to register extension 's' priority 1 in 'vb-push', already in use"),
         ("WARNING", "Unable to register extension at line {}")],
        id="duplicate-priority",
    ),
    pytest.param(
        3, "same => n,NoOp(x", [("WARNING", "No closing parenthesis found? 'NoOp(x' at line {}")],
        id="no-closing-parenthesis-kept",
    ),
]  # fmt: skip
"""(where the bad line goes among :data:`GOOD_LINES`, the line, what Asterisk logs:
(level, text) with ``{}`` for ``N of extensions.conf``)."""
GOOD_LINES = ["exten => s,1,Answer()", "same => n,Playback(hello)", "same => n,Hangup()"]


@pytest.mark.parametrize(("at", "bad", "messages"), BAD_LINES)
async def test_a_pushed_bad_line_is_skipped_warned_and_missing_from_showdialplan(
    sim: FakeAsterisk, client: Client, at: int, bad: str, messages: list[tuple[str, str]]
) -> None:
    """What voicebridge checks after a push: ``ListPriorities`` one less than the lines
    it wrote (but for data without its ``)``, which loads as it is)."""
    lines = [*GOOD_LINES[:at], bad, *GOOD_LINES[at:]]
    before = len(sim.warnings)
    await push(client, "vb-push", lines)
    where = f"{FIRST_LINE + at} of extensions.conf"
    logged = [LogMessage(level, text.format(where)) for level, text in messages]
    assert sim.warnings[before:] == logged
    _, items = await client.listing("ShowDialPlan", ("Context", "vb-push"))
    kept = bad.endswith("(x")
    assert int(items[-1]["ListPriorities"]) == len(lines) - (0 if kept else 1)
    assert [(m["Priority"], m["Application"]) for m in items[:-1]] == [
        ("1", "Answer"),
        ("2", "Playback"),
        ("3", "Hangup"),
        *([("4", "NoOp")] if kept else []),
    ]

    reload = await client.act("Command", ("Command", "dialplan reload"))
    assert reload.all("Output") == ["Dialplan reloaded."]  # whatever it skipped
    assert sim.warnings[before:] == 2 * logged


# ---------------------------------------------------------------- ShowDialPlan

ROOM = [
    "exten => _[A-Z].,1,NoOp(room ${EXTEN})",
    "same => n(join),ConfBridge(${EXTEN},default_bridge,default_user)",
    "same => n,Hangup()",
    "exten => s,1,Answer()",
    "same => n,Hangup()",
    "exten => 100,hint,PJSIP/100",
]


async def test_showdialplan_lists_a_pushed_context_with_its_counts(
    sim: FakeAsterisk, client: Client
) -> None:
    await push(client, "vb-test", ROOM)
    client.send("ShowDialPlan", ("Context", "vb-test"), action_id="sdp-1")
    await client.event("ShowDialPlanComplete")
    raw = bytes(client.raw)
    listing = raw[raw.index(b"Response: Success\r\nActionID: sdp-1\r\n") :]
    item = "Event: ListDialplan\r\nActionID: sdp-1\r\nContext: vb-test\r\n"
    assert listing.decode() == (
        "Response: Success\r\nActionID: sdp-1\r\nEventList: start\r\n"
        "Message: DialPlan list will follow\r\n\r\n"
        f"{item}Extension: 100\r\nPriority: hint\r\nApplication: PJSIP/100\r\n"
        "Registrar: pbx_config\r\n\r\n"
        f"{item}Extension: s\r\nPriority: 1\r\nApplication: Answer\r\nAppData: \r\n"
        "Registrar: pbx_config\r\n\r\n"
        f"{item}Extension: s\r\nPriority: 2\r\nApplication: Hangup\r\nAppData: \r\n"
        "Registrar: pbx_config\r\n\r\n"
        f"{item}Extension: _[A-Z].\r\nPriority: 1\r\nApplication: NoOp\r\n"
        "AppData: room ${EXTEN}\r\nRegistrar: pbx_config\r\n\r\n"
        f"{item}Extension: _[A-Z].\r\nExtensionLabel: join\r\nPriority: 2\r\n"
        "Application: ConfBridge\r\nAppData: ${EXTEN},default_bridge,default_user\r\n"
        "Registrar: pbx_config\r\n\r\n"
        f"{item}Extension: _[A-Z].\r\nPriority: 3\r\nApplication: Hangup\r\nAppData: \r\n"
        "Registrar: pbx_config\r\n\r\n"
        "Event: ShowDialPlanComplete\r\nActionID: sdp-1\r\nEventList: Complete\r\n"
        "ListItems: 6\r\nListExtensions: 3\r\nListPriorities: 6\r\nListContexts: 1\r\n\r\n"
    )

    first, items = await client.listing("ShowDialPlan")  # all of it, in dialplan show's order
    assert first["Message"] == "DialPlan list will follow"
    plan = sim.pbx.dialplan
    complete = items[-1]
    assert complete["ListContexts"] == str(len(plan))
    assert complete["ListExtensions"] == str(sum(len(exts) for exts in plan.values()))
    assert complete["ListPriorities"] == complete["ListItems"] == str(len(items) - 1)
    assert list(dict.fromkeys(m["Context"] for m in items[:-1])) == [
        name for name, exts in plan.items() if exts
    ]
    ok, shown = show_dialplan(plan, "")
    assert ok
    assert shown[-1] == (
        f"-= {complete['ListExtensions']} extensions ({complete['ListPriorities']} "
        f"priorities) in {complete['ListContexts']} contexts. =-"
    )


async def test_showdialplan_filters_by_extension_as_dialplan_show_matches_it(
    sim: FakeAsterisk, client: Client
) -> None:
    await push(client, "vb-test", ROOM)
    _, items = await client.listing("ShowDialPlan", ("Context", "vb-test"), ("Extension", "s"))
    assert [(m.get("Extension"), m.get("Priority")) for m in items] == [
        ("s", "1"),
        ("s", "2"),
        ("", ""),
    ]
    assert [items[-1][k] for k in ("ListExtensions", "ListPriorities", "ListContexts")] == [
        "1",
        "2",
        "1",
    ]
    # a number dialled lists the pattern that takes it; a pattern lists itself
    for exten in ("LIM-2026-000001", "_[A-Z]."):
        _, items = await client.listing(
            "ShowDialPlan", ("Context", "vb-test"), ("Extension", exten)
        )
        assert [m.get("Extension") for m in items[:-1]] == 3 * ["_[A-Z]."]
    # every context is walked, and counted, for an extension in any context
    _, items = await client.listing("ShowDialPlan", ("Extension", "LIM-1"))
    assert [(m["Context"], m["Priority"]) for m in items[:-1]] == [
        ("vb-test", "1"),
        ("vb-test", "2"),
        ("vb-test", "3"),
    ]
    assert items[-1]["ListContexts"] == str(len(sim.pbx.dialplan))


async def test_showdialplan_errors(client: Client) -> None:
    await push(client, "vb-test", ROOM)
    for headers, message in [
        ([("Context", "vb-nope")], "Did not find context vb-nope"),
        (
            [("Context", "vb-test"), ("Extension", "nobody")],
            "Did not find extension nobody@vb-test",
        ),
        ([("Extension", "nobody")], "Did not find extension nobody in any context"),
        ([("Context", "vb-nope"), ("Extension", "s")], "Did not find context vb-nope"),
    ]:
        first, items = await client.listing("ShowDialPlan", *headers)
        assert (first.response, first["Message"], items) == ("Error", message, [])
        assert "EventList" not in first
    client.send_raw(b"Action: ShowDialPlan\r\nContext: vb-nope\r\n\r\n")
    await client.wait_for(lambda m: m.response == "Error" and "ActionID" not in m)
    assert bytes(client.raw).endswith(
        b"Response: Error\r\nMessage: Did not find context vb-nope\r\n\r\n"
    )


def test_an_empty_context_lists_nothing_but_counts() -> None:
    found = list_dialplan({"ctx": [], "other": []}, "ctx")
    assert (found.entries, found.extensions, found.priorities, found.contexts) == ((), 0, 0, 1)
    assert found.error == ""


async def test_showdialplan_lists_what_is_loaded_not_the_builtin_contexts(
    sim: FakeAsterisk, client: Client
) -> None:
    """The fake runs vb-ack from its built-in copy before any push; ShowDialPlan, as
    ``dialplan show``, does not have it until it is pushed and loaded."""
    assert sim.pbx.extension("vb-ack", "s") is not None
    first, _ = await client.listing("ShowDialPlan", ("Context", "vb-ack"))
    assert (first.response, first["Message"]) == ("Error", "Did not find context vb-ack")
    shown = await client.act("Command", ("Command", "dialplan show vb-ack"))
    assert shown.all("Output")[0] == "There is no existence of 'vb-ack' context"
    await push(client, "vb-ack", ["exten => s,1,NoOp(pushed)"], reload="no")
    first, _ = await client.listing("ShowDialPlan", ("Context", "vb-ack"))
    assert first.response == "Error"  # written, not loaded
    await client.act("Command", ("Command", "dialplan reload"))
    _, items = await client.listing("ShowDialPlan", ("Context", "vb-ack"))
    assert [(m.get("AppData"), m.get("ListPriorities")) for m in items] == [
        ("pushed", ""),
        ("", "1"),
    ]


@pytest.mark.parametrize(
    ("write", "allowed"),
    [("reporting", True), ("config", True), ("all", True), ("originate,call,system", False)],
)
async def test_showdialplan_needs_the_config_or_reporting_class(write: str, allowed: bool) -> None:
    """``write`` of the account: the action's authority is config or reporting; a
    refusal is ``Permission denied`` and a RequestNotAllowed, as before Login."""
    async with running(write=write) as fake, logged_in(fake) as c:
        reply = await c.act("ShowDialPlan", ("Context", "conf"))
        if allowed:
            assert (reply.response, reply["EventList"]) == ("Success", "start")
            return
        assert (reply.response, reply["Message"]) == ("Error", "Permission denied")
        seen = await c.event("RequestNotAllowed", RequestType="Action: ShowDialPlan")
        assert seen["AccountID"] == "voicebridge"
        assert (await c.act("Ping"))["Ping"] == "Pong"  # needs no class
        denied = await c.act("ConfBridgeListRooms")  # reporting, which it lacks
        assert denied["Message"] == "Permission denied"
        busy = await c.act("Hangup", ("Channel", "Local/nobody-00000000;1"))
        assert busy["Message"] == "No such channel"  # call (or system) it has


# ---------------------------------------------------------------- dialplan show


async def test_dialplan_show_matches_the_extension_and_prints_a_hint(client: Client) -> None:
    await push(client, "vb-test", ROOM)
    show = await client.act("Command", ("Command", "dialplan show LIM-1@vb-test"))
    assert show.all("Output") == [
        "[ Context 'vb-test' created by 'pbx_config' ]",
        "  '_[A-Z].' =>      1. NoOp(room ${EXTEN})                        [extensions.conf:121]",
        "     [join]         2. ConfBridge(${EXTEN},default_bridge,default_user) "
        "[extensions.conf:122]",
        "                    3. Hangup()                                   [extensions.conf:123]",
        "",
        "-= 1 extension (3 priorities) in 1 context. =-",
    ]
    hint = await client.act("Command", ("Command", "dialplan show 100@vb-test"))
    assert hint.all("Output")[1] == (
        "  '100' =>          hint: PJSIP/100                               [extensions.conf:126]"
    )
    missing = await client.act("Command", ("Command", "dialplan show nobody@"))
    assert missing.all("Output") == [
        "There is no existence of 'nobody' extension in all contexts",
        "Command 'dialplan show nobody@' failed.",
    ]
