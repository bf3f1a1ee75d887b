"""The dialplan applications of the fake Asterisk that return at once: NoOp, Verbose,
Log, Ringing, Progress, Set, MSet, GotoIf, Goto, While, EndWhile, ExitWhile,
ContinueWhile, Answer, Hangup, UserEvent; and the ``h`` extension, which runs only
these. Each returns what the interpreter does next
(:data:`~voicebridge.ami.sim.dialplan.Outcome`: None goes on). The applications that
take time are :mod:`~voicebridge.ami.sim.media`'s and ConfBridge
(:mod:`~voicebridge.ami.sim.interpreter`).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from voicebridge.ami.sim.dialplan import End, Jump, Outcome
from voicebridge.ami.sim.expr import is_true_condition as truth
from voicebridge.ami.sim.expr import split_args
from voicebridge.ami.sim.model import SimChannel
from voicebridge.ami.sim.variables import Variables

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx

InstantApp = Callable[[SimChannel, str], Outcome]


class Applications:
    """The applications that return at once, by lower-case name (:attr:`table`)."""

    def __init__(self, pbx: "Pbx", variables: Variables) -> None:
        self.pbx = pbx
        self.variables = variables
        self.table: dict[str, InstantApp] = {
            "noop": self.app_noop,
            "verbose": self.app_noop,
            "log": self.app_noop,
            "ringing": self.app_noop,
            "progress": self.app_noop,
            "set": self.app_set,
            "mset": self.app_mset,
            "gotoif": self.app_gotoif,
            "goto": self.app_goto,
            "answer": self.app_answer,
            "hangup": self.app_hangup,
            "userevent": self.app_userevent,
            "while": lambda ch, data: self._while(ch, data, 0),
            "endwhile": lambda ch, data: self._while(ch, data, 1),
            "exitwhile": lambda ch, data: self._while(ch, data, 2),
            "continuewhile": self.app_continuewhile,
        }

    def run_h(self, ch: SimChannel) -> None:
        """The ``h`` extension of a channel that ran dialplan, once it is hung up: its
        priorities run at once (an application that would wait returns at once on a
        hung-up channel, and ends it); the Hangup event then names ``h`` and the
        priority after the last (lab: ``Exten: h``, ``Priority: 4``)."""
        if not ch.in_dialplan or ch.exten == "h" or self.pbx.extension(ch.context, "h") is None:
            return
        ch.exten, ch.priority = "h", 1
        for _ in range(1000):
            found = self.pbx.extension(ch.context, ch.exten)
            step = found.step(ch.priority) if found is not None else None
            sync = self.table.get(step.app.lower()) if step is not None else None
            if step is None or sync is None:
                return
            text = self.variables.expand(ch, step.data)
            self.pbx.newexten(ch, step.number, step.app, text)
            outcome = sync(ch, text)
            if isinstance(outcome, End):
                return
            if isinstance(outcome, Jump):
                ch.context, ch.exten, ch.priority = outcome.context, outcome.exten, outcome.priority
            else:
                ch.priority += 1

    # ------------------------------------------------------------ applications

    def app_noop(self, ch: SimChannel, data: str) -> Outcome:
        return None

    def app_set(self, ch: SimChannel, data: str) -> Outcome:
        name, sep, value = data.partition("=")
        if sep and name.strip():
            self.variables.setvar(ch, name, value)
        return None

    def app_mset(self, ch: SimChannel, data: str) -> Outcome:
        for pair in split_args(data):
            self.app_set(ch, pair)
        return None

    def app_answer(self, ch: SimChannel, data: str) -> Outcome:
        self.pbx.answer(ch)
        return None

    def app_hangup(self, ch: SimChannel, data: str) -> Outcome:
        text = data.strip()
        return End(int(text) if text.isdigit() else 16)

    def app_userevent(self, ch: SimChannel, data: str) -> Outcome:
        """UserEvent(name,Key: value,...): the channel snapshot, ``UserEvent: name``,
        then the custom headers in order (02a, 05, lab ``ResponderAck``)."""
        args = split_args(data)
        fields: list[tuple[str, str]] = []
        for line in args[1:]:
            key, sep, value = line.partition(":")
            fields.append(
                (key, value[1:] if value.startswith(" ") else value) if sep else ("", line)
            )
        self.pbx.user_event(ch, args[0], *fields)
        return None

    def app_gotoif(self, ch: SimChannel, data: str) -> Outcome:
        """GotoIf(cond?label1[:label2]): an empty label goes on."""
        cond, _, branches = data.partition("?")
        yes, _, no = branches.partition(":")
        target = yes if truth(cond) else no
        return self.goto(ch, target) if target.strip() else None

    def app_goto(self, ch: SimChannel, data: str) -> Outcome:
        return self.goto(ch, data)

    def goto(self, ch: SimChannel, target: str) -> Outcome:
        """``ast_parseable_goto()``: ``[[context,]exten,]priority``, a priority being a
        number, a label, or ``+n``/``-n``; a label that is not there ends the call."""
        parts = [p.strip() for p in target.split(",")]
        context, exten, pri = ch.context, ch.exten, parts[-1]
        if len(parts) >= 2:
            exten = parts[-2]
        if len(parts) >= 3:
            context = parts[-3]
        step = 0
        if pri[:1] in "+-" and pri[1:].isdigit():
            step = int(pri)
            return Jump(context, exten, ch.priority + step)
        found = self.pbx.extension(context, exten)
        number = found.label(pri) if found is not None else (int(pri) if pri.isdigit() else None)
        if number is None or number < 1:
            return End(0, soft=False)
        return Jump(context, exten, number)

    def _while(self, ch: SimChannel, data: str, end: int) -> Outcome:
        """``_while_exec()`` of app_while.c, its helper variables (and their VarSets)
        included: ``<context>_<exten>_<priority>``, ``WHILE_<n>``, ``END_WHILE_<n>``."""
        used = -1
        while f"WHILE_{used + 1}" in ch.variables:
            used += 1
        here = f"{ch.context}_{ch.exten}_{ch.priority}"
        if end:
            label = str(used)
        elif here in ch.variables:
            label = ch.variables[here]
        else:
            label = str(used + 1)
            self.pbx.varset(ch, here, label)
        var = f"WHILE_{label}"
        start = ch.variables.get(var)
        if (not end and not truth(data)) or end == 2:
            self.pbx.unset(ch, var)
            self.pbx.unset(ch, here)
            after = ch.variables.get(f"END_{var}")
            if after is not None:
                self.pbx.unset(ch, f"END_{var}")
                return self.goto(ch, after)
            matching = self._matching_endwhile(ch)
            return None if matching is None else Jump(ch.context, ch.exten, matching + 1)
        if not end and start is None:
            self.pbx.varset(ch, var, f"{ch.context},{ch.exten},{ch.priority}")
        elif end and start is not None:
            if f"END_{var}" not in ch.variables:
                self.pbx.varset(ch, f"END_{var}", f"{ch.context},{ch.exten},{ch.priority + 1}")
            return self.goto(ch, start)
        return None

    def _matching_endwhile(self, ch: SimChannel) -> int | None:
        found = self.pbx.extension(ch.context, ch.exten)
        if found is None:
            return None
        level = 1
        for p in sorted(found.priorities, key=lambda p: p.number):
            if p.number <= ch.priority:
                continue
            level += {"while": 1, "endwhile": -1}.get(p.app.lower(), 0)
            if level == 0:
                return p.number
        return None

    def app_continuewhile(self, ch: SimChannel, data: str) -> Outcome:
        start, n = None, 0
        while (value := ch.variables.get(f"WHILE_{n}")) is not None:
            start, n = value, n + 1
        return None if start is None else self.goto(ch, start)
