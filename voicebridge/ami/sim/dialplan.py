"""The fake Asterisk's running dialplan: what ``dialplan reload`` makes of
extensions.conf, how an extension is found (patterns), and ``dialplan show``.

Asterisk's rules (``main/pbx.c`` of 22.10.1), as the lab traces show them
(the lab's ``voicebridge-updateconfig-*`` traces, ``dialplan show vb-ack``):

- a context lists its extensions sorted, not in file order: plain extensions first,
  compared byte by byte with ``-`` ignored (``h`` before ``s``), then patterns, the more
  specific first (``ext_cmp()``); ``dialplan show`` prints them in that order;
- an extension without ``_`` matches the same text, ``-`` ignored; a pattern (``_``)
  takes ``X`` (0-9), ``Z`` (1-9), ``N`` (2-9), ``[...]`` sets and ranges, ``.`` (one
  or more of anything) and ``!`` (zero or more), case-sensitively elsewhere
  (``vb-room,lim-2026-000125`` matched no ``_[A-Z].``: ``Extension does not exist.``);
- ``same => n`` numbers one past the previous priority; ``n(label)`` names it;
- a line pbx_config cannot use is skipped with a WARNING (or an ERROR) and the rest
  loads (:func:`build_dialplan`); ``ShowDialPlan`` (:func:`list_dialplan`) and
  ``dialplan show`` (:func:`show_dialplan`) show what did load.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from dialplans.render import CitizenLine, DialplanParams, menu_contexts, render_contexts
from voicebridge.ami.sim.config import Category, ConfigFile, Var
from voicebridge.ami.sim.model import LogMessage


@dataclass(frozen=True)
class Priority:
    number: int
    """From 1; :data:`PRIORITY_HINT` for the extension's hint."""
    label: str
    """``""``: none."""
    app: str
    data: str
    line: int
    """Its line in extensions.conf."""


@dataclass
class Extension:
    name: str
    priorities: list[Priority] = field(default_factory=list)
    """In order of number (a hint first), whatever the order of the lines."""

    def step(self, number: int) -> Priority | None:
        return next((p for p in self.priorities if p.number == number), None)

    def label(self, name: str) -> int | None:
        """The priority a label names (or a number given as text)."""
        if name.isdigit():
            return int(name)
        return next((p.number for p in self.priorities if p.label == name), None)


Dialplan = dict[str, list[Extension]]
"""Context name -> its extensions, sorted as Asterisk sorts them."""


@dataclass(frozen=True)
class Jump:
    """An application sends the channel on to ``context,exten,priority``."""

    context: str
    exten: str
    priority: int


@dataclass(frozen=True)
class End:
    """An application ends the channel's dialplan: it hangs up with ``cause``
    (``soft``: a ``SoftHangupRequest`` of its own first, as ``Hangup()`` gives)."""

    cause: int
    soft: bool = True


Outcome = Jump | End | None
"""What an application returns: None goes on with the next priority."""

_SPECIAL = {"n": (0x0800, "2-9"), "x": (0x0A00, "0-9"), "z": (0x0900, "1-9")}


def _pattern_key(pattern: str) -> list[tuple[int, str]]:
    """``ext_cmp_pattern_pos()`` scores, position by position (lower: more specific)."""
    key: list[tuple[int, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        if c == "-":
            continue
        if c.lower() in _SPECIAL:
            score, chars = _SPECIAL[c.lower()]
            key.append((score, chars))
        elif c == ".":
            key.append((0x18000, ""))
        elif c == "!":
            key.append((0x28000, ""))
        elif c == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            chars = _expand_set(pattern[i:end])
            i = end + 1
            key.append(((len(chars) << 8) | min((ord(x) for x in chars), default=0xFF), chars))
        else:
            key.append((0x0100 | ord(c), c))
    key.append((0x30000, ""))
    return key


def _expand_set(body: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars += [chr(n) for n in range(ord(body[i]), ord(body[i + 2]) + 1)]
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return "".join(sorted(set(chars)))


def sort_key(name: str) -> tuple[int, str, list[tuple[int, str]]]:
    """``ext_cmp()``: plain extensions (``-`` ignored) before patterns."""
    if not name.startswith("_"):
        return (0, name.replace("-", ""), [])
    return (1, "", _pattern_key(name[1:]))


def pattern_regex(pattern: str) -> "re.Pattern[str]":
    """The regular expression of an extension pattern (without its ``_``)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        if c.lower() in _SPECIAL:
            out.append(f"[{_SPECIAL[c.lower()][1]}]")
        elif c == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out.append("[" + "".join(re.escape(x) for x in _expand_set(pattern[i:end])) + "]")
            i = end + 1
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        elif c != "-":
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def matches(name: str, exten: str) -> bool:
    """``ast_extension_match(name, exten)``: whether the extension ``name`` takes the
    number ``exten``; an ``exten`` that is itself a pattern matches the same pattern
    (``_x.`` takes ``_X.``: ``_extension_match_core()`` compares them as patterns
    first)."""
    if not name.startswith("_"):
        return name.replace("-", "") == exten.replace("-", "")
    if exten.startswith("_") and _pattern_key(name[1:]) == _pattern_key(exten[1:]):
        return True
    return pattern_regex(name[1:]).fullmatch(exten) is not None


def find_extension(plan: Dialplan, context: str, exten: str) -> Extension | None:
    """The extension of ``context`` that ``exten`` runs (a plain one first, else the
    most specific pattern), or None."""
    return next((e for e in plan.get(context, []) if matches(e.name, exten)), None)


def first_step(plan: Dialplan, context: str, exten: str, priority: int) -> Priority | None:
    found = find_extension(plan, context, exten)
    return None if found is None else found.step(priority)


PRIORITY_HINT = -1
"""The priority of an extension's ``hint`` (``PRIORITY_HINT`` of pbx.h)."""
REGISTRAR = "pbx_config"
"""Who registered every context and extension of the fake (extensions.conf's module)."""
_BLANKS = "".join(chr(c) for c in range(1, 33))
"""``ast_strip()``/``ast_skip_blanks()``: every byte below 33 is a blank."""
_C_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
"""What ``sscanf("%d")`` and ``atoi()`` read: blanks, a sign, digits."""
_NOT_EMULATED = frozenset({"include", "ignorepat", "switch", "lswitch", "eswitch", "autohints"})
"""Directives pbx_config knows that the fake does not emulate: skipped without a word
(Asterisk would act on them, and warn about none of them but a bad ``include``)."""


def _c_int(text: str) -> int | None:
    """``sscanf(text, "%30d")``: the number at the start of ``text``, or None."""
    found = _C_INT.match(text)
    return None if found is None else int(found.group(1)[:30])


def _pbx_strsep(text: str) -> tuple[str, str | None]:
    """pbx_config's ``pbx_strsep(&s, ",")``: the text up to the first comma outside
    ``[...]`` (a backslash protects the next character) and the rest (None: no comma)."""
    square = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "[":
            square += 1
        elif c == "]":
            square = max(square - 1, 0)
        elif c == "\\":
            i += 1
        elif c == "," and not square:
            return text[:i], text[i + 1 :]
        i += 1
    return text, None


class _Loader:
    """pbx_config's ``pbx_load_config()`` over one file, with the checks of
    ``ast_add_extension2()``: the lines it cannot use are skipped, each with the message
    Asterisk 22.10.1 logs for it (``log``)."""

    def __init__(self, filename: str, log: list[LogMessage]) -> None:
        self.filename = filename
        self.log = log
        self.plan: Dialplan = {}

    def warn(self, text: str, level: str = "WARNING") -> None:
        self.log.append(LogMessage(level, text))

    def load(self, cfg: ConfigFile) -> Dialplan:
        numbers = cfg.lines()
        for cat in cfg.categories:
            if cat.name.lower() in ("general", "globals"):
                continue
            exts = self.plan.setdefault(cat.name, [])
            last_exten = ""  # reset at each context, as the priority is
            last_prio = -2
            for var in cat.vars:
                line = numbers.get(id(var), 0)
                at = f"at line {line} of {self.filename}"
                name, value = var.name.strip(_BLANKS), var.value.strip(_BLANKS)
                if name.lower().startswith("same"):  # strncasecmp(v->name, "same", 4)
                    if not last_exten:
                        self.warn(
                            f"No previous pattern in the first entry of context "
                            f"'{cat.name}' to match '{name}' {at}!",
                            "ERROR",
                        )
                        continue
                    exten, rest = last_exten, value
                elif name.lower() == "exten":
                    exten, rest_or_none = _pbx_strsep(value)
                    rest = rest_or_none or ""
                    last_exten = exten
                elif name.lower() in _NOT_EMULATED:
                    continue
                else:
                    self.warn(f"==!!== Unknown directive: {name} {at} -- IGNORING!!!")
                    continue
                number = self.priority(cat.name, exten, rest, last_prio, line)
                if number is not None:
                    last_prio = number
        for exts in self.plan.values():
            exts.sort(key=lambda e: sort_key(e.name))
        return self.plan

    def priority(self, context: str, exten: str, rest: str, last: int, line: int) -> int | None:
        """One ``exten``/``same`` line (``rest``: what follows its extension; ``last``:
        the priority of the context's previous line, -2 for none): the priority it takes,
        which the next ``n`` counts from (None: the line was skipped before that)."""
        at = f"at line {line} of {self.filename}"
        pri, _, app_text = rest.partition(",")
        pri = pri.strip(_BLANKS)
        label = ""
        if "(" in pri:
            pri, _, after = pri.partition("(")
            if ")" not in after:
                self.warn(f"Label missing trailing ')' {at}")
                return None
            label = after[: after.index(")")]
        pri, plus, offset = pri.partition("+")
        if pri == "hint":
            number = PRIORITY_HINT
        elif pri in ("next", "n", "same", "s"):
            if last <= -2:
                word = "next" if pri in ("next", "n") else "same"
                self.warn(f"Can't use '{word}' priority on the first entry {at}!")
                return None
            number = last + 1 if pri in ("next", "n") else last
        else:
            scanned = _c_int(pri)
            if scanned is None:
                number = self.find_label(context, exten, pri)
                if number < 1:
                    self.warn(f"Invalid priority/label '{pri}' {at}")
                    return None
            elif scanned < 1:
                self.warn(f"Invalid priority '{pri}' {at}")
                return None
            else:
                number = scanned
        app, data = self.application(app_text, at)
        if not number:  # 'n' after a hint: priority 0, dropped without a word
            return None
        if plus:
            number += _c_int(offset) or 0
        if exten in ("_.", "_!"):
            self.warn(
                f"The use of '{exten}' for an extension is strongly discouraged and can have "
                f"unexpected behavior.  Please use '_X{exten[1]}' instead {at}"
            )
        if not self.add(context, exten, Priority(number, label, app, data, line)):
            self.warn(f"Unable to register extension {at}")
        return number

    def find_label(self, context: str, exten: str, label: str) -> int:
        """``ast_findlabel_extension2()`` in the context being loaded: the priority of
        that label in the first extension (Asterisk's order) matching ``exten`` that has
        it, or -1."""
        for ext in sorted(self.plan[context], key=lambda e: sort_key(e.name)):
            if label and matches(ext.name, exten):
                found = next((p.number for p in ext.priorities if p.label == label), None)
                if found is not None:
                    return found
        return -1

    def application(self, text: str, at: str) -> tuple[str, str]:
        """The application and its data: up to the first ``(``, then up to the last
        ``)`` (none: the rest, with a warning); no data for an application name that
        holds ``${`` or ``$[``."""
        app, paren, data = text.partition("(")
        if not paren:
            return text.lstrip(_BLANKS), ""
        if "${" in app or "$[" in app:
            return text.lstrip(_BLANKS), ""
        if ")" in data:
            data = data[: data.rindex(")")]
        else:
            self.warn(f"No closing parenthesis found? '{app}({data}' {at}")
        return app.lstrip(_BLANKS), data

    def add(self, context: str, exten: str, prio: Priority) -> bool:
        """``ast_add_extension2()`` (``add_priority()``): the priority in its place, or
        False after Asterisk's own warning (an empty extension, a priority in use). A
        label already used at another priority of the extension is dropped, with a
        warning; the priority is still added."""
        if not exten:
            self.warn(
                f"You have to be kidding-- add exten '' to context {context}? Figure out a "
                "name and call me back. Action ignored.",
                "ERROR",
            )
            return False
        exts = self.plan[context]
        ext = next((e for e in exts if e.name == exten), None)
        if ext is None:
            exts.append(Extension(exten, [prio]))
            return True
        where = len(ext.priorities)
        repeated = False
        for i, p in enumerate(ext.priorities):
            if p.label and prio.label and p.number != prio.number and p.label == prio.label:
                self.warn(
                    f"Extension '{exten}' priority {prio.number} in '{context}', label "
                    f"'{prio.label}' already in use at priority {p.number}"
                )
                repeated = True
            if p.number >= prio.number:
                where = i
                break
        if where < len(ext.priorities) and ext.priorities[where].number == prio.number:
            self.warn(
                f"Unable to register extension '{exten}' priority {prio.number} in "
                f"'{context}', already in use"
            )
            return False
        if repeated:
            prio = replace(prio, label="")
        ext.priorities.insert(where, prio)
        return True


def build_dialplan(
    cfg: ConfigFile, log: list[LogMessage] | None = None, filename: str = "extensions.conf"
) -> Dialplan:
    """What ``dialplan reload`` makes of extensions.conf, as pbx_config loads it
    (``pbx_load_config()`` of Asterisk 22.10.1): ``exten``/``same`` lines; a context
    written twice is one context; an extension's priorities in order of number,
    whatever the order of the lines; ``n`` is one past the priority of the context's
    previous line (of whatever extension: ``lastpri`` is the context's, not the
    extension's). A line Asterisk cannot use is skipped and the rest loads; what
    Asterisk logs for it is appended to ``log`` (:class:`LogMessage`, texts naming
    ``filename``):

    - a label without its ``)``: ``Label missing trailing ')' at line N of F``;
    - ``n`` (``s``) on the context's first line: ``Can't use 'next' ('same') priority
      on the first entry at line N of F!``;
    - a priority that is no number nor a label of the extension: ``Invalid
      priority/label 'P' at line N of F``; a number below 1: ``Invalid priority 'P' at
      line N of F``;
    - ``same`` before any ``exten`` of the context: ``No previous pattern in the first
      entry of context 'C' to match 'same' at line N of F!`` (an ERROR);
    - a priority the extension already has: ``Unable to register extension 'E' priority
      P in 'C', already in use``, then ``Unable to register extension at line N of F``
      (an empty extension: an ERROR of its own, then the same line);
    - an unknown directive: ``==!!== Unknown directive: D at line N of F --
      IGNORING!!!``.

    Still added, with a warning: data without its ``)`` (``No closing parenthesis
    found? 'App(data' at line N of F``: the data is the rest of the line), a label
    already used at another priority of the extension (the label is dropped), the
    extensions ``_.`` and ``_!``. ``include``, ``ignorepat``, ``switch`` and
    ``autohints`` are not emulated: skipped without a word; so are ``${...}`` in an
    extension's name and caller-ID matches (``exten => 1/100,...``)."""
    return _Loader(filename, [] if log is None else log).load(cfg)


def parse_extensions(text: str) -> ConfigFile:
    """extensions.conf text (``[context]``, ``exten => ...``, `` same => ...``, ``;``
    comments) as a config file."""
    categories: list[Category] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            categories.append(Category(line[1:-1]))
        elif categories:
            name, arrow, value = line.partition("=>")
            if not arrow:
                name, _, value = line.partition("=")
            categories[-1].vars.append(Var(name.strip(), value.strip(), obj=bool(arrow)))
    return ConfigFile(categories)


@lru_cache(maxsize=8)
def _voicebridge_contexts(lines: tuple[CitizenLine, ...]) -> tuple[str, str, str, str, str]:
    """The ack and room contexts (name, text), then the rest under their own names: the
    line check and the citizen IVR."""
    params = DialplanParams(citizen_lines=lines)
    texts = render_contexts(params)
    ack, room = params.ack_context, params.room_context
    rest = [params.check_context, *menu_contexts(params.citizen_context)]
    return ack, texts[ack], room, texts[room], "".join(texts[name] for name in rest)


def builtin_contexts(
    ack_names: Iterable[str],
    room_names: Iterable[str],
    citizen_lines: tuple[CitizenLine, ...] = (),
) -> Dialplan:
    """voicebridge's contexts as ``dialplans/templates`` render them today (default
    parameters): the ack and room contexts under each of the given names, the line check
    (``vb-check``) and the citizen IVR (``vb-citizen`` and its menus, with
    ``citizen_lines``): what the fake runs for a context its loaded dialplan lacks, so a
    test need not push them first (a real Asterisk would answer ``Extension does not
    exist.``)."""
    ack, ack_text, room, room_text, rest = _voicebridge_contexts(citizen_lines)
    text = "".join(
        [ack_text.replace(f"[{ack}]", f"[{name}]", 1) for name in ack_names]
        + [room_text.replace(f"[{room}]", f"[{name}]", 1) for name in room_names]
        + [rest]
    )
    return build_dialplan(parse_extensions(text))


@dataclass(frozen=True)
class Listed:
    """One priority ``ShowDialPlan`` lists (a ``ListDialplan`` event)."""

    context: str
    extension: str
    priority: Priority


@dataclass(frozen=True)
class DialplanListing:
    """What ``ShowDialPlan`` found: ``manager_show_dialplan_helper()``'s items and
    counters, or its error."""

    entries: tuple[Listed, ...] = ()
    extensions: int = 0
    """``ListExtensions``: the extensions listed."""
    contexts: int = 0
    """``ListContexts``: the contexts walked, with or without a matching extension."""
    error: str = ""
    """``Did not find context C``, ``Did not find extension E@C``, ``Did not find
    extension E in any context``; ``""`` when the listing stands."""

    @property
    def priorities(self) -> int:
        """``ListPriorities`` (and ``ListItems``: the fake has no includes, ignore
        patterns nor switches to list beside them)."""
        return len(self.entries)


def list_dialplan(plan: Dialplan, context: str = "", exten: str = "") -> DialplanListing:
    """``ShowDialPlan`` (``manager_show_dialplan()`` of main/pbx.c): every priority of
    ``plan`` in ``dialplan show``'s order, of the context named ``context`` (compared
    exactly) if given, of the extensions matching ``exten`` if given (as ``dialplan
    show exten@context`` matches them: ``exten`` is a number dialled, a pattern lists
    when it matches it). Every context named counts in ``contexts``, even when none of
    its extensions matched (the CLI counts only those that did); a context with no
    extension counts and lists nothing."""
    entries: list[Listed] = []
    n_ext = n_ctx = 0
    for name, exts in plan.items():
        if context and name != context:
            continue
        n_ctx += 1
        for ext in exts:
            if exten and not matches(ext.name, exten):
                continue
            n_ext += 1
            entries.extend(Listed(name, ext.name, p) for p in ext.priorities)
    if context and not n_ctx:
        return DialplanListing(error=f"Did not find context {context}")
    if exten and not n_ext:
        where = f"@{context}" if context else " in any context"
        return DialplanListing(error=f"Did not find extension {exten}{where}")
    return DialplanListing(tuple(entries), n_ext, n_ctx)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def show_dialplan(plan: Dialplan, arg: str) -> tuple[bool, list[str]]:
    """``dialplan show [exten@][context]``: (success, output lines), as 06 and the lab's
    ``dialplan show vb-ack`` printed it (``handle_show_dialplan()``): with an extension,
    the extensions that take it (:func:`matches`), and only the contexts that have one;
    a hint is ``hint: <device>``."""
    exten, _, context = arg.rpartition("@") if "@" in arg else ("", "", arg)
    if context and context not in plan:
        return False, [f"There is no existence of '{context}' context"]
    lines: list[str] = []
    n_ext = n_prio = n_ctx = 0
    for name, exts in plan.items():
        if context and name != context:
            continue
        shown = [e for e in exts if not exten or matches(e.name, exten)]
        if exten and not shown:
            continue
        n_ctx += 1
        lines.append(f"[ Context '{name}' created by '{REGISTRAR}' ]")
        for ext in shown:
            n_ext += 1
            for i, p in enumerate(ext.priorities):
                n_prio += 1
                first = f"'{ext.name}' =>" if i == 0 else (f"   [{p.label}]" if p.label else "")
                step = (
                    f"hint: {p.app}"
                    if p.number == PRIORITY_HINT
                    else f"{p.number}. {p.app}({p.data})"
                )
                lines.append(f"  {first:<17} {step:<45} [extensions.conf:{p.line}]")
        lines.append("")
    if exten and not n_ext:
        if context:
            return False, [f"There is no existence of {exten}@{context} extension"]
        return False, [f"There is no existence of '{exten}' extension in all contexts"]
    lines.append(
        f"-= {_plural(n_ext, 'extension', 'extensions')} "
        f"({_plural(n_prio, 'priority', 'priorities')}) in "
        f"{_plural(n_ctx, 'context', 'contexts')}. =-"
    )
    return True, lines
