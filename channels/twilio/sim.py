"""The fake Twilio: an HTTP server on loopback with the part of Twilio's REST API that
voicebridge calls, the webhooks Twilio posts, and citizens who write SMS.

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: Basic auth (wrong: 401,
  20003), Twilio's checks and codes (:func:`_accept`), 201 with the MessageInstance;
  ``GET .../Messages/{sid}.json`` for polling.
- Status callbacks to the message's ``StatusCallback``, signed over that exact URL:
  queued -> sending -> sent -> delivered | undelivered (``ErrorCode``), or queued ->
  failed; ``callback_delay`` seconds apart; per number, scripted outcomes and drops.
- Citizens: :meth:`FakeTwilio.send_inbound` posts a signed inbound SMS with the full
  real parameter set to the app's SMS webhook and reads the TwiML answer's messages
  into the outbox (``outbound-reply``); STOP/PARA and START/INICIO flip the number's
  opt-out (then 21610). :meth:`FakeTwilio.redeliver` posts the same message again, as
  Twilio does when a webhook fails or times out.
- Control API for a test, a shell or another process (:mod:`.simcontrol`):
  ``POST /_fake/inbound``, ``GET /_fake/outbox``, ``GET|POST /_fake/numbers/{number}``,
  ``GET /_fake/requests``, ``GET /_fake/callbacks``, ``GET /_fake/inbound``.

Webhooks are posted only to loopback: a URL under ``public_url`` (what the app believes
Twilio calls, its ``VOICEBRIDGE_PUBLIC_URL``) is signed as it is and posted to the same
path on ``webhook_url``'s origin (where the app really listens); any other URL must be
on loopback or is not posted (recorded as an error).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import web

from channels.twilio.errors import BadForm
from channels.twilio.form import parse_form
from channels.twilio.segments import MAX_BODY, segments
from channels.twilio.signature import sign
from channels.twilio.simcontrol import control_routes
from channels.twilio.simrecords import (
    Callback,
    InboundResult,
    Received,
    first_value,
    origin,
    path_qs,
    read_answer,
    with_port,
)
from channels.twilio.simstate import (
    ApiError,
    Direction,
    Message,
    NumberScript,
    Outcome,
    check_body,
    classify_number,
    inbound_params,
    keyword,
    new_sid,
    status_params,
)

__all__ = [
    "DEMO_ACCOUNT_SID",
    "DEMO_AUTH_TOKEN",
    "DEMO_NUMBER",
    "Callback",
    "FakeTwilio",
    "InboundResult",
    "Received",
]

logger = logging.getLogger(__name__)

DEMO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEMO_AUTH_TOKEN = "fedcba9876543210" * 2
DEMO_NUMBER = "+15005550006"
"""Twilio's own test number for a valid ``From``."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class FakeTwilio:
    """The fake Twilio. ``start()`` it, point :class:`channels.twilio.outbound.SmsSender`
    at :attr:`url`, ``stop()``.

    ``numbers``: the account's numbers (a ``From`` elsewhere: 21606; the first one is
    where citizens write). ``webhook_url``: the app's SMS webhook on loopback
    (``http://127.0.0.1:8080/webhooks/twilio/sms``). ``public_url``: the app's public
    base URL, over which the fake signs (None: sign over the URLs as posted).
    ``callback_delay``: seconds between status changes. ``sign_with_port``: sign URLs
    with the default port spelled out (``https://host:443/...``), as Twilio sometimes
    does. ``advanced_opt_out``: an opt-out keyword's webhook carries ``OptOutType``.
    ``clock``: the time of messages' dates."""

    def __init__(
        self,
        account_sid: str = DEMO_ACCOUNT_SID,
        auth_token: str = DEMO_AUTH_TOKEN,
        numbers: Iterable[str] = (DEMO_NUMBER,),
        *,
        webhook_url: str | None = None,
        public_url: str | None = None,
        callback_delay: float = 0.0,
        reply_timeout: float = 15.0,
        sign_with_port: bool = False,
        advanced_opt_out: bool = True,
        messaging_service_sid: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.numbers = tuple(numbers)
        if not self.numbers:
            raise ValueError("the fake Twilio needs at least one number of its own")
        self.webhook_url = webhook_url
        self.public_url = public_url.rstrip("/") if public_url else None
        self.callback_delay = callback_delay
        self.reply_timeout = reply_timeout
        self.sign_with_port = sign_with_port
        self.advanced_opt_out = advanced_opt_out
        self.messaging_service_sid = messaging_service_sid
        self._clock = clock or (lambda: datetime.now(UTC))
        self.requests: list[Received] = []
        self.callbacks: list[Callback] = []
        self.inbound: list[InboundResult] = []
        self.errors: list[BaseException] = []
        """Exceptions inside the fake's own tasks (a bug of the fake if not empty)."""
        self._scripts: dict[str, NumberScript] = {}
        self._messages: dict[str, Message] = {}
        self._inbound_params: dict[str, dict[str, list[str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._host = "127.0.0.1"
        self._port = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._record])
        api = "/2010-04-01/Accounts/{account}"
        app.router.add_post(api + "/Messages.json", self._create)
        app.router.add_get(api + "/Messages/{sid}.json", self._fetch)
        app.router.add_routes(control_routes(self))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTwilio":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The REST API's base URL (``SmsSender(api_base_url=...)``)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def settled(self) -> None:
        """Wait until every scheduled status change and callback is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------ state

    def number(self, number: str) -> NumberScript:
        """The script of ``number`` (a default one, delivering everything, at first)."""
        return self._scripts.setdefault(number, NumberScript())

    def script(
        self,
        number: str,
        *,
        opted_out: bool | None = None,
        landline: bool | None = None,
        unreachable: bool | None = None,
        throttle: int | None = None,
        first: Sequence[Outcome] | None = None,
        then: Outcome | None = None,
        drop_callbacks: bool | None = None,
    ) -> NumberScript:
        """Script what happens to messages to ``number`` (see :class:`NumberScript`)."""
        return self.number(number).apply(
            opted_out=opted_out,
            landline=landline,
            unreachable=unreachable,
            throttle=throttle,
            first=first,
            then=then,
            drop_callbacks=drop_callbacks,
        )

    @property
    def outbox(self) -> list[Message]:
        """Every message sent, API and TwiML replies, in order, as it stands now."""
        return list(self._messages.values())

    def sent_to(self, number: str) -> list[Message]:
        return [m for m in self._messages.values() if m.to == number]

    def message(self, sid: str) -> Message | None:
        return self._messages.get(sid)

    # ------------------------------------------------------------ REST API

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Received(
                method=request.method,
                path=request.path_qs,
                headers=dict(request.headers),
                body=body.decode("utf-8", errors="replace"),
            )
        )
        response: web.StreamResponse = await handler(request)
        return response

    def _authenticated(self, request: web.Request) -> bool:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(credentials, validate=True).partition(b":")
        except ValueError:
            return False
        good_user = hmac.compare_digest(user, self.account_sid.encode())
        good_password = hmac.compare_digest(password, self.auth_token.encode())
        return good_user and good_password

    def _refuse(self, request: web.Request) -> web.Response | None:
        if not self._authenticated(request):
            error = ApiError(401, 20003)
            return web.json_response(
                error.body(),
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        if request.match_info["account"] != self.account_sid:
            return _error(ApiError(404, 20404, uri=request.path))
        return None

    async def _create(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            form = parse_form(await request.read())
        except BadForm:
            form = {}
        try:
            message, outcome = self._accept(form)
        except ApiError as error:
            return _error(error)
        self._spawn(self._progress(message.sid, outcome))
        return web.json_response(message.resource(), status=201)

    def _accept(self, form: Mapping[str, Sequence[str]]) -> tuple[Message, Outcome]:
        """Twilio's checks of a create request, in this order: 21604, 429/20429 (the
        number's scripted throttle, nothing else changes), 21211, 21603/21606, 21602,
        21617, 21635 (a Peruvian fixed line, or scripted), 21612, 21610, 21609."""
        to = first_value(form, "To")
        if not to:
            raise ApiError(400, 21604)
        script = self.number(to)
        if script.throttle > 0:
            script.apply(throttle=script.throttle - 1)
            raise ApiError(429, 20429)
        try:
            kind = classify_number(to)
        except ValueError:
            raise ApiError(400, 21211, to=to) from None
        service = first_value(form, "MessagingServiceSid") or None
        from_ = first_value(form, "From")
        if not from_:
            if service is None or service != self.messaging_service_sid:
                raise ApiError(400, 21603)
            from_ = self.numbers[0]
        elif from_ not in self.numbers:
            raise ApiError(400, 21606, from_=from_)
        body = check_body(first_value(form, "Body"))
        if kind == "landline" or script.landline:
            raise ApiError(400, 21635)
        if script.unreachable:
            raise ApiError(400, 21612, to=to, from_=from_)
        if script.opted_out:
            raise ApiError(400, 21610)
        callback = first_value(form, "StatusCallback") or None
        if callback is not None and urlsplit(callback).scheme not in ("http", "https"):
            raise ApiError(400, 21609)
        message = self._new_message(
            direction="outbound-api",
            from_=from_,
            to=to,
            body=body,
            status="accepted" if service else "queued",
            status_callback=callback,
            service=service,
        )
        return message, script.next_outcome()

    def _new_message(
        self,
        *,
        direction: Direction,
        from_: str,
        to: str,
        body: str,
        status: str,
        status_callback: str | None,
        service: str | None = None,
        error_code: int | None = None,
    ) -> Message:
        now = self._clock()
        message = Message(
            sid=new_sid(),
            account_sid=self.account_sid,
            direction=direction,
            from_=from_,
            to=to,
            body=body,
            status=status,
            error_code=error_code,
            num_segments=segments(body).count,
            date_created=now,
            date_updated=now,
            date_sent=None,
            status_callback=status_callback,
            messaging_service_sid=service,
        )
        self._messages[message.sid] = message
        return message

    async def _fetch(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        message = self._messages.get(request.match_info["sid"])
        if message is None:
            return _error(ApiError(404, 20404, uri=request.path))
        return web.json_response(message.resource())

    # ------------------------------------------------------------ status changes

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.error("fake Twilio: a task failed", exc_info=error)
            self.errors.append(error)

    async def _progress(self, sid: str, outcome: Outcome) -> None:
        """Walk a message through its statuses, posting a callback at each."""
        await self._announce(sid)
        steps: list[tuple[str, int | None]] = []
        if self._messages[sid].status == "accepted":
            steps.append(("queued", None))
        if outcome.status == "failed":
            steps.append(("failed", outcome.error_code))
        else:
            steps += [("sending", None), ("sent", None), (outcome.status, outcome.error_code)]
        for status, code in steps:
            await asyncio.sleep(self.callback_delay)
            now = self._clock()
            message = self._messages[sid]
            self._messages[sid] = replace(
                message,
                status=status,
                error_code=code,
                date_updated=now,
                date_sent=now if status == "sent" else message.date_sent,
            )
            await self._announce(sid)

    async def _announce(self, sid: str) -> None:
        message = self._messages[sid]
        if message.status_callback is None or self.number(message.to).drop_callbacks:
            return
        params = status_params(message, now=self._clock())
        self.callbacks.append(await self._post(message.status_callback, params))

    # ------------------------------------------------------------ webhooks

    def _target(self, url: str) -> str | None:
        """Where to post a webhook Twilio would post to ``url`` (None: nowhere)."""
        if self.public_url and self.webhook_url and url.startswith(self.public_url + "/"):
            return origin(self.webhook_url) + url[len(self.public_url) :]
        if urlsplit(url).hostname in LOOPBACK:
            return url
        return None

    async def _post(
        self,
        url: str,
        params: Mapping[str, Sequence[str]],
        *,
        body: str | None = None,
        idempotency: str | None = None,
    ) -> Callback:
        """Post a webhook signed over ``url``: the form ``params``, or a JSON ``body``
        (``url`` then carries its ``bodySHA256`` and ``params`` is empty)."""
        record = {name: list(values) for name, values in params.items()}
        target = self._target(url)
        if target is None:
            return Callback(
                url=url, posted_to=None, params=record, http_status=None, error="not loopback"
            )
        signed = with_port(url) if self.sign_with_port else url
        headers = {
            "X-Twilio-Signature": sign(self.auth_token, signed, params),
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "I-Twilio-Idempotency-Token": idempotency or secrets.token_hex(16),
        }
        if body is None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
            data = urlencode([(n, v) for n, vs in params.items() for v in vs]).encode()
        else:
            headers["Content-Type"] = "application/json"
            data = body.encode("utf-8")
        status, error = None, None
        try:
            status, _, _ = await self._send(target, data, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"no answer: {exc!r}"
        else:
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        return Callback(url=url, posted_to=target, params=record, http_status=status, error=error)

    async def _send(
        self, target: str, data: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes, str]:
        if self._session is None:
            raise RuntimeError("the fake Twilio is not started")
        timeout = aiohttp.ClientTimeout(total=self.reply_timeout)
        async with self._session.post(target, data=data, headers=headers, timeout=timeout) as r:
            return r.status, await r.read(), r.content_type

    async def post_json(self, url: str, payload: object) -> Callback:
        """Post a JSON body as Twilio does for some products: the URL gets
        ``bodySHA256`` (hex SHA-256 of the body) and the signature covers the URL alone."""
        body = json.dumps(payload)
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        signed = url + ("&" if "?" in url else "?") + "bodySHA256=" + digest
        callback = await self._post(signed, {}, body=body)
        self.callbacks.append(callback)
        return callback

    # ------------------------------------------------------------ citizens

    def _sms_urls(self) -> tuple[str, str]:
        """(where to post the SMS webhook, the URL to sign)."""
        if self.webhook_url is None:
            raise RuntimeError("the fake Twilio has no SMS webhook URL (webhook_url)")
        if self.public_url is None:
            return self.webhook_url, self.webhook_url
        return self.webhook_url, self.public_url + path_qs(self.webhook_url)

    async def send_inbound(
        self,
        from_: str,
        body: str,
        *,
        media: Sequence[tuple[str, str]] = (),
        to: str | None = None,
    ) -> InboundResult:
        """A citizen at ``from_`` writes ``body`` (with ``media``: ``(url,
        content_type)``) to ``to`` (the account's first number): the signed webhook, its
        answer's messages sent back. An opt-out keyword flips ``from_``'s opt-out first."""
        word = keyword(body)
        if word == "STOP":
            self.number(from_).apply(opted_out=True)
        elif word == "START":
            self.number(from_).apply(opted_out=False)
        sid = new_sid("MM" if media else "SM")
        params = inbound_params(
            account_sid=self.account_sid,
            message_sid=sid,
            from_=from_,
            to=to or self.numbers[0],
            body=body,
            media=media,
            opt_out_type=word if self.advanced_opt_out else None,
        )
        self._inbound_params[sid] = params
        return await self._deliver(sid, params)

    async def redeliver(self, message_sid: str) -> InboundResult:
        """Post an inbound SMS sent before again, identical (Twilio's retry)."""
        params = self._inbound_params.get(message_sid)
        if params is None:
            raise KeyError(f"no inbound SMS {message_sid} was sent")
        return await self._deliver(message_sid, params)

    async def _deliver(self, sid: str, params: dict[str, list[str]]) -> InboundResult:
        target, signed = self._sms_urls()
        if self.sign_with_port:
            signed = with_port(signed)
        headers = {
            "X-Twilio-Signature": sign(self.auth_token, signed, params),
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "I-Twilio-Idempotency-Token": sid.lower()[2:],
        }
        data = urlencode([(n, v) for n, vs in params.items() for v in vs]).encode()
        status: int | None = None
        bodies: tuple[str, ...] = ()
        error: str | None = None
        try:
            status, answer, content_type = await self._send(target, data, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"no answer: {exc!r}"
        else:
            bodies, error = read_answer(status, answer, content_type)
        citizen, ours = params["From"][0], params["To"][0]
        replies = tuple(self._reply(from_=ours, to=citizen, body=b) for b in bodies)
        result = InboundResult(
            message_sid=sid, params=params, http_status=status, replies=replies, error=error
        )
        self.inbound.append(result)
        return result

    def _reply(self, *, from_: str, to: str, body: str) -> Message:
        """A TwiML ``<Message>``, sent: refused for an opted-out number (21610), too long
        (21617), else on its way to the number's scripted outcome (no callbacks)."""
        script = self.number(to)
        code = None
        if script.opted_out:
            code = 21610
        elif not body:
            code = 21602
        elif len(body) > MAX_BODY:
            code = 21617
        message = self._new_message(
            direction="outbound-reply",
            from_=from_,
            to=to,
            body=body,
            status="failed" if code else "queued",
            status_callback=None,
            error_code=code,
        )
        if code is None:
            self._spawn(self._progress(message.sid, script.next_outcome()))
        return message


def _error(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status)
