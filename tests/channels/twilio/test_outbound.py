"""Sending SMS with the real twilio client against the fake Twilio, and the retry policy
of each failure."""

import asyncio
import re
from base64 import b64encode
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from channels.twilio.errors import Permanent, Retryable, SendError, describe
from channels.twilio.outbound import PERMANENT_CODES, Sent, SmsSender, classify, send_retry
from channels.twilio.sim import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_NUMBER, FakeTwilio
from channels.twilio.status import MessageStatus
from tests.channels.twilio.conftest import CITIZEN, STATUS_URL, send
from tests.conftest import free_port

SID = re.compile(r"SM[0-9a-f]{32}")


async def test_a_message_is_sent(fake: FakeTwilio, sender: SmsSender) -> None:
    sent = await send(sender, CITIZEN, "Su reporte LIM-2026-000123 fue derivado a la PNP.")
    assert SID.fullmatch(sent.sid)
    assert (sent.status, sent.num_segments, sent.error_code) == (MessageStatus.QUEUED, 1, None)
    [message] = fake.outbox
    assert (message.sid, message.to, message.from_, message.direction) == (
        sent.sid,
        CITIZEN,
        DEMO_NUMBER,
        "outbound-api",
    )
    [request] = [r for r in fake.requests if r.method == "POST"]
    expected = b64encode(f"{DEMO_ACCOUNT_SID}:{DEMO_AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["User-Agent"].startswith("twilio-python/")
    assert request.path == f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json"
    assert parse_qs(request.body) == {
        "To": [CITIZEN],
        "From": [DEMO_NUMBER],
        "Body": ["Su reporte LIM-2026-000123 fue derivado a la PNP."],
        "StatusCallback": [STATUS_URL],
    }


async def test_the_segments_twilio_counts(sender: SmsSender) -> None:
    sent = await send(sender, CITIZEN, "Atención: " + "a" * 130)  # UCS-2, 140 units
    assert sent.num_segments == 3


async def test_polling_a_message_until_delivered(fake: FakeTwilio, sender: SmsSender) -> None:
    sent = await send(sender, CITIZEN, "hola", callback=None)
    await fake.settled()
    fetched = await asyncio.to_thread(sender.fetch, sent.sid)
    assert (fetched.sid, fetched.status, fetched.error_code) == (
        sent.sid,
        MessageStatus.DELIVERED,
        None,
    )
    resource = fake.outbox[0].resource()
    assert resource["date_created"] == "Wed, 25 Nov 2026 15:00:00 +0000"
    assert resource["date_sent"] == "Wed, 25 Nov 2026 15:00:00 +0000"
    assert resource["num_segments"] == "1"
    with pytest.raises(Permanent) as caught:
        await asyncio.to_thread(sender.fetch, "SM" + "0" * 32)
    assert caught.value.reason == "recurso de Twilio inexistente (20404)"


@pytest.mark.parametrize(
    ("to", "body", "code", "reason"),
    [
        ("987654321", "x", 21211, "número inválido (21211)"),
        ("+5198765432", "x", 21211, "número inválido (21211)"),  # one digit short
        ("+5114567890", "x", 21635, "número fijo: no recibe SMS (21635)"),  # Lima
        ("+5144123456", "x", 21635, "número fijo: no recibe SMS (21635)"),  # Trujillo
        (CITIZEN, "x" * 1601, 21617, "mensaje demasiado largo (más de 1600 caracteres) (21617)"),
    ],
)
async def test_refused_sends_are_permanent(
    fake: FakeTwilio, sender: SmsSender, to: str, body: str, code: int, reason: str
) -> None:
    with pytest.raises(Permanent) as caught:
        await send(sender, to, body)
    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert fake.outbox == []


async def test_an_opted_out_number(fake: FakeTwilio, sender: SmsSender) -> None:
    fake.script(CITIZEN, opted_out=True)
    with pytest.raises(Permanent) as caught:
        await send(sender, CITIZEN, "hola")
    assert caught.value.reason == "el destinatario pidió no recibir mensajes (STOP/PARA) (21610)"
    assert send_retry(caught.value, 0) is None
    fake.script(CITIZEN, opted_out=False)
    await send(sender, CITIZEN, "hola")


async def test_unreachable_and_scripted_landline(fake: FakeTwilio, sender: SmsSender) -> None:
    fake.script(CITIZEN, unreachable=True)
    with pytest.raises(Permanent) as caught:
        await send(sender, CITIZEN, "hola")
    assert caught.value.code == 21612
    fake.script(CITIZEN, unreachable=False, landline=True)
    with pytest.raises(Permanent) as caught:
        await send(sender, CITIZEN, "hola")
    assert caught.value.code == 21635


async def test_too_many_requests_then_success(fake: FakeTwilio, sender: SmsSender) -> None:
    fake.script(CITIZEN, throttle=2)
    for attempt in range(2):
        with pytest.raises(Retryable) as caught:
            await send(sender, CITIZEN, "hola")
        assert (caught.value.code, caught.value.reason) == (
            20429,
            "demasiadas solicitudes simultáneas a Twilio (20429)",
        )
        assert send_retry(caught.value, attempt) == 2.0 * 2**attempt
    assert fake.outbox == []  # no side effect: safe to send again
    await send(sender, CITIZEN, "hola")
    assert len(fake.outbox) == 1


async def test_wrong_credentials(fake: FakeTwilio) -> None:
    with (
        SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token="wrong",
            from_=DEMO_NUMBER,
            api_base_url=fake.url,
        ) as sender,
        pytest.raises(Permanent) as caught,
    ):
        await send(sender, CITIZEN, "hola")
    assert (caught.value.code, caught.value.reason) == (
        20003,
        "credenciales de Twilio rechazadas (20003)",
    )
    assert fake.outbox == []


async def test_a_from_number_of_another_account(fake: FakeTwilio) -> None:
    with (
        SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=DEMO_AUTH_TOKEN,
            from_="+15005550001",
            api_base_url=fake.url,
        ) as sender,
        pytest.raises(Permanent) as caught,
    ):
        await send(sender, CITIZEN, "hola")
    assert caught.value.code == 21606


async def test_no_twilio_to_connect_to() -> None:
    with (
        SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=DEMO_AUTH_TOKEN,
            from_=DEMO_NUMBER,
            api_base_url=f"http://127.0.0.1:{free_port()}",
        ) as sender,
        pytest.raises(Retryable) as caught,
    ):
        await send(sender, CITIZEN, "hola")
    assert (caught.value.code, caught.value.reason) == (None, "sin conexión con Twilio")


@pytest.fixture
async def broken() -> AsyncIterator[str]:
    """A Twilio that answers 503 with an HTML page, or never answers (/slow)."""
    never = asyncio.Event()

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="<html>Service Unavailable</html>")

    async def slow(request: web.Request) -> web.Response:
        await never.wait()  # until the test is over
        return web.Response(status=503)

    application = web.Application()
    application.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", unavailable)
    application.router.add_post("/slow/2010-04-01/Accounts/{account}/Messages.json", slow)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    never.set()
    await runner.cleanup()


async def test_a_server_error_is_retryable(broken: str) -> None:
    with (
        SmsSender(
            account_sid=DEMO_ACCOUNT_SID, auth_token="x", from_=DEMO_NUMBER, api_base_url=broken
        ) as sender,
        pytest.raises(Retryable) as caught,
    ):
        await send(sender, CITIZEN, "hola")
    assert (caught.value.code, caught.value.reason) == (None, "Twilio falló (HTTP 503)")
    assert caught.value.after_seconds == 30.0


async def test_no_answer_in_time_is_retryable(broken: str) -> None:
    with (
        SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token="x",
            from_=DEMO_NUMBER,
            api_base_url=broken + "/slow",
            timeout=0.2,
        ) as sender,
        pytest.raises(Retryable) as caught,
    ):
        await send(sender, CITIZEN, "hola")
    assert caught.value.reason == "Twilio no respondió a tiempo (el SMS pudo haber salido)"


@pytest.mark.parametrize(
    ("status", "code", "kind", "wanted_code", "after"),
    [
        (429, 20429, Retryable, 20429, 2.0),
        (429, 429, Retryable, None, 2.0),  # no code in the body: the client puts the status
        (400, 20429, Retryable, 20429, 2.0),
        (500, 20500, Retryable, 20500, 30.0),
        (503, None, Retryable, None, 30.0),
        (401, 20003, Permanent, 20003, None),
        (400, 21211, Permanent, 21211, None),
        (400, 21610, Permanent, 21610, None),
        (400, 21408, Permanent, 21408, None),
        (404, 20404, Permanent, 20404, None),
        (400, 99999, Permanent, 99999, None),
    ],
)
def test_classify(
    status: int,
    code: int | None,
    kind: type[SendError],
    wanted_code: int | None,
    after: float | None,
) -> None:
    error = classify(status, code)
    assert type(error) is kind
    assert error.code == wanted_code
    assert error.reason == describe(wanted_code, status)
    assert getattr(error, "after_seconds", None) == after


def test_the_permanent_codes_of_the_issue() -> None:
    for code in PERMANENT_CODES:
        assert isinstance(classify(400, code), Permanent)
        assert send_retry(classify(400, code), 0) is None


def test_send_retry_doubles_and_stops() -> None:
    error = Retryable(None, "Twilio falló (HTTP 503)", 30.0)
    delays = [send_retry(error, n) for n in range(7)]
    assert delays == [30.0, 60.0, 120.0, 240.0, 480.0, None, None]
    slow = Retryable(None, "x", 500.0)
    assert send_retry(slow, 1) == 900.0  # capped


def test_reasons_without_a_code() -> None:
    assert describe(None) == "sin respuesta de Twilio"
    assert describe(None, 502) == "Twilio falló (HTTP 502)"
    assert describe(None, 418) == "Twilio rechazó el envío (HTTP 418)"
    assert describe(21999) == "error de Twilio (21999)"
    assert describe(30999) == "no entregado (30999)"


def test_sent_is_a_value() -> None:
    assert Sent(sid="SM1", status=MessageStatus.SENT, num_segments=1) == Sent(
        sid="SM1", status=MessageStatus.SENT, num_segments=1, error_code=None
    )
