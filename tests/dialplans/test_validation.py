"""An admin's proposed dialplan, checked before it may be saved (issue 14, points 2 and
6): rendered in the sandbox (a child process with time, memory and output limits),
parsed back as Asterisk would load it, every jump and prompt resolved, the contract
with the bridge kept; each problem names the template and its line, in English and in
Spanish."""

import time

import pytest

from dialplans.lint import lint
from dialplans.problems import Problem
from dialplans.render import CitizenLine, DialplanParams
from dialplans.sandbox import Limits, render_isolated
from dialplans.templateset import PARAMETERS, parameters_text, parse_parameters, shipped

PARAMS = DialplanParams(citizen_lines=(CitizenLine(number="105", district="01"),))
FAST = Limits(seconds=3.0, cpu_seconds=2)


def templates() -> dict[str, str]:
    return {k: v for k, v in shipped().items() if k != PARAMETERS}


def edited(name: str, old: str, new: str, count: int = 1) -> dict[str, str]:
    found = templates()
    assert old in found[name], old
    found[name] = found[name].replace(old, new, count)
    return found


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.split("\n"), start=1) if text in line)


def problems(sources: dict[str, str], params: DialplanParams = PARAMS) -> list[Problem]:
    return render_isolated(sources, params, limits=FAST).problems


def test_the_shipped_set_passes_and_counts_what_asterisk_will_load() -> None:
    rendering = render_isolated(templates(), PARAMS, limits=FAST)
    assert rendering.problems == []
    linted = lint(rendering.contexts, PARAMS, templates())  # (the same, in this process)
    assert linted.parsed.count("vb-ack") == (2, 51)
    assert linted.problems == []
    assert set(linted.parsed.contexts["vb-citizen"]) >= {"105", "_X.", "s", "filed", "h"}


def test_a_longer_timeout_is_a_valid_revision() -> None:
    found = edited("vb-ack", "{{ read_timeout }})", "{{ read_timeout }}0)")
    assert problems(found) == []


@pytest.mark.parametrize(
    ("app", "said"),
    [
        ("System(rm -rf /)", "application System() is not allowed"),
        ("Shell(id)", "application Shell() is not allowed"),
        ("Exec(System(id))", "application Exec() is not allowed"),
        ("AGI(agi://evil.example/x)", "application AGI() is not allowed"),
        ("Set(X=${SHELL(id)})", "function SHELL() is not allowed"),
        ("Set(X=${FILE(/etc/passwd)})", "function FILE() is not allowed"),
    ],
)
def test_an_application_or_function_that_reaches_the_machine_is_refused(
    app: str, said: str
) -> None:
    source = templates()["vb-room"]
    found = edited("vb-room", " same => n,Answer()\n", f" same => n,{app}\n same => n,Answer()\n")
    [problem] = problems(found)
    assert problem.template == "vb-room"
    assert problem.line == line_of(found["vb-room"], app)
    assert said in problem.en
    assert "no está permitida" in problem.es
    assert source != found["vb-room"]


@pytest.mark.parametrize("directive", ["#exec /bin/sh", "#include /etc/passwd", "#tryinclude x"])
def test_a_directive_is_refused(directive: str) -> None:
    found = edited(
        "vb-check", "[{{ check_context }}]\n", f"{directive}\n[{{{{ check_context }}}}]\n"
    )
    [problem] = problems(found)
    assert problem.template == "vb-check"
    assert problem.line == line_of(found["vb-check"], directive)
    assert "directive" in problem.en
    assert "directiva" in problem.es


def test_a_jump_to_a_label_that_does_not_exist_is_named_with_its_line() -> None:
    found = edited("vb-ack", "?accepted)", "?acepted)")
    [problem] = problems(found)
    assert problem.template == "vb-ack"
    assert problem.line == line_of(found["vb-ack"], "?acepted)")
    assert "goes to acepted of s@vb-ack: no such priority or label" in problem.en
    assert "no existe esa prioridad ni etiqueta" in problem.es


def test_a_jump_to_another_context_must_find_it() -> None:
    found = edited("vb-citizen-menu", "Goto({{ citizen_context }},operator,1)", "Goto(vb-x,s,1)")
    found_problems = problems(found)
    assert found_problems
    assert all("goes to context vb-x, which does not exist" in p.en for p in found_problems)
    assert {p.template for p in found_problems} == {"vb-citizen-menu"}


def test_a_computed_jump_is_refused() -> None:
    found = edited("vb-room", " same => n,Answer()\n", " same => n,Goto(${VB_NEXT},1)\n")
    [problem] = problems(found)
    assert "computed at run time" in problem.en


def test_a_prompt_voicebridge_does_not_ship_is_refused() -> None:
    found = edited("vb-check", 'prompts["check-no-key"]', 'prompts["check-no-key"] }}x{{ language')
    [problem] = problems(found)
    assert problem.template == "vb-check"
    assert "vb/check-no-keyxes, which is not a prompt voicebridge ships" in problem.en
    found = edited("vb-check", 'Playback({{ prompts["check-no-key"] }})', "Playback(tt-monkeys)")
    [problem] = problems(found)
    assert "tt-monkeys" in problem.en


def test_a_line_asterisk_would_skip_is_caught() -> None:
    found = edited("vb-ack", " same => n(accepted),", " same => n(accepted,")
    found_problems = problems(found)
    assert any(
        p.template == "vb-ack" and p.line == line_of(found["vb-ack"], "n(accepted,")
        for p in found_problems
    ), found_problems
    found = edited("vb-ack", "exten => s,1,NoOp(responder prompt)", "exten => s,n,NoOp(x)")
    assert any("'n' on an extension's first line" in p.en for p in problems(found))


@pytest.mark.parametrize(
    ("template", "old", "new", "said"),
    [
        ("vb-ack", "UserEvent(ResponderAck,Digit:", "UserEvent(ResponderAk,Digit:", "UserEvent"),
        ("vb-ack", ",Room: ${VB_ROOM})", ")", "to carry Room"),
        ("vb-check", "exten => h,1,", "exten => hh,1,", "the extension h in vb-check"),
        ("vb-citizen", "exten => filed,1,", "exten => filled,1,", "the extension filed"),
        ("vb-room", '{% include "_conference.conf.j2" %}', "", "ConfBridge() in vb-room"),
    ],
)
def test_the_contract_with_the_bridge_is_kept(template: str, old: str, new: str, said: str) -> None:
    found = edited(template, old, new, count=-1)  # every one of them
    found_problems = problems(found)
    assert any(said in p.en and "voicebridge necesita" in p.es for p in found_problems), (
        found_problems
    )


def test_each_citizens_number_of_the_routing_file_stays_an_extension() -> None:
    found = edited("vb-citizen", "{% for line in citizen_lines %}", "{% for line in [] %}")
    assert any("citizens' number 105" in p.en for p in problems(found))


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("{% for a in [1,2,3,4,5,6,7,8,9,10] %}" * 10 + "{% endfor %}" * 10, "took more"),
        ("{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 40 + "{{ x }}", "memory"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "sandbox forbids"),
        ("{% include '/etc/passwd' %}", "/etc/passwd"),
        ("{{ lipsum(1000000) }}", "undefined"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "call themselves"),
    ],
)
def test_a_template_that_reaches_out_loops_or_swells_is_refused(source: str, said: str) -> None:
    found = templates()
    found["vb-room"] = source + found["vb-room"]
    [problem] = render_isolated(found, PARAMS, limits=FAST).problems
    assert said in problem.en, problem
    assert problem.es


def test_megabytes_of_output_are_refused() -> None:
    found = templates()
    ten = "{% for a in [0,1,2,3,4,5,6,7,8,9] %}"
    found["vb-room"] = ten * 5 + "; relleno\n" + "{% endfor %}" * 5 + found["vb-room"]
    [problem] = render_isolated(found, PARAMS, limits=FAST).problems
    assert problem.template == "vb-room"
    assert problem.en.startswith("renders more than ")


def test_a_printed_value_is_quoted_short_and_problems_are_capped() -> None:
    found = templates()
    found["vb-room"] = (
        "{% set x = 'ab' %}" + "{% set x = x ~ x %}" * 20 + "{{ x }}\n" + found["vb-room"]
    )
    [problem] = render_isolated(found, PARAMS, limits=FAST).problems
    assert len(problem.en) < 200
    assert "did not pass dialplans.escape" in problem.en
    many = templates()
    lines = "".join(f" same => n,System(x{n})\n" for n in range(80))
    many["vb-check"] = many["vb-check"].replace(
        " same => n,Answer()\n", " same => n,Answer()\n" + lines, 1
    )
    found_problems = problems(many)
    assert len(found_problems) == 51
    assert found_problems[-1].en == "and 30 problems more"


def test_a_syntax_error_is_named_with_its_line() -> None:
    found = edited("vb-check", "(language)={{ language }}", "(language)={{ language }")
    [problem] = render_isolated(found, PARAMS, limits=FAST).problems
    assert problem.template == "vb-check"
    assert problem.line == line_of(found["vb-check"], "(language)={{ language }")
    assert problem.es.startswith("error de plantilla")


def test_parameters_are_checked_with_their_line() -> None:
    text = parameters_text(DialplanParams()).replace("read_timeout: 10", "read_timeout: 0")
    params, found = parse_parameters(text, DialplanParams())
    assert params is None
    [problem] = found
    assert problem.template == "parameters"
    assert problem.line == line_of(text, "read_timeout:")
    assert problem.es == "read_timeout debe estar entre 1 y 60, no 0"
    _, found = parse_parameters("read_timout: 5\n", DialplanParams())
    assert "unknown parameter read_timout" in found[0].en
    _, found = parse_parameters("read_timeout: diez\n", DialplanParams())
    assert found[0].es == "read_timeout debe ser un número entero, no «diez»"
    _, found = parse_parameters("max_repeats: 5\nabsolute_timeout: 60\n", DialplanParams())
    assert found[0].line == 2
    assert "absolute_timeout: must be at least" in found[0].en
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 10)}]\n" for n in range(8)
    )  # a billion laughs: YAML keeps the aliases as references; nothing expands them
    _, found = parse_parameters(bomb + "read_timeout: *i\n", DialplanParams())
    assert [(p.line, p.en) for p in found] == [
        (1, "anchors and aliases (&, *) are not allowed here")
    ]
    _, found = parse_parameters("read_timeout: [[1, 2], [3]]\n", DialplanParams())
    assert found[0].en == "read_timeout must be a whole number, not [[1, 2], [3]]"
    _, found = parse_parameters("read_timeout: [\n", DialplanParams())
    assert "no es YAML" in found[0].es
    params, found = parse_parameters(
        parameters_text(DialplanParams()).replace("menu_tries: 3", "menu_tries: 4"),
        DialplanParams(),
    )
    assert found == []
    assert params is not None
    assert params.menu_tries == 4


def test_a_semicolon_inside_a_line_is_refused_as_asterisk_would_cut_it() -> None:
    found = edited(
        "vb-room", "NoOp(join the room named by VB_ROOM)", "NoOp(sala; la del incidente)"
    )
    [problem] = problems(found)
    assert problem.line == line_of(found["vb-room"], "NoOp(sala; la del")
    assert "starts a comment" in problem.en
    escaped = edited("vb-room", "NoOp(join the room named by VB_ROOM)", r"NoOp(sala\; la del)")
    assert problems(escaped) == []


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        (
            " same => n,Set(VB_F=SHELL)\n same => n,NoOp(${${VB_F}(id)})\n",
            "computed at run time",
        ),
        (
            " same => n,Set(VB_F=FILE)\n same => n,Set(${VB_F}(/etc/asterisk/x,0,0)=x)\n",
            "computed at run time",
        ),
        (" same => n,GotoIf($[1]?from-trunk,s,1?room_ok)\n", "goes to context from-trunk"),
        (" same => n,Dial(Local/s@vb-room,,b(from-trunk^s^1))\n", "Dial() is not allowed"),
        (" same => n,Set(CHANNEL(hangup_handler_push)=from-trunk,s,1)\n", "hangup_handler_push"),
        (" same => n,Background(vb/citizen-silent,,,from-trunk)\n", "Background() takes 1"),
        (" same => n,ConfBridge(${VB_ROOM},,,menu)\n", "ConfBridge() takes 1"),
        (" same => n,NoOp(a\\b)\n", "backslash"),
    ],
)
def test_a_way_around_the_allow_lists_is_refused(lines: str, said: str) -> None:
    """What a review found would get past them (and then run on Asterisk's host)."""
    found = edited("vb-room", " same => n,Answer()\n", lines + " same => n,Answer()\n", 1)
    assert any(said in p.en for p in problems(found)), problems(found)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("exten => _[A-Z].,1,", "exten => ${SHELL(id)},1,", "is not an extension name"),
        ("exten => _[A-Z].,1,", "exten => _[,1,NoOp((]X,1,", "is not an extension name"),
        ("exten => s,1,", "exten=>s,1,", "with one space each side"),
        ("[{{ room_context }}]\n", "", "comes before the context's header"),
    ],
)
def test_an_exten_line_is_read_as_asterisk_reads_it(old: str, new: str, said: str) -> None:
    found = edited("vb-room", old, new)
    assert any(said in p.en for p in problems(found)), problems(found)


@pytest.mark.parametrize(
    "trap",
    [
        # a template line of many {{ }} and a rendered fault line made to match it badly
        "{#\n" + "{{ read_timeout }}a" * 10 + "{{ read_timeout }}b\n#}\n" + "a" * 50 + "\n",
        # a pattern of many wildcards and a jump made to try it
        None,
    ],
)
def test_the_checks_stay_linear_whatever_the_text(trap: str | None) -> None:
    """A review's traps: each used to take minutes of backtracking (in serve, then)."""
    found = templates()
    if trap is None:
        found["vb-check"] += "exten => _" + "." * 20 + "X,1,Hangup()\n"
        found["vb-check"] += "exten => t,1,Goto(" + "a" * 40 + ",1)\n"
    else:
        found["vb-check"] = trap + found["vb-check"]
    started = time.monotonic()
    told = problems(found)
    assert time.monotonic() - started < 2.5
    assert not any("took more than" in p.en for p in told)
    assert bool(told) is (trap is not None)  # the jump is fine: _....X takes "aaa..."
