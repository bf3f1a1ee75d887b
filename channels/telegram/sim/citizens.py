"""A citizen (or a responder) using Telegram, as the bot sees them: every action builds
the update a real client causes (CHANNELS.md A7; "Telegram Bot API fake", point 4) and
hands it to the fake's delivery, returning what became of it.

    citizen = fake.citizen(51987654321, first_name="Rosa")
    await citizen.starts()
    await citizen.presses("Robo")
    await citizen.shares_location(-12.0464, -77.0428)
    await citizen.sends_photo(b"...", caption="el poste caído")
    await citizen.blocks()
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from channels.telegram.sim.model import ChatState, Delivery, Sent, SimulationError
from channels.telegram.sim.state import BotState

Inject = Callable[[dict[str, Any], bool], Awaitable[Delivery]]

# a command as Telegram marks it with a bot_command entity
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
# what a photo holds when the test gives no bytes: a JPEG's first bytes and filler
DEFAULT_PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16


def _utf16(text: str) -> int:
    """Telegram measures entities in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "bot_command",
            "offset": _utf16(text[: found.start()]),
            "length": _utf16(found.group()),
        }
        for found in _COMMAND.finditer(text)
    ]


class Citizen:
    def __init__(self, state: BotState, chat: ChatState, inject: Inject) -> None:
        self._state = state
        self._chat = chat
        self._inject = inject

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def user_id(self) -> int:
        return self._chat.user_id

    def sent(self) -> list[Sent]:
        """What the bot sent to this chat, oldest first."""
        return list(self._state.sent.get(self._chat.id, []))

    def last(self) -> Sent:
        sent = self.sent()
        if not sent:
            raise SimulationError(f"the bot sent nothing to chat {self._chat.id}")
        return sent[-1]

    async def says(self, text: str, *, duplicate: bool = False) -> Delivery:
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return await self._message(fields, duplicate)

    async def starts(self, payload: str | None = None) -> Delivery:
        """``/start`` (with a deep-link payload, as ``t.me/bot?start=payload`` sends)."""
        return await self.says(f"/start {payload}" if payload else "/start")

    async def command(self, name: str, *args: str) -> Delivery:
        return await self.says(" ".join([f"/{name}", *args]))

    async def shares_location(
        self,
        lat: float,
        lon: float,
        *,
        accuracy: float | None = None,
        live_period: int | None = None,
        duplicate: bool = False,
    ) -> Delivery:
        """The location button's message; with ``live_period``, a live location whose
        later positions come with :meth:`moves_to`."""
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if accuracy is not None:
            location["horizontal_accuracy"] = accuracy
        if live_period is not None:
            location["live_period"] = live_period
        delivery = await self._message({"location": location}, duplicate)
        if live_period is not None:
            self._chat.live_message_id = self._chat.last_message_id
        return delivery

    async def moves_to(self, lat: float, lon: float, *, accuracy: float | None = None) -> Delivery:
        """A live location's new position: an ``edited_message`` of the first one."""
        self._check_open()
        key = (self._chat.id, self._chat.live_message_id or 0)
        original = self._state.messages.get(key)
        if original is None:
            raise SimulationError("no live location shared: call shares_location(live_period=)")
        location = {**original["location"], "latitude": lat, "longitude": lon}
        if accuracy is not None:
            location["horizontal_accuracy"] = accuracy
        edited = {**original, "location": location, "edit_date": self._state.now()}
        self._state.messages[key] = edited
        return await self._update({"edited_message": edited}, False)

    async def shares_venue(
        self, lat: float, lon: float, title: str, address: str, *, duplicate: bool = False
    ) -> Delivery:
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": location, "title": title, "address": address}
        return await self._message({"location": location, "venue": venue}, duplicate)

    async def shares_contact(self, phone_number: str, *, duplicate: bool = False) -> Delivery:
        """Their own contact card (the "share my phone number" button)."""
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": self._chat.first_name,
            "user_id": self._chat.user_id,
        }
        return await self._message({"contact": contact}, duplicate)

    async def sends_photo(
        self,
        data: bytes = DEFAULT_PHOTO,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        media_group_id: str | None = None,
        declare_size: bool = True,
        duplicate: bool = False,
    ) -> Delivery:
        """A picture: several sizes, each downloadable (the largest holds ``data``).
        ``declare_size=False``: neither the update nor ``getFile`` tells the size."""
        self._check_open()
        fields: dict[str, Any] = {
            "photo": self._state.photo_sizes(
                data, width=width, height=height, declare_size=declare_size
            )
        }
        if caption is not None:
            fields["caption"] = caption
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        return await self._message(fields, duplicate)

    async def sends_album(
        self, photos: Sequence[bytes], *, caption: str | None = None
    ) -> tuple[Delivery, ...]:
        """Several pictures at once: one update each, sharing ``media_group_id``, the
        caption on the first."""
        group = f"1{self._chat.id % 10**6:06d}{self._chat.last_message_id + 1:06d}"
        deliveries = []
        for index, data in enumerate(photos):
            deliveries.append(
                await self.sends_photo(
                    data, caption=caption if index == 0 else None, media_group_id=group
                )
            )
        return tuple(deliveries)

    async def sends(self, *, duplicate: bool = False, **fields: Any) -> Delivery:
        """A message with any fields (``sticker={...}``, ``voice={...}``)."""
        return await self._message(fields, duplicate)

    async def presses(
        self, button: str, *, message_id: int | None = None, duplicate: bool = False
    ) -> Delivery:
        """A press on the inline button labelled ``button`` (or whose ``callback_data``
        it is) of the newest bot message that has one (or of ``message_id``)."""
        self._check_open()
        message, data = self._find_button(button, message_id)
        query = {
            "id": self._state.new_query(self._chat.id),
            "from": self._chat.user_json(),
            "message": message,
            "chat_instance": self._chat.chat_instance,
            "data": data,
        }
        return await self._update({"callback_query": query}, duplicate)

    async def blocks(self) -> Delivery:
        """The citizen blocks the bot (or removes it from the group)."""
        self._chat.blocked = True
        return await self._membership("member", "kicked")

    async def unblocks(self) -> Delivery:
        """The citizen unblocks the bot ("Restart"): it may write again."""
        self._chat.blocked = False
        self._chat.started = True
        return await self._membership("kicked", "member")

    async def _membership(self, old: str, new: str) -> Delivery:
        bot = self._state.bot_user()
        new_member: dict[str, Any] = {"user": bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"user": bot, "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        change = {
            "chat": self._chat.chat_json(),
            "from": self._chat.user_json(),
            "date": self._state.now(),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return await self._update({"my_chat_member": change}, False)

    def _find_button(self, button: str, message_id: int | None) -> tuple[dict[str, Any], str]:
        keys = sorted(
            (key for key in self._state.by_bot if key[0] == self._chat.id),
            key=lambda key: key[1],
            reverse=True,
        )
        seen: list[str] = []
        for key in keys:
            if message_id is not None and key[1] != message_id:
                continue
            message = self._state.messages[key]
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for candidate in row:
                    data = candidate.get("callback_data")
                    if data is None:
                        continue
                    if button in (candidate.get("text"), data):
                        return message, str(data)
                    seen.append(str(candidate.get("text")))
        raise SimulationError(
            f"no inline button {button!r} in chat {self._chat.id}; buttons: {seen or 'none'}"
        )

    def _check_open(self) -> None:
        if self._chat.blocked:
            raise SimulationError(f"chat {self._chat.id} blocked the bot: call unblocks() first")

    async def _message(self, fields: dict[str, Any], duplicate: bool) -> Delivery:
        self._check_open()
        chat = self._chat
        chat.started = True
        message = {
            "message_id": chat.next_message_id(),
            "from": chat.user_json(),
            "chat": chat.chat_json(),
            "date": self._state.now(),
            **fields,
        }
        self._state.store(chat, message, by_bot=False)
        return await self._update({"message": message}, duplicate)

    async def _update(self, body: dict[str, Any], duplicate: bool) -> Delivery:
        update = {"update_id": self._state.counters.next_update_id(), **body}
        return await self._inject(update, duplicate)
