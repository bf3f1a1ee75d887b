"""The bridge between the call store and Asterisk: it originates the legs the store has
pending, hangs up the ones someone asked to drop, and feeds what Asterisk reports
(OriginateResponse, the prompt's UserEvent, Hangup, ConfbridgeJoin/Leave) back into
the store, in order, one event at a time.

Every ``serve`` replica may run one: legs are claimed in the database (one replica
originates each), and the store's handlers are idempotent (every replica sees every
event). After each login the bridge reconciles the legs in flight with CoreShowChannels
and ConfBridgeList, so nothing Asterisk did while the link was down is lost, and nothing
is originated twice.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from dialplans.render import DialplanParams
from routing.callevents import CallEvents, LegToCall
from routing.models import LegState
from voicebridge.ami.codec import Message
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking

log = logging.getLogger(__name__)

ACK_CONTEXT = DialplanParams().ack_context  # dialplans/templates, as rendered
ROOM_CONTEXT = DialplanParams().room_context
PREFIX = "vb-"  # every channel voicebridge originates has a Uniqueid of its choosing
ROOM = re.compile(r"^[A-Z]{2,8}-\d{4}-\d{6,9}$")
POLL_SECONDS = 0.5
RECONCILE_SECONDS = 30.0  # besides after every login
REASON_ZERO_WAIT = 1.0  # an OriginateResponse Reason 0 waits for the Hangup's Cause
OPERATOR_RING_SECONDS = 45
UP = "6"  # ChannelState of an answered channel
HANGUP_RETRY_SECONDS = 5.0  # a Hangup whose event did not come is sent again

Job = Callable[[], Any]


def our_leg(uniqueid: str) -> bool:
    """The ``;1`` half of a channel voicebridge originated (not its ``;2`` far end)."""
    return uniqueid.startswith(PREFIX) and not uniqueid.endswith("-far")


def originate_headers(call: LegToCall) -> list[tuple[str, str]]:
    leg = call.leg
    ring = call.ring_seconds if call.prompt else max(call.ring_seconds, OPERATOR_RING_SECONDS)
    headers = [
        ("Channel", leg.dial),
        ("Context", ACK_CONTEXT if call.prompt else ROOM_CONTEXT),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", str(ring * 1000)),
        ("CallerID", f'"CIC {call.room}" <0>'),
        ("ChannelId", leg.channel_id),
        ("OtherChannelId", f"{leg.channel_id}-far"),
        ("Async", "true"),
    ]
    headers += [("Variable", f"{k}={v}") for k, v in call.variables.items()]
    return headers


class Bridge:
    def __init__(
        self,
        session: AmiSession,
        events: CallEvents,
        blocking: Blocking,
        *,
        owner: str,
        recorded: Callable[[], None] = lambda: None,
    ) -> None:
        """``owner`` names this replica on the legs it claims; ``recorded`` is called
        after each event is recorded (it may have stored a task for the relay)."""
        self.session = session
        self.events = events
        self.blocking = blocking
        self.owner = owner
        self.recorded = recorded
        self._events: asyncio.Queue[Job] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.originated = 0
        self._hanging: dict[str, float] = {}  # Uniqueid -> when we sent its Hangup
        session.on("OriginateResponse", self._on_originate_response)
        session.on("UserEvent", self._on_user_event)
        session.on("Hangup", self._on_hangup)
        session.on("ConfbridgeJoin", self._on_join)
        session.on("ConfbridgeLeave", self._on_leave)
        session.on("Shutdown", self._on_shutdown)
        session.on_connected(self.reconcile)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._originate_loop(), name="bridge-originate"),
            loop.create_task(self._event_loop(), name="bridge-events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def wake(self) -> None:
        """New legs are pending: originate them now rather than at the next poll."""
        self._wake.set()

    async def idle(self) -> None:
        """Wait until every event received so far has been handled (for tests)."""
        await self._events.join()

    # ------------------------------------------------------------- originating

    async def _originate_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_reconcile = loop.time()
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            if not self.session.connected.is_set():
                continue
            try:
                await self.sweep()
                if loop.time() - last_reconcile > RECONCILE_SECONDS:
                    last_reconcile = loop.time()
                    await self.reconcile()
                if failing:
                    log.info("bridge: originating works again")
                    failing = False
            except Exception:
                if not failing:
                    log.exception("bridge: could not originate the pending legs")
                    failing = True

    async def sweep(self) -> None:
        """Originate what is pending, hang up what someone dropped."""
        while calls := await self.blocking(self.events.claim, self.owner):
            await asyncio.gather(*(self._originate(c) for c in calls))
        now = asyncio.get_running_loop().time()
        self._hanging = {k: v for k, v in self._hanging.items() if now - v < 60}
        for leg in await self.blocking(self.events.hangups):
            sent = self._hanging.get(leg.channel_id)
            if sent is not None and now - sent < HANGUP_RETRY_SECONDS:
                continue  # its Hangup event is on its way
            self._hanging[leg.channel_id] = now
            try:  # Asterisk finds a channel by its Uniqueid too
                await self.session.send("Hangup", [("Channel", leg.channel_id), ("Cause", "16")])
            except AmiError as exc:  # "No such channel"
                if leg.state is LegState.CALLING:
                    continue  # the Originate has not made it yet: try again later
                log.info("bridge: hangup of %s: %s", leg.channel_id, exc.message)
                await self.blocking(self.events.hung_up, leg.channel_id, "ya no estaba", 16)

    async def _originate(self, call: LegToCall) -> None:
        channel_id = call.leg.channel_id
        try:
            await self.session.send(
                "Originate", originate_headers(call), action_id=f"orig-{channel_id}"
            )
            self.originated += 1
        except AmiError as exc:
            await self.blocking(self.events.originate_failed, channel_id, exc.message)
        except (ConnectionError, TimeoutError) as exc:
            # we cannot know whether Asterisk got it: the reconciliation after the next
            # login will tell (never originate it blindly again)
            log.warning(
                "bridge: Originate of %s unanswered (%s); reconciling later",
                channel_id,
                exc,
                extra={"incident": call.room},
            )

    # ------------------------------------------------------------- events

    def _queue(self, job: Job) -> None:
        self._events.put_nowait(job)

    async def _event_loop(self) -> None:
        while True:
            job = await self._events.get()
            try:
                await self.blocking(job)
                self.recorded()
            except Exception:
                log.exception("bridge: an Asterisk event could not be recorded")
            finally:
                self._events.task_done()

    def _on_originate_response(self, m: Message) -> None:
        action_id = m.get("ActionID")
        if not action_id.startswith(f"orig-{PREFIX}"):
            return
        channel_id = action_id.removeprefix("orig-")
        try:
            reason = int(m.get("Reason") or 0)
        except ValueError:
            reason = 0

        def record() -> None:
            self.events.originate_result(channel_id, reason)

        if reason == 0:  # ambiguous: the Hangup's Cause, if one comes, says why
            asyncio.get_running_loop().call_later(REASON_ZERO_WAIT, self._queue, record)
        else:
            self._queue(record)

    def _on_user_event(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if m.get("UserEvent") != "ResponderAck" or not our_leg(uniqueid):
            return
        digit, status = m.get("Digit"), m.get("ReadStatus")
        self._queue(lambda: self.events.key_pressed(uniqueid, digit, status))

    def _on_hangup(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if not our_leg(uniqueid):
            return
        # _hanging keeps its entry: until this event is recorded the leg still looks
        # live to a sweep, which must not send its Hangup again (entries expire)
        text = m.get("Cause-txt")
        try:
            code: int | None = int(m.get("Cause"))
        except ValueError:
            code = None
        self._queue(lambda: self.events.hung_up(uniqueid, text, code))

    def _on_join(self, m: Message) -> None:
        uniqueid, room = m.get("Uniqueid"), m.get("Conference")
        if our_leg(uniqueid):
            self._queue(lambda: self.events.joined(uniqueid, room))

    def _on_leave(self, m: Message) -> None:
        uniqueid, room = m.get("Uniqueid"), m.get("Conference")
        if our_leg(uniqueid):
            self._queue(lambda: self.events.left(uniqueid, room))

    def _on_shutdown(self, m: Message) -> None:
        log.warning("bridge: Asterisk is shutting down (restart: %s)", m.get("Restart"))

    # ------------------------------------------------------------- reconciliation

    async def reconcile(self) -> None:
        """After a login and every :data:`RECONCILE_SECONDS`: what happened to our legs
        while we were not listening (or to legs of a replica that died)."""
        await self.idle()
        taken_at = self.events.clock.now()
        channels = await self.session.list("CoreShowChannels")
        live = {c.get("Uniqueid") for c in channels}
        up = {c.get("Uniqueid") for c in channels if c.get("ChannelState") == UP}
        rooms: dict[str, set[str]] = {}
        for room in await self.session.list("ConfBridgeListRooms"):
            name = room.get("Conference")
            if ROOM.match(name):
                members = await self.session.list("ConfBridgeList", [("Conference", name)])
                rooms[name] = {m.get("Uniqueid") for m in members}
        changed = await self.blocking(self.events.reconcile, live, rooms, up=up, taken_at=taken_at)
        if changed:
            log.warning("bridge: reconciled with Asterisk: %s", "; ".join(changed))
            self.recorded()
        self.wake()
