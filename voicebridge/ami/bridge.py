"""The voice adapter: the contacts of the media Asterisk reaches (calls and talkgroups,
through the radio gateway's dial string) placed over AMI, and what Asterisk reports
about them (OriginateResponse, the prompt's UserEvent, Hangup, ConfbridgeJoin/Leave)
told to the contact port in the domain's words (:mod:`voicebridge.ami.outcomes`), in
order, one event at a time.

Every ``serve`` replica may run one: contacts are claimed in the database (one replica
places each), and the port's reports are idempotent (every replica sees every event).
Each contact's ref is the Uniqueid of its channel (Originate ``ChannelId``), so every
event names the contact it is about. After each login, and every
:data:`RECONCILE_SECONDS`, the bridge reconciles the contacts in flight with
CoreShowChannels and ConfBridgeList (:mod:`voicebridge.ami.reconcile`), so nothing
Asterisk did while the link was down is lost, and nothing is originated twice.

The citizen's own call, which the IVR's dialplan puts into the room (its contact recorded
by :mod:`voicebridge.ami.citizens`, named by the channel's Uniqueid), is followed too:
from the replica that took it on, from its ConfbridgeJoin on every other, and from the
ledger's live contacts at each reconciliation. voicebridge never originates it, and never
calls it back when it is lost.

The legs Asterisk loses are reported lost (:meth:`ContactPort.dropped`), which calls
their lines back into their rooms: those its shutdown hangs up (``core restart``:
each gets a ``SoftHangupRequest`` with Cause 4, AST_SOFTHANGUP_SHUTDOWN, before its
Hangup; the ``Shutdown`` event comes after them all), and those the reconciliation
after a login finds gone (the link was down while Asterisk dropped them). From the
first such sign until the next login nothing is originated: an Originate sent to an
Asterisk going away would fail, and a callback is tried once.
"""

import asyncio
import contextlib
import logging
import re

from dialplans.render import DialplanParams
from routing.contacts import ContactPort, ToPlace
from routing.models import AckMethod, AttemptOutcome, ContactRole, ContactState, Medium
from routing.ports import Clock
from voicebridge.ami import outcomes
from voicebridge.ami.codec import Message, UnsafeAction
from voicebridge.ami.reconcile import GONE, Snapshot, reconcile
from voicebridge.ami.recorder import AdapterTasks, Job, Recorder
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking
from voicebridge.wakeup import Wakeup

log = logging.getLogger(__name__)

MEDIA = frozenset({Medium.VOICE, Medium.TALKGROUP})  # the media this adapter places
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
SHUTDOWN_CAUSE = "4"  # a SoftHangupRequest's Cause when Asterisk's shutdown hangs up
# Asterisk waits up to 15 s for its channels to go before it exits; a shutdown not
# followed by a lost link this long after (cancelled) lets originating go on
SHUTDOWN_PAUSE_SECONDS = 30.0
# what the timeline says happened to a room Asterisk lost, and to each leg in it
RESTARTED = "el reinicio de Asterisk"
LOST = "una caída de Asterisk mientras el enlace estaba cortado"
CUT_BY_RESTART = "Asterisk se reinició y cortó la llamada"
# the same, for the service's log (English)
LOST_HOW = {RESTARTED: "Asterisk restarted", LOST: "dropped while the link was down"}


def our_leg(uniqueid: str) -> bool:
    """The ``;1`` half of a channel voicebridge originated (not its ``;2`` far end)."""
    return uniqueid.startswith(PREFIX) and not uniqueid.endswith("-far")


def originate_headers(call: ToPlace) -> list[tuple[str, str]]:
    contact = call.contact
    prompt = contact.asks_for_ack
    ring = call.ring_seconds if prompt else max(call.ring_seconds, OPERATOR_RING_SECONDS)
    headers = [
        ("Channel", contact.address),
        ("Context", ACK_CONTEXT if prompt else ROOM_CONTEXT),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", str(ring * 1000)),
        ("CallerID", f'"CIC {call.room}" <0>'),
        ("ChannelId", contact.ref),
        ("OtherChannelId", f"{contact.ref}-far"),
        ("Async", "true"),
    ]
    headers += [("Variable", f"{k}={v}") for k, v in outcomes.channel_variables(call).items()]
    return headers


class Bridge:
    def __init__(
        self,
        session: AmiSession,
        contacts: ContactPort,
        blocking: Blocking,
        wakeup: Wakeup,
        clock: Clock,
        *,
        owner: str,
    ) -> None:
        """``owner`` names this replica on the contacts it claims; ``wakeup`` wakes it
        when contacts wait, and is told when a report may have left work behind."""
        self.session = session
        self.contacts = contacts
        self.blocking = blocking
        self.wakeup = wakeup
        self.clock = clock
        self.owner = owner
        self.recorder = Recorder(blocking, wakeup, "bridge")
        self._running = AdapterTasks(wakeup, self.recorder, "bridge-originate")
        self.originated = 0
        self.reconciled = 0  # reconciliations done (for tests)
        self._hanging: dict[str, float] = {}  # Uniqueid -> when we sent its Hangup
        self._shut: set[str] = set()  # our legs Asterisk's shutdown is hanging up
        self._going: float | None = None  # loop time Asterisk was last seen going away
        self._restarted = False  # Asterisk went away since the last login
        self._lost: str | None = None  # after a login, until reconciled: what happened
        self._heard: set[str] | None = None  # meanwhile, the legs whose Hangup came
        self._citizens: set[str] = set()  # the citizens' channels in (or going to) rooms
        session.on("OriginateResponse", self._on_originate_response)
        session.on("UserEvent", self._on_user_event)
        session.on("SoftHangupRequest", self._on_soft_hangup)
        session.on("Hangup", self._on_hangup)
        session.on("ConfbridgeJoin", self._on_join)
        session.on("ConfbridgeLeave", self._on_leave)
        session.on("Shutdown", self._on_shutdown)
        session.on_connected(self._after_login)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._running.start(self._originate_loop)

    async def stop(self) -> None:
        await self._running.stop()

    async def idle(self) -> None:
        """Wait until every event received so far has been handled (for tests)."""
        await self.recorder.idle()

    def follow(self, uniqueid: str) -> None:
        """A citizen's channel whose contact was just recorded, on its way to the room:
        its events are the contact's from now on (its Hangup before it joins, too)."""
        self._citizens.add(uniqueid)

    def _ours(self, uniqueid: str) -> bool:
        """A leg that is a contact: one voicebridge originated, or a citizen's."""
        return our_leg(uniqueid) or uniqueid in self._citizens

    # ------------------------------------------------------------- originating

    async def _originate_loop(self, woken: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        last_reconcile = loop.time()
        failing = False
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel
            # that comes as the wake-up does, and the loop would outlive stop()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await woken.wait()
            woken.clear()
            if not self.session.connected.is_set() or self.going_away():
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
                    log.exception("bridge: could not originate the pending contacts")
                    failing = True

    async def sweep(self) -> None:
        """Originate what is pending, hang up what someone withdrew."""
        while calls := await self.blocking(self.contacts.claim, MEDIA, self.owner):
            await asyncio.gather(*(self._originate(c) for c in calls))
        now = asyncio.get_running_loop().time()
        self._hanging = {k: v for k, v in self._hanging.items() if now - v < 60}
        for contact in await self.blocking(self.contacts.to_withdraw, MEDIA):
            sent = self._hanging.get(contact.ref)
            if sent is not None and now - sent < HANGUP_RETRY_SECONDS:
                continue  # its Hangup event is on its way
            self._hanging[contact.ref] = now
            if not our_leg(contact.ref):
                self.follow(contact.ref)  # a citizen's: its Hangup event is the contact's
            try:  # Asterisk finds a channel by its Uniqueid too
                await self.session.send("Hangup", [("Channel", contact.ref), ("Cause", "16")])
            except AmiError as exc:  # "No such channel"
                if contact.state is ContactState.PLACING:
                    continue  # the Originate has not made it yet: try again later
                log.info("bridge: hangup of %s: %s", contact.ref, exc.message)
                await self.blocking(self.contacts.ended, contact.ref, "ya no estaba")

    async def _originate(self, call: ToPlace) -> None:
        ref = call.contact.ref
        try:
            await self.session.send("Originate", originate_headers(call), action_id=f"orig-{ref}")
            self.originated += 1
        except UnsafeAction as exc:
            log.error("bridge: %s cannot be originated safely: %s", ref, exc)
            await self.blocking(
                self.contacts.not_reached,
                ref,
                AttemptOutcome.FAILED,
                "los datos de la llamada no son válidos para Asterisk",
            )
        except AmiError as exc:
            if not self.session.connected.is_set():
                # refused while Asterisk was going away or booting: not a try
                await self.blocking(self.contacts.unclaim, ref)
                return
            await self.blocking(
                self.contacts.not_reached,
                ref,
                AttemptOutcome.FAILED,
                f"Asterisk rechazó la llamada: {exc.message}",
            )
        except (ConnectionError, TimeoutError) as exc:
            # we cannot know whether Asterisk got it: the reconciliation after the next
            # login will tell (never originate it blindly again)
            log.warning(
                "bridge: Originate of %s unanswered (%s); reconciling later",
                ref,
                exc,
                extra={"incident": call.room},
            )

    def going_away(self) -> bool:
        """Asterisk is shutting down: nothing is sent until the next login (or, if the
        link is not lost, :data:`SHUTDOWN_PAUSE_SECONDS` after the last sign of it)."""
        if self._going is None:
            return False
        if asyncio.get_running_loop().time() - self._going < SHUTDOWN_PAUSE_SECONDS:
            return True
        log.warning("bridge: Asterisk did not go away after all; originating again")
        self._going = None
        return False

    # ------------------------------------------------------------- events

    def _queue(self, job: Job) -> None:
        self.recorder.put(job)

    def _on_originate_response(self, m: Message) -> None:
        action_id = m.get("ActionID")
        if not action_id.startswith(f"orig-{PREFIX}"):
            return
        ref = action_id.removeprefix("orig-")
        try:
            reason = int(m.get("Reason") or 0)
        except ValueError:
            reason = 0
        if reason == outcomes.ANSWERED_REASON:
            self._queue(lambda: self.contacts.answered(ref))
            return
        if ref in self._shut:
            return  # not a failure of the line: its Hangup reports it lost
        outcome, cause = outcomes.originate_failure(reason)

        def record() -> None:
            self.contacts.not_reached(ref, outcome, cause)

        if reason == 0:  # ambiguous: the Hangup's Cause, if one comes, says why
            asyncio.get_running_loop().call_later(REASON_ZERO_WAIT, self._queue, record)
        else:
            self._queue(record)

    def _on_user_event(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if m.get("UserEvent") != "ResponderAck" or not our_leg(uniqueid):
            return
        report = outcomes.prompt_report(m.get("Digit"), m.get("ReadStatus"))
        if report.kind == "acknowledged":
            self._queue(
                lambda: self.contacts.acknowledged(uniqueid, AckMethod.KEYPRESS, report.cause)
            )
        elif report.kind == "declined":
            self._queue(lambda: self.contacts.declined(uniqueid, report.cause))
        elif report.kind == "no_choice" and uniqueid not in self._shut:
            # (a prompt cut by Asterisk's shutdown is no answer: its Hangup reports it)
            self._queue(lambda: self.contacts.no_choice(uniqueid, report.cause))

    def _on_soft_hangup(self, m: Message) -> None:
        if m.get("Cause") != SHUTDOWN_CAUSE:
            return
        self._went_away()
        uniqueid = m.get("Uniqueid")
        if self._ours(uniqueid):
            self._shut.add(uniqueid)

    def _on_hangup(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if not self._ours(uniqueid):
            return
        self._citizens.discard(uniqueid)
        if self._heard is not None:
            self._heard.add(uniqueid)
        if uniqueid in self._shut:
            self._shut.discard(uniqueid)
            self._queue(lambda: self._report_lost([uniqueid], CUT_BY_RESTART, RESTARTED))
            return
        # _hanging keeps its entry: until this event is recorded the contact still looks
        # live to a sweep, which must not send its Hangup again (entries expire)
        try:
            code: int | None = int(m.get("Cause"))
        except ValueError:
            code = None
        cause = outcomes.spoken_cause(code, m.get("Cause-txt"))
        outcome = outcomes.hangup_outcome(code)
        self._queue(lambda: self.contacts.ended(uniqueid, cause, outcome))

    def _on_join(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if not uniqueid.startswith(PREFIX) and ROOM.match(m.get("Conference")):
            # a channel voicebridge did not originate in an incident's room: a citizen
            # the IVR put there (the ledger knows; another channel is no contact)
            self._citizens.add(uniqueid)
        if self._ours(uniqueid):
            self._queue(lambda: self.contacts.joined(uniqueid))

    def _on_leave(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        if self._ours(uniqueid):
            self._queue(lambda: self.contacts.left(uniqueid))

    def _on_shutdown(self, m: Message) -> None:
        log.warning("bridge: Asterisk is shutting down (restart: %s)", m.get("Restart"))
        self._went_away()

    def _went_away(self) -> None:
        self._going = asyncio.get_running_loop().time()
        self._restarted = True

    def _report_lost(self, refs: list[str], cause: str, why: str) -> list[str]:
        """Legs Asterisk lost: ended, and their lines called back into their rooms."""
        recalled = self.contacts.dropped(refs, cause, why)
        if recalled:
            log.warning(
                "bridge: %s lost with Asterisk (%s); called back: %s",
                ", ".join(refs),
                LOST_HOW.get(why, "lost"),
                ", ".join(recalled),
            )
        return recalled

    # ------------------------------------------------------------- reconciliation

    async def _after_login(self) -> None:
        """Asterisk is back (or this replica just started): what it lost while the link
        was down is reported lost by this reconciliation (or, if it fails, the next)."""
        self._going = None
        self._shut.clear()  # those whose Hangup did not come are found gone
        self._lost = RESTARTED if self._restarted else LOST
        self._restarted = False
        self._heard = set()
        try:
            await self.reconcile()
        finally:
            self._heard = None

    async def reconcile(self) -> None:
        """After a login and every :data:`RECONCILE_SECONDS`: what happened to our
        contacts while we were not listening (or to those of a replica that died)."""
        await self.idle()
        taken_at = self.clock.now()
        followed = set(self._citizens)
        channels = await self.session.list("CoreShowChannels")
        rooms: dict[str, set[str]] = {}
        for room in await self.session.list("ConfBridgeListRooms"):
            name = room.get("Conference")
            if ROOM.match(name):
                members = await self.session.list("ConfBridgeList", [("Conference", name)])
                rooms[name] = {m.get("Uniqueid") for m in members}
        snapshot = Snapshot(
            live=frozenset(c.get("Uniqueid") for c in channels),
            up=frozenset(c.get("Uniqueid") for c in channels if c.get("ChannelState") == UP),
            rooms=rooms,
            taken_at=taken_at,
        )
        lost, heard = self._lost, frozenset(self._heard or ())
        changed, citizens = await self.blocking(self._reconcile, snapshot, lost, heard)
        # the citizens' channels followed: those the ledger has live, those still up,
        # those followed since the snapshot was taken
        self._citizens = {
            u for u in self._citizens if u in snapshot.live or u not in followed
        } | citizens
        if changed:
            log.warning("bridge: reconciled with Asterisk: %s", "; ".join(changed))
        if self._lost == lost:
            self._lost = None
        self.reconciled += 1
        self.wakeup.local()

    def _reconcile(
        self, snapshot: Snapshot, lost: str | None, heard: frozenset[str]
    ) -> tuple[list[str], set[str]]:
        """Apply the changes; after a login (``lost``: what happened) the legs gone
        unheard are reported lost together, so each incident's callbacks are decided
        at once. With the citizens' channels still live in the ledger."""
        changed, gone = [], []
        live = self.contacts.live(MEDIA, snapshot.taken_at)
        citizens = {c.ref for c in live if c.role is ContactRole.CITIZEN and c.ref in snapshot.live}
        for change in reconcile(live, snapshot):
            if lost is not None and change.gone and change.ref not in heard:
                gone.append(change.ref)
            else:
                change.apply(self.contacts)
            changed.append(change.words)
        if gone:
            self._report_lost(gone, GONE, lost or LOST)
        return changed, citizens
