"""What the fake Bot API knows: its bot, the chats, the messages, the files, the presses
to answer, the scripted errors and the recorder; and the rules every send obeys
(CHANNELS.md, "Telegram Bot API fake", points 3 and 6).
"""

import math
from collections.abc import Callable
from typing import Any

from channels.telegram.limits import FloodLimits, send_delay
from channels.telegram.sim.model import (
    ChatState,
    Counters,
    FloodClock,
    Query,
    Recorded,
    Script,
    Sent,
    StoredFile,
    Webhook,
)
from channels.telegram.sim.wire import ApiError, bad_request, forbidden, too_many_requests

# Telegram's sizes of a received photo: the longest side of each (CHANNELS.md A7)
PHOTO_SIDES = (90, 320, 800, 1280)
MAX_DOWNLOAD = 20_000_000  # getFile refuses larger files ("file is too big")


class BotState:
    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_name: str,
        clock: Callable[[], float],
        first_update_id: int,
        flood_limits: FloodLimits | None,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.clock = clock
        self.flood_limits = flood_limits
        self.counters = Counters(update_id=first_update_id - 1)
        self.chats: dict[int, ChatState] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.by_bot: set[tuple[int, int]] = set()
        self.files: dict[str, StoredFile] = {}
        self.paths: dict[str, StoredFile] = {}
        self.queries: dict[str, Query] = {}
        self.scripts: list[Script] = []
        self.sent: dict[int, list[Sent]] = {}
        self.requests: list[Recorded] = []
        self.webhook = Webhook()
        self.pending: list[dict[str, Any]] = []  # updates waiting for getUpdates
        self.flood = FloodClock()

    def now(self) -> int:
        return int(self.clock())

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def me(self) -> dict[str, Any]:
        """``getMe``'s answer: the bot user with the flags only getMe carries."""
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def add_chat(
        self,
        chat_id: int,
        *,
        user_id: int | None,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        title: str | None = None,
        started: bool = False,
    ) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = ChatState(
                id=chat_id,
                user_id=user_id if user_id is not None else abs(chat_id),
                first_name=first_name,
                last_name=last_name,
                username=username,
                title=title,
                chat_instance=str(-(10**18) - abs(chat_id) * 7919),
            )
            self.chats[chat_id] = chat
        chat.started = chat.started or started
        return chat

    def chat(self, chat_id: int) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def writable(self, chat_id: int) -> ChatState:
        """The chat, if the bot may write to it (Telegram's 400 and 403 otherwise)."""
        chat = self.chat(chat_id)
        if chat.blocked:
            raise forbidden(
                "bot was blocked by the user"
                if chat.private
                else "bot was kicked from the group chat"
            )
        if not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def apply_scripts(self, method: str, chat_id: int | None) -> None:
        for script in self.scripts:
            if script.remaining <= 0 or method not in script.methods:
                continue
            if script.chat_id is not None and script.chat_id != chat_id:
                continue
            script.remaining -= 1
            raise ApiError(script.code, script.description, retry_after=script.retry_after)

    def check_flood(self, chat_id: int) -> None:
        if self.flood_limits is None:
            return
        now = self.clock()
        delay = send_delay(
            now=now,
            chat_id=chat_id,
            chat_sends=self.flood.per_chat.get(chat_id, ()),
            all_sends=self.flood.overall,
            limits=self.flood_limits,
        )
        if delay > 0:
            raise too_many_requests(max(1, math.ceil(delay)))

    def count_send(self, chat_id: int) -> None:
        now = self.clock()
        keep = self.flood_limits.chat_history if self.flood_limits else 60.0
        times = [t for t in self.flood.per_chat.get(chat_id, []) if t > now - keep] + [now]
        self.flood.per_chat[chat_id] = times
        self.flood.overall = [t for t in self.flood.overall if t > now - 1.0] + [now]

    def store(self, chat: ChatState, message: dict[str, Any], *, by_bot: bool) -> None:
        key = (chat.id, int(message["message_id"]))
        self.messages[key] = message
        if by_bot:
            self.by_bot.add(key)

    def record_sent(self, method: str, chat_id: int, message: dict[str, Any], markup: Any) -> None:
        self.sent.setdefault(chat_id, []).append(
            Sent(
                method=method,
                chat_id=chat_id,
                message_id=int(message["message_id"]),
                text=message.get("text") or message.get("caption"),
                reply_markup=markup if isinstance(markup, dict) else None,
                message=message,
            )
        )

    def add_file(self, data: bytes, *, folder: str, suffix: str, declare_size: bool) -> StoredFile:
        self.counters.file += 1
        n = self.counters.file
        stored = StoredFile(
            file_id=f"AgACAgEAAxkBAAI{n:08d}{self.bot_id % 10**6:06d}",
            file_unique_id=f"AQAD{n:06d}",
            path=f"{folder}/file_{n}.{suffix}",
            data=data,
            declare_size=declare_size,
        )
        self.files[stored.file_id] = stored
        self.paths[stored.path] = stored
        return stored

    def photo_sizes(
        self, data: bytes, *, width: int, height: int, declare_size: bool = True
    ) -> list[dict[str, Any]]:
        """The sizes of one picture, small to large, each a downloadable file; the
        largest holds ``data``, the smaller ones a proportional part of it."""
        longest = max(width, height, 1)
        sides = [side for side in PHOTO_SIDES if side < longest] + [longest]
        sizes = []
        for side in sides:
            w, h = max(1, width * side // longest), max(1, height * side // longest)
            part = data if side == longest else data[: max(1, len(data) * side // longest)]
            stored = self.add_file(part, folder="photos", suffix="jpg", declare_size=declare_size)
            size: dict[str, Any] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": w,
                "height": h,
            }
            if declare_size:
                size["file_size"] = len(part)
            sizes.append(size)
        return sizes

    def new_query(self, chat_id: int) -> str:
        self.counters.query += 1
        query_id = str(4_382_000_000_000_000_000 + self.counters.query)
        self.queries[query_id] = Query(chat_id=chat_id)
        return query_id
