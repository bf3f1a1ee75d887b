"""The AMI UpdateConfig actions that install the contexts: staged, each within Asterisk's
limits, swapped in by the last one."""

import re
from collections.abc import Iterable

import pytest

from dialplans.errors import InvalidParameter
from dialplans.render import (
    AMI_MAX_HEADERS,
    AMI_MAX_LINE,
    STAGING_SUFFIX,
    DialplanParams,
    UpdateConfigAction,
    render_contexts,
    to_update_config,
)
from tests.dialplans.goldens import assert_golden

COUNTED = re.compile(r"(?P<field>Action|Cat|Var|Value|Options)-(?P<n>[0-9]{6})")
FILE_HEADERS = [("SrcFilename", "extensions.conf"), ("DstFilename", "extensions.conf")]


@pytest.fixture
def contexts() -> dict[str, str]:
    return render_contexts(DialplanParams())


def _changes(pairs: UpdateConfigAction) -> list[dict[str, str]]:
    """The per-change fields of one action, in counter order; checks the counters."""
    changes: list[dict[str, str]] = []
    for key, value in pairs:
        counted = COUNTED.fullmatch(key)
        if counted is None:
            continue
        n = int(counted["n"])
        if counted["field"] == "Action":
            assert n == len(changes), f"{key} out of sequence"
            changes.append({})
        assert n == len(changes) - 1, f"{key} does not belong to the current change"
        assert counted["field"] not in changes[n], f"{key} repeated"
        changes[n][counted["field"]] = value
    return changes


def _dialplan_lines(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.startswith(("exten", " same"))]


def test_every_action_names_the_file_and_only_the_last_reloads(
    contexts: dict[str, str],
) -> None:
    actions = to_update_config(contexts)
    assert len(actions) > 1
    for action in actions:
        assert action[:2] == FILE_HEADERS
    assert [key for key, _ in actions[-1]].count("Reload") == 1
    assert actions[-1][2] == ("Reload", "pbx_config")
    assert all(key != "Reload" for action in actions[:-1] for key, _ in action)
    quiet = to_update_config(contexts, reload=False)
    assert all(key != "Reload" for action in quiet for key, _ in action)


def test_every_action_fits_asterisks_limits(contexts: dict[str, str]) -> None:
    """Asterisk 22 refuses a whole action of more than 128 header lines (Action and ActionID
    included): the unsplit action of 327 lines got "Too many lines in message"."""
    for action in to_update_config(contexts):
        assert 2 + len(action) <= AMI_MAX_HEADERS
        for key, value in action:
            assert len(f"{key}: {value}\r\n".encode()) <= AMI_MAX_LINE


def test_counters_are_six_digits_and_restart_in_each_action(contexts: dict[str, str]) -> None:
    for action in to_update_config(contexts):
        keys = [key for key, _ in action if key not in ("SrcFilename", "DstFilename", "Reload")]
        assert all(COUNTED.fullmatch(key) for key in keys), keys
        assert keys[0] == "Action-000000"
        assert _changes(action)


def test_the_new_text_goes_to_staging_categories_first(contexts: dict[str, str]) -> None:
    actions = to_update_config(contexts)
    changes = [change for action in actions[:-1] for change in _changes(action)]
    position = 0
    for name, body in contexts.items():
        stage = f"{name}{STAGING_SUFFIX}"
        lines = _dialplan_lines(body)
        assert changes[position] == {"Action": "DelCat", "Cat": stage, "Options": "ignoreerror"}
        assert changes[position + 1] == {"Action": "NewCat", "Cat": stage}
        appends = changes[position + 2 : position + 2 + len(lines)]
        for change, line in zip(appends, lines, strict=True):
            assert change["Action"] == "Append"
            assert change["Cat"] == stage
            # a Value starting with '>' is written "var => value"
            assert f"{change['Var']} => {change['Value'].removeprefix('>')}" == line
            assert change["Value"].startswith(">")
        position += 2 + len(lines)
    assert position == len(changes)
    assert all(change["Cat"].endswith(STAGING_SUFFIX) for change in changes)


def test_the_last_action_swaps_every_context_in(contexts: dict[str, str]) -> None:
    swap = _changes(to_update_config(contexts)[-1])
    expected: list[dict[str, str]] = []
    for name in contexts:
        expected.append({"Action": "DelCat", "Cat": name, "Options": "ignoreerror"})
        expected.append({"Action": "RenameCat", "Cat": f"{name}{STAGING_SUFFIX}", "Value": name})
    assert swap == expected


def test_the_event_lines_are_sent_verbatim(contexts: dict[str, str]) -> None:
    values = [
        value
        for action in to_update_config(contexts)
        for key, value in action
        if key.startswith("Value-")
    ]
    assert (
        ">n,UserEvent(ResponderAck,Digit: ${VB_KEY},ReadStatus: ${READSTATUS},Room: ${VB_ROOM})"
        in values
    )
    assert ">n,UserEvent(LineCheck,Digit: ${VB_KEY},ReadStatus: ${READSTATUS})" in values
    assert ">n,UserEvent(LineCheck,Digit: ,ReadStatus: HANGUP)" in values


def test_no_header_carries_a_line_break(contexts: dict[str, str]) -> None:
    for action in to_update_config(contexts):
        for key, value in action:
            assert key.isprintable(), key
            assert value.isprintable(), value


def test_the_actions_match_their_golden_file(contexts: dict[str, str]) -> None:
    text = "\n".join(
        "".join(f"{key}: {value}\n" for key, value in action)
        for action in to_update_config(contexts)
    )
    assert_golden("update-config.txt", text)


# A model of what Asterisk 22.10.1 does with UpdateConfig (as observed on the lab server):
# the file is a list of categories; each action is refused whole when it has too many
# header lines, applied all or nothing otherwise; Reload makes the file's dialplan live.

Category = tuple[str, list[str]]


class Refused(Exception):
    pass


def _apply(file: list[Category], action: UpdateConfigAction) -> list[Category]:
    if 2 + len(action) > AMI_MAX_HEADERS:
        raise Refused("Too many lines in message or allocation failure")
    cats = [(name, list(lines)) for name, lines in file]
    for change in _changes(action):
        verb, cat = change["Action"], change["Cat"]
        ignore = change.get("Options") == "ignoreerror"
        found = [c for c in cats if c[0] == cat]
        if verb == "DelCat":
            if not found and not ignore:
                raise Refused("Given category does not exist")
            cats = [c for c in cats if c[0] != cat]
        elif verb == "NewCat":
            if found:
                raise Refused("Create category did not complete successfully")
            cats.append((cat, []))
        elif verb == "Append":
            if not found:
                raise Refused("Given category does not exist")
            value = change["Value"]
            arrow = " => " if value.startswith(">") else "="
            for _, lines in found:
                lines.append(f"{change['Var']}{arrow}{value.removeprefix('>')}")
        elif verb == "RenameCat":
            if not found:
                raise Refused("Given category does not exist")
            cats = [
                (change["Value"], lines) if name == cat else (name, lines) for name, lines in cats
            ]
        else:
            raise Refused("Unknown action command")
    return cats


def _push(
    file: list[Category], actions: Iterable[UpdateConfigAction]
) -> tuple[list[Category], list[Category] | None]:
    """The file after the actions, and the dialplan made live by a Reload (if any)."""
    live = None
    for action in actions:
        file = _apply(file, action)
        if ("Reload", "pbx_config") in action:
            live = file
    return file, live


OTHER: list[Category] = [("operator-sim", ["exten => s,1,Answer()"])]


def _expected(contexts: dict[str, str]) -> list[Category]:
    return [(name, _dialplan_lines(body)) for name, body in contexts.items()]


def test_the_model_refuses_the_unsplit_action(contexts: dict[str, str]) -> None:
    unsplit = FILE_HEADERS + [pair for action in to_update_config(contexts) for pair in action[2:]]
    with pytest.raises(Refused, match="Too many lines"):
        _apply(OTHER, unsplit)


def test_the_first_push_creates_the_contexts(contexts: dict[str, str]) -> None:
    file, live = _push(OTHER, to_update_config(contexts))
    assert file == live == OTHER + _expected(contexts)


def test_a_second_push_replaces_them(contexts: dict[str, str]) -> None:
    old = OTHER + [(name, ["exten => s,1,NoOp(old)"]) for name in contexts]
    file, live = _push(old, to_update_config(contexts))
    assert file == live == OTHER + _expected(contexts)


def test_an_interrupted_push_changes_nothing_live_and_the_next_one_recovers(
    contexts: dict[str, str],
) -> None:
    old = OTHER + [(name, ["exten => s,1,NoOp(old)"]) for name in contexts]
    actions = to_update_config(contexts)
    for done in range(len(actions)):
        file, live = _push(old, actions[:done])
        assert live is None
        assert [c for c in file if not c[0].endswith(STAGING_SUFFIX)] == old
        file, live = _push(file, actions)
        assert file == live == OTHER + _expected(contexts)


def test_a_small_context_still_goes_through_staging() -> None:
    actions = to_update_config({"vb-x": "[vb-x]\nexten => s,1,NoOp()\n"})
    assert len(actions) == 2
    file, live = _push([], actions)
    assert file == live == [("vb-x", ["exten => s,1,NoOp()"])]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[vb-x]\nexten => s,1,NoOp(a\rAction: Command)\n", "contains a line break"),
        ("[vb-x]\nexten => s,1,NoOp(a\x00)\n", "contains the control character U+0000"),
        ("[vb-x]\n#exec /bin/sh\n", "is not a dialplan line"),
        ("[vb-x]\nfoo => bar\n", "is not a dialplan line"),
        ("exten => s,1,NoOp()\n", "is not a dialplan line"),
        ("[vb-y]\nexten => s,1,NoOp()\n", "unexpected header '[vb-y]'"),
        ("[vb-x]\n[vb-x]\n", "unexpected header"),
        ("; only a comment\n", "has no [header]"),
        ("[vb-x]\nexten => s,1,NoOp(" + "x" * 1000 + ")\n", "-byte AMI header line (max 1024)"),
    ],
)
def test_bad_context_text_is_refused(body: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        to_update_config({"vb-x": body})
    assert caught.value.parameter.startswith("context vb-x")
    assert message in caught.value.message


@pytest.mark.parametrize("name", ["vb-x\r\nAction: Command", "general", "VB", "vb x"])
def test_bad_context_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^context: "):
        to_update_config({name: f"[{name}]\nexten => s,1,NoOp()\n"})


def test_a_name_too_long_for_its_staging_category_is_refused() -> None:
    name = "v" * 60
    with pytest.raises(InvalidParameter, match=rf"^context {name}: .*is not a context name"):
        to_update_config({name: f"[{name}]\nexten => s,1,NoOp()\n"})


def test_a_context_named_like_another_ones_staging_category_is_refused() -> None:
    bodies = {name: f"[{name}]\nexten => s,1,NoOp()\n" for name in ("vb-x", "vb-x-staging")}
    with pytest.raises(InvalidParameter, match=r"^context: vb-x-staging is also"):
        to_update_config(bodies)


def test_too_many_contexts_for_one_swap_are_refused() -> None:
    fits = {f"vb-{n}": f"[vb-{n}]\nexten => s,1,NoOp()\n" for n in range(20)}
    assert 2 + len(to_update_config(fits)[-1]) <= AMI_MAX_HEADERS
    many = {f"vb-{n}": f"[vb-{n}]\nexten => s,1,NoOp()\n" for n in range(21)}
    with pytest.raises(InvalidParameter, match=r"^contexts: too many to swap in one action"):
        to_update_config(many)


@pytest.mark.parametrize(
    "filename", ["../extensions.conf", "/etc/asterisk/extensions.conf", "x.txt", "a\r\n.conf"]
)
def test_bad_filenames_are_refused(filename: str, contexts: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter, match=r"^filename: "):
        to_update_config(contexts, filename=filename)


def test_another_file_can_be_named(contexts: dict[str, str]) -> None:
    for action in to_update_config(contexts, filename="extensions_voicebridge.conf"):
        assert action[:2] == [
            ("SrcFilename", "extensions_voicebridge.conf"),
            ("DstFilename", "extensions_voicebridge.conf"),
        ]
