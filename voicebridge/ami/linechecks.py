"""The line checks over AMI: each check claimed from the domain
(:class:`routing.linechecks.LineCheckPort`) is originated into ``vb-check``
(``dialplans/templates/vb-check.conf.j2``), and what Asterisk reports about it
(OriginateResponse, the UserEvent ``LineCheck``, Hangup) is told back as the check's
result. A check's Uniqueid is its ref (``vbchk-...``), never a contact's (``vb-...``),
so the bridge of the incidents' calls (:mod:`voicebridge.ami.bridge`) and this one each
hear only their own channels on the shared session.

Calls of incidents come first: at most two checks are on the phone at once across the
centre; the voice bridge's pause (Asterisk going away) pauses the checks too; a check
whose line becomes part of an incident is hung up at once (its Hangup sent again until
its channel is gone), and the incident's call to that line waits for that
(:func:`routing.linechecks.holding`) rather than find it busy. After each login, and
every :data:`RECONCILE_SECONDS`, the checks on the phone that Asterisk no longer has
are ended interrupted (no verdict on the line).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from dialplans.render import DialplanParams
from routing.linechecks import CheckResult, CheckState, CheckToPlace, LineCheckPort, result_of
from routing.ports import Clock
from voicebridge.ami import outcomes
from voicebridge.ami.codec import Message, UnsafeAction
from voicebridge.ami.reconcile import PLACING_GRACE
from voicebridge.ami.recorder import AdapterTasks, Job, Recorder
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking
from voicebridge.wakeup import Wakeup

log = logging.getLogger(__name__)

CHECK_CONTEXT = DialplanParams().check_context
PREFIX = "vbchk-"
ACTION_PREFIX = f"chk-{PREFIX}"
POLL_SECONDS = 1.0
RECONCILE_SECONDS = 30.0  # besides after every login
HANGUP_RETRY_SECONDS = 5.0  # a Hangup whose event did not come is sent again
REASON_ZERO_WAIT = 1.0  # as the bridge: a Reason 0 waits for the Hangup's Cause
LOST = "Asterisk perdió la llamada de prueba (se reinició o se cayó el enlace)"
CUT = "Asterisk se reinició y cortó la llamada de prueba"
SHUTDOWN_CAUSE = "4"  # a SoftHangupRequest's Cause when Asterisk's shutdown hangs up
CALLER_ID = '"CIC-SC prueba" <0>'


def ours(uniqueid: str) -> bool:
    """The ``;1`` half of a check's channel."""
    return uniqueid.startswith(PREFIX) and not uniqueid.endswith("-far")


def originate_headers(check: CheckToPlace) -> list[tuple[str, str]]:
    headers = [
        ("Channel", check.dial),
        ("Context", CHECK_CONTEXT),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", str(check.ring_seconds * 1000)),
        ("CallerID", CALLER_ID),
        ("ChannelId", check.ref),
        ("OtherChannelId", f"{check.ref}-far"),
        ("Async", "true"),
    ]
    if check.dtmf:
        headers.append(("Variable", f"VB_DTMF={check.dtmf}"))
    return headers


def key_result(digit: str, status: str) -> tuple[CheckResult, str]:
    """What the UserEvent LineCheck says."""
    if digit == "1":
        return CheckResult.CONFIRMED, "confirmó con la tecla 1"
    if status == "HANGUP":
        return CheckResult.ANSWERED, "colgó durante el mensaje, sin marcar"
    if digit:
        return CheckResult.ANSWERED, f"marcó {digit}, no 1"
    return CheckResult.ANSWERED, "contestó y no marcó ninguna tecla"


class LineChecker:
    def __init__(
        self,
        session: AmiSession,
        checks: LineCheckPort,
        blocking: Blocking,
        wakeup: Wakeup,
        clock: Clock,
        *,
        owner: str,
        paused: Callable[[], bool] = lambda: False,
    ) -> None:
        """``paused``: whether calls must not be sent now (the voice bridge's view of
        Asterisk going away)."""
        self.session = session
        self.checks = checks
        self.blocking = blocking
        self.wakeup = wakeup
        self.clock = clock
        self.owner = owner
        self.paused = paused
        self.originated = 0
        self._recorder = Recorder(blocking, wakeup, "line checks")
        self._running = AdapterTasks(wakeup, self._recorder, "line-checks")
        self._shut: set[str] = set()  # checks Asterisk's shutdown is hanging up
        self._hanging: dict[str, float] = {}  # ref -> loop time its Hangup was sent
        self._stopped = False
        session.on("OriginateResponse", self._on_originate_response)
        session.on("SoftHangupRequest", self._on_soft_hangup)
        session.on("UserEvent", self._on_user_event)
        session.on("Hangup", self._on_hangup)
        session.on_connected(self._after_login)

    def start(self) -> None:
        self._stopped = False
        self._running.start(self._loop)

    async def stop(self) -> None:
        self._stopped = True
        await self._running.stop()

    async def idle(self) -> None:
        """Wait until every event received so far has been recorded (for tests)."""
        await self._recorder.idle()

    # ------------------------------------------------------------- placing

    async def _loop(self, woken: asyncio.Event) -> None:
        """A sweep every :data:`POLL_SECONDS`; on a wake-up (every change of every
        incident wakes it) only while checks are pending or on the phone, so that a busy
        centre pays nothing for the checks it does not make."""
        loop = asyncio.get_running_loop()
        last_reconcile = last_sweep = loop.time()
        active = True
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await woken.wait()
            woken.clear()
            if not self.session.connected.is_set() or self.paused():
                continue
            if not active and loop.time() - last_sweep < POLL_SECONDS:
                continue
            last_sweep = loop.time()
            try:
                active = await self.sweep()
                if loop.time() - last_reconcile > RECONCILE_SECONDS:
                    last_reconcile = loop.time()
                    await self.reconcile()
                failing = False
            except Exception:
                if not failing:
                    log.exception("line checks: could not place or hang up the checks")
                    failing = True

    async def sweep(self) -> bool:
        """Hang up the checks whose line an incident needs, then place the pending ones.
        Whether any check was pending or on the phone."""
        if not await self.blocking(self.checks.active):
            return False
        now = asyncio.get_running_loop().time()
        self._hanging = {k: v for k, v in self._hanging.items() if now - v < 60}
        for ref, state in await self.blocking(self.checks.to_hang_up):
            sent = self._hanging.get(ref)
            if sent is not None and now - sent < HANGUP_RETRY_SECONDS:
                continue  # its Hangup event is on its way
            self._hanging[ref] = now
            log.info("line checks: %s hung up: an incident needs its line", ref)
            try:
                await self.session.send("Hangup", [("Channel", ref), ("Cause", "16")])
            except AmiError:  # "No such channel"
                if state is CheckState.PLACING:
                    continue  # its Originate has not made it yet: again at the next sweep
                await self.blocking(self.checks.gone, ref)
        for check in await self.blocking(self.checks.claim, self.owner):
            await self._originate(check)
        return True

    async def _originate(self, check: CheckToPlace) -> None:
        try:
            await self.session.send(
                "Originate", originate_headers(check), action_id=f"chk-{check.ref}"
            )
            self.originated += 1
        except UnsafeAction as exc:
            log.error("line checks: %s cannot be originated safely: %s", check.ref, exc)
            await self.blocking(
                self.checks.finished,
                check.ref,
                CheckResult.FAILED,
                "los datos de la línea no son válidos para Asterisk",
            )
        except AmiError as exc:
            if not self.session.connected.is_set():
                await self.blocking(self.checks.unclaim, check.ref)
                return
            await self.blocking(
                self.checks.finished,
                check.ref,
                CheckResult.FAILED,
                f"Asterisk rechazó la llamada: {exc.message}",
            )
        except (ConnectionError, TimeoutError) as exc:
            # Asterisk may have it: the reconciliation after the next login tells
            log.warning("line checks: Originate of %s unanswered (%s)", check.ref, exc)

    # ------------------------------------------------------------- events

    def _queue(self, job: Job) -> None:
        self._recorder.put(job)

    def _on_originate_response(self, m: Message) -> None:
        action_id = m.get("ActionID")
        if not action_id.startswith(ACTION_PREFIX):
            return
        ref = action_id.removeprefix("chk-")
        try:
            reason = int(m.get("Reason") or 0)
        except ValueError:
            reason = 0
        if reason == outcomes.ANSWERED_REASON:
            self._queue(lambda: self.checks.answered(ref))
            return
        outcome, cause = outcomes.originate_failure(reason)

        def record() -> None:
            self.checks.finished(ref, result_of(outcome), cause)

        if reason == 0:  # the Hangup's Cause, if one comes, says why
            asyncio.get_running_loop().call_later(REASON_ZERO_WAIT, self._queue, record)
        else:
            self._queue(record)

    def _on_user_event(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if m.get("UserEvent") != "LineCheck" or not ours(uniqueid):
            return
        if uniqueid in self._shut:
            return  # a message cut by Asterisk's shutdown is no answer: its Hangup tells
        result, cause = key_result(m.get("Digit"), m.get("ReadStatus"))
        self._queue(lambda: self.checks.finished(uniqueid, result, cause))

    def _on_soft_hangup(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if m.get("Cause") == SHUTDOWN_CAUSE and ours(uniqueid):
            self._shut.add(uniqueid)

    def _on_hangup(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if not ours(uniqueid):
            return
        if uniqueid in self._shut:  # says nothing of the line
            self._shut.discard(uniqueid)
            self._queue(lambda: self.checks.finished(uniqueid, CheckResult.INTERRUPTED, CUT))
            return
        try:
            code: int | None = int(m.get("Cause"))
        except ValueError:
            code = None
        cause = outcomes.spoken_cause(code, m.get("Cause-txt"))
        outcome = outcomes.hangup_outcome(code)
        self._queue(lambda: self.checks.hung_up(uniqueid, outcome, cause))

    # ------------------------------------------------------------- reconciliation

    async def _after_login(self) -> None:
        """Checks Asterisk dropped while the link was down end interrupted."""
        self._shut.clear()  # those whose Hangup did not come are found gone
        if self._stopped:
            return
        await self.reconcile()

    async def reconcile(self) -> None:
        """The checks on the phone that Asterisk does not have end interrupted; one
        placed less than :data:`PLACING_GRACE` ago is left alone (its Originate may be
        on its way)."""
        await self.idle()
        taken_at = self.clock.now()
        channels = await self.session.list("CoreShowChannels")
        live = {c.get("Uniqueid") for c in channels}
        for ref in await self.blocking(self.checks.in_flight, taken_at - PLACING_GRACE):
            if ref not in live:
                await self.blocking(self.checks.finished, ref, CheckResult.INTERRUPTED, LOST)
