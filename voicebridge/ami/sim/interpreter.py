"""The fake Asterisk's dialplan interpreter.

It runs the loaded dialplan (:mod:`~voicebridge.ami.sim.dialplan`) priority by priority
as Asterisk 22.10.1's ``__ast_pbx_run()`` does: a ``Newexten`` with the substituted
arguments, then the application; the ``h`` extension when a channel that runs dialplan
hangs up (:meth:`~voicebridge.ami.sim.apps.Applications.run_h`). So the lab's contexts
(ack prompt, rooms, citizen IVR: traces 02a, 02b, 04, 05) and voicebridge's pushed
``vb-ack``/``vb-room`` (the lab's ``voicebridge-*`` traces: the room check, the prompt,
``h``) give the events the real one gave. The applications: those of
:mod:`~voicebridge.ami.sim.apps` and :mod:`~voicebridge.ami.sim.media`, and ConfBridge;
any other ends the call (``No application 'X'``: no Newexten, the channel hangs up).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from voicebridge.ami.sim.apps import Applications
from voicebridge.ami.sim.dialplan import End, Jump, Outcome
from voicebridge.ami.sim.expr import split_args
from voicebridge.ami.sim.media import Media
from voicebridge.ami.sim.model import SimChannel

if TYPE_CHECKING:
    from voicebridge.ami.sim.hangups import Hangups
    from voicebridge.ami.sim.pbx import Pbx
    from voicebridge.ami.sim.rooms import Rooms

SlowApp = Callable[[SimChannel, str], Awaitable[Outcome]]
MAX_STEPS = 100000
"""A context that loops forever is cut off after this many priorities."""


class Interpreter:
    """Runs a channel's dialplan to its end (Originate Context, Redirect)."""

    def __init__(
        self, pbx: "Pbx", hangups: "Hangups", rooms: "Rooms", apps: Applications, media: Media
    ) -> None:
        self.pbx = pbx
        self.hangups = hangups
        self.rooms = rooms
        self.apps = apps
        self.media = media
        self.slow: dict[str, SlowApp] = {**media.table, "confbridge": self.app_confbridge}
        """The applications that take time, by lower-case name."""

    async def run_context(self, ch: SimChannel, context: str, exten: str, priority: int) -> None:
        """Run ``context,exten,priority`` (Originate Context, Redirect) to its end."""
        ch.context, ch.exten, ch.priority, ch.in_dialplan = context, exten, priority, True
        for _ in range(MAX_STEPS):
            found = self.pbx.extension(ch.context, ch.exten)
            step = found.step(ch.priority) if found is not None else None
            if step is None:  # the end of the extension, or no such extension
                self.hangups.near(ch, ch.hangup_cause, soft=False)
                return
            outcome = await self._step(ch, step.app, step.data, step.number)
            if not ch.alive():
                return
            if isinstance(outcome, End):
                ch.hangup_cause = outcome.cause
                self.hangups.near(ch, outcome.cause, soft=outcome.soft)
                return
            if isinstance(outcome, Jump):
                ch.context, ch.exten, ch.priority = outcome.context, outcome.exten, outcome.priority
            else:
                ch.priority += 1
        self.hangups.near(ch, 0, soft=False)

    async def _step(self, ch: SimChannel, app: str, data: str, number: int) -> Outcome:
        name = app.lower()
        instant, slow = self.apps.table.get(name), self.slow.get(name)
        if instant is None and slow is None:
            return End(0, soft=False)  # "No application 'X' for extension": no Newexten
        text = self.apps.variables.expand(ch, data)
        self.pbx.newexten(ch, number, app, text)
        if slow is not None:
            outcome: Outcome = await slow(ch, text)
            return outcome
        return instant(ch, text) if instant is not None else End(0, soft=False)

    async def app_confbridge(self, ch: SimChannel, data: str) -> Outcome:
        """ConfBridge(room[,bridge_profile[,user_profile]]): joins, and returns when the
        user is kicked (the dialplan goes on); a hang-up ends it (02a, lab)."""
        args = split_args(data)
        room = args[0].strip()
        if not room:
            return End(0, soft=False)
        profile = args[2].strip() if len(args) > 2 else ""
        quiet, only = self.rooms.user_profile(ch, profile)
        ch.left = asyncio.get_running_loop().create_future()
        try:
            await self.rooms.join(ch, room, announce=only and not quiet)
            await ch.left
        finally:
            ch.left = None
        if not quiet:
            await self.media.play(ch, "conf-kicked", keys=False)
        return None
