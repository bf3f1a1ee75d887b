"""A fake Twilio on loopback, a sender pointed at it, and a small app that plays
voicebridge's webhooks: it checks every signature with :func:`verify` against its public
URL, reads the forms, and answers the SMS webhook with TwiML."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from channels.twilio.form import parse_form
from channels.twilio.inbound import InboundSms, parse_inbound
from channels.twilio.outbound import Sent, SmsSender
from channels.twilio.signature import SIGNATURE_HEADER, verify
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from channels.twilio.status import StatusReport, parse_status
from channels.twilio.twiml import CONTENT_TYPE, twiml_reply
from tests.conftest import FakeClock

PUBLIC = "https://vb.example.pe"
STATUS_URL = PUBLIC + "/webhooks/twilio/status"
CITIZEN = "+51987654321"


@dataclass
class App:
    """What the app received, and how it answers."""

    url: str = ""
    tokens: list[str] = field(default_factory=lambda: [DEMO_AUTH_TOKEN])
    inbound: list[InboundSms] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answer: Callable[[InboundSms], web.Response] = lambda sms: web.Response(
        text=twiml_reply([f"Recibido: {sms.body}"]), content_type=CONTENT_TYPE
    )

    async def _checked(self, request: web.Request) -> dict[str, list[str]] | None:
        form = parse_form(await request.read())
        self.headers.append(dict(request.headers))
        if verify(
            public_url=PUBLIC,
            path=request.raw_path,
            params=form,
            signature=request.headers.get(SIGNATURE_HEADER),
            tokens=self.tokens,
        ):
            return form
        self.refused.append(request.raw_path)
        return None

    async def sms(self, request: web.Request) -> web.Response:
        form = await self._checked(request)
        if form is None:
            return web.Response(status=403)
        sms = parse_inbound(form)
        self.inbound.append(sms)
        return self.answer(sms)

    async def status(self, request: web.Request) -> web.Response:
        form = await self._checked(request)
        if form is None:
            return web.Response(status=403)
        self.statuses.append(parse_status(form))
        return web.Response(status=204)


@pytest.fixture
async def app() -> AsyncIterator[App]:
    state = App()
    application = web.Application()
    application.router.add_post("/webhooks/twilio/sms", state.sms)
    application.router.add_post("/webhooks/twilio/status", state.status)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


@pytest.fixture
async def fake(app: App, clock: FakeClock) -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(
        DEMO_ACCOUNT_SID,
        DEMO_AUTH_TOKEN,
        [DEMO_NUMBER],
        webhook_url=app.url + "/webhooks/twilio/sms",
        public_url=PUBLIC,
        clock=clock.now,
    ) as twilio:
        yield twilio
        assert twilio.errors == []


@pytest.fixture
def sender(fake: FakeTwilio) -> Iterator[SmsSender]:
    with SmsSender(
        account_sid=DEMO_ACCOUNT_SID,
        auth_token=DEMO_AUTH_TOKEN,
        from_=DEMO_NUMBER,
        api_base_url=fake.url,
    ) as it:
        yield it


async def send(sender: SmsSender, to: str, body: str, callback: str | None = STATUS_URL) -> Sent:
    """The sender is synchronous (it runs in RQ jobs): off the loop the fake runs on."""
    return await asyncio.to_thread(sender.send, to, body, callback)
