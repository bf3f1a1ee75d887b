"""Rendering the contexts: golden files, the ack and line check contracts, strictness of
the templates."""

import dataclasses
import re
from importlib import metadata

import pytest

from dialplans import escape
from dialplans.errors import InvalidParameter, TemplateProblem
from dialplans.prompts import (
    CATEGORY_PREFIX,
    DISTRICT_PREFIX,
    PROMPTS,
    all_prompts,
    category_prompt,
    district_prompt,
    menu_prompts,
)
from dialplans.render import (
    ACK_TEMPLATE,
    CHECK_PLAYS,
    CHECK_TEMPLATE,
    MAX_DIGITS,
    ROOM_TEMPLATE,
    CitizenLine,
    DialplanParams,
    render_contexts,
    render_file,
    render_template,
    template_values,
)
from routing.categories import CATEGORIES
from routing.districts import DISTRICTS
from routing.ids import format_incident_id, is_incident_id
from tests.dialplans.goldens import assert_golden

ACK_EVENT = "UserEvent(ResponderAck,Digit: ${VB_KEY},ReadStatus: ${READSTATUS},Room: ${VB_ROOM})"
CHECK_EVENT = "UserEvent(LineCheck,Digit: ${VB_KEY},ReadStatus: ${READSTATUS})"
CHECK_HANGUP = "UserEvent(LineCheck,Digit: ,ReadStatus: HANGUP)"
CHECK_READ = "Read(VB_KEY,silence/1&vb/check-intro,1,,1,10)"
GOLDEN_VERSION = "0.0.0-golden"

LINE = re.compile(
    r";.*"
    r"|\[[a-z][a-z0-9_-]*\]"
    r"|exten => [^,]+,1(\([a-z_]+\))?,[A-Z][A-Za-z]*\(.*\)"
    r"| same => (n|[0-9]+)(\([a-z_]+\))?,[A-Z][A-Za-z]*\(.*\)"
)
MESSAGE_FILE = re.compile(
    r"(?P<file>[a-z0-9_-]+/[a-z0-9_-]+)"
    r"|digits/\$\{VB_DIGITS:\$\{VB_POS\}:1\}"
    r"|vb/categoria-\$\{VB_CATEGORY\}"
)
"""What one ``&``-separated piece of the ack message may be: a fixed file name, one digit
of the FILTERed VB_DIGITS, or the category prompt of the FILTERed VB_CATEGORY."""


def _message_files(ack: str) -> list[str]:
    """The pieces of VB_MESSAGE, the ack message's file list, in the order it is built."""
    pieces: list[str] = []
    for value in re.findall(r"^ same => n,Set\(VB_MESSAGE=(.*)\)$", ack, flags=re.MULTILINE):
        first, *rest = value.split("&")
        assert first == ("${VB_MESSAGE}" if pieces else "silence/1"), value
        pieces += rest if pieces else [first, *rest]
    return pieces


@pytest.fixture
def contexts() -> dict[str, str]:
    return render_contexts(DialplanParams())


def test_the_default_contexts_match_the_golden_files(contexts: dict[str, str]) -> None:
    assert list(contexts) == [
        "vb-ack",
        "vb-room",
        "vb-check",
        "vb-citizen",
        "vb-citizen-menu",
        "vb-citizen-menu-6",
    ]
    for name, text in contexts.items():
        assert_golden(f"{name}.conf", text)


def test_the_whole_file_matches_its_golden_file() -> None:
    assert_golden(
        "extensions-voicebridge.conf", render_file(DialplanParams(), version=GOLDEN_VERSION)
    )


def test_every_line_is_plausible_extensions_conf(contexts: dict[str, str]) -> None:
    text = render_file(DialplanParams(), version=GOLDEN_VERSION)
    for number, line in enumerate(text.splitlines(), start=1):
        assert len(line) <= 500, number
        assert line.isascii(), (number, line)
        assert line == "" or LINE.fullmatch(line), (number, line)
        # one priority per line (a template comment can swallow a line break)
        assert "exten => " not in line[1:], (number, line)
        assert " same => " not in line[1:], (number, line)
    for name, body in contexts.items():
        lines = body.splitlines()
        assert "" not in lines, name
        assert f"[{name}]" in lines
        assert all(
            line.startswith((";", f"[{name}]")) for line in lines[: lines.index(f"[{name}]")]
        )


def test_the_ack_context_reports_with_the_exact_user_event(contexts: dict[str, str]) -> None:
    ack = contexts["vb-ack"].splitlines()
    read = next(i for i, line in enumerate(ack) if ",Read(VB_KEY," in line)
    assert ack[read + 1] == f" same => n,{ACK_EVENT}"  # right after the Read, always
    assert ack.count(f" same => n,{ACK_EVENT}") == 1


def test_the_ack_context_flow(contexts: dict[str, str]) -> None:
    ack = contexts["vb-ack"]
    assert ack.index("[vb-ack]\nexten => s,1,") > 0
    for line in (
        " same => n,Set(CHANNEL(language)=es)",
        " same => n,Set(TIMEOUT(absolute)=180)",
        " same => n,Answer()",
        " same => n,Set(VB_MESSAGE=silence/1&vb/ack-intro)",
        " same => n,While($[${VB_POS} < ${LEN(${VB_DIGITS})} & ${VB_POS} < 9])",
        " same => n,Set(VB_MESSAGE=${VB_MESSAGE}&digits/${VB_DIGITS:${VB_POS}:1})",
        " same => n,Set(VB_MESSAGE=${VB_MESSAGE}&vb/categoria-${VB_CATEGORY}&vb/ack-menu)",
        " same => n(message),Set(VB_PLAYS=$[${VB_PLAYS} + 1])",
        " same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,10)",
        ' same => n,GotoIf($["${VB_KEY}" = "1"]?accepted)',
        ' same => n,GotoIf($["${VB_KEY}" = "2"]?declined)',
        ' same => n,GotoIf($["${VB_KEY}" = "9" & ${VB_PLAYS} < 3]?message)',
        " same => n(accepted),Set(VB_ACK_STATE=done)",
        " same => n,Set(CONFBRIDGE(user,quiet)=yes)",
        " same => n,Set(CONFBRIDGE(user,announce_only_user)=no)",
        " same => n,Set(CONFBRIDGE(bridge,max_members)=16)",
        " same => n,ConfBridge(${VB_ROOM})",
        "exten => h,1,",
    ):
        assert f"{line}" in ack, line
    # the prompt phase has its own absolute timeout; the conference gets a longer one
    assert ack.index("TIMEOUT(absolute)=180") < ack.index("Answer()")
    assert ack.index("TIMEOUT(absolute)=14400") < ack.index("ConfBridge(")
    # declined and unanswered legs hang up after their prompt
    for prompt in ("vb/ack-declined", "vb/ack-no-answer"):
        assert f"Playback({prompt})\n same => n,Hangup()\n" in ack
    assert "Playback(vb/ack-accepted)\n" in ack


def test_the_whole_ack_message_is_one_interruptible_read(contexts: dict[str, str]) -> None:
    """Playback() and SayDigits() drop a key pressed while they play (seen on Asterisk
    22.10.1): every part of the message is a file of the one Read(), which any key stops,
    and nothing else plays between Answer() and the report of the Read (but the digits
    of an extension, sent to the line's own menu before anyone listens)."""
    ack = contexts["vb-ack"]
    assert "SayDigits(" not in ack
    assert "Background(" not in ack
    assert "Wait(" not in ack
    assert _message_files(ack) == [
        "silence/1",
        "vb/ack-intro",
        "digits/${VB_DIGITS:${VB_POS}:1}",
        "vb/categoria-${VB_CATEGORY}",
        "vb/ack-menu",
    ]
    lines = ack.splitlines()
    answer = lines.index(" same => n,Answer()")
    read = lines.index(" same => n,Read(VB_KEY,${VB_MESSAGE},1,,1,10)")
    assert lines[answer + 1 : read] == [
        ' same => n,GotoIf($["${VB_DTMF}" = ""]?prompt)',
        " same => n,SendDTMF(${VB_DTMF})",
        " same => n(prompt),Set(VB_PLAYS=0)",
        " same => n(message),Set(VB_PLAYS=$[${VB_PLAYS} + 1])",
    ]
    assert [line for line in lines if "Playback(" in line] == [
        " same => n,Playback(vb/ack-no-answer)",
        " same => n,Playback(vb/ack-accepted)",
        " same => n,Playback(vb/ack-declined)",
    ]
    # the list is complete before Answer(): 9 replays the same message
    built = [i for i, line in enumerate(lines) if "Set(VB_MESSAGE=" in line]
    assert max(built) < answer
    assert lines[built[0] + 1 : built[0] + 6] == [
        " same => n,Set(VB_POS=0)",
        " same => n,While($[${VB_POS} < ${LEN(${VB_DIGITS})} & ${VB_POS} < 9])",
        " same => n,Set(VB_MESSAGE=${VB_MESSAGE}&digits/${VB_DIGITS:${VB_POS}:1})",
        " same => n,Set(VB_POS=$[${VB_POS} + 1])",
        " same => n,EndWhile()",
    ]


def test_the_ack_message_is_built_only_from_safe_pieces(contexts: dict[str, str]) -> None:
    """Every & of the message comes from the template, between pieces that cannot hold
    one: fixed names (each passed the escaper, which refuses &), one character of VB_DIGITS
    after FILTER(0-9), and the category after FILTER(a-z_). The loop speaks at most
    MAX_DIGITS digits, so the list stays short whatever VB_DIGITS holds."""
    ack = contexts["vb-ack"]
    for piece in _message_files(ack):
        assert MESSAGE_FILE.fullmatch(piece), piece
    lines = ack.splitlines()
    filtered = {
        "VB_DIGITS": " same => n,Set(VB_DIGITS=${FILTER(0-9,${VB_DIGITS})})",
        "VB_CATEGORY": " same => n,Set(VB_CATEGORY=${FILTER(a-z_,${VB_CATEGORY})})",
    }
    first_use = min(i for i, line in enumerate(lines) if "Set(VB_MESSAGE=" in line)
    for line in filtered.values():
        assert lines.index(line) < first_use
    assert MAX_DIGITS == 9
    assert is_incident_id(format_incident_id("LIM", 2026, 10**MAX_DIGITS - 1))
    assert not is_incident_id(format_incident_id("LIM", 2026, 10**MAX_DIGITS))


def test_the_prompt_list_is_not_a_parameter() -> None:
    """A prompt name with & (which would add a file to the list) is refused before the
    template sees it; the & of the list are the template's own."""
    with pytest.raises(InvalidParameter, match=r"^prompt_dir: contains '&'"):
        DialplanParams(prompt_dir="vb&silence")
    values = template_values(DialplanParams())
    for name in ("pause_prompt", "digit_dir", "category_prompt"):
        value = values[name]
        assert isinstance(value, escape.DialplanText), name
        assert "&" not in value, name


def test_a_leg_that_hangs_up_before_its_answer_is_reported(contexts: dict[str, str]) -> None:
    """On Asterisk 22 a hangup during the prompt ends s at once (the line after Read never
    runs): h reports it, for any hangup from the room check on, even during the first
    second after Answer() (the state was set after it before)."""
    ack = contexts["vb-ack"]
    prompting = ack.index(" same => n,Set(VB_ACK_STATE=prompting)\n")
    assert ack.index("(room_ok)") < prompting < ack.index(" same => n,Answer()\n")
    assert ack.count("Set(VB_ACK_STATE=prompting)") == 1
    for label in ("accepted", "declined"):
        assert f" same => n({label}),Set(VB_ACK_STATE=done)\n" in ack
    assert ack.index("Set(VB_ACK_STATE=done)\n same => n,Playback(vb/ack-no-answer)") > 0
    assert 'exten => h,1,GotoIf($["${VB_ACK_STATE}" != "prompting"]?ended)\n' in ack
    assert " same => n,UserEvent(ResponderAck,Digit: ,ReadStatus: HANGUP,Room: ${VB_ROOM})\n" in ack


def test_the_check_context_flow(contexts: dict[str, str]) -> None:
    """vb-check: the language, the prompt phase's timeout, VB_DTMF FILTERed before
    Answer() and sent after it, then the message: one Read() of the pause and the prompt,
    a second play only when the first timed out (a key, even a wrong one, answers), the
    report, and a closing prompt before the hang-up."""
    check = contexts["vb-check"]
    assert check.index("[vb-check]\nexten => s,1,NoOp(responder line check)\n") > 0
    lines = check.splitlines()
    start = lines.index("exten => s,1,NoOp(responder line check)")
    assert lines[start + 1 :] == [
        " same => n,Set(CHANNEL(language)=es)",
        " same => n,Set(TIMEOUT(absolute)=180)",
        " same => n,Set(VB_DTMF=${FILTER(0-9*#w,${VB_DTMF})})",
        " same => n,Set(VB_CHECK_STATE=prompting)",
        " same => n,Answer()",
        ' same => n,GotoIf($["${VB_DTMF}" = ""]?prompt)',
        " same => n,SendDTMF(${VB_DTMF})",
        " same => n(prompt),Set(VB_PLAYS=0)",
        " same => n(message),Set(VB_PLAYS=$[${VB_PLAYS} + 1])",
        f" same => n,{CHECK_READ}",
        ' same => n,GotoIf($["${READSTATUS}" = "TIMEOUT" & ${VB_PLAYS} < 2]?message)',
        f" same => n,{CHECK_EVENT}",
        " same => n,Set(VB_CHECK_STATE=done)",
        ' same => n,GotoIf($["${VB_KEY}" = "1"]?confirmed)',
        " same => n,Playback(vb/check-no-key)",
        " same => n,Hangup()",
        " same => n(confirmed),Playback(vb/check-confirmed)",
        " same => n,Hangup()",
        'exten => h,1,GotoIf($["${VB_CHECK_STATE}" != "prompting"]?ended)',
        f" same => n,{CHECK_HANGUP}",
        " same => n(ended),NoOp(responder line check ended)",
    ]
    assert CHECK_PLAYS == 2


def test_the_check_context_reports_once_with_the_exact_user_event(
    contexts: dict[str, str],
) -> None:
    """One LineCheck after the last Read (headers Digit and ReadStatus only), or h's
    HANGUP while the state is still ``prompting``: it turns ``done`` right after the
    report, so a hang-up during the closing prompt reports nothing more."""
    check = contexts["vb-check"]
    assert check.count("UserEvent(") == 2
    assert check.count(f" same => n,{CHECK_EVENT}\n same => n,Set(VB_CHECK_STATE=done)\n") == 1
    assert check.count(f" same => n,{CHECK_HANGUP}\n") == 1
    assert check.count("Set(VB_CHECK_STATE=prompting)") == 1
    assert check.index("Set(VB_CHECK_STATE=prompting)") < check.index("Answer()")
    assert "SayDigits(" not in check
    assert "Background(" not in check
    assert "ConfBridge(" not in check
    reads = [line for line in check.splitlines() if "Read(" in line and line[0] != ";"]
    assert reads == [f" same => n,{CHECK_READ}"]
    assert check.count("Playback(") == 2


def test_the_check_context_is_refused_like_the_others() -> None:
    values = template_values(DialplanParams())
    del values["check_plays"]
    with pytest.raises(
        TemplateProblem, match=r"^template vb-check.conf.j2, line 6: undefined variable"
    ):
        render_template(CHECK_TEMPLATE, values)
    values = template_values(DialplanParams())
    prompts = values["prompts"]
    assert isinstance(prompts, dict)
    values["prompts"] = {k: v for k, v in prompts.items() if k != "check-intro"}
    with pytest.raises(TemplateProblem, match=r"undefined variable: .*'check-intro'"):
        render_template(CHECK_TEMPLATE, values)
    values = template_values(DialplanParams())
    values["check_context"] = "vb-check"  # not passed through the escaper
    with pytest.raises(TemplateProblem, match=r"did not pass dialplans.escape"):
        render_template(CHECK_TEMPLATE, values)


def test_the_line_check_needs_its_two_plays_within_the_timeout() -> None:
    """With one play of the ack message, the line check's two plays may be the longer."""
    DialplanParams(max_repeats=1, read_timeout=30, absolute_timeout=82)
    with pytest.raises(InvalidParameter) as caught:
        DialplanParams(max_repeats=1, read_timeout=30, absolute_timeout=81)
    assert caught.value.parameter == "absolute_timeout"
    assert caught.value.message.startswith(
        "must be at least 82 s (2 plays of the ~6 s line check's message, each followed by "
        "the 30 s read"
    )


SANITISER = re.compile(
    r" same => n,Set\((?P<target>VB_[A-Z_]+)="
    r"\$\{(?P<function>FILTER\([^,]+,|LEN\()\$\{(?P<source>[A-Z_]+)\}\)\}\)"
)
CHANNEL_INPUT = re.compile(
    r"\$\{(VB_ROOM|VB_INCIDENT|VB_DIGITS|VB_CATEGORY|VB_DTMF|VB_BRIDGE|VB_CODE|VB_OK|EXTEN)[}:]"
)
"""A read of channel input: ``${NAME}`` or a substring of it, ``${NAME:offset:length}``."""


def _raw_reads(body: str) -> list[str]:
    """The lines of ``body`` that read a VB_* variable (set by whoever originates) or EXTEN
    outside LEN() and FILTER() before FILTER() replaced it in the same extension (h runs
    after s, so s's filtering counts for h)."""
    raw: list[str] = []
    clean: set[str] = set()
    for line in body.splitlines():
        if line.startswith(";"):
            continue
        if line.startswith("exten => ") and not line.startswith("exten => h,"):
            clean = set()
        sanitiser = SANITISER.fullmatch(line)
        if sanitiser:
            if sanitiser["function"].startswith("FILTER"):
                clean.add(sanitiser["target"])
            continue
        if any(name not in clean for name in CHANNEL_INPUT.findall(line)):
            raw.append(line)
    return raw


def test_channel_input_is_filtered_before_use(contexts: dict[str, str]) -> None:
    for name, body in contexts.items():
        assert _raw_reads(body) == [], name


@pytest.mark.parametrize(
    "line",
    [
        " same => n,SayDigits(${VB_DIGITS})",
        " same => n,Set(VB_MESSAGE=${VB_MESSAGE}&digits/${VB_DIGITS:${VB_POS}:1})",
        " same => n,Set(VB_MESSAGE=${VB_DIGITS:0:9})",
        ' same => n,GotoIf($["${VB_CATEGORY}" = "robo"]?robo)',
        " same => n,SendDTMF(${VB_DTMF})",
    ],
)
def test_a_raw_read_of_channel_input_is_found(line: str) -> None:
    filters = "".join(
        f" same => n,Set({name}=${{FILTER(0-9a-z,${{{name}}})}})\n"
        for name in ("VB_DIGITS", "VB_CATEGORY", "VB_DTMF")
    )
    body = f"[c]\nexten => s,1,NoOp(x)\n{line}\n{filters}"
    assert _raw_reads(body) == [line]
    assert _raw_reads(body + line + "\n") == [line]  # after FILTER() it is clean


def test_no_dial_and_no_directive(contexts: dict[str, str]) -> None:
    text = "".join(contexts.values())
    assert "Dial(" not in text
    assert "#exec" not in text
    assert "#include" not in text


def test_the_room_check_is_the_incident_id_pattern(contexts: dict[str, str]) -> None:
    found = set(re.findall(r'REGEX\("([^"]+)" \$\{VB_ROOM\}\)', "".join(contexts.values())))
    assert len(found) == 1
    pattern = re.compile(found.pop())  # POSIX ERE; this one means the same in Python
    samples = [
        format_incident_id("LIM", 2026, 123),
        format_incident_id("LIM", 2026, 1234567),
        "LIM-2026-00012",
        "LIM-2026-0001234567",
        "LIM-26-000123",
        "lim-2026-000123",
        "LIMA-2026-000123",
        "LIM-2026-000123;",
        "",
    ]
    for sample in samples:
        expected = is_incident_id(sample) and sample.startswith("LIM-")
        assert (pattern.search(sample) is not None) == expected, sample


def test_the_room_context_joins_quietly_and_only_valid_rooms(contexts: dict[str, str]) -> None:
    room = contexts["vb-room"]
    assert "exten => s,1," in room
    assert "exten => _[A-Z].,1," in room
    assert room.count("ConfBridge(${VB_ROOM})") == 2
    assert room.count("Set(CONFBRIDGE(user,quiet)=yes)") == 2
    assert room.count("Set(VB_ROOM=${FILTER(0-9A-Z-,${EXTEN})})") == 1
    assert room.count("?room_ok)") == 2
    assert "Playback(" not in room
    assert "Read(" not in room


ASTERISK_SOUNDS = {"silence/1", "digits/${VB_DIGITS:${VB_POS}:1}"}
"""The core sounds of Asterisk the message plays (asterisk-core-sounds-es), not ours."""


def test_every_prompt_played_is_built() -> None:
    contexts = render_contexts(DialplanParams())
    text = "".join(contexts.values())
    played = re.findall(r"(?:Playback|Background)\(([^)]*)\)|Read\([A-Z_]+,([^,]*),", text)
    names = {a or b for a, b in played}
    assert "${VB_MESSAGE}" in names
    names = (names - {"${VB_MESSAGE}"}) | set(_message_files(contexts["vb-ack"]))
    assert names >= ASTERISK_SOUNDS
    built = all_prompts()
    # a menu plays VB_PLAY: the welcome (the first time) and the menu's prompt
    names = {f for n in names - {"${VB_PLAY}"} for f in n.split("&")}
    menus = "".join(body for name, body in contexts.items() if "-menu" in name)
    names |= set(re.findall(r"Set\(VB_PLAY=\$\{VB_WELCOME\}([^)]*)\)", menus))
    welcome = re.findall(r"Set\(VB_WELCOME=([^)]*)&\)", contexts["vb-citizen"])
    names |= {n for w in welcome for n in w.split("&")}
    for path in names - ASTERISK_SOUNDS:
        folder, _, name = path.partition("/")
        assert folder == "vb", path
        if name == f"{CATEGORY_PREFIX}${{VB_CATEGORY}}":
            assert {category_prompt(c.code) for c in CATEGORIES} <= set(built)
        elif name in (f"{DISTRICT_PREFIX}${{VB_DISTRICT}}", f"{DISTRICT_PREFIX}${{VB_CODE}}"):
            assert {district_prompt(d.ubigeo) for d in DISTRICTS} <= set(built)
        else:
            assert name in PROMPTS or name in menu_prompts(), name
    phrases = {f"vb/{name}" for name in [*PROMPTS, *menu_prompts()]}
    assert phrases <= names, "a phrase no template plays"


def test_custom_params_reach_the_lines() -> None:
    params = DialplanParams(
        read_timeout=5,
        max_repeats=2,
        absolute_timeout=90,
        conference_timeout=3600,
        max_members=12,
        prompt_dir="cic",
        language="es_PE",
        room_prefix="CAL",
        ack_context="cic-ack",
        room_context="cic-room",
        check_context="cic-check",
    )
    contexts = render_contexts(params)
    assert list(contexts) == [
        "cic-ack",
        "cic-room",
        "cic-check",
        "vb-citizen",
        "vb-citizen-menu",
        "vb-citizen-menu-6",
    ]
    ack = contexts["cic-ack"]
    assert "[cic-ack]" in ack
    assert "Read(VB_KEY,${VB_MESSAGE},1,,1,5)" in ack
    assert "Set(VB_MESSAGE=silence/1&cic/ack-intro)" in ack
    assert "&cic/categoria-${VB_CATEGORY}&cic/ack-menu)" in ack
    assert "${VB_PLAYS} < 2]" in ack
    assert "TIMEOUT(absolute)=90)" in ack
    assert "TIMEOUT(absolute)=3600)" in ack
    assert "CHANNEL(language)=es_PE)" in ack
    assert "max_members)=12)" in ack
    assert '"^CAL-[0-9]{4}-[0-9]{6,9}$"' in contexts["cic-room"]
    check = contexts["cic-check"]
    assert "[cic-check]" in check
    assert " same => n,Read(VB_KEY,silence/1&cic/check-intro,1,,1,5)\n" in check
    assert "Playback(cic/check-confirmed)" in check
    assert "TIMEOUT(absolute)=90)" in check
    assert "CHANNEL(language)=es_PE)" in check
    assert "${VB_PLAYS} < 2]" in check  # the line check plays twice, whatever max_repeats


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("read_timeout", 0, "must be between 1 and 60"),
        ("max_repeats", 9, "must be between 1 and 5"),
        ("absolute_timeout", 5, "must be between 30 and 900"),
        ("absolute_timeout", 114, "must be at least 115 s (3 plays of the ~25 s message"),
        ("conference_timeout", 0, "must be between 300 and 86400"),
        ("max_members", 1, "must be between 2 and 100"),
        ("prompt_dir", "../vb", "is not a prompt name"),
        ("prompt_dir", "vb/x", "is not a prompt name"),
        ("prompt_dir", "vb&x", "contains '&'"),
        ("language", "es\n", "contains a line break"),
        ("room_prefix", "LIM,x", "contains ','"),
        ("ack_context", "vb-ack]\n[evil", "contains a line break"),
        ("ack_context", "vb;ack", "contains ';'"),
        ("room_context", "vb-ack", "must differ from ack_context"),
        ("check_context", "vb-ack", "must differ from ack_context"),
        ("check_context", "vb-room", "must differ from room_context"),
        ("citizen_context", "vb-check", "must differ from check_context"),
        ("check_context", "vb-check]\n[evil", "contains a line break"),
        ("check_context", "vb-check,s", "contains ','"),
        ("check_context", "", "must not be empty"),
        ("room_context", "${EXTEN}", "contains '${'"),
        ("read_timeout", "10", "must be an integer"),
    ],
)
def test_bad_params_are_refused_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        DialplanParams(**{field: value})  # type: ignore[arg-type]
    assert caught.value.parameter == field
    assert message in caught.value.message


def test_a_menu_of_the_citizen_ivr_is_a_context_name_too() -> None:
    with pytest.raises(InvalidParameter) as caught:
        DialplanParams(check_context="vb-citizen-menu-6")
    assert caught.value.parameter == "citizen_context"
    assert caught.value.message == "its menu vb-citizen-menu-6 must differ from check_context"


def test_params_are_frozen_and_keyword_only() -> None:
    params = DialplanParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.read_timeout = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        DialplanParams(10)  # type: ignore[call-arg]


def test_an_undefined_variable_is_an_error() -> None:
    values = template_values(DialplanParams())
    del values["read_timeout"]
    with pytest.raises(TemplateProblem) as caught:
        render_template(ACK_TEMPLATE, values)
    assert str(caught.value) == (
        "template vb-ack.conf.j2, line 39: undefined variable: 'read_timeout' is undefined"
    )


def test_a_missing_prompt_is_an_error() -> None:
    values = template_values(DialplanParams())
    values["prompts"] = {}
    with pytest.raises(TemplateProblem, match=r"undefined variable: .*'ack-intro'"):
        render_template(ACK_TEMPLATE, values)


@pytest.mark.parametrize("value", [10, "10", "es", None])
def test_a_value_that_skipped_the_escaper_is_refused(value: object) -> None:
    values = template_values(DialplanParams())
    values["language"] = value
    with pytest.raises(TemplateProblem, match=r"did not pass dialplans.escape"):
        render_template(ROOM_TEMPLATE, values)


def test_an_escaped_value_that_breaks_a_line_is_caught_by_the_last_check() -> None:
    values = template_values(DialplanParams())
    values["language"] = escape.DialplanText("es)\n#exec /bin/sh")  # forged, not escaped
    with pytest.raises(TemplateProblem, match=r"contains the configuration directive #exec"):
        render_template(ROOM_TEMPLATE, values)


def test_the_file_header_names_voicebridge_and_its_version() -> None:
    text = render_file(DialplanParams())
    first = text.splitlines()[0]
    assert first.startswith(
        f"; Asterisk contexts of voicebridge {metadata.version('voicebridge')},"
    )
    assert "[vb-ack]" in text
    assert "[vb-room]" in text
    assert "[vb-check]" in text
    assert not re.search(r"(^|[\s(=,])/", text), "an absolute path"


def test_the_version_goes_through_the_escaper() -> None:
    with pytest.raises(InvalidParameter, match=r"^version: contains a line break"):
        render_file(DialplanParams(), version="1.0\n#exec /bin/sh")


@pytest.mark.parametrize(
    ("lines", "field", "message"),
    [
        (
            (CitizenLine(number="018001000", district="44"),),
            "citizen_lines[0].district",
            "01 to 43",
        ),
        ((CitizenLine(number="018001000", district="1"),), "citizen_lines[0].district", "01 to 43"),
        ((CitizenLine(number="0180,1000"),), "citizen_lines[0].number", "contains ','"),
        ((CitizenLine(number="01"),), "citizen_lines[0].number", "3 to 15 digits"),
        ((CitizenLine(number="s"),), "citizen_lines[0].number", "3 to 15 digits"),
        (
            (CitizenLine(number="018001000"), CitizenLine(number="018001000", district="01")),
            "citizen_lines[1].number",
            "listed twice",
        ),
    ],
)
def test_citizens_numbers_are_digits_and_districts_codes(
    lines: tuple[CitizenLine, ...], field: str, message: str
) -> None:
    """A number becomes an extension of vb-citizen and a district code a prompt's name:
    anything but digits (and 01 to 43) is refused, naming the line."""
    with pytest.raises(InvalidParameter) as caught:
        DialplanParams(citizen_lines=lines)
    assert caught.value.parameter == field
    assert message in str(caught.value)
