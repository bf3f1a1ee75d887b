"""The escaper: what reaches a dialplan line (or an AMI header) and what never does."""

from collections.abc import Callable

import pytest

from dialplans import escape
from dialplans.errors import InvalidParameter

Validator = Callable[[object], str]

VALIDATORS: dict[str, Validator] = {
    "comment": lambda v: escape.comment(v, name="p"),
    "argument": lambda v: escape.argument(v, name="p"),
    "context": lambda v: escape.identifier(v, name="p", kind="context"),
    "variable": lambda v: escape.identifier(v, name="p", kind="variable"),
    "prompt": lambda v: escape.identifier(v, name="p", kind="prompt"),
    "language": lambda v: escape.identifier(v, name="p", kind="language"),
    "room_prefix": lambda v: escape.room_prefix(v, name="p"),
    "config_filename": lambda v: escape.config_filename(v, name="p"),
    "prompt_path": lambda v: escape.prompt_path("vb", v, name="p"),
    "header_value": lambda v: escape.header_value(v, name="p"),
}

# a value each validator accepts, to splice forbidden characters into
ACCEPTED: dict[str, str] = {
    "comment": "voicebridge 0.1.0",
    "argument": "vb/ack-intro",
    "context": "vb-ack",
    "variable": "VB_ROOM",
    "prompt": "ack-intro",
    "language": "es",
    "room_prefix": "LIM",
    "config_filename": "extensions.conf",
    "prompt_path": "ack-intro",
    "header_value": ">s,1,NoOp(x)",
}

BREAKS = ["\r", "\n", "\r\n", "\n\n", "\r\r"]
CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\r\n"] + [
    "\x7f",
    "\x85",  # NEL
    "\u2028",  # LINE SEPARATOR
    "\u2029",  # PARAGRAPH SEPARATOR
    "\u200b",  # ZERO WIDTH SPACE (format)
    "\ufeff",
]


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
def test_the_accepted_values_pass_unchanged(kind: str) -> None:
    out = VALIDATORS[kind](ACCEPTED[kind])
    assert out.endswith(ACCEPTED[kind])


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_cr_and_lf_never_pass(kind: str, brk: str, where: str) -> None:
    good = ACCEPTED[kind]
    value = {"start": brk + good, "middle": good[:2] + brk + good[2:], "end": good + brk}[where]
    with pytest.raises(InvalidParameter, match=r"^p: contains a line break \(CR or LF\)"):
        VALIDATORS[kind](value)


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_never_pass(kind: str, char: str) -> None:
    value = ACCEPTED[kind][:1] + char + ACCEPTED[kind][1:]
    with pytest.raises(
        InvalidParameter, match=rf"^p: contains the control character U\+{ord(char):04X}"
    ):
        VALIDATORS[kind](value)


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
@pytest.mark.parametrize("directive", ["#exec", "#include", "#EXEC", "#Include", "#tryinclude"])
def test_directives_never_pass(kind: str, directive: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^p: contains the configuration directive #"):
        VALIDATORS[kind](f"{ACCEPTED[kind]} {directive} /bin/sh")


@pytest.mark.parametrize(
    ("sequence", "reason"),
    [
        ("${", "starts a variable or function substitution"),
        ("$[", "starts an expression"),
        (";", "starts a comment in extensions.conf"),
        (",", "would split the application's arguments"),
        ("(", "would change how the application's arguments are parsed"),
        (")", "would change how the application's arguments are parsed"),
        ("[", "would group the application's arguments"),
        ("]", "would group the application's arguments"),
        ('"', "would quote the application's arguments"),
        ("\\", "would escape the next character"),
        ("&", "would join several files in Playback"),
    ],
)
@pytest.mark.parametrize("kind", sorted(set(VALIDATORS) - {"comment", "header_value"}))
def test_metacharacters_are_refused_in_arguments(kind: str, sequence: str, reason: str) -> None:
    value = ACCEPTED[kind][:1] + sequence + ACCEPTED[kind][1:]
    with pytest.raises(InvalidParameter) as caught:
        VALIDATORS[kind](value)
    assert caught.value.parameter == "p"
    assert str(caught.value).startswith(f"p: contains {sequence!r}, which {reason}")


def test_the_message_names_the_parameter_and_shows_the_value() -> None:
    with pytest.raises(InvalidParameter) as caught:
        escape.argument("vb\r\nAction: Command", name="prompt_dir")
    assert caught.value.parameter == "prompt_dir"
    assert str(caught.value) == (
        "prompt_dir: contains a line break (CR or LF) (got 'vb\\r\\nAction: Command')"
    )


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidParameter) as caught:
        escape.argument("x" * 200 + ";", name="p")
    assert len(str(caught.value)) < 140


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("context", "Vb-ack"),
        ("context", "1vb"),
        ("context", "vb ack"),
        ("context", "vb/ack"),
        ("context", "x" * 64),
        ("variable", "vb_room"),
        ("variable", "VB-ROOM"),
        ("prompt", "../etc/passwd"),
        ("prompt", "vb/ack"),
        ("prompt", "Ack"),
        ("prompt", "ack.wav"),
        ("language", "spanish"),
        ("language", "es-PE"),
        ("language", ""),
    ],
)
def test_identifiers_must_match_their_pattern(kind: escape.IdentifierKind, value: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^name: "):
        escape.identifier(value, name="name", kind=kind)


@pytest.mark.parametrize("name", ["general", "globals"])
def test_reserved_categories_are_not_contexts(name: str) -> None:
    with pytest.raises(InvalidParameter, match=r"reserved category"):
        escape.identifier(name, name="ack_context", kind="context")


@pytest.mark.parametrize("value", ["lim", "L", "LIMACALLA", "LIM1", "LIM-"])
def test_room_prefixes_are_incident_id_prefixes(value: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^room_prefix: "):
        escape.room_prefix(value, name="room_prefix")


@pytest.mark.parametrize(
    "value", ["../extensions.conf", "/etc/asterisk/extensions.conf", "extensions", "x.conf.bak"]
)
def test_config_filenames_have_no_directory(value: str) -> None:
    with pytest.raises(InvalidParameter, match=r"^filename: "):
        escape.config_filename(value, name="filename")


def test_arguments_are_not_empty_nor_padded() -> None:
    with pytest.raises(InvalidParameter, match=r"^p: must not be empty"):
        escape.argument("", name="p")
    with pytest.raises(InvalidParameter, match=r"^p: has leading or trailing spaces"):
        escape.argument(" es", name="p")


@pytest.mark.parametrize("value", [None, 3, b"es", ["es"]])
def test_only_strings_are_text(value: object) -> None:
    with pytest.raises(InvalidParameter, match=r"^p: must be a string, not "):
        escape.argument(value, name="p")


def test_integers() -> None:
    assert escape.integer(10, name="t", minimum=1, maximum=60) == "10"
    assert isinstance(escape.integer(10, name="t", minimum=1, maximum=60), escape.DialplanText)
    with pytest.raises(InvalidParameter, match=r"^t: must be between 1 and 60 \(got 0\)"):
        escape.integer(0, name="t", minimum=1, maximum=60)
    with pytest.raises(InvalidParameter, match=r"^t: must be an integer, not bool"):
        escape.integer(True, name="t", minimum=0, maximum=60)
    with pytest.raises(InvalidParameter, match=r"^t: must be an integer, not str"):
        escape.integer("10", name="t", minimum=1, maximum=60)
    with pytest.raises(InvalidParameter, match=r"^t: must be an integer, not float"):
        escape.integer(1.5, name="t", minimum=1, maximum=60)


def test_every_validator_returns_dialplan_text_except_header_values() -> None:
    for kind, validate in VALIDATORS.items():
        if kind != "header_value":
            assert isinstance(validate(ACCEPTED[kind]), escape.DialplanText), kind


GOOD_CONF = """\
; a comment
[vb-test]
exten => s,1,NoOp(x)
 same => n(label),GotoIf($["${A}" = "1"]?label)
 same => 3,Hangup()
exten => _[A-Z].,1,NoOp(${EXTEN})
"""


def test_plausible_extensions_conf_passes() -> None:
    escape.check_extensions_conf(GOOD_CONF, source="t")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exten => s,1,NoOp(x)\n", "line 1: comes before any [context] header"),
        ("[c]\n same => n,NoOp(x)\n", "line 2: is a same => line with no exten => line"),
        ("[c]\nexten => s,2,NoOp(x)\n", "line 2: starts an extension with a priority other"),
        ("[c]\nexten => s,1,NoOp(x\n", "line 2: is not a comment, a [context]"),
        ("[c]\nexten => s,1,NoOp((x)\n", "line 2: has unbalanced brackets"),
        ("[c]\nexten => s,1,Set(A=${B)\n", "line 2: has unbalanced brackets"),
        ("[c]\n#exec /bin/sh\n", "line 2: contains the configuration directive #exec"),
        ("[c]\n#include other.conf\n", "line 2: contains the configuration directive"),
        ("[c]\nexten = s,1,NoOp(x)\n", "line 2: is not a comment"),
        ("[c]\nexten => s,1,NoOp(x)\r\n", "line 2: contains a line break"),
        ("[c]\nexten => s,1,NoOp(" + "x" * 500 + ")\n", "line 2: is 519 characters long"),
        ("[C]\n", "line 1: is not a comment"),
        ("[c](!)\n", "line 1: is not a comment"),
        ("same => n,NoOp(x)\n", "line 1: is not a comment"),
    ],
)
def test_implausible_extensions_conf_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        escape.check_extensions_conf(text, source="t")
    assert str(caught.value).startswith("t, ")
    assert message in str(caught.value)
