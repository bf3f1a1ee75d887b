"""A rendered dialplan, parsed back and checked before it may reach Asterisk.

Asterisk loads extensions.conf leniently: a bad line is skipped with a WARNING and the
rest loads (``pbx_config.c``), so a typo can take out one step of the responder prompt
and nobody would know until an emergency. :func:`lint` reads the rendered contexts as
``pbx_config`` would and reports, with the template and line each came from:

- a line ``pbx_config`` would skip or misread (a bad priority or label, a duplicate
  priority, unbalanced brackets, a ``;`` that starts a comment, a backslash, an
  extension name that is not one or is computed, a line before the context's header, a
  directive such as ``#exec`` or ``#include``);
- an application outside :data:`APPLICATIONS` (``System()``, ``Shell()``, ``Exec()``,
  ``AGI()``, ``Dial()``... reach the machine or another context) or a function outside
  :data:`FUNCTIONS` (``SHELL()``, ``FILE()``, ``ENV()``, ``CURL()``...); a variable or
  function whose name is computed (``${${X}}``, ``${X}(...)``); a setting of
  ``CHANNEL()``, ``TIMEOUT()`` or ``CONFBRIDGE()`` outside :data:`ARGUMENTS`; the
  further arguments of ``Background()``, ``Playback()`` or ``ConfBridge()``;
- a ``Goto``/``GotoIf``/``Gosub`` target (context, extension, priority or label) that
  does not exist, or is not literal (``GotoIf`` split at its first ``?``, as Asterisk
  splits it);
- a prompt file it plays that voicebridge does not ship (:data:`dialplans.prompts`) and
  that is not one of Asterisk's core digits and silences;
- a break of the contract with the bridge (``dialplans/contract.yaml``): a context, an
  extension, a variable read, a ``UserEvent`` with its headers or an application the
  bridge relies on.

The result of :func:`lint` also counts the extensions and priorities each context has,
which the trial compares with what Asterisk reports having loaded (``ShowDialPlan``).
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Final

import yaml

from dialplans.errors import InvalidParameter
from dialplans.escape import MAX_LINE, check_line
from dialplans.problems import Problem
from dialplans.prompts import DIGITS_DIR, PAUSE_DIR, PROMPT_DIR, all_prompts
from dialplans.render import (
    ACK_TEMPLATE,
    CHECK_TEMPLATE,
    CITIZEN_TEMPLATE,
    MENU_TEMPLATE,
    ROOM_TEMPLATE,
    DialplanParams,
    menu_contexts,
)
from dialplans.templateset import name_of

APPLICATIONS: Final = frozenset(
    {
        "Answer",
        "Background",
        "ConfBridge",
        "EndWhile",
        "Goto",
        "GotoIf",
        "Gosub",
        "Hangup",
        "NoOp",
        "Playback",
        "Read",
        "Return",
        "SayDigits",
        "SendDTMF",
        "Set",
        "UserEvent",
        "Wait",
        "WaitExten",
        "While",
    }
)
"""What a voicebridge context may run: enough for prompts, menus and rooms, nothing
that reaches the machine, another system, or runs a name computed at run time."""

FUNCTIONS: Final = frozenset(
    {
        "CALLERID",
        "CHANNEL",
        "CONFBRIDGE",
        "CUT",
        "EXISTS",
        "FILTER",
        "IF",
        "ISNULL",
        "LEN",
        "REGEX",
        "TIMEOUT",
        "TOLOWER",
        "TOUPPER",
    }
)
"""The dialplan functions a context may call."""

ARGUMENTS: Final[Mapping[str, frozenset[str]]] = {
    "CHANNEL": frozenset({"language"}),
    "TIMEOUT": frozenset({"absolute", "digit", "response"}),
    "CONFBRIDGE": frozenset({"bridge", "user"}),
}
"""Functions whose first argument is a setting: the settings a context may touch
(``CHANNEL(hangup_handler_push)`` would run another context)."""
SINGLE_ARGUMENT: Final[Mapping[str, int]] = {"Background": 1, "Playback": 1, "ConfBridge": 1}
"""Applications whose further arguments could leave the context (Background's context,
ConfBridge's menu): how many they may have."""

SOUND_DIRS: Final = (PROMPT_DIR, DIGITS_DIR, PAUSE_DIR)
CORE_SOUNDS: Final = frozenset(
    {f"{DIGITS_DIR}/{n}" for n in range(10)} | {f"{PAUSE_DIR}/{n}" for n in range(1, 11)}
)
"""Asterisk's core sounds the contexts may play (asterisk-core-sounds-es)."""

FILE_ARGUMENT: Final[Mapping[str, int]] = {"Playback": 0, "Background": 0, "Read": 1}
"""Applications that play files: which argument holds the &-joined list."""

JUMPS: Final = frozenset({"Goto", "Gosub"})
LOCATED: Final = 100
"""The most problems whose template line is looked for (each look reads the templates)."""

_HEADER = re.compile(r"\[([^\]]*)\]")
_COMMENT = re.compile(r"(?<!\\);")
_EXTEN_NAME = re.compile(r"[0-9A-Za-z*#+]+|_[0-9A-Za-z*#+.!\[\]-]+")
_COMPUTED = re.compile(r"\$\{\s*\$|[}\]]\(")
_CALLS = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]*)\(([^()]*)\)")


def _first(text: str) -> tuple[str, str]:
    """``text`` split at its first comma outside brackets, as Asterisk's pbx_strsep()
    splits an exten line (a pattern's [...] stays whole)."""
    depth = 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == "," and not depth:
            return text[:i], text[i + 1 :]
    return text, ""


_LINE = re.compile(r"(exten|same)\s*=>\s*(.*)")
_LABELLED = re.compile(r"(n|[0-9]+)(?:\(([A-Za-z0-9_]*)\))?")
_FUNCTION = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]*)\(")
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)[:}]")
_EXPRESSION_FREE = re.compile(r"[^$]*")


@dataclass(frozen=True, slots=True)
class Step:
    context: str
    exten: str
    number: int
    label: str
    app: str
    data: str
    line: int
    """The line of the rendered context's text (1: its first line)."""
    text: str


@dataclass
class Parsed:
    contexts: dict[str, dict[str, list[Step]]] = field(default_factory=dict)
    """Context -> extension -> its steps, in the order written."""

    def count(self, context: str) -> tuple[int, int]:
        """(extensions, priorities) of ``context`` as Asterisk would load them."""
        exts = self.contexts.get(context, {})
        return len(exts), sum(len(steps) for steps in exts.values())


@dataclass
class Linted:
    parsed: Parsed
    problems: list[Problem]


@dataclass(frozen=True, slots=True)
class _Role:
    name: str
    extensions: tuple[str, ...]
    reads: tuple[str, ...]
    user_events: Mapping[str, tuple[str, ...]]
    applications: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Contract:
    roles: tuple[_Role, ...]
    citizen_lines_in: str


@lru_cache(maxsize=1)
def contract() -> Contract:
    """``dialplans/contract.yaml``, read once."""
    text = (resources.files("dialplans") / "contract.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    roles = tuple(
        _Role(
            name=name,
            extensions=tuple(spec["extensions"]),
            reads=tuple(spec["reads"]),
            user_events={k: tuple(v) for k, v in (spec.get("user_events") or {}).items()},
            applications=tuple(spec["applications"]),
        )
        for name, spec in data["contexts"].items()
    )
    return Contract(roles=roles, citizen_lines_in=str(data["citizen_lines_in"]))


def template_of_context(params: DialplanParams) -> dict[str, str]:
    """Context name -> the template (its name) that renders it."""
    citizen, menu, *subs = menu_contexts(params.citizen_context)
    found = {
        params.ack_context: ACK_TEMPLATE,
        params.room_context: ROOM_TEMPLATE,
        params.check_context: CHECK_TEMPLATE,
        citizen: CITIZEN_TEMPLATE,
        menu: MENU_TEMPLATE,
    }
    found |= dict.fromkeys(subs, MENU_TEMPLATE)
    return {context: name_of(file) for context, file in found.items()}


class _Locator:
    """Where a rendered line comes from: the first line of the context's template (or
    of a template it includes) that reads the same once its ``{{ }}`` are wildcards.
    Matched piece by piece with ``str.find`` (linear: no regular expression an admin's
    text could make backtrack); built only when there is something to locate."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.sources = sources
        self._lines: dict[str, list[list[str] | None]] | None = None

    @property
    def lines(self) -> dict[str, list[list[str] | None]]:
        if self._lines is None:
            self._lines = {
                name: [self._pieces(line) for line in text.split("\n")]
                for name, text in self.sources.items()
            }
        return self._lines

    @staticmethod
    def _pieces(line: str) -> list[str] | None:
        """The literal pieces of a template line around its ``{{ ... }}``."""
        body = line.strip()
        if not body or body.startswith(("{%", "{#")):
            return None
        pieces, at = [], 0
        while (start := body.find("{{", at)) != -1:
            end = body.find("}}", start + 2)
            if end == -1:
                break
            pieces.append(body[at:start])
            at = end + 2
        pieces.append(body[at:])
        return pieces

    @staticmethod
    def _matches(pieces: list[str], text: str) -> bool:
        if len(pieces) == 1:
            return text == pieces[0]
        first, *middle, last = pieces
        if not text.startswith(first) or not text.endswith(last):
            return False
        at, stop = len(first), len(text) - len(last)
        if at > stop:
            return False
        for piece in middle:
            found = text.find(piece, at, stop)
            if found == -1:
                return False
            at = found + len(piece)
        return True

    def find(self, template: str, rendered: str) -> tuple[str, int | None]:
        wanted = rendered.strip()
        lines = self.lines
        order = [template, *sorted(n for n in lines if n.startswith("_"))]
        for name in order:
            for number, pieces in enumerate(lines.get(name, []), start=1):
                if pieces is not None and self._matches(pieces, wanted):
                    return name, number
        return template, None


def parse(contexts: Mapping[str, str]) -> tuple[Parsed, list[tuple[str, int, str, str]]]:
    """The contexts as ``pbx_config`` loads them, and the lines it would skip or misread
    as (context, line, English, Spanish)."""
    parsed = Parsed()
    faults: list[tuple[str, int, str, str]] = []
    for context, text in contexts.items():
        current: str | None = None
        exts = parsed.contexts.setdefault(context, {})
        last = 0
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip()

            def fault(en: str, es: str, n: int = number, c: str = context) -> None:
                faults.append((c, n, en, es))

            try:
                check_line(raw, name="line")
            except InvalidParameter as exc:
                es = (
                    "contiene una directiva de configuración (#exec, #include, #tryinclude): "
                    "no se permite incluir ni ejecutar archivos"
                    if "directive" in exc.message
                    else "contiene un salto de línea o un carácter de control"
                )
                fault(exc.message, es)
                continue
            if len(raw) > MAX_LINE:
                fault(f"the line is {len(raw)} characters long", f"la línea tiene {len(raw)}")
            if not line or line.startswith(";"):
                continue
            if _COMMENT.search(line):
                fault(
                    "a ';' starts a comment in extensions.conf: Asterisk would drop the rest "
                    "of the line (write \\; for a semicolon)",
                    "un «;» empieza un comentario en extensions.conf: Asterisk descartaría el "
                    "resto de la línea (escriba \\; para un punto y coma)",
                )  # and the line read as written: one problem for it, not a cascade
            if line.startswith("#"):
                fault(
                    f"directive {line.split()[0]!r}: no file may be included or run",
                    f"directiva «{line.split()[0]}»: no se permite incluir ni ejecutar archivos",
                )
                continue
            if _HEADER.fullmatch(line):
                if line != f"[{context}]" or current is not None or exts:
                    fault(
                        f"another context header {line}: one template, one context",
                        f"otra cabecera de contexto {line}: una plantilla, un contexto",
                    )
                current = ""
                continue
            match = _LINE.fullmatch(line)
            if match is None:
                fault(
                    "is not an exten => or same => line, a [context] or a ; comment",
                    "no es una línea exten => ni same =>, un [contexto] ni un comentario ;",
                )
                continue
            if current is None:
                fault(
                    f"comes before the context's header [{context}]",
                    f"va antes de la cabecera del contexto [{context}]",
                )
                continue
            kind, rest = match.groups()
            if not line.startswith(f"{kind} => "):
                fault(
                    f"write it '{kind} => ...', with one space each side of =>",
                    f"escríbala «{kind} => ...», con un espacio a cada lado de =>",
                )
                continue
            if "\\" in line.replace("\\;", ""):
                fault(
                    "a backslash escapes the next character in extensions.conf "
                    "(only \\; is allowed)",
                    "una barra invertida escapa el carácter siguiente en extensions.conf "
                    "(solo se admite \\;)",
                )
                continue
            if kind == "exten":
                name, rest = _first(rest)
                current = name.strip()
                last = 0
                if not _EXTEN_NAME.fullmatch(current):
                    fault(
                        f"{current[:40]!r} is not an extension name (digits, letters, * # + "
                        "and a pattern's _ . ! [ ] -; nothing computed)",
                        f"«{current[:40]}» no es un nombre de extensión (dígitos, letras, "
                        "* # + y, en un patrón, _ . ! [ ] -; nada calculado)",
                    )
                    current = ""
                    continue
            elif not current:
                fault(
                    "a same => line with no exten => line before it (Asterisk skips it)",
                    "una línea same => sin una exten => antes (Asterisk la omite)",
                )
                continue
            priority, _, spec = rest.partition(",")
            found = _LABELLED.fullmatch(priority.strip())
            if found is None:
                fault(
                    f"invalid priority {priority.strip()!r} (Asterisk skips the line)",
                    f"prioridad no válida «{priority.strip()}» (Asterisk omite la línea)",
                )
                continue
            steps = exts.setdefault(current, [])
            if found.group(1) == "n":
                if not steps and kind == "exten":
                    fault(
                        "'n' on an extension's first line (Asterisk skips it, or numbers "
                        "it after the previous extension's)",
                        "«n» en la primera línea de una extensión (Asterisk la omite o la "
                        "numera tras la extensión anterior)",
                    )
                    continue
                value = last + 1
            else:
                value = int(found.group(1))
            if value < 1 or any(s.number == value for s in steps):
                fault(
                    f"priority {value} of {current} is taken or invalid (Asterisk skips it)",
                    f"la prioridad {value} de {current} ya existe o no es válida "
                    "(Asterisk omite la línea)",
                )
                continue
            label = found.group(2) or ""
            if label and any(s.label == label for s in steps):
                fault(
                    f"label {label} is used twice in {current}",
                    f"la etiqueta {label} se usa dos veces en {current}",
                )
            app, paren, data = spec.strip().partition("(")
            if not paren or not data.endswith(")") or not _balanced(data[:-1]):
                fault(
                    "the application's brackets do not close (Asterisk misreads it)",
                    "los paréntesis de la aplicación no cierran (Asterisk la lee mal)",
                )
                data = data.rstrip(")") + ")"
            last = value
            steps.append(Step(context, current, value, label, app.strip(), data[:-1], number, raw))
        if current is None:
            faults.append(
                (context, 1, f"has no [{context}] header", f"no tiene la cabecera [{context}]")
            )
    return parsed, faults


def _balanced(data: str) -> bool:
    depth = 0
    for char in data:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _arguments(data: str) -> list[str]:
    """Split application data on the commas outside brackets and quotes."""
    out, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(data):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            out.append(data[start:i])
            start = i + 1
    out.append(data[start:])
    return out


def _matches(name: str, exten: str) -> bool:
    """Whether the extension ``name`` (a pattern if it starts with _) takes ``exten``."""
    if not name.startswith("_"):
        return name.replace("-", "") == exten.replace("-", "")
    out = []
    pattern = name[1:]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        special = {"x": "[0-9]", "z": "[1-9]", "n": "[2-9]"}
        if c in ".!":  # Asterisk's matcher stops here: the rest of the pattern is ignored
            out.append(".+" if c == "." else ".*")
            break
        if c.lower() in special:
            out.append(special[c.lower()])
        elif c == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out.append("[" + re.escape(pattern[i:end]).replace("\\-", "-") + "]")
            i = end + 1
        elif c != "-":
            out.append(re.escape(c))
    # one wildcard at the most, at the end: no backtracking
    return re.fullmatch("".join(out), exten, re.DOTALL) is not None


@lru_cache(maxsize=1)
def sounds() -> frozenset[str]:
    """Every sound file the contexts may play: voicebridge's prompts and the core ones."""
    return frozenset({f"{PROMPT_DIR}/{name}" for name in all_prompts()} | CORE_SOUNDS)


def lint(contexts: Mapping[str, str], params: DialplanParams, sources: Mapping[str, str]) -> Linted:
    """Parse back ``contexts`` (rendered from ``sources`` with ``params``) and check them;
    the problems name the template line each comes from."""
    templates = template_of_context(params)
    locate = _Locator(sources)
    parsed, faults = parse(contexts)
    problems: list[Problem] = []

    def at(step_context: str, line: int, text: str, en: str, es: str) -> None:
        shown = text.strip()[:200]
        if len(problems) >= LOCATED:  # told, not located: the count is what matters now
            problems.append(Problem(templates.get(step_context, step_context), None, en, es))
            return
        template, number = locate.find(templates.get(step_context, step_context), text)
        problems.append(Problem(template, number, f"{en}: {shown}", f"{es}: {shown}"))

    for context, line, en, es in faults:
        at(context, line, contexts[context].split("\n")[line - 1], en, es)
    for step in _steps(parsed):
        for en, es in _step_problems(step, parsed):
            at(step.context, step.line, step.text, en, es)
    problems += _contract_problems(parsed, params, templates)
    return Linted(parsed=parsed, problems=problems)


def _steps(parsed: Parsed) -> Iterator[Step]:
    for exts in parsed.contexts.values():
        for steps in exts.values():
            yield from steps


def _step_problems(step: Step, parsed: Parsed) -> Iterator[tuple[str, str]]:
    if _COMPUTED.search(step.data):
        yield (
            "a variable or function whose name is computed at run time (${${...}}, "
            "${X}(...)) is not allowed: write names literally",
            "no se admite una variable o función cuyo nombre se calcula al ejecutarse "
            "(${${...}}, ${X}(...)): escriba los nombres literalmente",
        )
    for name, argument in _CALLS.findall(step.data):
        allowed = ARGUMENTS.get(name)
        if allowed is not None and argument.split(",")[0].strip() not in allowed:
            yield (
                f"{name}({argument[:30]}) is not allowed (only {', '.join(sorted(allowed))})",
                f"{name}({argument[:30]}) no está permitido (solo {', '.join(sorted(allowed))})",
            )
    limit = SINGLE_ARGUMENT.get(step.app)
    if limit is not None and len(_arguments(step.data)) > limit:
        yield (
            f"{step.app}() takes {limit} argument(s) here (options could jump elsewhere)",
            f"{step.app}() lleva aquí {limit} argumento(s) (sus opciones podrían saltar a "
            "otro lugar)",
        )
    if step.app not in APPLICATIONS:
        yield (
            f"application {step.app}() is not allowed (allowed: {', '.join(sorted(APPLICATIONS))})",
            f"la aplicación {step.app}() no está permitida "
            f"(se permiten: {', '.join(sorted(APPLICATIONS))})",
        )
    for name in sorted(set(_FUNCTION.findall(step.data))):
        if name not in FUNCTIONS:
            yield (
                f"function {name}() is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})",
                f"la función {name}() no está permitida "
                f"(se permiten: {', '.join(sorted(FUNCTIONS))})",
            )
    if step.app in JUMPS or step.app == "GotoIf":
        yield from _jump_problems(step, parsed)
    yield from _sound_problems(step)


def _jump_problems(step: Step, parsed: Parsed) -> Iterator[tuple[str, str]]:
    if step.app == "GotoIf":  # split as pbx_builtin_gotoif does: at the first ?
        _, question, branches = step.data.partition("?")
        if not question:
            yield ("GotoIf() without a ? and a target", "GotoIf() sin «?» ni destino")
            return
        targets = [t for t in branches.split(":") if t.strip()]
    else:
        targets = [step.data]
    for target in targets:
        yield from _target_problems(step, target.strip(), parsed)


def _target_problems(step: Step, target: str, parsed: Parsed) -> Iterator[tuple[str, str]]:
    if "${" in target or "$[" in target:
        yield (
            f"the target {target} is computed at run time: write it literally",
            f"el destino {target} se calcula al ejecutarse: escríbalo literalmente",
        )
        return
    parts = [p.strip() for p in target.split(",")]
    if len(parts) > 3 or not all(parts):
        yield (f"{target} is not a [[context,]extension,]priority", f"{target} no es un destino")
        return
    context, exten, priority = [step.context, step.exten, *parts][-3:]
    if len(parts) == 2:
        context = step.context
    exts = parsed.contexts.get(context)
    if exts is None:
        yield (
            f"goes to context {context}, which does not exist",
            f"va al contexto {context}, que no existe",
        )
        return
    steps = next((s for name, s in exts.items() if name == exten), None)
    if steps is None:
        steps = next((s for name, s in exts.items() if _matches(name, exten)), None)
    if steps is None:
        yield (
            f"goes to extension {exten} of {context}, which does not exist",
            f"va a la extensión {exten} de {context}, que no existe",
        )
        return
    known = {str(s.number) for s in steps} | {s.label for s in steps if s.label}
    if priority not in known:
        yield (
            f"goes to {priority} of {exten}@{context}: no such priority or label",
            f"va a {priority} de {exten}@{context}: no existe esa prioridad ni etiqueta",
        )


def _sound_problems(step: Step) -> Iterator[tuple[str, str]]:
    """Files in a playing application's list, and sound paths set into variables."""
    arguments = _arguments(step.data)
    files: list[str] = []
    index = FILE_ARGUMENT.get(step.app)
    if index is not None and index < len(arguments):
        files += [f for f in arguments[index].split("&") if f]
    elif step.app == "Set":
        _, _, value = step.data.partition("=")
        files += [f for f in value.split("&") if f.startswith(tuple(f"{d}/" for d in SOUND_DIRS))]
    for name in files:
        yield from _sound_problem(name.strip(), played=index is not None)


def _sound_problem(name: str, *, played: bool) -> Iterator[tuple[str, str]]:
    fixed = _EXPRESSION_FREE.match(name)
    prefix = fixed.group(0) if fixed is not None else ""
    if prefix == name:  # all literal
        if name in sounds():
            return
        yield (
            f"plays {name}, which is not a prompt voicebridge ships",
            f"reproduce {name}, que no es un audio de voicebridge",
        )
        return
    if not prefix:  # a variable holding the list, checked where it is set
        return
    if not any(s.startswith(prefix) for s in sounds()):
        yield (
            f"plays {name}: no prompt starts with {prefix}",
            f"reproduce {name}: ningún audio empieza por {prefix}",
        )
    elif not played and not prefix.startswith(tuple(f"{d}/" for d in SOUND_DIRS)):
        yield (f"{name} is not a sound path", f"{name} no es la ruta de un audio")


def _contract_problems(
    parsed: Parsed, params: DialplanParams, templates: Mapping[str, str]
) -> Iterator[Problem]:
    terms = contract()
    for role in terms.roles:
        context = str(getattr(params, role.name))
        template = templates.get(context, context)
        exts = parsed.contexts.get(context)

        def broken(en: str, es: str, t: str = template) -> Problem:
            return Problem(t, None, f"voicebridge needs {en}", f"voicebridge necesita {es}")

        if exts is None:
            yield broken(f"the context {context}", f"el contexto {context}")
            continue
        for exten in role.extensions:
            if exten not in exts:
                yield broken(
                    f"the extension {exten} in {context}", f"la extensión {exten} en {context}"
                )
        steps = [s for ss in exts.values() for s in ss]
        read = {name for s in steps for name in _VARIABLE.findall(s.data)}
        for variable in role.reads:
            if variable not in read:
                yield broken(
                    f"{context} to read the variable {variable} it sets",
                    f"que {context} lea la variable {variable} que fija",
                )
        for app in role.applications:
            if not any(s.app == app for s in steps):
                yield broken(f"{app}() in {context}", f"{app}() en {context}")
        for event, headers in role.user_events.items():
            sent = [_arguments(s.data) for s in steps if s.app == "UserEvent"]
            ours = [a for a in sent if a[0].strip() == event]
            if not ours:
                yield broken(f"UserEvent({event}) in {context}", f"UserEvent({event}) en {context}")
            for header in headers:
                if ours and not all(
                    any(a.strip().startswith(f"{header}:") for a in args[1:]) for args in ours
                ):
                    yield broken(
                        f"every UserEvent({event}) of {context} to carry {header}",
                        f"que todo UserEvent({event}) de {context} lleve {header}",
                    )
    citizen = str(getattr(params, terms.citizen_lines_in))
    exts = parsed.contexts.get(citizen, {})
    for line in params.citizen_lines:
        if exts and line.number not in exts:
            yield Problem(
                templates.get(citizen, citizen),
                None,
                f"voicebridge needs the citizens' number {line.number} (routing file) "
                f"as an extension of {citizen}",
                f"voicebridge necesita el número ciudadano {line.number} (archivo de ruteo) "
                f"como extensión de {citizen}",
            )
