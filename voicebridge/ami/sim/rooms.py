"""ConfBridge rooms in the fake Asterisk: who joins (and when: the "only person"
prompt), who leaves, mute, the room's end, and the user profiles of confbridge.conf
(traces 02a, 04, the lab's ``vb-room``)."""

import asyncio
import uuid
from typing import TYPE_CHECKING

from voicebridge.ami.sim.model import Conference, SimChannel
from voicebridge.ami.sim.wire import Field

if TYPE_CHECKING:
    from voicebridge.ami.sim.pbx import Pbx

YES = frozenset({"yes", "true", "y", "t", "1", "on"})
ONLY_PERSON_SECONDS = 3.1
"""The default user profile plays "you are the only person" before entering an empty
room: 02a's operator joined 3.1 s after answer (README)."""


class Rooms:
    """The ConfBridge rooms (``pbx.confs``) and their events."""

    def __init__(self, pbx: "Pbx") -> None:
        self.pbx = pbx

    def _conf_event(self, event: str, conf: Conference, n: int | None, *extra: Field) -> None:
        self.pbx.emit(
            [
                ("Event", event),
                ("Privilege", "call,all"),
                ("Conference", conf.name),
                *conf.snapshot(n),
                *extra,
            ]
        )

    def _user_event(
        self, event: str, conf: Conference, ch: SimChannel, n: int | None, *extra: Field
    ) -> None:
        self._conf_event(event, conf, n, *ch.snapshot(), *extra)

    async def join(self, ch: SimChannel, room: str, *, announce: bool) -> None:
        """ConfBridge(room): the first user creates the room (BridgeCreate with 0
        channels, ConfbridgeStart with 1, the hidden announcer); a user of an announcing
        profile alone in the room hears the "only person" prompt first (02a); then
        BridgeEnter, BRIDGEPEER VarSets, ConfbridgeJoin (Admin, Muted)."""
        conf = self.pbx.confs.get(room)
        if conf is None:
            seq = self.pbx.next_seq()
            self.pbx.uid()
            self.pbx.uid()  # the announcer's two halves
            conf = Conference(room, str(uuid.uuid4()), f"CBAnn/{room}-{seq:08x};2")
            self.pbx.confs[room] = conf
            self.pbx.emit([("Event", "BridgeCreate"), ("Privilege", "call,all"), *conf.snapshot(0)])
            self._conf_event("ConfbridgeStart", conf, 1)
        alone = not conf.members and not conf.pending
        conf.pending.append(ch)
        if ch.app != "ConfBridge":
            ch.app, ch.appdata = "ConfBridge", room
        try:
            if announce and alone:
                await self.pbx.sleep(ONLY_PERSON_SECONDS)
        except asyncio.CancelledError:
            if ch in conf.pending:
                conf.pending.remove(ch)
                self._maybe_end(conf)
            raise
        if not ch.alive() or ch not in conf.pending:
            return
        conf.pending.remove(ch)
        if not conf.members:
            self.pbx.device(f"confbridge:{room}", "INUSE")
        conf.members.append(ch)
        ch.room = room
        self.pbx.emit(
            [("Event", "BridgeEnter"), ("Privilege", "call,all"), *conf.snapshot(), *ch.snapshot()]
        )
        for other in conf.members[:-1]:
            self.pbx.varset(other, "BRIDGEPEER", conf.peers_of(other))
        self.pbx.varset(ch, "BRIDGEPEER", conf.peers_of(ch))
        self._user_event("ConfbridgeJoin", conf, ch, None, ("Admin", "No"), ("Muted", "No"))

    def leave(self, ch: SimChannel, result: str | None, *, kicked: bool = False) -> None:
        """ConfbridgeLeave (the count before), BRIDGEPEER emptied, BridgeLeave (after),
        the others' BRIDGEPEER, CONFBRIDGE_RESULT; the last one out ends the room:
        ConfbridgeEnd (1, the announcer) and BridgeDestroy (0) (02a, 04)."""
        if ch.room is None:
            for conf in list(self.pbx.confs.values()):
                if ch in conf.pending:
                    conf.pending.remove(ch)
                    self._maybe_end(conf)
            return
        conf = self.pbx.confs[ch.room]
        if kicked:
            self.pbx.varset(ch, "CONFBRIDGE_RESULT", "KICKED")
        self._user_event("ConfbridgeLeave", conf, ch, None, ("Admin", "No"))
        self.pbx.varset(ch, "BRIDGEPEER", "")
        conf.members.remove(ch)
        ch.room, ch.muted = None, False
        self.pbx.emit(
            [("Event", "BridgeLeave"), ("Privilege", "call,all"), *conf.snapshot(), *ch.snapshot()]
        )
        for other in conf.members:
            self.pbx.varset(other, "BRIDGEPEER", conf.peers_of(other))
        if result is not None and not kicked:
            self.pbx.varset(ch, "CONFBRIDGE_RESULT", result)
        if ch.left is not None and not ch.left.done():
            ch.left.set_result("KICKED" if kicked else result or "")
        self._maybe_end(conf)

    def _maybe_end(self, conf: Conference) -> None:
        """The last one out: ConfbridgeEnd (1: the announcer) and BridgeDestroy (0);
        with ``device_states``, the room's device NOT_INUSE before, the announcer's
        INUSE and UNKNOWN around BridgeDestroy (lab)."""
        if conf.members or conf.pending or self.pbx.confs.get(conf.name) is not conf:
            return
        self.pbx.device(f"confbridge:{conf.name}", "NOT_INUSE")
        self._conf_event("ConfbridgeEnd", conf, 1)
        self.pbx.device(f"CBAnn/{conf.name}", "INUSE")
        self.pbx.emit([("Event", "BridgeDestroy"), ("Privilege", "call,all"), *conf.snapshot(0)])
        self.pbx.device(f"CBAnn/{conf.name}", "UNKNOWN")
        del self.pbx.confs[conf.name]

    def mute(self, conf: Conference, ch: SimChannel, muted: bool) -> None:
        """ConfbridgeMute / ConfbridgeUnmute: room and channel snapshots, ``Admin`` (04)."""
        ch.muted = muted
        event = "ConfbridgeMute" if muted else "ConfbridgeUnmute"
        self._user_event(event, conf, ch, None, ("Admin", "No"))

    def talking(self, ch: SimChannel, on: bool) -> bool:
        """ConfbridgeTalking (``TalkingStatus: on|off``) for a member of a room whose
        user profile has ``talk_detection_events`` (Asterisk says nothing otherwise);
        whether it was said."""
        conf = self.pbx.confs.get(ch.room or "")
        if conf is None or ch not in conf.members:
            return False
        values = self._profile_values(ch, "")
        if values.get("talk_detection_events", "no") not in YES:
            return False
        status = "on" if on else "off"
        self._user_event("ConfbridgeTalking", conf, ch, None, ("TalkingStatus", status),
                         ("Admin", "No"))  # fmt: skip
        return True

    def _profile_values(self, ch: SimChannel, profile: str) -> dict[str, str]:
        conf = self.pbx.config.files.get("confbridge.conf")
        cat = conf.find(profile or "default_user") if conf is not None else None
        values = {v.name.strip().lower(): v.value.strip().lower() for v in cat.vars} if cat else {}
        values.update(ch.conf_user)
        return values

    def user_profile(self, ch: SimChannel, profile: str) -> tuple[bool, bool]:
        """(quiet, announce_only_user) of a user of this confbridge.conf profile
        (``default_user`` if none) under the channel's CONFBRIDGE(user,...)."""
        conf = self.pbx.config.files.get("confbridge.conf")
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
