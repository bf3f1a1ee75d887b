"""The fake's control API (not Telegram's): what the tests' Python API does, over HTTP,
so that a command in another process (``voicebridge fake-telegram ...``, the demo of
``make run``) can play citizens and read what the bot sent.

- ``GET  /_fake``: the bot, its URLs, the webhook, the chats;
- ``POST /_fake/chats/{chat_id}`` ``{"first_name", "last_name", "username", "user_id",
  "title", "started"}``: create or describe a chat;
- ``POST /_fake/chats/{chat_id}/{action}``: the citizen acts; the answer is the
  delivery (``update_id``, ``update``, ``outcome``, ``attempts``). Actions and their
  JSON fields: ``says`` {text}, ``starts`` {payload?}, ``command`` {name, args?},
  ``location`` {lat, lon, accuracy?, live_period?}, ``moves`` {lat, lon},
  ``venue`` {lat, lon, title, address}, ``contact`` {phone_number},
  ``photo`` {data_base64? | size?, caption?, width?, height?},
  ``presses`` {button, message_id?}, ``blocks``, ``unblocks``; each takes
  ``duplicate`` (deliver the update twice) where the Python API does;
- ``GET  /_fake/chats/{chat_id}/sent``: what the bot sent there;
- ``GET  /_fake/requests``: every Bot API request;
- ``POST /_fake/scripts`` {code, description?, retry_after?, chat_id?, times?,
  methods?}: the next sends fail so;
- ``POST /_fake/updates`` {update, duplicate?}: deliver any update.

Errors answer ``{"error": "..."}``: 400 for a bad body, 404 for an unknown action, 409
for what a Telegram client would not let the citizen do.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.telegram.sim.citizens import DEFAULT_PHOTO, Citizen
from channels.telegram.sim.model import SEND_METHODS, Delivery, SimulationError

if TYPE_CHECKING:
    from channels.telegram.sim.server import FakeTelegram

Action = Callable[[Citizen, "Body"], Awaitable[Delivery]]


class BadBody(Exception):
    pass


class Body:
    """A control request's JSON object, read field by field."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if not isinstance(value, str) or not value:
            raise BadBody(f"{name}: a non-empty string is required")
        return value

    def opt_text(self, name: str) -> str | None:
        return self.text(name) if self.values.get(name) is not None else None

    def number(self, name: str) -> float:
        value = self.values.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise BadBody(f"{name}: a number is required")
        return float(value)

    def opt_number(self, name: str) -> float | None:
        return self.number(name) if self.values.get(name) is not None else None

    def opt_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadBody(f"{name}: an integer is required")
        return value

    def flag(self, name: str) -> bool:
        return self.values.get(name) is True

    def photo(self) -> bytes:
        encoded = self.values.get("data_base64")
        if encoded is not None:
            if not isinstance(encoded, str):
                raise BadBody("data_base64: a string is required")
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise BadBody("data_base64: not base64") from None
        size = self.opt_int("size")
        if size is None:
            return DEFAULT_PHOTO
        if not 1 <= size <= 30_000_000:
            raise BadBody("size: from 1 to 30000000 bytes")
        return (DEFAULT_PHOTO * (size // len(DEFAULT_PHOTO) + 1))[:size]


def _live_period(body: Body) -> int | None:
    return body.opt_int("live_period")


ACTIONS: dict[str, Action] = {
    "says": lambda c, b: c.says(b.text("text"), duplicate=b.flag("duplicate")),
    "starts": lambda c, b: c.starts(b.opt_text("payload")),
    "command": lambda c, b: c.command(
        b.text("name"), *[str(arg) for arg in b.values.get("args") or []]
    ),
    "location": lambda c, b: c.shares_location(
        b.number("lat"),
        b.number("lon"),
        accuracy=b.opt_number("accuracy"),
        live_period=_live_period(b),
        duplicate=b.flag("duplicate"),
    ),
    "moves": lambda c, b: c.moves_to(b.number("lat"), b.number("lon")),
    "venue": lambda c, b: c.shares_venue(
        b.number("lat"), b.number("lon"), b.text("title"), b.text("address")
    ),
    "contact": lambda c, b: c.shares_contact(b.text("phone_number")),
    "photo": lambda c, b: c.sends_photo(
        b.photo(),
        caption=b.opt_text("caption"),
        width=b.opt_int("width") or 1280,
        height=b.opt_int("height") or 960,
        duplicate=b.flag("duplicate"),
    ),
    "presses": lambda c, b: c.presses(
        b.text("button"), message_id=b.opt_int("message_id"), duplicate=b.flag("duplicate")
    ),
    "blocks": lambda c, b: c.blocks(),
    "unblocks": lambda c, b: c.unblocks(),
}


def control_routes(fake: "FakeTelegram") -> list[web.RouteDef]:
    async def overview(request: web.Request) -> web.Response:
        hook = fake.webhook
        return web.json_response(
            {
                "bot_username": fake.state.bot_username,
                "api_url": fake.api_url,
                "file_url": fake.file_url,
                "webhook": {
                    "url": hook.url,
                    "allowed_updates": list(hook.allowed_updates),
                    "last_error_message": hook.last_error_message,
                },
                "pending_updates": len(fake.pending),
                "chats": [
                    {"chat_id": chat.id, "first_name": chat.first_name, "blocked": chat.blocked}
                    for chat in fake.state.chats.values()
                ],
            }
        )

    async def chat(request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id = _chat_id(request)
        citizen = fake.citizen(
            chat_id,
            first_name=body.opt_text("first_name") or "Rosa",
            last_name=body.opt_text("last_name"),
            username=body.opt_text("username"),
            user_id=body.opt_int("user_id"),
            title=body.opt_text("title"),
            started=body.flag("started"),
        )
        return web.json_response({"chat_id": citizen.chat_id, "user_id": citizen.user_id})

    async def act(request: web.Request) -> web.Response:
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            return _error(404, f"unknown action; one of: {', '.join(sorted(ACTIONS))}")
        body = await _body(request)
        citizen = fake.citizen(_chat_id(request), first_name=body.opt_text("first_name") or "Rosa")
        try:
            delivery = await action(citizen, body)
        except SimulationError as exc:
            return _error(409, str(exc))
        return web.json_response(delivery.json())

    async def sent(request: web.Request) -> web.Response:
        return web.json_response([s.json() for s in fake.sent(_chat_id(request))])

    async def requests(request: web.Request) -> web.Response:
        return web.json_response([r.json() for r in fake.requests])

    async def scripts(request: web.Request) -> web.Response:
        body = await _body(request)
        code = body.opt_int("code") or 429
        retry_after = body.opt_int("retry_after")
        if code == 429 and retry_after is None:
            retry_after = 5
        methods = body.values.get("methods") or sorted(SEND_METHODS)
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise BadBody("methods: a list of method names is required")
        fake.script(
            code=code,
            description=body.opt_text("description")
            or (f"Too Many Requests: retry after {retry_after}" if code == 429 else "Error"),
            retry_after=retry_after,
            chat_id=body.opt_int("chat_id"),
            times=body.opt_int("times") or 1,
            methods=methods,
        )
        return web.json_response({"ok": True})

    async def updates(request: web.Request) -> web.Response:
        body = await _body(request)
        update = body.values.get("update")
        if not isinstance(update, dict):
            raise BadBody("update: a JSON object is required")
        delivery = await fake.inject(update, duplicate=body.flag("duplicate"))
        return web.json_response(delivery.json())

    return [
        web.get("/_fake", overview),
        web.post("/_fake/chats/{chat_id}", _guarded(chat)),
        web.post("/_fake/chats/{chat_id}/{action}", _guarded(act)),
        web.get("/_fake/chats/{chat_id}/sent", _guarded(sent)),
        web.get("/_fake/requests", requests),
        web.post("/_fake/scripts", _guarded(scripts)),
        web.post("/_fake/updates", _guarded(updates)),
    ]


Handler = Callable[[web.Request], Awaitable[web.Response]]


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except BadBody as exc:
            return _error(400, str(exc))

    return guarded


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _chat_id(request: web.Request) -> int:
    try:
        return int(request.match_info["chat_id"])
    except ValueError:
        raise BadBody("chat_id: an integer is required") from None


async def _body(request: web.Request) -> Body:
    if not request.body_exists:
        return Body({})
    try:
        values = await request.json()
    except ValueError:
        raise BadBody("the body must be a JSON object") from None
    if not isinstance(values, dict):
        raise BadBody("the body must be a JSON object")
    return Body(values)
