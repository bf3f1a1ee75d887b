"""The fake Bot API's HTTP server on 127.0.0.1: ``/bot<token>/<method>``,
``/file/bot<token>/<path>``, and the control API under ``/_fake`` (see
:mod:`~channels.telegram.sim.control`).

Unknown token: 401 ``Unauthorized`` when it looks like a token, else 404 ``Not Found``,
as Telegram answers (PTB raises ``InvalidToken`` for both). Bodies are read as JSON,
urlencoded or multipart forms, plus the query string (CHANNELS.md, "Telegram Bot API
fake", points 1-2).
"""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from channels.telegram.limits import FloodLimits
from channels.telegram.sim.citizens import Citizen
from channels.telegram.sim.control import control_routes
from channels.telegram.sim.delivery import Deliverer
from channels.telegram.sim.methods import HANDLERS
from channels.telegram.sim.model import SEND_METHODS, Delivery, Recorded, Script, Sent, Webhook
from channels.telegram.sim.state import BotState
from channels.telegram.sim.wire import ApiError, Params, not_found, ok, unauthorized

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
MAX_BODY = 60 * 1024 * 1024  # uploads go up to 50 MB on Telegram
FILE_CHUNK = 1024
FILE_DOWNLOAD = "GET /file"  # the recorder's name for a download
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


class FakeTelegram:
    """A Bot API server of one bot, and the citizens who write to it.

    ``flood_limits``: answer 429 when a send goes over them (off by default, so that
    tests are deterministic; :meth:`flood` scripts a 429 instead). ``clock``: the
    seconds of dates and of the flood limits. ``webhook_attempts``/``webhook_backoff``:
    how often and how patiently a failing webhook is retried."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "voicebridge_bot",
        bot_name: str = "Voicebridge",
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limits: FloodLimits | None = None,
        clock: Callable[[], float] = time.time,
        first_update_id: int = 100_000_001,
        webhook_attempts: int = 3,
        webhook_backoff: float = 0.5,
        webhook_timeout: float = 10.0,
    ) -> None:
        if not _TOKEN.fullmatch(token):
            raise ValueError("a bot token looks like 123456:ABC-def_ghi")
        self.token = token
        self.host = host
        self._port = port
        self.state = BotState(
            bot_id=int(token.split(":")[0]),
            bot_username=bot_username,
            bot_name=bot_name,
            clock=clock,
            first_update_id=first_update_id,
            flood_limits=flood_limits,
        )
        self._deliverer = Deliverer(
            self.state, attempts=webhook_attempts, backoff=webhook_backoff, timeout=webhook_timeout
        )
        self._runner: web.AppRunner | None = None
        self._poll = 0  # the newest getUpdates call; an older one waiting gets 409
        self._polling = asyncio.Event()  # set while a getUpdates call waits
        self._waiting = 0
        self._closing = False

    # lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_routes(control_routes(self))
        self._closing = False
        await self._deliverer.open()
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        log.info("fake Telegram Bot API listening on %s", self.url)

    async def stop(self) -> None:
        self._closing = True
        await self._deliverer.wake_pollers()
        await self._deliverer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """PTB's ``base_url`` for this server (the token is appended to it)."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        """PTB's ``base_file_url`` for this server."""
        return f"{self.url}/file/bot"

    # tests' API

    def citizen(
        self,
        chat_id: int,
        *,
        first_name: str = "Rosa",
        last_name: str | None = None,
        username: str | None = None,
        user_id: int | None = None,
        title: str | None = None,
        started: bool = False,
    ) -> Citizen:
        """The person writing in chat ``chat_id`` (created on first use). A positive id
        is a private chat with them; a negative one a group they write in (give
        ``user_id``). ``started``: they wrote to the bot before (the bot may write to
        them first; else its sends answer 403 until they write)."""
        chat = self.state.add_chat(
            chat_id,
            user_id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            title=title,
            started=started,
        )
        return Citizen(self.state, chat, self._inject)

    async def inject(self, update: dict[str, Any], *, duplicate: bool = False) -> Delivery:
        """Deliver any update (its ``update_id`` is assigned unless given)."""
        if "update_id" not in update:
            update = {"update_id": self.state.counters.next_update_id(), **update}
        return await self._deliverer.deliver(update, duplicate=duplicate)

    async def settled(self) -> None:
        """Return once the deliveries the fake started by itself (the updates that
        waited for getUpdates, sent to a new webhook) are done."""
        await self._deliverer.settle()

    async def polled(self) -> None:
        """Return once a ``getUpdates`` call is waiting for updates."""
        await self._polling.wait()

    def sent(self, chat_id: int) -> list[Sent]:
        """What the bot sent to ``chat_id``, oldest first."""
        return list(self.state.sent.get(chat_id, []))

    @property
    def requests(self) -> list[Recorded]:
        """Every Bot API request and file download (method ``GET /file``), oldest
        first."""
        return list(self.state.requests)

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.state.requests if r.method.lower() == method.lower()]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as it is now (after edits)."""
        return self.state.messages.get((chat_id, message_id))

    def answer_to(self, callback_query_id: str) -> tuple[bool, str | None]:
        """Whether the bot answered a press, and with which text."""
        query = self.state.queries[callback_query_id]
        return query.answered, query.text

    @property
    def webhook(self) -> Webhook:
        return self.state.webhook

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Updates waiting for ``getUpdates``."""
        return list(self.state.pending)

    def script(
        self,
        *,
        code: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
        methods: Iterable[str] = SEND_METHODS,
    ) -> None:
        """The next ``times`` calls of ``methods`` (to ``chat_id``, or any chat) answer
        this error, before anything else is checked."""
        self.state.scripts.append(
            Script(
                code=code,
                description=description,
                retry_after=retry_after,
                chat_id=chat_id,
                methods=frozenset(methods),
                remaining=times,
            )
        )

    def flood(self, chat_id: int | None = None, *, retry_after: int = 5, times: int = 1) -> None:
        """The next ``times`` sends (to ``chat_id``) answer 429 with ``retry_after``."""
        self.script(
            code=429,
            description=f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            chat_id=chat_id,
            times=times,
        )

    def fail(
        self,
        chat_id: int | None = None,
        *,
        code: int = 500,
        description: str = "Internal Server Error",
        times: int = 1,
    ) -> None:
        """The next ``times`` sends (to ``chat_id``) answer ``code`` (a 5xx by default)."""
        self.script(code=code, description=description, chat_id=chat_id, times=times)

    # HTTP

    async def _inject(self, update: dict[str, Any], duplicate: bool) -> Delivery:
        return await self._deliverer.deliver(update, duplicate=duplicate)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        files: dict[str, bytes] = {}
        params: Params | None = None
        try:
            self._check_token(request.match_info["token"])
            values, files = await _read(request)
            params = Params(values, files)
            handler = HANDLERS.get(method.lower())
            if method.lower() == "getupdates":
                body = await self._get_updates(params)
            elif handler is None:
                raise not_found()
            else:
                body = handler(self.state, params)
                if method.lower() == "setwebhook":
                    self._deliverer.webhook_changed()
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        self.state.requests.append(
            Recorded(
                method=method,
                params=params.values if params is not None else {},
                files=tuple(files),
                content_type=request.content_type,
                status=status,
                description=None if status == 200 else str(body.get("description")),
            )
        )
        return web.json_response(body, status=status)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        stored = self.state.paths.get(path)
        try:
            self._check_token(request.match_info["token"])
            if stored is None:
                raise not_found()
        except ApiError as error:
            self._record_file(request, path, error.code)
            return web.json_response(error.body(), status=error.code)
        self._record_file(request, path, 200)
        if stored.declare_size:
            return web.Response(body=stored.data, content_type="image/jpeg")
        # a file of undeclared size comes chunked, without Content-Length
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(stored.data), FILE_CHUNK):
            await response.write(stored.data[start : start + FILE_CHUNK])
        await response.write_eof()
        return response

    def _record_file(self, request: web.Request, path: str, status: int) -> None:
        self.state.requests.append(
            Recorded(
                method=FILE_DOWNLOAD,
                params={"file_path": path},
                files=(),
                content_type=request.content_type,
                status=status,
                description=None if status == 200 else "Not Found",
            )
        )

    def _check_token(self, token: str) -> None:
        if token != self.token:
            raise unauthorized() if _TOKEN.fullmatch(token) else not_found()

    async def _get_updates(self, params: Params) -> dict[str, Any]:
        state = self.state
        if state.webhook.url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.integer("offset")
        limit = min(100, max(1, params.integer("limit", 100) or 100))
        timeout = max(0, params.integer("timeout", 0) or 0)
        allowed = params.object("allowed_updates")
        if isinstance(allowed, list):
            state.webhook.allowed_updates = tuple(str(kind) for kind in allowed)
        if offset is not None:
            if offset < 0:
                del state.pending[: max(0, len(state.pending) + offset)]
            else:
                state.pending[:] = [u for u in state.pending if int(u["update_id"]) >= offset]
        self._poll += 1
        mine = self._poll
        await self._deliverer.wake_pollers()  # an older poll still waiting ends in 409
        if not state.pending and timeout > 0 and not self._closing:
            await self._wait_for_updates(mine, timeout)
        if self._poll != mine:
            raise ApiError(409, CONFLICT_POLL)
        return ok(state.pending[:limit])

    async def _wait_for_updates(self, mine: int, seconds: int) -> None:
        """Until an update arrives, a newer poll starts, the server stops, or
        ``seconds`` pass."""
        arrived = self._deliverer.arrived
        self._waiting += 1
        self._polling.set()
        try:
            async with arrived:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        arrived.wait_for(
                            lambda: bool(self.state.pending) or self._poll != mine or self._closing
                        ),
                        seconds,
                    )
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._polling.clear()


async def _read(request: web.Request) -> tuple[dict[str, object], dict[str, bytes]]:
    """The call's parameters: the query string, then the body's fields over them."""
    values: dict[str, object] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.method not in ("POST", "PUT") or not request.body_exists:
        return values, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: can't parse JSON")
        values.update(body)
        return values, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
        elif isinstance(value, bytes | bytearray):
            values[name] = bytes(value).decode("utf-8", "replace")
        else:
            values[name] = value
    return values, files
