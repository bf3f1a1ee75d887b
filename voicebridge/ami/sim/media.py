"""The fake Asterisk's sound applications: Playback, SayDigits, Background, Read,
WaitExten, Wait, and how long the sound files last.

Followed from Asterisk 22.10.1's ``apps/app_playback.c``, ``apps/app_read.c``,
``main/app.c`` (``ast_app_getdata_terminator()``), ``main/channel.c``
(``ast_readstring_full()``) and checked against the lab traces
(the lab's ``voicebridge-ack-*`` traces):

- Playback and SayDigits ignore keys: a key pressed during them is reported
  (DTMFBegin/DTMFEnd) and lost (ack-early: 1 during the intro, then ``TIMEOUT``);
  Playback sets ``PLAYBACKSTATUS`` (``FAILED`` if a file is missing, at once:
  ``vb/categoria-desconocida`` in ack-unknown-category; on a hang-up too);
- Read sets ``READSTATUS: ERROR`` first; its prompt files (``a&b&c``) are interrupted by
  a key (ack-repeat: 9 during ``vb/ack-menu``), each but the last followed by 50 ms of
  waiting, the last by the timeout; then the variable (empty on timeout or hang-up) and
  ``READSTATUS`` (``OK``, ``TIMEOUT``, ``HANGUP``);
- a missing file of a list is skipped.

Durations: ``sounds`` (file name -> seconds), else ``prompt_seconds`` for any other
file, or, when that is None, the file does not exist. :data:`LAB_SOUNDS` holds what the
lab played (its ``es`` sounds and voicebridge's prompts as built then).
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from voicebridge.ami.sim.dialplan import Jump
from voicebridge.ami.sim.expr import split_args
from voicebridge.ami.sim.model import ChannelState, SimChannel

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx

SHARED_SOUNDS: Mapping[str, float] = {"beep": 0.44}
"""The shared lab's sounds that matter to its traces: 05's Read(DIGIT,beep,1,,,5) timed
out 5.44 s after it started."""

LAB_SOUNDS: Mapping[str, float] = {
    "beep": 0.44,
    "silence/1": 1.0,
    **{
        f"digits/{d}": s
        for d, s in zip(
            "0123456789",
            (0.889, 0.682, 0.683, 0.671, 0.874, 0.901, 0.814, 0.839, 0.702, 0.886),
            strict=True,
        )
    },
    "vb/ack-intro": 4.304,
    "vb/ack-menu": 7.877,
    "vb/ack-accepted": 3.658,
    "vb/ack-declined": 3.206,
    "vb/ack-no-answer": 2.404,
    **{
        f"vb/categoria-{code}": s
        for code, s in {
            "accidente_transito": 1.998,
            "aniego": 1.954,
            "arbol_caido": 1.405,
            "asalto": 0.997,
            "buzon_sin_tapa": 1.524,
            "cable_caido": 2.072,
            "corte_energia": 2.364,
            "derrumbe": 2.546,
            "disturbio": 2.323,
            "emergencia_medica": 1.797,
            "fuga_gas": 1.395,
            "incendio": 1.128,
            "materiales_peligrosos": 1.955,
            "otro": 0.771,
            "persona_desaparecida": 2.005,
            "rescate": 1.877,
            "rina": 1.362,
            "robo": 0.845,
            "semaforo_averiado": 1.69,
            "violencia_familiar": 1.738,
        }.items()
    },
}
"""The sound files of the lab Asterisk (``es``: Debian's Spanish
core sounds and voicebridge's prompts built by ``dialplans.prompts``) and their length
in seconds, as played in its traces (ack-key1: intro 4.30 s, SayDigits 000123 4.69 s,
``vb/categoria-incendio`` 1.13 s, menu 7.88 s before Read's 10 s)."""

SEND_DURATION = 0.1
"""SendDTMF's default digit length (``dtmf_duration``, 100 ms)."""
SEND_BETWEEN = 0.25
"""SendDTMF's default pause after a digit (250 ms)."""
_DTMF = frozenset("0123456789*#ABCD")

INTER_PROMPT = 0.05
"""Read waits 50 ms for a key after each prompt file but the last (app.c)."""
FIRST_DIGIT = 10.0
"""Read's wait after its last prompt without a timeout argument (``rtimeoutms``)."""
NEXT_DIGIT = 5.0
"""Read's wait between keys (``dtimeoutms``)."""
_SAY = {"*": "digits/star", "#": "digits/pound"}


class Media:
    """Sound applications. Each returns like the interpreter's applications (see
    :class:`~voicebridge.ami.sim.apps.Applications`): None to go on, else where to go.
    :attr:`table`: them by lower-case name."""

    def __init__(
        self,
        pbx: "Pbx",
        *,
        read_timeout: float | None,
        prompt_seconds: float | None,
        sounds: Mapping[str, float],
    ) -> None:
        self.pbx = pbx
        self.read_timeout = read_timeout
        self.prompt_seconds = prompt_seconds
        self.sounds = dict(sounds)
        self.table: dict[str, Callable[[SimChannel, str], Awaitable[Jump | None]]] = {
            "wait": self.app_wait,
            "playback": self.app_playback,
            "saydigits": self.app_saydigits,
            "background": self.app_background,
            "waitexten": self.app_waitexten,
            "read": self.app_read,
            "senddtmf": self.app_senddtmf,
        }

    def sound(self, name: str) -> float | None:
        """Seconds a sound file lasts, or None if it does not exist."""
        if name in self.sounds:
            return self.sounds[name]
        return self.prompt_seconds

    async def play(self, ch: SimChannel, name: str, *, keys: bool) -> str | None:
        """Play one file: None if it does not exist, else the key that stopped it
        (``keys``), or ``""``."""
        seconds = self.sound(name)
        if seconds is None:
            return None
        if keys:
            return await self.pbx.wait_digit(ch, seconds)
        await self.pbx.sleep(seconds)
        return ""

    async def app_wait(self, ch: SimChannel, data: str) -> None:
        """Wait(seconds): keys are lost."""
        try:
            seconds = float(split_args(data)[0] or 0)
        except ValueError:
            seconds = 0.0
        await self.pbx.sleep(seconds)

    async def app_playback(self, ch: SimChannel, data: str) -> None:
        """Playback(files[,options]): every file in turn, keys lost; PLAYBACKSTATUS."""
        args = split_args(data)
        failed = False
        ch.on_abort = lambda: self.pbx.varset(
            ch, "PLAYBACKSTATUS", "FAILED" if failed else "SUCCESS"
        )
        self.pbx.answer(ch)
        for name in (f.strip() for f in args[0].split("&")):
            if name and await self.play(ch, name, keys=False) is None:
                failed = True
        ch.on_abort = None
        self.pbx.varset(ch, "PLAYBACKSTATUS", "FAILED" if failed else "SUCCESS")

    async def app_senddtmf(self, ch: SimChannel, data: str) -> None:
        """SendDTMF(digits[,between_ms[,duration_ms]]): each digit to the far end,
        DTMFBegin and DTMFEnd ``Direction: Sent`` on the channel, ``duration`` apart
        (100 ms), ``between`` after each (250 ms); ``w`` waits 500 ms, ``W`` 1 s
        (app_senddtmf.c, ast_dtmf_stream). What was sent: ``pbx.sent_dtmf``."""
        args = [*split_args(data), "", ""]
        between = int(args[1]) / 1000 if args[1].isdigit() else SEND_BETWEEN
        duration = int(args[2]) / 1000 if args[2].isdigit() else SEND_DURATION
        for c in args[0]:
            if not ch.alive():
                return
            if c in "wW":
                await self.pbx.sleep(0.5 if c == "w" else 1.0)
                continue
            if c not in _DTMF:
                continue
            self.pbx.chan_event("DTMFBegin", ch, ("Digit", c), ("Direction", "Sent"), cls="dtmf")
            await self.pbx.sleep(duration)
            self.pbx.chan_event(
                "DTMFEnd",
                ch,
                ("Digit", c),
                ("DurationMs", str(round(duration * 1000))),
                ("Direction", "Sent"),
                cls="dtmf",
            )
            self.pbx.sent_dtmf[ch.uniqueid] = self.pbx.sent_dtmf.get(ch.uniqueid, "") + c
            await self.pbx.sleep(between)

    async def app_saydigits(self, ch: SimChannel, data: str) -> None:
        """SayDigits(digits): ``digits/<n>`` one after the other, keys lost."""
        for c in split_args(data)[0]:
            name = _SAY.get(c, f"digits/{c}" if c.isdigit() else f"letters/{c.lower()}")
            await self.play(ch, name, keys=False)

    async def app_background(self, ch: SimChannel, data: str) -> Jump | None:
        """Background(files[,options[,language[,context]]]): the files, a key stops
        them and runs that extension (else ``i``); BACKGROUNDSTATUS."""
        args = split_args(data, 4)
        context = args[3] if len(args) > 3 and args[3] else ch.context
        failed, key = False, ""
        self.pbx.answer(ch)
        ch.keys = asyncio.Queue()
        for name in (f.strip() for f in args[0].split("&")):
            got = await self.play(ch, name, keys=True) if name else ""
            failed = failed or got is None
            if got:
                key = got
                break
        ch.keys = None
        self.pbx.varset(ch, "BACKGROUNDSTATUS", "FAILED" if failed else "SUCCESS")
        return self.dialled(ch, context, key) if key else None

    async def app_waitexten(self, ch: SimChannel, data: str) -> Jump:
        """WaitExten([seconds]): a key runs that extension (else ``i``), none ``t``."""
        args = split_args(data)
        try:
            seconds = float(args[0]) if args[0] else FIRST_DIGIT
        except ValueError:
            seconds = FIRST_DIGIT
        ch.keys = asyncio.Queue()
        key = await self.pbx.wait_digit(ch, seconds)
        ch.keys = None
        return self.dialled(ch, ch.context, key or "t")

    def dialled(self, ch: SimChannel, context: str, exten: str) -> Jump:
        """Where a key (or ``t``) leads: that extension, else ``i`` (``t``: itself; no
        such extension hangs the channel up)."""
        if self.pbx.extension(context, exten) is None and exten != "t":
            exten = "i"
        return Jump(context, exten, 1)

    async def app_read(self, ch: SimChannel, data: str) -> None:
        """Read(variable[,files[,maxdigits[,options[,attempts[,timeout]]]]])."""
        self.pbx.varset(ch, "READSTATUS", "ERROR")
        args = [*split_args(data), "", "", "", "", "", ""][:6]
        variable, files, maxdigits, options, attempts, timeout = args
        if not variable:
            return
        most = int(maxdigits) if maxdigits.isdigit() and 1 <= int(maxdigits) <= 255 else 255
        tries = max(int(attempts), 1) if attempts.isdigit() else 1
        wait: float | None = None
        try:
            wait = float(timeout) if timeout and float(timeout) > 0 else None
        except ValueError:
            wait = None
        if self.read_timeout is not None:
            wait = self.read_timeout
        if ch.state != ChannelState.UP:
            if "s" in options:
                self.pbx.varset(ch, variable, "")
                self.pbx.varset(ch, "READSTATUS", "SKIPPED")
                return
            if "n" not in options:
                self.pbx.answer(ch)
        typed: list[str] = []
        ch.on_abort = lambda: self._read_done(ch, variable, "".join(typed), "HANGUP")
        ch.keys = asyncio.Queue()
        status = "ERROR"
        while tries:
            typed.clear()
            status = await self._getdata(ch, files, typed, most, wait)
            self.pbx.varset(ch, variable, "".join(typed))
            tries = 0 if typed else tries - 1
        ch.on_abort, ch.keys = None, None
        self.pbx.varset(ch, "READSTATUS", status)

    def _read_done(self, ch: SimChannel, variable: str, value: str, status: str) -> None:
        self.pbx.varset(ch, variable, value)
        self.pbx.varset(ch, "READSTATUS", status)

    async def _getdata(
        self, ch: SimChannel, files: str, typed: list[str], most: int, wait: float | None
    ) -> str:
        """``ast_app_getdata_terminator()`` with ``#`` ending the input: the status."""
        names = [f.strip() for f in files.split("&")]
        status = "ERROR"
        for i, name in enumerate(names):
            last = i == len(names) - 1
            key = ""
            if name:
                got = await self.play(ch, name, keys=True)
                if got is None:  # a file that does not exist is skipped; the last one
                    status = "ERROR"  # fails the Read (read_exec: res < 0)
                    continue
                key = got
            first = (wait or FIRST_DIGIT) if last else INTER_PROMPT
            between = (wait or NEXT_DIGIT) if last else NEXT_DIGIT
            status = await self._keys(ch, key, typed, most, first, between)
            if status == "OK" or typed:
                return status
        return status

    async def _keys(
        self, ch: SimChannel, key: str, typed: list[str], most: int, first: float, between: float
    ) -> str:
        """``ast_readstring_full()`` after a prompt (``key``: the one that stopped it)."""
        while True:
            if not key:
                key = await self.pbx.wait_digit(ch, between if typed else first)
            if not key:
                return "TIMEOUT"
            if key == "#":
                return "OK"
            typed.append(key)
            if len(typed) >= most:
                return "OK"
            key = ""
