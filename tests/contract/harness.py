"""Harnesses for the adapter contract: one per adapter, each able to script how the
people it reaches respond, to take its peer down and up, and to say what it placed and
withdrew.

:class:`AmiHarness` runs the real AMI adapter against the fake Asterisk;
:class:`TalkgroupHarness` the same adapter patching talkgroups through the radio
gateway's dial string, with a radio of the agency on the talkgroup answering by status
message through the centre's radio (the radio simulator, the real PEI client and radio
adapter): 32769 «recibido» takes the incident, 32772 «no disponible» declines it;
:class:`RadioHarness` the real radio adapter (SDS alerts through the PEI client) against
the radio simulator, whose radios answer a text ("1", "2") or are off the air;
:class:`ChannelHarness` the real SMS and Telegram adapter (alerts through the outbox,
sent by the send job, answered by replies through the app's webhooks) against the fake
Twilio and the fake Bot API. The adapters the coming issues add get a harness here and
join the parametrisation.
"""

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from channels.telegram.outbound import TelegramSender
from channels.telegram.sim import FakeTelegram
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from routing import schema as t
from routing.models import AckMethod, ContactState, Medium, TargetKind
from routing.outbox import OutMessage
from tests.conftest import FakeClock, make_settings
from tests.voicebridge.citizens.jobs import run_due_tasks
from tests.voicebridge.rig import SPEED, Rig, bridged
from tetra.client import PeiClient, PeiTarget, RadioEvent, Timing
from tetra.identity import Network, Tsi
from tetra.sim import RadioSim
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.app import make_app
from voicebridge.blocking import Blocking
from voicebridge.messaging import AlertAdapter
from voicebridge.radio import RadioAdapter
from voicebridge.runtime import Runtime, build_runtime
from voicebridge.settings import Settings

PUBLIC = "https://vb.example.pe"


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
  tetra: {{mcc: 716, mnc: 1}}
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
    text = ROUTING.format(kind=kind.value, first=first, second=second)
    if medium is Medium.TALKGROUP:  # its agency's radios answer by status, per its plan
        text = text.replace("agencies:\n", TALKGROUP_EXTRA + "agencies:\n")
        text = text.replace(
            "    policy: contract\n", "    policy: contract\n    status_plan: epr\n"
        )
        text = text.replace("rules:\n", TALKGROUP_STATION + "rules:\n")
    return text


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


PRESS = 4.0
"""Seconds after answering that a scripted responder presses their key."""


@dataclass
class AmiHarness:
    runtime: Runtime
    rig: Rig
    medium: Medium = Medium.VOICE

    def respond(self, target: int, response: Response) -> None:
        dial = f"Local/{ADDRESSES[TargetKind.PHONE][target]}@epr-sim"
        # the key 4 s into the prompt: clear of both the Read's start (the prompt's steps
        # after answering, a key before it is dropped) and its end 10.45 s in, by 40 and
        # 60 ms of real time (a key at 1 s had 11 ms before the Read, and once came first)
        behaviour = {
            Response.RECEIVE: Endpoint(behaviour=Behaviour.SILENT),
            Response.NO_ANSWER: Endpoint(behaviour=Behaviour.NO_ANSWER),
            Response.DECLINE: Endpoint(behaviour=Behaviour.PRESS, digit="2", after=PRESS),
            Response.ACKNOWLEDGE: Endpoint(behaviour=Behaviour.PRESS, digit="1", after=PRESS),
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


TALKGROUP_RADIO = 1001  # a radio of the agency, on its talkgroups
TALKGROUP_EXTRA = """\
status_plans:
  epr:
    32769: {means: received, label: recibido}
    32772: {means: unavailable, label: no disponible}
"""
TALKGROUP_STATION = f"""\
      - code: epr-radios
        name: Radios de la entidad
        districts: ["150101"]
        targets:
          - {{radio: "{TALKGROUP_RADIO}", label: Radio del jefe}}
"""
TALKGROUP_STATUS = {Response.ACKNOWLEDGE: 32769, Response.DECLINE: 32772}


@dataclass
class TalkgroupHarness:
    """The AMI adapter patching talkgroups; a radio of the agency answers by status once
    the talkgroup it is on is in the room (what :meth:`respond` scripted)."""

    runtime: Runtime
    rig: Rig
    sim: RadioSim
    adapter: RadioAdapter
    medium: Medium = Medium.TALKGROUP
    script: dict[str, Response] = field(default_factory=dict)  # by GSSI
    answered: set[str] = field(default_factory=set)

    def respond(self, target: int, response: Response) -> None:
        gssi = ADDRESSES[TargetKind.TALKGROUP][target]
        self.script[gssi] = response
        self.rig.fake.script(
            f"Local/{gssi}@tetra-sim",
            Endpoint(
                behaviour=Behaviour.NO_ANSWER
                if response is Response.NO_ANSWER
                else Behaviour.SILENT
            ),
        )

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
        for ref, address in await asyncio.to_thread(self._in_rooms):
            gssi = next((g for g in self.script if g in address), None)
            response = self.script.get(gssi or "", Response.RECEIVE)
            value = TALKGROUP_STATUS.get(response)
            if value is None or ref in self.answered:
                continue
            self.answered.add(ref)
            assert self.sim.status(TALKGROUP_RADIO, value), "the centre's radio took no status"
        await asyncio.sleep(0.1)
        await self.adapter.idle()

    def _in_rooms(self) -> list[tuple[str, str]]:
        """The talkgroups in a room: (ref, dial string)."""
        c = t.contacts.c
        with self.runtime.db.read() as conn:
            rows = conn.execute(
                select(c.ref, c.address).where(
                    c.medium == Medium.TALKGROUP.value, c.state == ContactState.IN_ROOM.value
                )
            ).all()
        return [(row.ref, row.address) for row in rows]


@dataclass
class RadioHarness:
    runtime: Runtime
    adapter: RadioAdapter
    client: PeiClient
    sim: RadioSim
    medium: Medium = Medium.SDS

    def respond(self, target: int, response: Response) -> None:
        ssi = int(ADDRESSES[TargetKind.RADIO][target])
        self.sim.radio(
            ssi,
            registered=response is not Response.NO_ANSWER,
            reply_text={Response.ACKNOWLEDGE: "1", Response.DECLINE: "2"}.get(response),
            reply_after=0.5,
        )

    def placed(self, ref: str) -> int:
        return self.adapter.placed.count(ref)

    def withdrawn(self, ref: str) -> bool:
        ledger = self.runtime.calls.contacts.ledger
        with ledger.db.read() as conn:
            row = ledger.contact_row(conn, ref)
        return row is not None and row.withdraw and "a pedido" in (row.cause or "")

    async def down(self) -> None:
        await self.sim.switch_off()

    async def up(self) -> None:
        await self.sim.switch_on()
        await asyncio.wait_for(self.client.ready.wait(), 5)

    async def settled(self) -> None:
        await asyncio.sleep(0.1)
        await self.adapter.idle()


@asynccontextmanager
async def radio_harness(runtime: Runtime) -> AsyncIterator[RadioHarness]:
    home = Network(716, 1)
    sim = RadioSim(own=Tsi(716, 1, 100), speed=0.05)
    await sim.start()
    blocking = Blocking(2)
    adapter: RadioAdapter | None = None

    def handle(event: RadioEvent) -> None:
        if adapter is not None:
            adapter.handle(event)

    timing = Timing(command=1.0, keepalive=0.3, reconnect=(0.05, 0.1))
    client = PeiClient(PeiTarget.parse(f"tcp://127.0.0.1:{sim.port}"), home, handle, timing=timing)
    adapter = RadioAdapter(runtime, client, blocking, owner="contract")
    client.start()
    adapter.start()
    try:
        await asyncio.wait_for(client.ready.wait(), 5)
        yield RadioHarness(runtime=runtime, adapter=adapter, client=client, sim=sim)
    finally:
        await adapter.stop()
        await client.stop()
        await sim.stop()
        blocking.shutdown()


TELEGRAM_TOKEN = "123456:" + "C" * 35
TELEGRAM_SECRET = "contrato"


@dataclass
class ChannelHarness:
    """The real adapter of SMS or Telegram: :class:`AlertAdapter` turns the ledger's
    contacts into alerts, the send job sends them to the fake, and the people scripted
    to answer reply through the fake into the app's webhook ("1", "2"; on Telegram the
    alert's buttons)."""

    runtime: Runtime
    medium: Medium
    adapter: AlertAdapter
    fake: FakeTwilio | FakeTelegram
    client: TestClient[web.Request, web.Application]
    clock: FakeClock
    script: dict[str, Response] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    running: bool = True

    def respond(self, target: int, response: Response) -> None:
        address = ADDRESSES[KIND_OF[self.medium]][target]
        self.script[address] = response
        if isinstance(self.fake, FakeTwilio):
            self.fake.script(address, landline=response is Response.NO_ANSWER)
        else:  # a chat that never wrote to the bot cannot be written to: 403
            self.fake.citizen(int(address), started=response is not Response.NO_ANSWER)

    def _alert(self, ref: str) -> OutMessage | None:
        return next(
            (m for m in self._alerts() if m.contact == ref),
            None,
        )

    def _alerts(self) -> list[OutMessage]:
        c = t.outbound_messages.c
        with self.runtime.db.read() as conn:
            ids = conn.execute(select(c.id).where(c.purpose == "alert").order_by(c.id)).scalars()
            found = [self.runtime.outbox.get(int(i)) for i in list(ids)]
        return [m for m in found if m is not None]

    def placed(self, ref: str) -> int:
        alert = self._alert(ref)
        return 0 if alert is None else alert.tries

    def withdrawn(self, ref: str) -> bool:
        contact = self.runtime.calls.contacts.ledger
        with contact.db.read() as conn:
            row = contact.contact_row(conn, ref)
        return row is not None and row.withdraw and "a pedido" in (row.cause or "")

    async def down(self) -> None:
        self.running = False

    async def up(self) -> None:
        self.running = True

    async def settled(self) -> None:
        if not self.running:
            return
        self.clock.advance(1.1)  # Telegram's flood limit: one message a second in a chat
        await asyncio.to_thread(self.adapter.turn)
        await asyncio.to_thread(run_due_tasks, self.runtime)
        await self.fake.settled()
        for alert in self._alerts():
            response = self.script.get(alert.chat, Response.RECEIVE)
            if alert.provider_id is None or alert.contact in self.answered:
                continue
            if response not in (Response.ACKNOWLEDGE, Response.DECLINE):
                continue
            assert alert.contact is not None
            self.answered.add(alert.contact)
            if isinstance(self.fake, FakeTwilio):
                reply = "SI" if response is Response.ACKNOWLEDGE else "NO"
                result = await self.fake.send_inbound(alert.chat, reply)
                assert result.ok, result.error
            else:
                label = "Confirmo (1)" if response is Response.ACKNOWLEDGE else "No puedo (2)"
                await self.fake.citizen(int(alert.chat)).presses(label)
                await self.fake.settled()
                await asyncio.to_thread(self.runtime.wakeup.local)
        await asyncio.sleep(0.05)  # the intake processes what the webhook stored


@asynccontextmanager
async def channel_harness(
    medium: Medium, settings_for: Callable[..., Settings], clock: FakeClock
) -> AsyncIterator[ChannelHarness]:
    fake: FakeTwilio | FakeTelegram
    if medium is Medium.SMS:
        fake = FakeTwilio(public_url=PUBLIC)
        await fake.start()
        settings = settings_for(
            public_url=PUBLIC,
            twilio_account_sid=DEMO_ACCOUNT_SID,
            twilio_auth_token=DEMO_AUTH_TOKEN,
            twilio_number=DEMO_NUMBER,
            twilio_api_url=fake.url,
        )
    else:
        fake = FakeTelegram(TELEGRAM_TOKEN, webhook_backoff=0)
        await fake.start()
        settings = settings_for(
            public_url=PUBLIC,
            telegram_token=TELEGRAM_TOKEN,
            telegram_secret=TELEGRAM_SECRET,
            telegram_api_url=fake.url,
        )
    runtime = build_runtime(settings, clock=clock, media=frozenset({medium}))
    runtime.rules.load_file(actor="test")
    # the app takes the replies; the harness's adapter places the alerts (so that it
    # can be taken down): the app's own alert loop has no media to place
    quiet = dataclasses.replace(runtime, media=frozenset())
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(make_app(settings, runtime=quiet))
    )
    await client.start_server()
    try:
        if isinstance(fake, FakeTwilio):
            fake.webhook_url = str(client.make_url("/webhooks/twilio/sms"))
        else:
            async with TelegramSender(TELEGRAM_TOKEN, fake.api_url) as bot:
                await bot.set_webhook(str(client.make_url("/webhooks/telegram")), TELEGRAM_SECRET)
        adapter = AlertAdapter(runtime, frozenset({medium}), "contract")
        yield ChannelHarness(
            runtime=runtime, medium=medium, adapter=adapter, fake=fake, client=client, clock=clock
        )
    finally:
        await client.close()
        await fake.stop()
        runtime.close()


@asynccontextmanager
async def harness(
    medium: Medium, sqlite_url: str, redis_url: str, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    path = tmp_path / "routing.yaml"
    path.write_text(routing_for(medium), encoding="utf-8")
    settings = make_settings(sqlite_url, redis_url, routing_file=str(path))
    media = frozenset({medium})
    if medium in (Medium.SMS, Medium.TELEGRAM):

        def settings_for(**channel: str) -> Settings:
            return make_settings(sqlite_url, redis_url, routing_file=str(path), **channel)

        async with channel_harness(medium, settings_for, clock) as channel:
            yield channel
        return
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
        elif medium is Medium.SDS:
            async with radio_harness(runtime) as radio:
                yield radio
        elif medium is Medium.TALKGROUP:
            fake = FakeAsterisk(speed=SPEED, default=Endpoint(behaviour=Behaviour.ANSWER))
            await fake.start()
            try:
                async with bridged(runtime, clock, fake) as rig, radio_harness(runtime) as radio:
                    yield TalkgroupHarness(
                        runtime=runtime, rig=rig, sim=radio.sim, adapter=radio.adapter
                    )
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(fake.stop(), 5)
        else:
            raise AssertionError(f"no harness for {medium}")
    finally:
        runtime.close()
