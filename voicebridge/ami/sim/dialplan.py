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
- ``same => n`` numbers one past the previous priority; ``n(label)`` names it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from dialplans.render import CitizenLine, DialplanParams, menu_contexts, render_contexts
from voicebridge.ami.sim.config import Category, ConfigFile, Var


@dataclass(frozen=True)
class Priority:
    number: int
    label: str
    app: str
    data: str
    line: int


@dataclass
class Extension:
    name: str
    priorities: list[Priority] = field(default_factory=list)

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

_PRIORITY = re.compile(r"^\s*(n|\d+)(?:\((\w+)\))?\s*$")
_SPECIAL = {"n": (0x0800, "2-9"), "x": (0x0A00, "0-9"), "z": (0x0900, "1-9")}


def _app(spec: str) -> tuple[str, str]:
    name, paren, rest = spec.strip().partition("(")
    if paren and rest.endswith(")"):
        rest = rest[:-1]
    return name.strip(), rest if paren else ""


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
    if not name.startswith("_"):
        return name.replace("-", "") == exten.replace("-", "")
    return pattern_regex(name[1:]).fullmatch(exten) is not None


def find_extension(plan: Dialplan, context: str, exten: str) -> Extension | None:
    """The extension of ``context`` that ``exten`` runs (a plain one first, else the
    most specific pattern), or None."""
    return next((e for e in plan.get(context, []) if matches(e.name, exten)), None)


def first_step(plan: Dialplan, context: str, exten: str, priority: int) -> Priority | None:
    found = find_extension(plan, context, exten)
    return None if found is None else found.step(priority)


def build_dialplan(cfg: ConfigFile) -> Dialplan:
    """What ``dialplan reload`` makes of extensions.conf (exten/same lines only; a
    context written twice is one context)."""
    plan: Dialplan = {}
    numbers = cfg.lines()
    for cat in cfg.categories:
        if cat.name in ("general", "globals"):
            continue
        exts = plan.setdefault(cat.name, [])
        current: Extension | None = None
        for var in cat.vars:
            kind = var.name.strip().lower()
            if kind == "exten":
                name, _, rest = var.value.strip().partition(",")
                current = next((e for e in exts if e.name == name), None)
                if current is None:
                    current = Extension(name)
                    exts.append(current)
            elif kind != "same" or current is None:
                continue
            else:
                rest = var.value.strip()
            prio, _, spec = rest.partition(",")
            match = _PRIORITY.match(prio)
            if match is None:
                continue
            last = current.priorities[-1].number if current.priorities else 0
            number = last + 1 if match.group(1) == "n" else int(match.group(1))
            app, data = _app(spec)
            current.priorities.append(
                Priority(number, match.group(2) or "", app, data, numbers.get(id(var), 0))
            )
    for exts in plan.values():
        exts.sort(key=lambda e: sort_key(e.name))
    return plan


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


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def show_dialplan(plan: Dialplan, arg: str) -> tuple[bool, list[str]]:
    """``dialplan show [exten@][context]``: (success, output lines), as 06 and the lab's
    ``dialplan show vb-ack`` printed it."""
    exten, at, context = arg.rpartition("@") if "@" in arg else ("", "", arg)
    if context and context not in plan:
        return False, [f"There is no existence of '{context}' context"]
    lines: list[str] = []
    n_ext = n_prio = n_ctx = 0
    for name, exts in plan.items():
        if context and name != context:
            continue
        shown = [e for e in exts if not exten or e.name == exten]
        if at and not shown:
            continue
        n_ctx += 1
        lines.append(f"[ Context '{name}' created by 'pbx_config' ]")
        for ext in shown:
            n_ext += 1
            for i, p in enumerate(ext.priorities):
                n_prio += 1
                first = f"'{ext.name}' =>" if i == 0 else (f"   [{p.label}]" if p.label else "")
                step = f"{p.number}. {p.app}({p.data})"
                lines.append(f"  {first:<17} {step:<45} [extensions.conf:{p.line}]")
        lines.append("")
    if exten and not n_ext:
        return False, [f"There is no existence of {exten}@{context or ''} extension"]
    lines.append(
        f"-= {_plural(n_ext, 'extension', 'extensions')} "
        f"({_plural(n_prio, 'priority', 'priorities')}) in "
        f"{_plural(n_ctx, 'context', 'contexts')}. =-"
    )
    return True, lines
