"""The fake Asterisk's dialplan as pbx_config loads it (the lines it skips, with
Asterisk's warnings).

The expectations are Asterisk 22.10.1's source (``pbx/pbx_config.c``'s
``pbx_load_config()``, ``main/pbx.c``'s ``add_priority()``): no trace recorded them."""

from voicebridge.ami.sim import LogMessage
from voicebridge.ami.sim.config import lab_files
from voicebridge.ami.sim.dialplan import (
    PRIORITY_HINT,
    build_dialplan,
    builtin_contexts,
    parse_extensions,
)


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
