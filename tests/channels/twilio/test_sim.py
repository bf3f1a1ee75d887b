"""The fake Twilio as the app meets it: signed status callbacks into a small app that
checks them with verify(), citizens' SMS with the full field set and the TwiML answered,
opt-out keywords, Twilio's retry of a webhook, the control API."""

import asyncio
import json
import re

import aiohttp
import pytest
from aiohttp import web

from channels.twilio.errors import Permanent, Retryable
from channels.twilio.outbound import SmsSender
from channels.twilio.signature import SIGNATURE_HEADER, verify_body
from channels.twilio.sim import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_NUMBER,
    FakeTwilio,
)
from channels.twilio.simrun import run_fake_twilio
from channels.twilio.simstate import Outcome
from channels.twilio.status import MessageStatus
from tests.channels.twilio.conftest import CITIZEN, PUBLIC, STATUS_URL, App, send
from tests.conftest import FakeClock

B2_FIELDS = {
    "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid",
    "FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip",
    "NumSegments", "MessageSid", "AccountSid", "From", "ApiVersion",
}  # fmt: skip


def _walk(app: App, sid: str) -> list[tuple[str, int | None]]:
    return [(s.status.value, s.error_code) for s in app.statuses if s.message_sid == sid]


async def test_status_callbacks_are_signed_over_the_callback_url(
    app: App, fake: FakeTwilio, sender: SmsSender
) -> None:
    sent = await send(sender, CITIZEN, "Su reporte fue derivado a la PNP.")
    await fake.settled()
    assert app.refused == []
    assert _walk(app, sent.sid) == [
        ("queued", None),
        ("sending", None),
        ("sent", None),
        ("delivered", None),
    ]
    last = app.statuses[-1]
    assert (last.from_, last.to, last.account_sid) == (
        CITIZEN and DEMO_NUMBER,
        CITIZEN,
        fake.account_sid,
    )
    assert set(last.params) == {
        "SmsSid", "SmsStatus", "MessageStatus", "To", "MessageSid", "AccountSid", "From",
        "ApiVersion", "RawDlrDoneDate",
    }  # fmt: skip
    assert last.params["RawDlrDoneDate"] == ["2611251500"]
    assert all(c.posted_to == app.url + "/webhooks/twilio/status" for c in fake.callbacks)
    assert all(c.url == STATUS_URL and c.http_status == 204 for c in fake.callbacks)


async def test_a_handset_off_twice_then_delivered(
    app: App, fake: FakeTwilio, sender: SmsSender
) -> None:
    off = Outcome(status="undelivered", error_code=30003)
    fake.script(CITIZEN, first=[off, off])
    sids = [(await send(sender, CITIZEN, f"intento {n}")).sid for n in range(3)]
    await fake.settled()
    for sid in sids[:2]:
        assert _walk(app, sid)[-1] == ("undelivered", 30003)
        assert app.statuses[-1].params.get("ErrorCode") in (["30003"], None)
    assert _walk(app, sids[2])[-1] == ("delivered", None)
    undelivered = [s for s in app.statuses if s.status == MessageStatus.UNDELIVERED]
    assert [s.params["ErrorCode"] for s in undelivered] == [["30003"], ["30003"]]
    assert fake.message(sids[0]) is not None
    assert fake.message(sids[0]).status == "undelivered"  # type: ignore[union-attr]


async def test_failed_and_undelivered_for_good(
    app: App, fake: FakeTwilio, sender: SmsSender
) -> None:
    fake.script(CITIZEN, then=Outcome(status="failed", error_code=30005))
    failed = await send(sender, CITIZEN, "uno")
    fake.script("+51912345678", then=Outcome(status="undelivered", error_code=30006))
    undelivered = await send(sender, "+51912345678", "dos")
    await fake.settled()
    assert _walk(app, failed.sid) == [("queued", None), ("failed", 30005)]
    assert _walk(app, undelivered.sid)[-1] == ("undelivered", 30006)


async def test_dropped_callbacks_and_no_callback(
    app: App, fake: FakeTwilio, sender: SmsSender
) -> None:
    fake.script(CITIZEN, drop_callbacks=True)
    dropped = await send(sender, CITIZEN, "uno")
    none = await send(sender, "+51912345678", "dos", callback=None)
    await fake.settled()
    assert app.statuses == []
    assert fake.message(dropped.sid).status == "delivered"  # type: ignore[union-attr]
    assert fake.message(none.sid).status == "delivered"  # type: ignore[union-attr]


async def test_a_callback_signed_with_the_port_spelled_out(app: App) -> None:
    """Twilio signs https://host:443/... at times: the app, configured without the port,
    accepts it all the same."""
    async with FakeTwilio(
        webhook_url=app.url + "/webhooks/twilio/sms", public_url=PUBLIC, sign_with_port=True
    ) as fake:
        with SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=DEMO_AUTH_TOKEN,
            from_=DEMO_NUMBER,
            api_base_url=fake.url,
        ) as own:
            await send(own, CITIZEN, "hola")
        result = await fake.send_inbound(CITIZEN, "hola")
        await fake.settled()
    assert result.ok
    assert len(app.statuses) == 4
    assert app.refused == []


async def test_a_wrong_token_is_refused_by_the_app(
    app: App, fake: FakeTwilio, sender: SmsSender
) -> None:
    app.tokens = ["another-token"]
    await send(sender, CITIZEN, "hola")
    result = await fake.send_inbound(CITIZEN, "hola")
    await fake.settled()
    assert app.statuses == []
    assert app.inbound == []
    assert len(app.refused) == 5
    assert {c.error for c in fake.callbacks} == {"HTTP 403"}
    assert (result.ok, result.http_status, result.error, result.replies) == (
        False,
        403,
        "HTTP 403",
        (),
    )


async def test_rotation_accepts_the_old_and_the_new_token(app: App, fake: FakeTwilio) -> None:
    app.tokens = ["the-new-token", DEMO_AUTH_TOKEN]
    assert (await fake.send_inbound(CITIZEN, "hola")).ok


async def test_a_citizen_writes_and_reads_the_twiml_answer(app: App, fake: FakeTwilio) -> None:
    result = await fake.send_inbound(CITIZEN, "fuga de gas jr. huallaga 450 ¿vienen?")
    assert result.ok
    assert result.http_status == 200
    [sms] = app.inbound
    assert sms.body == "fuga de gas jr. huallaga 450 ¿vienen?"
    assert (sms.from_, sms.to, sms.message_sid) == (CITIZEN, DEMO_NUMBER, result.message_sid)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sms.message_sid)
    assert set(sms.params) == B2_FIELDS
    assert sms.params["SmsSid"] == sms.params["SmsMessageSid"] == [sms.message_sid]
    assert sms.params["ToCity"] == sms.params["FromZip"] == [""]
    assert sms.params["FromCountry"] == ["PE"]
    assert sms.params["ApiVersion"] == ["2010-04-01"]
    [reply] = result.replies
    assert (reply.direction, reply.from_, reply.to) == ("outbound-reply", DEMO_NUMBER, CITIZEN)
    assert reply.body == "Recibido: fuga de gas jr. huallaga 450 ¿vienen?"
    await fake.settled()
    assert fake.message(reply.sid).status == "delivered"  # type: ignore[union-attr]


async def test_the_webhook_request_itself(app: App, fake: FakeTwilio) -> None:
    app.answer = lambda sms: web.Response(status=204)
    result = await fake.send_inbound(CITIZEN, "hola")
    assert (result.ok, result.http_status, result.replies) == (True, 204, ())
    [headers] = app.headers
    assert headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"
    assert headers["User-Agent"] == "TwilioProxy/1.1"
    assert headers["I-Twilio-Idempotency-Token"]
    await fake.redeliver(result.message_sid)
    assert app.headers[1]["I-Twilio-Idempotency-Token"] == headers["I-Twilio-Idempotency-Token"]
    assert app.headers[1][SIGNATURE_HEADER] == headers[SIGNATURE_HEADER]


async def test_media_and_segments(app: App, fake: FakeTwilio) -> None:
    photo = ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg")
    long_text = "Ubicación: " + "x" * 70
    result = await fake.send_inbound(CITIZEN, long_text, media=[photo])
    [sms] = app.inbound
    assert sms.message_sid.startswith("MM")
    assert sms.message_sid == result.message_sid
    assert (sms.num_media, sms.media, sms.num_segments) == (1, (photo,), 2)


@pytest.mark.parametrize(
    ("stop", "start"), [("STOP", "START"), ("para", "Inicio"), (" Para ", "INICIO")]
)
async def test_opt_out_keywords(
    app: App, fake: FakeTwilio, sender: SmsSender, stop: str, start: str
) -> None:
    result = await fake.send_inbound(CITIZEN, stop)
    assert app.inbound[-1].opt_out_type == "STOP"
    assert fake.number(CITIZEN).opted_out
    [reply] = result.replies  # the app's answer to PARA is refused by Twilio
    assert (reply.status, reply.error_code) == ("failed", 21610)
    with pytest.raises(Permanent) as caught:
        await send(sender, CITIZEN, "novedades")
    assert caught.value.code == 21610
    result = await fake.send_inbound(CITIZEN, start)
    assert app.inbound[-1].opt_out_type == "START"
    assert not fake.number(CITIZEN).opted_out
    assert result.replies[0].status == "queued"
    await send(sender, CITIZEN, "novedades")


async def test_twilio_retries_the_same_message(app: App, fake: FakeTwilio) -> None:
    first = await fake.send_inbound(CITIZEN, "robo en av abancay 123 cercado")
    again = await fake.redeliver(first.message_sid)
    assert [s.message_sid for s in app.inbound] == [first.message_sid] * 2
    assert app.inbound[0].params == app.inbound[1].params
    assert again.params == first.params
    with pytest.raises(KeyError):
        await fake.redeliver("SM" + "0" * 32)


@pytest.mark.parametrize(
    ("response", "error", "replies"),
    [
        (web.Response(status=500), "HTTP 500", ()),
        (web.Response(text="Gracias", content_type="text/plain"), None, ("Gracias",)),
        (web.Response(text="", content_type="text/xml"), None, ()),
        (web.Response(text="<Response>", content_type="text/xml"), "12100", ()),
        (web.json_response({"ok": True}), "12300", ()),
    ],
)
async def test_what_the_app_may_answer(
    app: App,
    fake: FakeTwilio,
    response: web.Response,
    error: str | None,
    replies: tuple[str, ...],
) -> None:
    app.answer = lambda sms: response
    result = await fake.send_inbound(CITIZEN, "hola")
    assert (result.error or "").startswith(error or "")
    assert (result.error is None) == (error is None)
    assert tuple(m.body for m in result.replies) == replies


async def test_no_webhook_no_app() -> None:
    async with FakeTwilio() as fake:
        with pytest.raises(RuntimeError, match="no SMS webhook URL"):
            await fake.send_inbound(CITIZEN, "hola")
    async with FakeTwilio(webhook_url="http://127.0.0.1:9/sms") as fake:
        result = await fake.send_inbound(CITIZEN, "hola")
    assert (result.http_status, result.replies) == (None, ())
    assert (result.error or "").startswith("no answer: ")


async def test_nothing_is_posted_off_loopback(fake: FakeTwilio, sender: SmsSender) -> None:
    await send(sender, CITIZEN, "hola", callback="https://elsewhere.example/status")
    await fake.settled()
    assert {(c.posted_to, c.error) for c in fake.callbacks} == {(None, "not loopback")}


async def test_a_json_callback_with_its_body_hash(app: App, fake: FakeTwilio) -> None:
    bodies: list[tuple[str, str, str | None]] = []

    async def events(request: web.Request) -> web.Response:
        body = await request.text()
        bodies.append((request.raw_path, body, request.headers.get(SIGNATURE_HEADER)))
        return web.Response(status=200)

    own = web.Application()
    own.router.add_post("/webhooks/twilio/events", events)
    runner = web.AppRunner(own, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/twilio/events?x=1"
    try:
        callback = await fake.post_json(url, {"property": "value", "boolean": True})
    finally:
        await runner.cleanup()
    assert callback.http_status == 200
    [(path, body, signature)] = bodies
    assert json.loads(body) == {"property": "value", "boolean": True}
    assert re.fullmatch(r"/webhooks/twilio/events\?x=1&bodySHA256=[0-9a-f]{64}", path)
    base = url.split("/webhooks")[0]
    assert verify_body(
        public_url=base, path=path, body=body, signature=signature, tokens=[DEMO_AUTH_TOKEN]
    )


async def test_the_rest_api_refuses_like_twilio(fake: FakeTwilio) -> None:
    api = f"{fake.url}/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
    auth = {"Authorization": aiohttp.encode_basic_auth(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)}
    async with aiohttp.ClientSession() as http:
        async with http.post(api + "/Messages.json", data={"To": CITIZEN}) as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
            assert await r.json() == {
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            }
        async with http.post(api + "/Messages.json", data={}, headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (400, 21604)
        form = {"To": CITIZEN, "From": DEMO_NUMBER}
        async with http.post(api + "/Messages.json", data=form, headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (400, 21602)
        form = {"To": CITIZEN, "Body": "x"}
        async with http.post(api + "/Messages.json", data=form, headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (400, 21603)
        form = {"To": CITIZEN, "From": DEMO_NUMBER, "Body": "x", "StatusCallback": "ftp://x"}
        async with http.post(api + "/Messages.json", data=form, headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (400, 21609)
        other = f"{fake.url}/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
        async with http.post(other, data=form, headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (404, 20404)
        async with http.get(api + f"/Messages/SM{'0' * 32}.json", headers=auth) as r:
            assert (r.status, (await r.json())["code"]) == (404, 20404)
    assert fake.outbox == []


async def test_through_a_messaging_service(app: App) -> None:
    service = "MG" + "00112233445566778899aabbccddeeff"
    async with FakeTwilio(messaging_service_sid=service) as fake, aiohttp.ClientSession() as http:
        form = {"To": CITIZEN, "MessagingServiceSid": service, "Body": "hola"}
        form["StatusCallback"] = app.url + "/webhooks/twilio/status"
        api = f"{fake.url}/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json"
        auth = {"Authorization": aiohttp.encode_basic_auth(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)}
        async with http.post(api, data=form, headers=auth) as r:
            created = await r.json()
        await fake.settled()
    assert (created["status"], created["from"], created["messaging_service_sid"]) == (
        "accepted",
        DEMO_NUMBER,
        service,
    )
    # signed over the loopback URL it was given (no public URL configured): the app,
    # which checks against its public URL, refuses them
    assert len(app.refused) == 5
    assert [c.params["MessageStatus"] for c in fake.callbacks] == [
        ["accepted"],
        ["queued"],
        ["sending"],
        ["sent"],
        ["delivered"],
    ]
    assert {c.params["MessagingServiceSid"][0] for c in fake.callbacks} == {service}


async def test_the_message_resource(clock: FakeClock) -> None:
    # the status stays queued: the next change is an hour away, the fake stops before
    async with FakeTwilio(callback_delay=3600, clock=clock.now) as fake:
        with SmsSender(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=DEMO_AUTH_TOKEN,
            from_=DEMO_NUMBER,
            api_base_url=fake.url,
        ) as own:
            sent = await send(own, CITIZEN, "¿Dónde?")
        resource = fake.outbox[0].resource()
    assert resource == {
        "account_sid": DEMO_ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": "¿Dónde?",
        "date_created": "Wed, 25 Nov 2026 15:00:00 +0000",
        "date_sent": None,
        "date_updated": "Wed, 25 Nov 2026 15:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": DEMO_NUMBER,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sent.sid,
        "status": "queued",
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages/{sent.sid}/Media.json"
        },
        "to": CITIZEN,
        "uri": f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages/{sent.sid}.json",
    }


async def test_the_control_api(app: App, fake: FakeTwilio, sender: SmsSender) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"from": CITIZEN, "body": "choque de combi en la av. brasil cuadra 5"}
        async with http.post(fake.url + "/_fake/inbound", json=body) as r:
            result = await r.json()
        assert result["http_status"] == 200
        assert result["error"] is None
        assert result["replies"][0]["body"] == "Recibido: " + body["body"]
        assert result["replies"][0]["direction"] == "outbound-reply"
        again = {"redeliver": result["message_sid"]}
        async with http.post(fake.url + "/_fake/inbound", json=again) as r:
            assert (await r.json())["message_sid"] == result["message_sid"]
        async with http.get(fake.url + "/_fake/inbound") as r:
            assert len((await r.json())["inbound"]) == 2
        number = fake.url + "/_fake/numbers/" + CITIZEN
        script = {"throttle": 1, "first": [{"status": "undelivered", "error_code": 30003}]}
        async with http.post(number, json=script) as r:
            assert (await r.json())["throttle"] == 1
        with pytest.raises(Retryable, match="20429"):
            await send(sender, CITIZEN, "uno")
        sent = await send(sender, CITIZEN, "uno")
        await fake.settled()
        async with http.get(fake.url + "/_fake/outbox", params={"to": CITIZEN}) as r:
            messages = (await r.json())["messages"]
        assert [m["direction"] for m in messages] == ["outbound-reply"] * 2 + ["outbound-api"]
        assert (messages[-1]["sid"], messages[-1]["status"], messages[-1]["error_code"]) == (
            sent.sid,
            "undelivered",
            30003,
        )
        async with http.get(number) as r:
            assert await r.json() == {
                "opted_out": False,
                "landline": False,
                "unreachable": False,
                "throttle": 0,
                "first": [],
                "then": {"status": "delivered", "error_code": None},
                "drop_callbacks": False,
            }
        async with http.get(fake.url + "/_fake/callbacks") as r:
            assert len((await r.json())["callbacks"]) == 4
        async with http.get(fake.url + "/_fake/requests") as r:
            paths = [q["path"] for q in (await r.json())["requests"]]
        assert paths[0] == "/_fake/inbound"
        assert paths.count(f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json") == 2


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/_fake/inbound", "[]", 400, "bad request: a JSON object"),
        ("/_fake/inbound", "{", 400, "bad request: "),
        ("/_fake/inbound", '{"from": 1, "body": "x"}', 400, "bad request: from and body"),
        ("/_fake/inbound", '{"body": "x"}', 400, "bad request: 'from'"),
        ("/_fake/inbound", '{"redeliver": "SM1"}', 400, "bad request: 'no inbound SMS"),
        ("/_fake/numbers/+51987654321", '{"throttle": -1}', 400, "bad request: throttle"),
        ("/_fake/numbers/+51987654321", '{"loud": true}', 400, "bad request: unknown setting"),
        (
            "/_fake/numbers/+51987654321",
            '{"first": [{"status": "undelivered"}]}',
            400,
            "bad request: an undelivered or failed outcome needs its error_code",
        ),
    ],
)
async def test_the_control_api_says_what_is_wrong(
    fake: FakeTwilio, path: str, body: str, status: int, error: str
) -> None:
    async with aiohttp.ClientSession() as http, http.post(fake.url + path, data=body) as r:
        assert r.status == status
        assert (await r.json())["error"].startswith(error)
    assert fake.number(CITIZEN).throttle == 0


async def test_run_fake_twilio_serves_until_stopped(app: App) -> None:
    stop = asyncio.Event()
    started: list[FakeTwilio] = []

    def ready(fake: FakeTwilio) -> None:
        started.append(fake)
        stop.set()

    await run_fake_twilio(webhook_url=app.url + "/webhooks/twilio/sms", stop=stop, ready=ready)
    [fake] = started
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.numbers == (DEMO_NUMBER,)


def test_a_fake_needs_a_number() -> None:
    with pytest.raises(ValueError, match="at least one number"):
        FakeTwilio(numbers=[])
