"""What a channel does once answered: the Originate Application, or the dialplan.

The fake runs the loaded dialplan (:mod:`~voicebridge.ami.sim.dialplan`) priority by
priority as Asterisk 22.10.1's ``__ast_pbx_run()`` does: a ``Newexten`` with the
substituted arguments, then the application; the ``h`` extension when a channel that
runs dialplan hangs up. So the lab's contexts (ack prompt, rooms, citizen IVR: traces
02a, 02b, 04, 05) and voicebridge's pushed ``vb-ack``/``vb-room`` (the lab's
``voicebridge-*`` traces: the room check, the prompt, ``h``) give the events the real
one gave. The applications: NoOp, Verbose, Log, Set, MSet, GotoIf, Goto, While,
EndWhile, ExitWhile, ContinueWhile, Answer, Ringing, Progress, Hangup, UserEvent,
ConfBridge, and the sound ones of :mod:`~voicebridge.ami.sim.media`; any other ends the
call (``No application 'X'``: no Newexten, the channel hangs up).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from voicebridge.ami.sim.dialplan import End, Jump, Outcome
from voicebridge.ami.sim.expr import is_true_condition as truth
from voicebridge.ami.sim.expr import split_args, split_call, string_function, substitute
from voicebridge.ami.sim.media import PbxMedia
from voicebridge.ami.sim.model import Behaviour, Call, SimChannel, seconds_text

SyncApp = Callable[[SimChannel, str], Outcome]
AsyncApp = Callable[[SimChannel, str], Awaitable[Any]]
MAX_STEPS = 100000
"""A context that loops forever is cut off after this many priorities."""


class PbxApps(PbxMedia):
    """Destinations of an answered channel: Applications and the dialplan."""

    # ------------------------------------------------------------ variables

    def resolve(self, ch: SimChannel, spec: str) -> str | None:
        """``${spec}``: a function call, a built-in variable, the channel's, a global."""
        call = split_call(spec)
        if call is not None:
            return self.read_function(ch, *call)
        builtin = {
            "EXTEN": ch.exten,
            "CONTEXT": ch.context,
            "PRIORITY": str(ch.priority),
            "CHANNEL": ch.name,
            "UNIQUEID": ch.uniqueid,
            "HANGUPCAUSE": str(ch.hangup_cause),
        }
        if spec in builtin:
            return builtin[spec]
        return ch.variables.get(spec, self.globals.get(spec))

    def read_function(self, ch: SimChannel, name: str, args: str) -> str | None:
        upper, arg = name.upper(), args.strip().lower()
        if upper == "CALLERID":
            both = f'"{ch.caller_name}" <{ch.caller_num}>' if ch.caller_name else ch.caller_num
            return {"num": ch.caller_num, "name": ch.caller_name, "all": both}.get(arg)
        if upper == "CHANNEL":
            return {
                "name": ch.name,
                "language": ch.language,
                "uniqueid": ch.uniqueid,
                "linkedid": ch.linkedid,
                "state": ch.state.desc,
            }.get(arg)
        return string_function(name, args)

    def write_function(self, ch: SimChannel, name: str, args: str, value: str) -> None:
        """``Set(FUNC(args)=value)``: no VarSet. CHANNEL(language) changes both halves
        of a Local channel (lab); CONFBRIDGE(user,...) the channel's user profile."""
        upper, parts = name.upper(), [a.strip().lower() for a in args.split(",")]
        if upper == "CHANNEL" and parts == ["language"]:
            for half in (ch, ch.peer):
                if half is not None:
                    half.language = value
        elif upper == "CONFBRIDGE" and len(parts) == 2 and parts[0] == "user":
            ch.conf_user[parts[1]] = value.strip().lower()

    def expand(self, ch: SimChannel, text: str) -> str:
        return substitute(text, lambda spec: self.resolve(ch, spec))

    def setvar(self, ch: SimChannel, name: str, value: str | None) -> None:
        """``pbx_builtin_setvar_helper()``."""
        name = name.strip()
        call = split_call(name) if name.endswith(")") else None
        if call is not None:
            self.write_function(ch, *call, value or "")
        elif value is None:
            self.unset(ch, name)
        else:
            self.varset(ch, name, value)

    # ------------------------------------------------------------ the far end

    def far_script(self, call: Call) -> list[tuple[str, str]]:
        """The steps the far end (``;2``) runs: a NoOp when the loaded context starts
        with one (its text), then what the behaviour does (the lab's *-sim contexts)."""
        steps: list[tuple[str, str]] = []
        two = call.two
        if two is not None:
            first = self.extension(two.context, two.exten)
            step = first.step(1) if first is not None else None
            if step is not None and step.app == "NoOp":
                steps.append(("NoOp", self.expand(two, step.data)))
        ep = call.endpoint
        match ep.behaviour:
            case Behaviour.PRESS:
                steps += [("Answer", ""), ("Wait", seconds_text(ep.after)), ("SendDTMF", ep.digit)]
                for after, digits in ep.more:
                    steps += [("Wait", seconds_text(after)), ("SendDTMF", digits)]
                steps.append(("Wait", "3600"))
            case Behaviour.ANSWER | Behaviour.SILENT:
                steps += [("Answer", ""), ("Wait", "3600")]
            case Behaviour.NO_ANSWER:
                steps += [("Ringing", ""), ("Wait", "120")]
            case Behaviour.BUSY:
                steps.append(("Busy", "10"))
            case Behaviour.CONGESTION:
                steps.append(("Congestion", "10"))
            case _:
                steps.append(("Hangup", "21"))
        if two is not None and steps[-1] == ("Wait", "3600"):
            # the loaded context's own wait where it has one (citizen-sim-silent:
            # Wait(10), 05; the lab's vbsim-hangup: Wait(13) before its Hangup())
            found = self.extension(two.context, two.exten)
            last = found.step(len(steps)) if found is not None else None
            if last is not None and last.app == "Wait":
                steps[-1] = ("Wait", last.data)
        return steps

    # ------------------------------------------------------------ destinations

    async def run_destination(self, call: Call) -> None:
        """``;1`` once answered: the Application (ConfBridge joins, Wait(n) hangs up
        after n s with Cause 0 as 03's sync Originate did, any other stays), the
        Context, or with neither the far end's own context from priority 2 (03
        orig-nodest, which leaks the call)."""
        one, req = call.one, call.req
        if one is None:
            return
        if req.application:
            one.in_dialplan = False
            one.app, one.appdata = req.application, req.data
            app = req.application.lower()
            if app == "confbridge":
                args = split_args(req.data)
                profile = args[2].strip() if len(args) > 2 else ""
                await self.conf_join(one, args[0].strip(), announce=self.announces(one, profile))
            elif app == "wait":
                try:
                    seconds = float(req.data or "0")
                except ValueError:
                    return
                await self.sleep(seconds)
                self.hangup_near(one, 0)
            return
        if req.context:
            await self.run_context(one, req.context, req.exten or "s", req.priority)
            return
        if call.two is not None:
            one.in_dialplan = True
            steps = [s for s in self.far_script(call) if s[0] != "NoOp"]
            for priority, (app, data) in enumerate(steps, start=2):
                self.newexten(one, priority, app, data)
                if app == "Wait":
                    break

    def user_profile(self, ch: SimChannel, profile: str) -> tuple[bool, bool]:
        """(quiet, announce_only_user) of a user of this confbridge.conf profile
        (``default_user`` if none) under the channel's CONFBRIDGE(user,...)."""
        conf = self.config.files.get("confbridge.conf")
        cat = conf.find(profile or "default_user") if conf is not None else None
        values = {v.name.strip().lower(): v.value.strip().lower() for v in cat.vars} if cat else {}
        values.update(ch.conf_user)
        yes = {"yes", "true", "y", "t", "1", "on"}
        return values.get("quiet", "no") in yes, values.get("announce_only_user", "yes") in yes

    def announces(self, ch: SimChannel, profile: str) -> bool:
        """Whether the user hears the "only person" prompt before joining an empty room
        (02a's default_user: 3.1 s; none with the quiet profile, 04, lab vb-room)."""
        quiet, only = self.user_profile(ch, profile)
        return only and not quiet

    # ------------------------------------------------------------ the interpreter

    async def run_context(self, ch: SimChannel, context: str, exten: str, priority: int) -> None:
        """Run ``context,exten,priority`` (Originate Context, Redirect) to its end."""
        ch.context, ch.exten, ch.priority, ch.in_dialplan = context, exten, priority, True
        for _ in range(MAX_STEPS):
            found = self.extension(ch.context, ch.exten)
            step = found.step(ch.priority) if found is not None else None
            if step is None:  # the end of the extension, or no such extension
                self.hangup_near(ch, ch.hangup_cause, soft=False)
                return
            outcome = await self._step(ch, step.app, step.data, step.number)
            if not ch.alive():
                return
            if isinstance(outcome, End):
                ch.hangup_cause = outcome.cause
                self.hangup_near(ch, outcome.cause, soft=outcome.soft)
                return
            if isinstance(outcome, Jump):
                ch.context, ch.exten, ch.priority = outcome.context, outcome.exten, outcome.priority
            else:
                ch.priority += 1
        self.hangup_near(ch, 0, soft=False)

    async def _step(self, ch: SimChannel, app: str, data: str, number: int) -> Outcome:
        name = app.lower()
        sync, slow = self._sync_apps().get(name), self._async_apps().get(name)
        if sync is None and slow is None:
            return End(0, soft=False)  # "No application 'X' for extension": no Newexten
        text = self.expand(ch, data)
        self.newexten(ch, number, app, text)
        if slow is not None:
            outcome: Outcome = await slow(ch, text)
            return outcome
        return sync(ch, text) if sync is not None else End(0, soft=False)

    def run_h(self, ch: SimChannel) -> None:
        """The ``h`` extension of a channel that ran dialplan, once it is hung up: its
        priorities run at once (an application that would wait returns at once on a
        hung-up channel, and ends it); the Hangup event then names ``h`` and the
        priority after the last (lab: ``Exten: h``, ``Priority: 4``)."""
        if not ch.in_dialplan or ch.exten == "h" or self.extension(ch.context, "h") is None:
            return
        ch.exten, ch.priority = "h", 1
        for _ in range(1000):
            found = self.extension(ch.context, ch.exten)
            step = found.step(ch.priority) if found is not None else None
            sync = self._sync_apps().get(step.app.lower()) if step is not None else None
            if step is None or sync is None:
                return
            text = self.expand(ch, step.data)
            self.newexten(ch, step.number, step.app, text)
            outcome = sync(ch, text)
            if isinstance(outcome, End):
                return
            if isinstance(outcome, Jump):
                ch.context, ch.exten, ch.priority = outcome.context, outcome.exten, outcome.priority
            else:
                ch.priority += 1

    def _sync_apps(self) -> dict[str, SyncApp]:
        return {
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

    def _async_apps(self) -> dict[str, AsyncApp]:
        return {
            "wait": self.app_wait,
            "playback": self.app_playback,
            "saydigits": self.app_saydigits,
            "background": self.app_background,
            "waitexten": self.app_waitexten,
            "read": self.app_read,
            "senddtmf": self.app_senddtmf,
            "confbridge": self.app_confbridge,
        }

    # ------------------------------------------------------------ applications

    def app_noop(self, ch: SimChannel, data: str) -> Outcome:
        return None

    def app_set(self, ch: SimChannel, data: str) -> Outcome:
        name, sep, value = data.partition("=")
        if sep and name.strip():
            self.setvar(ch, name, value)
        return None

    def app_mset(self, ch: SimChannel, data: str) -> Outcome:
        for pair in split_args(data):
            self.app_set(ch, pair)
        return None

    def app_answer(self, ch: SimChannel, data: str) -> Outcome:
        self._answer(ch)
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
        self.user_event(ch, args[0], *fields)
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
        found = self.extension(context, exten)
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
            self.varset(ch, here, label)
        var = f"WHILE_{label}"
        start = ch.variables.get(var)
        if (not end and not truth(data)) or end == 2:
            self.unset(ch, var)
            self.unset(ch, here)
            after = ch.variables.get(f"END_{var}")
            if after is not None:
                self.unset(ch, f"END_{var}")
                return self.goto(ch, after)
            matching = self._matching_endwhile(ch)
            return None if matching is None else Jump(ch.context, ch.exten, matching + 1)
        if not end and start is None:
            self.varset(ch, var, f"{ch.context},{ch.exten},{ch.priority}")
        elif end and start is not None:
            if f"END_{var}" not in ch.variables:
                self.varset(ch, f"END_{var}", f"{ch.context},{ch.exten},{ch.priority + 1}")
            return self.goto(ch, start)
        return None

    def _matching_endwhile(self, ch: SimChannel) -> int | None:
        found = self.extension(ch.context, ch.exten)
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

    async def app_confbridge(self, ch: SimChannel, data: str) -> Outcome:
        """ConfBridge(room[,bridge_profile[,user_profile]]): joins, and returns when the
        user is kicked (the dialplan goes on); a hang-up ends it (02a, lab)."""
        args = split_args(data)
        room = args[0].strip()
        if not room:
            return End(0, soft=False)
        profile = args[2].strip() if len(args) > 2 else ""
        quiet, only = self.user_profile(ch, profile)
        ch.left = asyncio.get_running_loop().create_future()
        try:
            await self.conf_join(ch, room, announce=only and not quiet)
            await ch.left
        finally:
            ch.left = None
        if not quiet:
            await self.play(ch, "conf-kicked", keys=False)
        return None
