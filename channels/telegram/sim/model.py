"""The fake Bot API's state (chats, messages, files, button presses, scripted errors)
and the values it hands to tests (what the bot sent, every request, each delivery).

Ids are consistent as Telegram's are (CHANNELS.md, "Telegram Bot API fake", point 3):
``message_id`` counts per chat, shared by the citizen's and the bot's messages;
``update_id`` increases by one per update; dates are epoch seconds of the fake's clock.
"""

from dataclasses import dataclass, field
from typing import Any

# the bot's messages: scripted errors apply to these unless told otherwise
SEND_METHODS = frozenset({"sendMessage", "sendLocation", "sendPhoto"})

# the update kinds Telegram sends when allowed_updates is empty (``_bot.py`` L4856-4867)
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class SimulationError(Exception):
    """A citizen asked to do what a Telegram client would not let them (press a button
    that is not there, write while blocking the bot)."""


@dataclass
class ChatState:
    """A chat with one citizen (private, positive id) or a group (negative id) in which
    the citizen writes."""

    id: int
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    title: str | None = None  # groups
    started: bool = False  # the citizen wrote to the bot: the bot may write back
    blocked: bool = False
    last_message_id: int = 0
    chat_instance: str = ""
    live_message_id: int | None = None  # the last live location, which moves edit

    @property
    def private(self) -> bool:
        return self.id > 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def user_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "es",
        }
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        return user

    def chat_json(self) -> dict[str, Any]:
        if not self.private:
            return {"id": self.id, "title": self.title or f"Grupo {self.id}", "type": "group"}
        chat: dict[str, Any] = {"id": self.id, "first_name": self.first_name, "type": "private"}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes
    declare_size: bool = True  # getFile tells file_size (Telegram may leave it out)


@dataclass
class Query:
    """A button press the bot has to answer."""

    chat_id: int
    answered: bool = False
    text: str | None = None
    show_alert: bool = False


@dataclass
class Script:
    """The next ``remaining`` calls of ``methods`` (to ``chat_id``, or any chat) fail."""

    code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    methods: frozenset[str]
    remaining: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Sent:
    """A message the bot sent (``sendMessage``, ``sendLocation``, ``sendPhoto``)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: dict[str, Any] | None  # as the bot sent it, decoded
    message: dict[str, Any]  # the Message the fake answered

    @property
    def buttons(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """The inline keyboard's rows of ``(label, callback_data)``."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return tuple(
            tuple((str(b.get("text")), str(b.get("callback_data"))) for b in row) for row in rows
        )

    @property
    def asks_location(self) -> bool:
        """A reply keyboard with a ``request_location`` button came with it."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return any(
            isinstance(button, dict) and button.get("request_location")
            for row in rows
            for button in row
        )

    def json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "reply_markup": self.reply_markup,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Recorded:
    """One request to the Bot API, as the fake read it, and its answer's status."""

    method: str
    params: dict[str, Any]
    files: tuple[str, ...]  # names of the uploaded parts
    content_type: str
    status: int
    description: str | None  # the error's, when status is not 200

    def json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "params": self.params,
            "files": list(self.files),
            "content_type": self.content_type,
            "status": self.status,
            "description": self.description,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    """One POST of an update to the webhook: the status answered, or why none was."""

    status: int | None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """What became of an injected update.

    ``outcome``: ``delivered`` (a webhook answered 2xx), ``failed`` (every attempt
    failed), ``queued`` (no webhook: waiting for ``getUpdates``), ``filtered`` (the bot's
    ``allowed_updates`` exclude its kind: Telegram does not send it)."""

    update_id: int
    update: dict[str, Any]
    outcome: str
    attempts: tuple[Attempt, ...] = ()
    duplicates: tuple[Attempt, ...] = ()  # the same update POSTed again, when asked

    @property
    def status(self) -> int | None:
        """The webhook's last answer."""
        return self.attempts[-1].status if self.attempts else None

    def json(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "update": self.update,
            "outcome": self.outcome,
            "attempts": [{"status": a.status, "error": a.error} for a in self.attempts],
            "duplicates": [{"status": a.status, "error": a.error} for a in self.duplicates],
        }


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: tuple[str, ...] = ()
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Counters:
    update_id: int
    file: int = 0
    query: int = 0

    def next_update_id(self) -> int:
        self.update_id += 1
        return self.update_id


@dataclass
class FloodClock:
    """Times of the successful sends, for the automatic 429 (when on)."""

    per_chat: dict[int, list[float]] = field(default_factory=dict)
    overall: list[float] = field(default_factory=list)
