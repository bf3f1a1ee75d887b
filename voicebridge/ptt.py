"""Push-to-talk of the talkgroups patched into incident rooms.

A talkgroup joins an incident's conference through the radio gateway's dial string (a
contact of the ledger, placed by the voice adapter): what the room says reaches the
talkgroup only while a radio transmits on it. Who keys it is the routing file's
``centre.tetra.ptt``:

- ``talk``: voicebridge follows who speaks in the room (Asterisk's ``ConfbridgeTalking``
  events: the rooms' users have ``talk_detection_events``). When a leg other than the
  talkgroup's own starts talking, the centre's radio sets up a group call on the
  talkgroup (``AT+CTSDC``, ``ATD<gssi>``) if it has none, and asks to transmit
  (``AT+CTXD=<cci>,1``); when nobody in the room talks any more it stops (``AT+CUTXC``);
- ``dtmf``: the gateway keys on a DTMF: ``*`` to the talkgroup's leg when talking starts,
  ``#`` when it stops (AMI ``PlayDTMF``);
- ``vox``: the gateway keys itself on the voice it hears: nothing to do;
- ``none``: the talkgroup listens only.

The radio side: a radio user who talks on a talkgroup of a room (``+CTXG`` with the
talking party, then ``+CDTXC``) is logged on the incident (``radio_talker``), and the
incident's page shows who talks on each talkgroup leg.
"""

import asyncio
import logging
from collections.abc import Callable

from routing.config import RoutingConfig, tetra_parts
from routing.models import ContactState, Medium, TargetKind
from tetra.client import CallEvent, PeiClient, PeiTimeout, PeiUnavailable
from tetra.identity import IdentityError, Network, Tsi, from_pei
from tetra.pei import PeiError
from voicebridge.ami.codec import Message
from voicebridge.ami.session import AmiError, AmiSession
from voicebridge.blocking import Blocking
from voicebridge.runtime import Runtime

log = logging.getLogger(__name__)

GROUP_CALL = "AT+CTSDC=0,0,0,1,1,0,1,1,0,0"  # a group call of speech, simplex (SvxLink's)
CONNECT_SECONDS = 2.0  # a group call's +CTCC after ATD
DTMF_KEY, DTMF_RELEASE = "*", "#"


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


class TalkgroupKeyer:
    def __init__(
        self,
        rt: Runtime,
        session: AmiSession,
        blocking: Blocking,
        radio: Callable[[], PeiClient | None],
    ) -> None:
        """``radio``: the centre's radio when this replica drives it (else None)."""
        self.rt = rt
        self.session = session
        self.blocking = blocking
        self.radio = radio
        self.talkers: dict[str, set[str]] = {}  # room -> its Uniqueids talking (not radios)
        self.keyed: set[str] = set()  # the rooms whose talkgroups are keyed
        self.calls: dict[int, int] = {}  # GSSI -> the radio's group call (cci)
        self.talker: dict[int, str] = {}  # cci -> the radio-side talker (a TSI)
        self._connected: asyncio.Queue[int] = asyncio.Queue()  # +CTCC's cci
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one room's keying at a time, in order
        self.log: list[str] = []  # what was keyed and released (for tests)
        session.on("ConfbridgeTalking", self._on_talking)

    # ------------------------------------------------------------- the room

    def _on_talking(self, m: Message) -> None:
        room, uniqueid = m.get("Conference"), m.get("Uniqueid")
        on = m.get("TalkingStatus").lower() == "on"
        task = asyncio.get_running_loop().create_task(self._talking(room, uniqueid, on))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _talking(self, room: str, uniqueid: str, on: bool) -> None:
        async with self._lock:
            config, _ = await self.blocking(self.rt.rules.current)
            policy = config.centre.tetra.ptt
            if policy in ("vox", "none"):
                return
            legs = await self.blocking(self._talkgroups, room, config)
            if not legs or uniqueid in legs:
                return  # no talkgroup in the room, or the talkgroup's own voice
            talkers = self.talkers.setdefault(room, set())
            (talkers.add if on else talkers.discard)(uniqueid)
            try:
                if talkers and room not in self.keyed:
                    if await self._key(policy, legs, True):
                        self.keyed.add(room)
                elif not talkers and room in self.keyed:
                    self.keyed.discard(room)
                    await self._key(policy, legs, False)
            except (PeiError, PeiTimeout, PeiUnavailable, AmiError, ConnectionError) as exc:
                log.warning("ptt: %s could not be keyed: %s", room, exc)
            if not talkers:
                self.talkers.pop(room, None)

    def _talkgroups(self, room: str, config: RoutingConfig) -> dict[str, int]:
        """The talkgroup legs in the room: their Uniqueid (the contact's ref) -> GSSI."""
        gssi_of = talkgroup_of(config)
        return {
            leg.ref: gssi_of[leg.address]
            for leg in self.rt.calls.legs(room)
            if leg.medium is Medium.TALKGROUP
            and leg.state is ContactState.IN_ROOM
            and leg.address in gssi_of
        }

    async def _key(self, policy: str, legs: dict[str, int], on: bool) -> bool:
        if policy == "dtmf":
            digit = DTMF_KEY if on else DTMF_RELEASE
            for ref in legs:
                await self.session.send("PlayDTMF", [("Channel", ref), ("Digit", digit)])
            self.log.append(f"dtmf {digit}")
            return on
        client = self.radio()
        if client is None or not client.ready.is_set():
            log.info("ptt: no radio to key the talkgroup with (another replica drives it)")
            return False
        for gssi in sorted(set(legs.values())):
            cci = self.calls.get(gssi)
            if on:
                if cci is None:
                    cci = await self._group_call(client, gssi)
                await client.command(f"AT+CTXD={cci},1")
                self.log.append(f"key {gssi}")
            elif cci is not None:
                await client.command(f"AT+CUTXC={cci}")
                self.log.append(f"release {gssi}")
        return on

    async def _group_call(self, client: PeiClient, gssi: int) -> int:
        while not self._connected.empty():
            self._connected.get_nowait()
        await client.command(GROUP_CALL)
        done = await client.command(f"ATD{gssi}")
        if not done.final.ok:
            raise PeiError(f"ATD{gssi}: {done.final}")
        async with asyncio.timeout(CONNECT_SECONDS):
            cci = await self._connected.get()
        self.calls[gssi] = cci
        return cci

    # ------------------------------------------------------------- the radio side

    def call_event(self, event: CallEvent) -> None:
        """The radio's call control indications (the driver passes them on)."""
        p = event.params
        if not p or not p[0].isdigit():
            return
        cci = int(p[0])
        if event.name == "+CTCC":
            self._connected.put_nowait(cci)
        elif event.name == "+CTICN" and len(p) >= 12 and p[11].isdigit():
            self.calls[int(p[11]) % 100_000_000] = cci  # a group call someone else set up
        elif event.name == "+CTXG" and len(p) >= 6:
            self._talks(cci, p[5])
        elif event.name == "+CDTXC":
            self._talks(cci, None)
        elif event.name == "+CTCR":
            self._talks(cci, None)
            self.calls = {g: c for g, c in self.calls.items() if c != cci}

    def _talks(self, cci: int, party: str | None) -> None:
        gssi = next((g for g, c in self.calls.items() if c == cci), None)
        if gssi is None:
            return
        talker: Tsi | None = None
        if party:
            config, _ = self.rt.rules.current()
            net = config.centre.tetra
            try:
                talker = from_pei(party, "", Network(net.mcc, net.mnc))
            except IdentityError:
                return
            radio = self.radio()
            if radio is not None and radio.identity == talker:
                return  # the centre's own transmission
        before = self.talker.pop(cci, None)
        if talker is not None:
            self.talker[cci] = str(talker)
        if (str(talker) if talker else None) == before:
            return
        task = asyncio.get_running_loop().create_task(
            self.blocking(self._log_talker, gssi, talker.ssi if talker else None, before)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _log_talker(self, gssi: int, talker: int | None, before: str | None) -> None:
        """In every room the talkgroup is in: who talks on it now (None: nobody)."""
        config, _ = self.rt.rules.current()
        dials = {d for d, g in talkgroup_of(config).items() if g == gssi}
        self.rt.calls.contacts.talkgroup_talker(dials, gssi, talker)
