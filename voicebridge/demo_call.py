"""``voicebridge demo call``: a citizen's phone call played through the fake Asterisk of a
running ``make run``: the caller dials a central's number and presses keys in the IVR
(``vb-citizen``); the command prints the report the IVR sent and what voicebridge did
with the call (the incident, the number said, the conference with the operator), then
hangs the caller up.

It speaks AMI to the fake Asterisk ``make run`` started (``VOICEBRIDGE_AMI_URL`` in
``var/run.json``), as a second client beside voicebridge's own: an Originate of the
fake's played caller (:data:`voicebridge.ami.sim.far.CALLER_SIM`, its keys in
``VBSIM_KEYS``) into ``vb-citizen`` at the number dialled, then the events of that
call.
"""

import argparse
import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field

from voicebridge.ami.codec import Message
from voicebridge.ami.session import AmiError, AmiSession, AmiTarget
from voicebridge.errors import VoicebridgeError

CENTRAL = "018022000"  # the Miraflores central's number in the shipped routing file
CALLER = "987654321"
WAIT_SECONDS = 30.0
KEYS = re.compile(r"[0-9*#]{1,8}")


def add_parser(demo: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    call = demo.add_parser(
        "call",
        help="a citizen calls a central and presses keys in the IVR; prints what became "
        "of the call",
    )
    call.add_argument(
        "--to",
        default=CENTRAL,
        type=_digits,
        help=f"the number dialled (default: {CENTRAL}, the Miraflores central; "
        "018990000 serves every district and asks for its code)",
    )
    call.add_argument(
        "--from",
        dest="caller",
        default=CALLER,
        type=_digits,
        help=f"the caller's number (default: {CALLER})",
    )
    call.add_argument(
        "--hangup-after", type=float, help="the caller hangs up this many seconds after answer"
    )
    call.add_argument(
        "keys",
        nargs="*",
        metavar="KEYS",
        type=_keys,
        help="what the caller presses, one group every 2 s: 3 (a fire), or 1 22 1 on a "
        "number that asks for the district (22 Miraflores, 1 confirms); none: silent",
    )


def _digits(text: str) -> str:
    if not re.fullmatch(r"[0-9]{3,15}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (3 to 15 digits)")
    return text


def _keys(text: str) -> str:
    if not KEYS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: keys are 0-9, * and #, 8 at most")
    return text


def run(args: argparse.Namespace, url: str) -> int:
    """The call, on the fake Asterisk at ``url`` (:func:`voicebridge.demo.fake_asterisk`)."""
    logging.getLogger("voicebridge.ami").setLevel(logging.WARNING)  # its own lines only
    return asyncio.run(_call(url, args))


@dataclass
class _Follow:
    """The events of the demo's call, by its IVR channel's Uniqueid."""

    action_id: str
    uniqueid: str = ""
    lines: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def event(self, m: Message) -> None:
        if m.event == "OriginateResponse" and m.get("ActionID") == self.action_id:
            if m.get("Response") != "Success":
                self.lines.append(f"the call failed: {m.get('Reason')}")
                self.done.set()
            self.uniqueid = m.get("Uniqueid")
            return
        if not self.uniqueid or m.get("Uniqueid") != self.uniqueid:
            return
        if m.event == "UserEvent" and m.get("UserEvent") == "CitizenReport":
            status = m.get("Status")
            self.lines.append(
                f"IVR: report sent (choice {m.get('Choice') or 'none'}, district "
                f"{m.get('District') or 'not given'}, {status})"
            )
            if status == "HANGUP":
                self.lines.append(
                    "voicebridge: the caller hung up after choosing; the report is filed for "
                    "the operators to call back"
                )
                self.done.set()
        elif m.event == "VarSet" and m.get("Variable") in ("VB_DIGITS", "VB_BRIDGE", "VB_ROOM"):
            self.variables[m.get("Variable")] = m.get("Value")
        elif m.event == "ConfbridgeJoin":
            self.lines.append(
                f"voicebridge: incident {m.get('Conference')}; the caller heard "
                f"{self.said()} and is in its conference, where the district operator is "
                "called"
            )
            self.done.set()
        elif m.event == "Hangup" and not self.done.is_set():
            room = self.variables.get("VB_ROOM")
            if room and self.variables.get("VB_BRIDGE") != "1":
                self.lines.append(
                    f"voicebridge: incident {room}; the caller heard {self.said()} and a goodbye"
                )
            elif not room:
                self.lines.append("the caller hung up before voicebridge took the call on")
            self.done.set()

    def said(self) -> str:
        digits = self.variables.get("VB_DIGITS", "")
        return f"«{' '.join(digits)}»" if digits else "no number"


async def _call(url: str, args: argparse.Namespace) -> int:
    from voicebridge.ami.sim.far import citizen_call  # the fake's caller (a dev command)

    session = AmiSession(AmiTarget.parse(url))
    follow = _Follow(action_id=session.next_id("demo-call"))
    session.on_any(follow.event)
    session.start()
    try:
        try:
            await asyncio.wait_for(session.connected.wait(), 10)
        except TimeoutError:
            raise VoicebridgeError(
                f"the fake Asterisk at {session.target} does not answer: is make run running?"
            ) from None
        print(f"call {args.caller} -> {args.to}: keys {' '.join(args.keys) or 'none'}")
        headers = citizen_call(
            args.to, f'"Vecino" <{args.caller}>', keys=args.keys, hangup=args.hangup_after
        )
        try:
            await session.send("Originate", headers, action_id=follow.action_id)
        except AmiError as exc:
            raise VoicebridgeError(f"the fake Asterisk refused the call: {exc.message}") from None
        try:
            await asyncio.wait_for(follow.done.wait(), WAIT_SECONDS)
        except TimeoutError:
            follow.lines.append(f"nothing more within {WAIT_SECONDS:g} s; see make run's output")
        for line in follow.lines:
            print(line)
        if follow.uniqueid:
            with contextlib.suppress(AmiError):  # gone already
                await session.send("Hangup", [("Channel", follow.uniqueid), ("Cause", "16")])
        return 0
    finally:
        await session.stop()
