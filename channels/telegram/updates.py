"""A raw Telegram update (the JSON object of a webhook POST or of ``getUpdates``) read
into the channel's own values, one kind per thing a citizen or a responder can do.

PTB's ``Update.de_json`` reads the update; :mod:`channels.telegram.shapes` first checks
the fields the flows read, so that a malformed update raises :class:`BadUpdate` naming
the field (issue 9, point 9) instead of a ``TypeError`` about a Python class. Pure: no
I/O, no logging.

Shapes (CHANNELS.md A7): a location is ``message.location`` (``horizontal_accuracy``
optional); a live location's moves arrive as ``edited_message``; a venue carries both
``location`` and ``venue``; ``message.photo`` lists the sizes of one picture; a button
press is a ``callback_query`` with the bot's message; blocking and unblocking the bot is
``my_chat_member`` with the bot's new status ``kicked`` or ``member``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, TypedDict

from telegram import (
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    Location,
    Message,
    PhotoSize,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus

from channels.telegram.errors import BadUpdate
from channels.telegram.shapes import UPDATE_PARTS, check


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatMessage:
    """What every kind read from a message shares."""

    update_id: int
    chat_id: int  # negative for groups
    user_id: int | None  # the sender; None only for messages sent on behalf of a chat
    message_id: int
    date: datetime  # UTC
    first_name: str | None  # the sender's (or, failing that, the chat's) first name


@dataclass(frozen=True, kw_only=True, slots=True)
class Text(ChatMessage):
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Command(ChatMessage):
    """``/estado LIM-2026-000123``: ``command="estado"``, ``args=("LIM-2026-000123",)``.
    The command is lower-cased, without its ``/`` and its ``@botname``."""

    command: str
    args: tuple[str, ...]
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedLocation(ChatMessage):
    lat: float
    lon: float
    accuracy: float | None  # metres, when the phone said
    live: bool = False  # a live location (its first message or a later move)
    place: str | None = None  # a venue's "title, address"


@dataclass(frozen=True, kw_only=True, slots=True)
class Photo(ChatMessage):
    """The largest size of the picture; fetch it with ``TelegramSender.get_file``."""

    file_id: str
    file_unique_id: str
    file_size: int | None
    width: int
    height: int
    caption: str | None
    media_group_id: str | None = None  # shared by the pictures of one album


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedContact(ChatMessage):
    phone_number: str  # as Telegram gave it, not normalised
    contact_user_id: int | None  # set when the contact is a Telegram user


@dataclass(frozen=True, kw_only=True, slots=True)
class Unsupported(ChatMessage):
    """A message of a kind the flows do not read (sticker, voice note, document...):
    worth a reply saying what the bot understands."""

    kind: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Button:
    """A press on an inline keyboard's button. Answer it (``answer_button``) or the
    citizen's client shows a spinner."""

    update_id: int
    callback_query_id: str
    chat_id: int
    user_id: int
    message_id: int
    data: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Blocked:
    """The bot can no longer write to the chat: the citizen blocked it, or the bot was
    removed from the group."""

    update_id: int
    chat_id: int
    user_id: int
    date: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Unblocked:
    update_id: int
    chat_id: int
    user_id: int
    date: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Ignored:
    """An update the flows have nothing to do with. ``why`` is Spanish, for the log."""

    update_id: int
    why: str


Parsed: TypeAlias = (
    Text
    | Command
    | SharedLocation
    | Photo
    | SharedContact
    | Unsupported
    | Button
    | Blocked
    | Unblocked
    | Ignored
)

# a command as Telegram marks it (bot_command entity): 1-32 letters, digits, underscores
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")
# message fields of kinds the flows do not read, in the order they are named
_UNSUPPORTED = (
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "poll",
    "dice",
    "game",
    "story",
    "paid_media",
    "checklist",
)
_GONE = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}


def update_id_of(raw: object) -> int:
    """The ``update_id`` of a raw update, without reading the rest (the dedup key)."""
    if not isinstance(raw, dict):
        raise BadUpdate("update", "la actualización debe ser un objeto JSON")
    value = raw.get("update_id")
    if value is None:
        raise BadUpdate("update_id", "falta este campo obligatorio")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadUpdate("update_id", "debe ser un entero no negativo")
    return value


def parse_update(raw: object, *, bot_username: str | None = None) -> Parsed:
    """Read a raw update. ``bot_username`` (without ``@``): a command addressed to
    another bot (``/start@otro_bot`` in a group) is ignored; None accepts any."""
    update_id = update_id_of(raw)
    if not isinstance(raw, dict):  # update_id_of said so already; this tells mypy
        raise BadUpdate("update", "la actualización debe ser un objeto JSON")
    for part, shape in UPDATE_PARTS.items():
        if raw.get(part) is not None:
            check(raw[part], shape, part)
    try:
        update = Update.de_json(raw, None)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise BadUpdate(_field_of(exc), "falta un campo obligatorio o tiene otro tipo") from exc
    if update.message is not None:
        return _from_message(update_id, update.message, raw["message"], bot_username)
    if update.edited_message is not None:
        edited = update.edited_message
        if edited.location is not None:
            return _location(update_id, edited, edited.location, live=True)
        return Ignored(update_id=update_id, why="mensaje editado")
    if update.callback_query is not None:
        return _button(update_id, update.callback_query)
    if update.my_chat_member is not None:
        return _membership(update_id, update.my_chat_member)
    kinds = sorted(key for key in raw if key != "update_id")
    return Ignored(update_id=update_id, why=f"tipo de actualización no usado: {', '.join(kinds)}")


def chat_key(parsed: Parsed) -> str | None:
    """The chat's id as text, the key that keeps one chat's updates in order; None for
    an update that belongs to no chat."""
    if isinstance(parsed, Ignored):
        return None
    return str(parsed.chat_id)


def _field_of(exc: BaseException) -> str:
    """The field a PTB failure names: ``PhotoSize.__init__() missing 1 required
    positional argument: 'file_unique_id'`` gives ``PhotoSize.file_unique_id``."""
    text = str(exc)
    found = re.search(r"(\w+)\.__init__\(\) missing .*?'(\w+)'", text)
    if found:
        return f"{found.group(1)}.{found.group(2)}"
    if isinstance(exc, KeyError):
        return str(exc.args[0]) if exc.args else "update"
    return "update"


class _Common(TypedDict):
    update_id: int
    chat_id: int
    user_id: int | None
    message_id: int
    date: datetime
    first_name: str | None


class _Membership(TypedDict):
    update_id: int
    chat_id: int
    user_id: int
    date: datetime


def _common(update_id: int, message: Message) -> _Common:
    user: User | None = message.from_user
    chat: Chat = message.chat
    return {
        "update_id": update_id,
        "chat_id": chat.id,
        "user_id": user.id if user is not None else None,
        "message_id": message.message_id,
        "date": message.date,
        "first_name": user.first_name if user is not None else chat.first_name or chat.title,
    }


def _from_message(
    update_id: int, message: Message, raw: dict[str, object], bot_username: str | None
) -> Parsed:
    common = _common(update_id, message)
    if message.text is not None:
        command = _COMMAND.match(message.text)
        if command is None:
            return Text(text=message.text, **common)
        addressee = command.group(2)
        if addressee and bot_username and addressee.lower() != bot_username.lower():
            return Ignored(update_id=update_id, why=f"comando para otro bot: @{addressee}")
        return Command(
            command=command.group(1).lower(),
            args=tuple(message.text[command.end() :].split()),
            text=message.text,
            **common,
        )
    if message.location is not None:
        # from the raw update: PTB's Location.live_period warns (a deprecated int)
        raw_location = raw.get("location")
        live = isinstance(raw_location, dict) and raw_location.get("live_period") is not None
        return _location(update_id, message, message.location, live=live)
    if message.photo:
        largest = max(message.photo, key=_area)
        return Photo(
            file_id=largest.file_id,
            file_unique_id=largest.file_unique_id,
            file_size=largest.file_size,
            width=largest.width,
            height=largest.height,
            caption=message.caption,
            media_group_id=message.media_group_id,
            **common,
        )
    if message.contact is not None:
        return SharedContact(
            phone_number=message.contact.phone_number,
            contact_user_id=message.contact.user_id,
            **common,
        )
    for kind in _UNSUPPORTED:
        if raw.get(kind) is not None:
            return Unsupported(kind=kind, **common)
    return Ignored(update_id=update_id, why="mensaje de servicio")


def _area(size: PhotoSize) -> tuple[int, int]:
    return size.width * size.height, size.file_size or 0


def _location(
    update_id: int, message: Message, location: Location, *, live: bool
) -> SharedLocation:
    venue = message.venue
    return SharedLocation(
        lat=location.latitude,
        lon=location.longitude,
        accuracy=location.horizontal_accuracy,
        live=live,
        place=f"{venue.title}, {venue.address}" if venue is not None else None,
        **_common(update_id, message),
    )


def _button(update_id: int, query: CallbackQuery) -> Parsed:
    if query.message is None:
        return Ignored(update_id=update_id, why="botón de un mensaje en línea (inline)")
    if query.data is None:
        return Ignored(update_id=update_id, why="botón sin datos (juego)")
    return Button(
        update_id=update_id,
        callback_query_id=query.id,
        chat_id=query.message.chat.id,
        user_id=query.from_user.id,
        message_id=query.message.message_id,
        data=query.data,
    )


def _membership(update_id: int, change: ChatMemberUpdated) -> Parsed:
    old, new = change.old_chat_member.status, change.new_chat_member.status
    values: _Membership = {
        "update_id": update_id,
        "chat_id": change.chat.id,
        "user_id": change.from_user.id,
        "date": change.date,
    }
    if new in _GONE and old not in _GONE:
        return Blocked(**values)
    if old in _GONE and new not in _GONE:
        return Unblocked(**values)
    return Ignored(update_id=update_id, why=f"cambio de estado del bot: {old} -> {new}")
