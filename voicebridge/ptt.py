"""Push-to-talk of the talkgroups patched into incident rooms.

A talkgroup joins an incident's conference through the radio gateway's dial string (a
contact of the ledger, placed by the voice adapter): what the room says reaches the
talkgroup only while a radio transmits on it (the gateway's audio is the centre's radio's
audio port). Who keys it is the routing file's ``centre.tetra.ptt``:

- ``talk``: voicebridge follows who speaks in the room (Asterisk's ``ConfbridgeTalking``
  events: the rooms' users have ``talk_detection_events``). A talkgroup is keyed while
  any room it is patched into has someone other than a talkgroup talking: the centre's
  radio sets up a group call on it (``AT+CTSDC``, ``ATD<gssi>``, its ``+CTCC``) if it
  has none and asks to transmit (``AT+CTXD=<cci>,1``); it stops (``AT+CUTXC``) when
  nobody there talks any more, or the talker left the room, or the room ended, or the
  talkgroup left it, or after :data:`MAX_TRANSMIT` seconds at most. One radio keys one
  talkgroup at a time; while a radio user holds the floor (``+CTXG`` granted to another)
  the room is not keyed over them;
- ``dtmf``: ``*`` to the talkgroup's leg when talking starts, ``#`` when it stops (AMI
  ``PlayDTMF``), sent by the replica that placed the leg;
- ``vox``: the gateway keys itself on the voice it hears; ``none``: it listens only.

What is keyed is worked out again from what is wanted after every change (a talker, a
leg, a room, the radio set up again, the lease taken), so a lost event cannot leave the
radio transmitting: what nothing wants any more is released.

The radio side: a radio user who talks on a talkgroup of a room (``+CTXG`` with the
talking party, then ``+CDTXC``) is logged on the incident (``radio_talker``), in order,
and the incident's page shows who talks on each talkgroup leg.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from routing.config import RoutingConfig, tetra_parts
from routing.models import ContactState, Medium, TargetKind
from tetra.client import CallEvent, PeiClient
from tetra.identity import IdentityError, from_pei
from tetra.pei import Done
from voicebridge.ami.codec import Message
from voicebridge.ami.session import AmiSession
from voicebridge.blocking import Blocking
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

GROUP_CALL = "AT+CTSDC=0,0,0,1,1,0,1,1,0,0"  # speech, simplex, a group call ([PEI] 6.15)
CONNECT_SECONDS = 2.0  # a group call's +CTCC after ATD
MAX_TRANSMIT = 120.0  # seconds a talkgroup stays keyed at most without a new "on"
TICK_SECONDS = 5.0  # what is keyed is checked against what is wanted this often
LEGS_SECONDS = 5.0  # a room's talkgroup legs are read again after this long
DTMF_KEY, DTMF_RELEASE = "*", "#"
GRANTED_TO_ANOTHER = "3"  # +CTXG's TxGrant: 0 granted (to us), 3 granted to another user


def talkgroup_of(config: RoutingConfig) -> dict[str, int]:
    """Each talkgroup's dial string (the address of its contacts) -> its GSSI."""
    net = config.centre.tetra
    found: dict[str, int] = {}
    for agency in config.agencies.values():
        for station in agency.stations:
            for target in station.targets:
                if target.kind is TargetKind.TALKGROUP and target.dial:
                    found[target.dial] = tetra_parts(target.address, net)[2]
    return found


@dataclass(frozen=True)
class _Legs:
    legs: dict[str, int]  # the talkgroup legs in the room: Uniqueid -> GSSI
    mine: frozenset[str]  # those this replica placed (it sends their DTMF)
    policy: str
    read_at: float


class TalkgroupKeyer:
    def __init__(
        self,
        rt: Runtime,
        session: AmiSession,
        blocking: Blocking,
        radio: Callable[[], PeiClient | None],
        *,
        owner: str,
    ) -> None:
        """``radio``: the centre's radio while this replica drives it (else None);
        ``owner``: this replica's name on the contacts it placed."""
        self.rt = rt
        self.session = session
        self.blocking = blocking
        self.radio = radio
        self.owner = owner
        self.talkers: dict[str, set[str]] = {}  # room -> Uniqueids talking (not talkgroups)
        self.rooms: dict[str, _Legs] = {}  # room -> its talkgroup legs, as last read
        self.keyed: dict[int, tuple[int, float]] = {}  # GSSI -> (cci, keyed at) on our radio
        self.dtmf_keyed: set[str] = set()  # talkgroup legs sent "*"
        self.calls: dict[int, int] = {}  # GSSI -> the radio's group call (cci)
        self.incoming: set[int] = set()  # ccis of calls the radio received
        self.floor: dict[int, str] = {}  # cci -> the radio user holding the floor (a TSI)
        self.log: list[str] = []  # what was keyed and released (for tests)
        self.departed: set[str] = set()  # talkgroup legs that left their room
        self._resets = -1  # the radio's initialisations seen (a new one: nothing is keyed)
        self._dialing: asyncio.Future[int] | None = None
        self._lock = asyncio.Lock()
        self._talker_log: asyncio.Queue[tuple[int, int | None]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: list[asyncio.Task[None]] = []
        session.on("ConfbridgeTalking", self._on_talking)
        session.on("ConfbridgeLeave", self._on_gone)
        session.on("Hangup", self._on_gone)
        session.on("ConfbridgeEnd", self._on_end)
        session.on_connected(self._after_login)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._running = [
            loop.create_task(self._tick(), name="ptt-tick"),
            loop.create_task(self._record_talkers(), name="ptt-talkers"),
        ]

    async def stop(self) -> None:
        """Release what is keyed, then stop."""
        self.talkers.clear()
        await self._spawned(self._apply())
        await self.idle()
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _spawned(self, coro: Coroutine[Any, Any, None]) -> None:
        self._spawn(coro)
        await self.idle()

    # ------------------------------------------------------------- the rooms

    def _on_talking(self, m: Message) -> None:
        room, uniqueid = m.get("Conference"), m.get("Uniqueid")
        talking = self.talkers.setdefault(room, set())
        if m.get("TalkingStatus").lower() == "on":
            talking.add(uniqueid)
        else:
            talking.discard(uniqueid)
        self._spawn(self._changed(room))

    def _on_gone(self, m: Message) -> None:
        uniqueid = m.get("Uniqueid")
        for room, talking in self.talkers.items():
            if uniqueid in talking:
                talking.discard(uniqueid)
                self._spawn(self._changed(room))
        for room, legs in list(self.rooms.items()):
            if uniqueid in legs.legs:  # a talkgroup leg left (the ledger may not say so yet)
                self.departed.add(uniqueid)
                kept = {ref: g for ref, g in legs.legs.items() if ref != uniqueid}
                self.rooms[room] = _Legs(
                    legs=kept, mine=legs.mine, policy=legs.policy, read_at=legs.read_at
                )
                self._spawn(self._apply())

    def _on_end(self, m: Message) -> None:
        room = m.get("Conference")
        self.talkers.pop(room, None)
        self.rooms.pop(room, None)
        self._spawn(self._apply())

    async def _after_login(self) -> None:
        """The AMI link was down: who talks is not known any more (nobody, until told)."""
        self.talkers.clear()
        self.rooms.clear()
        self._spawn(self._apply())

    async def _changed(self, room: str) -> None:
        loop = asyncio.get_running_loop()
        known = self.rooms.get(room)
        if known is None or loop.time() - known.read_at > LEGS_SECONDS:
            self.rooms[room] = await self.blocking(self._read, room, loop.time())
        await self._apply()

    def _read(self, room: str, now: float) -> _Legs:
        """The room's talkgroup legs and the policy (in a thread)."""
        config, _ = self.rt.rules.current()
        gssi_of = talkgroup_of(config)
        legs = [
            leg
            for leg in self.rt.calls.legs(room)
            if leg.medium is Medium.TALKGROUP
            and leg.state is ContactState.IN_ROOM
            and leg.address in gssi_of
            and leg.ref not in self.departed
        ]
        mine = frozenset(self.rt.calls.contacts.owned(self.owner, [leg.ref for leg in legs]))
        return _Legs(
            legs={leg.ref: gssi_of[leg.address] for leg in legs},
            mine=mine,
            policy=config.centre.tetra.ptt,
            read_at=now,
        )

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._spawn(self._apply())

    # ------------------------------------------------------------- keying

    def _wanted(self) -> tuple[set[int], set[str]]:
        """(talkgroups to key on the radio, talkgroup legs to key by DTMF) now."""
        radio: set[int] = set()
        dtmf: set[str] = set()
        for room, talking in self.talkers.items():
            legs = self.rooms.get(room)
            if legs is None or not (talking - legs.legs.keys()):
                continue
            if legs.policy == "talk":
                radio |= set(legs.legs.values())
            elif legs.policy == "dtmf":
                dtmf |= set(legs.legs) & legs.mine
        return radio, dtmf

    async def _apply(self) -> None:
        """Key what is wanted and release what is not, one change at a time."""
        async with self._lock:
            client = self.radio()
            if client is None or client.resets != self._resets:
                # another replica drives it now, or it was set up again: a new radio has
                # nothing keyed and no call (a call it had ends with its network's timer)
                self.keyed.clear()
                self.calls.clear()
                self.floor.clear()
                self._resets = client.resets if client is not None else -1
            now = asyncio.get_running_loop().time()
            for gssi, (_, since) in list(self.keyed.items()):
                if now - since > MAX_TRANSMIT:  # an "off" lost: nobody is taken to talk
                    log.warning("ptt: group %d keyed %.0f s: released", gssi, now - since)
                    for room, legs in self.rooms.items():
                        if gssi in legs.legs.values():
                            self.talkers.pop(room, None)
            radio_wanted, dtmf_wanted = self._wanted()
            for gssi, (cci, _) in list(self.keyed.items()):
                if gssi not in radio_wanted:
                    await self._release(client, gssi, cci)
            if client is not None and client.ready.is_set() and not self.keyed:
                for gssi in sorted(radio_wanted)[:1]:  # one talkgroup at a time
                    await self._key(client, gssi)
            for leg in sorted(dtmf_wanted - self.dtmf_keyed):
                await self._dtmf(leg, DTMF_KEY)
            for leg in sorted(self.dtmf_keyed - dtmf_wanted):
                await self._dtmf(leg, DTMF_RELEASE)

    async def _key(self, client: PeiClient, gssi: int) -> None:
        cci = self.calls.get(gssi)
        if cci is not None and cci in self.floor:
            return  # a radio user holds the floor: not over them
        try:
            for _ in range(2):  # a call the radio forgot (CME 34) is set up once more
                if cci is None:
                    cci = await self._group_call(client, gssi)
                done = await client.command(f"AT+CTXD={cci},1")
                if done.final.ok:
                    self.keyed[gssi] = (cci, asyncio.get_running_loop().time())
                    self.log.append(f"key {gssi}")
                    return
                log.warning("ptt: AT+CTXD on group %d: %s", gssi, done.final)
                self.calls.pop(gssi, None)
                cci = None
        except Exception as exc:  # a radio gone, a timeout: the next change tries again
            log.warning("ptt: group %d could not be keyed: %s", gssi, exc)

    async def _release(self, client: PeiClient | None, gssi: int, cci: int) -> None:
        self.keyed.pop(gssi, None)
        self.log.append(f"release {gssi}")
        if client is None:
            return
        try:
            done = await client.command(f"AT+CUTXC={cci}")
            if not done.final.ok:
                log.warning("ptt: AT+CUTXC on group %d: %s", gssi, done.final)
        except Exception as exc:
            log.warning("ptt: group %d could not be released: %s", gssi, exc)

    async def _group_call(self, client: PeiClient, gssi: int) -> int:
        _ok(await client.command(GROUP_CALL))
        self._dialing = asyncio.get_running_loop().create_future()
        try:
            _ok(await client.command(f"ATD{gssi}"))
            async with asyncio.timeout(CONNECT_SECONDS):
                cci = await self._dialing
        finally:
            self._dialing = None
        self.calls[gssi] = cci
        return cci

    async def _dtmf(self, leg: str, digit: str) -> None:
        (self.dtmf_keyed.add if digit == DTMF_KEY else self.dtmf_keyed.discard)(leg)
        self.log.append(f"dtmf {digit}")
        try:
            await self.session.send("PlayDTMF", [("Channel", leg), ("Digit", digit)])
        except Exception as exc:
            log.warning("ptt: the DTMF %s to %s: %s", digit, leg, exc)

    # ------------------------------------------------------------- the radio side

    def call_event(self, event: CallEvent) -> None:
        """The radio's call control indications (the driver passes them on)."""
        p = event.params
        if not p or not p[0].isdigit():
            return
        cci = int(p[0])
        if event.name == "+CTICN":
            self.incoming.add(cci)
            if len(p) >= 12 and p[11].isdigit():
                self.calls.setdefault(int(p[11]) % 100_000_000, cci)
        elif event.name == "+CTCC":
            if self._dialing is not None and not self._dialing.done() and cci not in self.incoming:
                self._dialing.set_result(cci)
        elif event.name == "+CTXG" and len(p) >= 6:
            self._floor(cci, p[5] if p[1] == GRANTED_TO_ANOTHER else None)
        elif event.name == "+CDTXC":
            self._floor(cci, None)
        elif event.name == "+CTCR":
            self._floor(cci, None)
            self.incoming.discard(cci)
            self.calls = {g: c for g, c in self.calls.items() if c != cci}
            self.keyed = {g: k for g, k in self.keyed.items() if k[0] != cci}

    def _floor(self, cci: int, party: str | None) -> None:
        """Who holds the floor of the call ``cci`` from the radio side now."""
        gssi = next((g for g, c in self.calls.items() if c == cci), None)
        client = self.radio()
        talker: int | None = None
        if party and client is not None:
            try:
                found = from_pei(party, "", client.home)
            except IdentityError:
                return
            if found != client.identity:
                talker = found.ssi
        before = self.floor.pop(cci, None)
        if talker is not None:
            self.floor[cci] = str(talker)
        if gssi is not None and (str(talker) if talker is not None else None) != before:
            self._talker_log.put_nowait((gssi, talker))
        if talker is None:
            self._spawn(self._apply())  # the floor is free: the room may key now

    async def _record_talkers(self) -> None:
        """The radio-side talkers, logged on the incidents in the order they came."""
        while True:
            gssi, talker = await self._talker_log.get()
            try:
                await self.blocking(self._log_talker, gssi, talker)
            except Exception:
                log.exception("ptt: the talker of group %d was not logged", gssi)

    def _log_talker(self, gssi: int, talker: int | None) -> None:
        config, _ = self.rt.rules.current()
        dials = {d for d, g in talkgroup_of(config).items() if g == gssi}
        self.rt.calls.contacts.talkgroup_talker(dials, gssi, talker)


def _ok(done: Done) -> Done:
    if not done.final.ok:
        raise RuntimeError(f"{done.command}: {done.final}")
    return done
