"""What the bot sends: messages with their keyboards, answers to button presses, file
downloads, the webhook's registration and a polling read, through PTB's ``Bot``.

Every failure is raised as :class:`~channels.telegram.errors.Retryable` or
:class:`~channels.telegram.errors.Permanent` (``from`` PTB's error), so a send job needs
to know no PTB exception. ``api_url`` follows PTB's ``base_url`` convention
(``https://api.telegram.org/bot``: the token is appended, or put where ``{token}`` is);
the file URL is derived from it (``.../bot`` -> ``.../file/bot``) unless given.

Lifecycle: ``async with TelegramSender(...) as sender``. Entering calls ``getMe`` (PTB's
``Bot.initialize``: checks the token, learns the bot's username) unless
``check_token=False``, which only opens the HTTP clients: a ``Bot`` needs no
``initialize`` to call methods (``telegram/_bot.py`` 22.8 checks nothing before
``_post``; only ``Bot.bot``/``username`` need it), so a one-shot sender from an RQ job
(:func:`send_text_sync`) makes one HTTP request, not two.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from telegram import Bot, Message, ReplyKeyboardRemove, User
from telegram.error import BadRequest, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from channels.telegram.errors import (
    FileTooLarge,
    Permanent,
    Retryable,
    SendFailed,
    classify,
)
from channels.telegram.keyboards import ButtonRows, inline_keyboard, location_keyboard
from channels.telegram.transport import FloodAwareRequest

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_LOCATION_LABEL = "📍 Enviar mi ubicación"


def file_url_for(api_url: str) -> str:
    """The file-download URL that goes with a Bot API URL: the last ``/bot`` becomes
    ``/file/bot`` (``http://127.0.0.1:8081/bot`` -> ``http://127.0.0.1:8081/file/bot``)."""
    head, found, tail = api_url.rpartition("/bot")
    if not found:
        raise ValueError(f"the Bot API URL {api_url!r} has no /bot part")
    return f"{head}/file/bot{tail}"


@dataclass(frozen=True, kw_only=True, slots=True)
class SentMessage:
    chat_id: int
    message_id: int
    date: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookState:
    url: str  # "" when no webhook is set
    pending_update_count: int
    last_error_message: str | None
    allowed_updates: tuple[str, ...]


class TelegramSender:
    """The bot's outbound side. ``request``/``updates_request``: PTB transports, to
    inject (tests, an aiohttp-based one); by default PTB's httpx ones. Either is wrapped
    in :class:`~channels.telegram.transport.FloodAwareRequest` (429 without PTB's
    deprecated ``RetryAfter`` attribute)."""

    def __init__(
        self,
        token: str,
        api_url: str | None = None,
        *,
        file_url: str | None = None,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        check_token: bool = True,
        download_timeout: float = 30.0,
    ) -> None:
        api = api_url or DEFAULT_API_URL
        self._token = token
        self._check_token = check_token
        self._download_timeout = download_timeout
        self._request = _flood_aware(request or HTTPXRequest())
        self._updates_request = _flood_aware(
            updates_request or HTTPXRequest(connection_pool_size=1)
        )
        self._bot = Bot(
            token,
            base_url=api,
            base_file_url=file_url or file_url_for(api),
            request=self._request,
            get_updates_request=self._updates_request,
        )

    async def __aenter__(self) -> Self:
        await asyncio.gather(self._request.initialize(), self._updates_request.initialize())
        if self._check_token:
            try:
                await self._bot.initialize()
            except BaseException as exc:
                await self.close()
                if isinstance(exc, Exception):
                    raise classify(exc, secret=self._token) from exc
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._bot.shutdown()
        await asyncio.gather(self._request.shutdown(), self._updates_request.shutdown())

    @property
    def me(self) -> User:
        """The bot's own user (after entering with ``check_token``)."""
        return self._bot.bot

    @property
    def bot(self) -> Bot:
        """PTB's bot, for what this class does not wrap (an ``Application`` of the
        integrator's may share it)."""
        return self._bot

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: ButtonRows | None = None,
        request_location: bool = False,
        location_label: str = DEFAULT_LOCATION_LABEL,
        remove_keyboard: bool = False,
    ) -> SentMessage:
        """Send ``text``, with an inline keyboard (``buttons``), or a keyboard whose one
        button shares the location (``request_location``), or removing such a keyboard
        (``remove_keyboard``): at most one of the three."""
        if sum((buttons is not None, request_location, remove_keyboard)) > 1:
            raise ValueError("buttons, request_location and remove_keyboard exclude each other")
        markup: Any = None
        if buttons is not None:
            markup = inline_keyboard(buttons)
        elif request_location:
            markup = location_keyboard(location_label)
        elif remove_keyboard:
            markup = ReplyKeyboardRemove()
        message = await self._call(
            "sendMessage", self._bot.send_message(chat_id, text, reply_markup=markup)
        )
        return _sent(message)

    async def send_location(self, chat_id: int, lat: float, lon: float) -> SentMessage:
        message = await self._call(
            "sendLocation", self._bot.send_location(chat_id, latitude=lat, longitude=lon)
        )
        return _sent(message)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, buttons: ButtonRows | None = None
    ) -> None:
        """Replace a message's text (and its inline keyboard: none unless ``buttons``)."""
        markup = inline_keyboard(buttons) if buttons is not None else None
        await self._unless_unchanged(
            "editMessageText",
            self._bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            ),
        )

    async def edit_buttons(
        self, chat_id: int, message_id: int, buttons: ButtonRows | None = None
    ) -> None:
        """Replace a message's inline keyboard; ``None`` removes it (after a press)."""
        markup = inline_keyboard(buttons) if buttons is not None else None
        await self._unless_unchanged(
            "editMessageReplyMarkup",
            self._bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=markup
            ),
        )

    async def answer_button(
        self, callback_query_id: str, text: str | None = None, *, alert: bool = False
    ) -> bool:
        """Stop the spinner of a pressed button, showing ``text`` briefly (or in a dialog
        with ``alert``). False when the press is too old to answer (Telegram's "query is
        too old"): nothing to retry."""
        call = self._bot.answer_callback_query(callback_query_id, text=text, show_alert=alert)
        return await self._tolerating("answerCallbackQuery", call, "query is too old")

    async def get_file(self, file_id: str, max_bytes: int) -> bytes:
        """The bytes of a file a citizen sent (a photo's ``file_id``), at most
        ``max_bytes``: refused before downloading when Telegram declares a larger size,
        cut off once the download passes the cap (:class:`FileTooLarge`)."""
        file = await self._call("getFile", self._bot.get_file(file_id))
        if file.file_size is not None and file.file_size > max_bytes:
            raise FileTooLarge(limit=max_bytes, size=file.file_size)
        if not file.file_path:
            raise Permanent("Telegram no dio la ruta del archivo")
        return await self._download(file.file_path, max_bytes)

    async def set_webhook(
        self,
        url: str,
        secret: str,
        allowed_updates: Sequence[str] | None = None,
        *,
        max_connections: int | None = None,
        drop_pending_updates: bool = False,
    ) -> None:
        """Have Telegram POST every update to ``url`` with header
        ``X-Telegram-Bot-Api-Secret-Token: secret``. ``allowed_updates``: None keeps
        Telegram's default (everything but ``chat_member`` and reactions), which
        includes ``my_chat_member`` (blocks)."""
        await self._call(
            "setWebhook",
            self._bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(allowed_updates) if allowed_updates is not None else None,
                max_connections=max_connections,
                drop_pending_updates=drop_pending_updates,
            ),
        )

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> None:
        await self._call(
            "deleteWebhook", self._bot.delete_webhook(drop_pending_updates=drop_pending_updates)
        )

    async def webhook_state(self) -> WebhookState:
        info = await self._call("getWebhookInfo", self._bot.get_webhook_info())
        return WebhookState(
            url=info.url,
            pending_update_count=info.pending_update_count,
            last_error_message=info.last_error_message,
            allowed_updates=tuple(info.allowed_updates or ()),
        )

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - the Bot API's long-poll seconds, sent to the server
        *,
        limit: int = 100,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """One long poll (polling mode, no webhook): the updates from ``offset`` on (which
        confirms those before it), waiting up to ``timeout`` seconds for one. They come
        back as JSON objects (PTB's ``to_json`` of what the server sent: the same fields,
        dates as epoch seconds, plus PTB's default flags such as
        ``"delete_chat_photo": false``), to go through the same intake as a webhook's
        body."""
        updates = await self._call(
            "getUpdates",
            self._bot.get_updates(
                offset=offset,
                timeout=timeout,
                limit=limit,
                allowed_updates=list(allowed_updates) if allowed_updates is not None else None,
            ),
        )
        return [json.loads(update.to_json()) for update in updates]

    async def _call(self, method: str, call: Awaitable[T]) -> T:
        """Await a PTB call, raising its failure classified."""
        try:
            return await call
        except TelegramError as exc:
            raise self._classified(method, exc) from exc

    async def _tolerating(self, method: str, call: Awaitable[object], fragment: str) -> bool:
        """Await a PTB call; False if it failed with a 400 whose description contains
        ``fragment`` (no failure for this call), else its failure classified."""
        try:
            await call
        except BadRequest as exc:
            if fragment in exc.message.lower():
                log.debug("%s: %s", method, exc.message)
                return False
            raise self._classified(method, exc) from exc
        except TelegramError as exc:
            raise self._classified(method, exc) from exc
        return True

    def _classified(self, method: str, exc: TelegramError) -> Retryable | Permanent:
        error = classify(exc, secret=self._token)
        log.debug("%s failed: %s", method, error.reason)
        return error

    async def _unless_unchanged(self, method: str, call: Awaitable[object]) -> None:
        """An edit that changes nothing is done already (Telegram's "message is not
        modified")."""
        await self._tolerating(method, call, "message is not modified")

    async def _download(self, url: str, max_bytes: int) -> bytes:
        try:
            async with (
                httpx.AsyncClient(timeout=self._download_timeout) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != httpx.codes.OK:
                    raise _download_failure(response.status_code)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FileTooLarge(limit=max_bytes, size=int(declared))
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FileTooLarge(limit=max_bytes, size=None)
                return bytes(body)
        except httpx.HTTPError as exc:
            raise Retryable(
                f"no se pudo descargar el archivo de Telegram: {type(exc).__name__}"
            ) from exc


def _flood_aware(request: BaseRequest) -> FloodAwareRequest:
    return request if isinstance(request, FloodAwareRequest) else FloodAwareRequest(request)


def _download_failure(status: int) -> SendFailed:
    if status == httpx.codes.NOT_FOUND:
        return Permanent("el archivo ya no está disponible en Telegram (404)")
    if status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return Retryable(f"Telegram no entregó el archivo ({status})")
    return Permanent(f"Telegram rechazó la descarga del archivo ({status})")


def _sent(message: Message) -> SentMessage:
    return SentMessage(chat_id=message.chat.id, message_id=message.message_id, date=message.date)


def send_text_sync(
    token: str,
    api_url: str | None,
    chat_id: int,
    text: str,
    *,
    buttons: ButtonRows | None = None,
    request_location: bool = False,
    location_label: str = DEFAULT_LOCATION_LABEL,
    remove_keyboard: bool = False,
) -> SentMessage:
    """:meth:`TelegramSender.send_text` for a synchronous caller (an RQ job): a fresh
    sender in ``asyncio.run``, without ``getMe`` (one HTTP request per call; a new HTTP
    connection each time). Raises :class:`Retryable` / :class:`Permanent`. Not from inside
    a running event loop (``asyncio.run`` refuses)."""

    async def send() -> SentMessage:
        async with TelegramSender(token, api_url, check_token=False) as sender:
            return await sender.send_text(
                chat_id,
                text,
                buttons=buttons,
                request_location=request_location,
                location_label=location_label,
                remove_keyboard=remove_keyboard,
            )

    return asyncio.run(send())


def answer_button_sync(
    token: str, api_url: str | None, callback_query_id: str, text: str | None = None
) -> bool:
    """:meth:`TelegramSender.answer_button` for a synchronous caller (an RQ job), like
    :func:`send_text_sync`."""

    async def answer() -> bool:
        async with TelegramSender(token, api_url, check_token=False) as sender:
            return await sender.answer_button(callback_query_id, text or None)

    return asyncio.run(answer())
