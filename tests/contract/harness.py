"""Harnesses for the adapter contract: one per adapter, each able to script how the
people it reaches respond, to take its peer down and up, and to say what it placed and
withdrew.

:class:`RecordingAdapter` is the reference adapter of a medium that has no real one yet
(talkgroups through a radio): it claims the contacts of its medium through the contact
port and reports what its script says, as every adapter does.
:class:`AmiHarness` runs the real AMI adapter against the fake Asterisk;
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
from routing.models import AckMethod, AttemptOutcome, Medium, TargetKind
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
        else:
            adapter = RecordingAdapter(runtime=runtime, medium=medium)
            yield RecordingHarness(runtime=runtime, adapter=adapter)
    finally:
        runtime.close()
