"""Harnesses for the adapter contract: one per adapter, each able to script how the
people it reaches respond, to take its peer down and up, and to say what it placed and
withdrew.

:class:`RecordingAdapter` is the reference adapter of a medium that has no real one yet
(SMS, Telegram, radio SDS, talkgroups through a radio): it claims the contacts of its
medium through the contact port and reports what its script says, as every adapter
does. :class:`AmiHarness` runs the real AMI adapter against the fake Asterisk. The
adapters the coming issues add get a harness here and join the parametrisation.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from routing.models import AckMethod, AttemptOutcome, Medium, TargetKind
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.rig import SPEED, Rig, bridged
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.runtime import Runtime, build_runtime


class Response(StrEnum):
    """What the person (or group) reached does."""

    RECEIVE = "receive"  # reached, makes no choice (a message read, a call heard out)
    NO_ANSWER = "no_answer"  # not reached
    DECLINE = "decline"
    ACKNOWLEDGE = "acknowledge"


ROUTING = """\
version: 1
centre:
  name: Centro de prueba
  dial: "Local/{{number}}@epr-sim"
  tetra_gateway: "Local/{{gssi}}@tetra-sim"
  supervisor:
    - {{phone: "014270000", label: Supervisión, rate_limit: none}}
  operator: {{phone: "014270001", label: Operador de turno del centro}}
rate_limits: {{phone: none, sms: none, talkgroup: none}}
policies:
  contract: {{ring_seconds: 20, attempts_per_target: 1, retry_after: [30]}}
agencies:
  - code: epr
    name: Entidad de prueba
    kind: police
    policy: contract
    stations:
      - code: epr-1
        name: Estación de prueba
        districts: all
        targets:
          - {{{kind}: "{first}", label: Primero}}
          - {{{kind}: "{second}", label: Segundo}}
rules:
  - name: todo
    categories: ["*"]
    respond: [{{agency: epr}}]
"""

ADDRESSES = {
    TargetKind.PHONE: ("014451111", "014452222"),
    TargetKind.TALKGROUP: ("11022", "11023"),
    TargetKind.SMS: ("+51987000111", "+51987000222"),
    TargetKind.TELEGRAM: ("123456789", "987654321"),
    TargetKind.RADIO: ("1001", "1002"),
}
ACK_METHOD = {
    Medium.VOICE: AckMethod.KEYPRESS,
    Medium.TALKGROUP: AckMethod.TETRA_STATUS,
    Medium.SMS: AckMethod.SMS,
    Medium.TELEGRAM: AckMethod.TELEGRAM,
    Medium.SDS: AckMethod.SDS,
}
KIND_OF = {kind.medium: kind for kind in TargetKind}


def routing_for(medium: Medium) -> str:
    kind = KIND_OF[medium]
    first, second = ADDRESSES[kind]
    return ROUTING.format(kind=kind.value, first=first, second=second)


class Harness(Protocol):
    @property
    def medium(self) -> Medium: ...
    @property
    def runtime(self) -> Runtime: ...

    def respond(self, target: int, response: Response) -> None:
        """How the people at the agency's target ``target`` (0, 1) will respond."""

    def placed(self, ref: str) -> int:
        """How many times the contact ``ref`` was placed."""

    def withdrawn(self, ref: str) -> bool:
        """Whether the adapter ended the contact ``ref`` because it was withdrawn."""

    async def down(self) -> None: ...
    async def up(self) -> None: ...
    async def settled(self) -> None: ...


@dataclass
class RecordingAdapter:
    """A reference adapter: claims the contacts of ``medium`` and reports its script."""

    runtime: Runtime
    medium: Medium
    script: dict[str, Response] = field(default_factory=dict)  # by address
    placements: list[str] = field(default_factory=list)
    withdrawals: list[str] = field(default_factory=list)
    running: bool = True

    def turn(self) -> None:
        """One pass: place what is pending, end what was withdrawn."""
        if not self.running:
            return
        port = self.runtime.calls.contacts
        for call in port.claim(self.medium, "recording"):
            ref = call.contact.ref
            self.placements.append(ref)
            # a talkgroup's address is the radio gateway's dial string with its GSSI
            response = next(
                (r for a, r in self.script.items() if a in call.contact.address),
                Response.RECEIVE,
            )
            if response is Response.NO_ANSWER:
                port.not_reached(ref, AttemptOutcome.NO_ANSWER, "sin respuesta")
                continue
            if self.medium is Medium.TALKGROUP:
                port.joined(ref)
            else:
                port.delivered(ref)
            if response is Response.DECLINE:
                port.declined(ref, "respondió 2")
            elif response is Response.ACKNOWLEDGE:
                port.acknowledged(ref, ACK_METHOD[self.medium], "respondió 1")
        for contact in port.to_withdraw(self.medium):
            self.withdrawals.append(contact.ref)
            port.ended(contact.ref, "retirado")


@dataclass
class RecordingHarness:
    runtime: Runtime
    adapter: RecordingAdapter

    @property
    def medium(self) -> Medium:
        return self.adapter.medium

    def respond(self, target: int, response: Response) -> None:
        self.adapter.script[ADDRESSES[KIND_OF[self.medium]][target]] = response

    def placed(self, ref: str) -> int:
        return self.adapter.placements.count(ref)

    def withdrawn(self, ref: str) -> bool:
        return ref in self.adapter.withdrawals

    async def down(self) -> None:
        self.adapter.running = False

    async def up(self) -> None:
        self.adapter.running = True

    async def settled(self) -> None:
        await asyncio.to_thread(self.adapter.turn)
        await asyncio.to_thread(self.adapter.turn)


@dataclass
class AmiHarness:
    runtime: Runtime
    rig: Rig
    medium: Medium = Medium.VOICE

    def respond(self, target: int, response: Response) -> None:
        dial = f"Local/{ADDRESSES[TargetKind.PHONE][target]}@epr-sim"
        behaviour = {
            Response.RECEIVE: Endpoint(behaviour=Behaviour.SILENT),
            Response.NO_ANSWER: Endpoint(behaviour=Behaviour.NO_ANSWER),
            Response.DECLINE: Endpoint(behaviour=Behaviour.PRESS, digit="2", after=1.0),
            Response.ACKNOWLEDGE: Endpoint(behaviour=Behaviour.PRESS, digit="1", after=1.0),
        }[response]
        self.rig.fake.script(dial, behaviour)

    def placed(self, ref: str) -> int:
        return len(self.rig.originated(ref))

    def withdrawn(self, ref: str) -> bool:
        return any(dict(h.headers).get("Channel") == ref for h in self.rig.fake.actions("Hangup"))

    async def down(self) -> None:
        await self.rig.fake.restart(down=0.5)

    async def up(self) -> None:
        await self.rig.until(lambda: self.rig.session.connected.is_set(), "Asterisk back")

    async def settled(self) -> None:
        await asyncio.sleep(0.3)
        await self.rig.settled()


@asynccontextmanager
async def harness(
    medium: Medium, sqlite_url: str, redis_url: str, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    path = tmp_path / "routing.yaml"
    path.write_text(routing_for(medium), encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    media = frozenset({medium})
    runtime = build_runtime(settings, clock=clock, media=media)
    runtime.rules.load_file(actor="test")
    try:
        if medium is Medium.VOICE:
            fake = FakeAsterisk(speed=SPEED, default=Endpoint(behaviour=Behaviour.ANSWER))
            await fake.start()
            try:
                async with bridged(runtime, clock, fake) as rig:
                    yield AmiHarness(runtime=runtime, rig=rig)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(fake.stop(), 5)
        else:
            adapter = RecordingAdapter(runtime=runtime, medium=medium)
            yield RecordingHarness(runtime=runtime, adapter=adapter)
    finally:
        runtime.close()
