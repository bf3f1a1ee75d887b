"""The keyboards the flows attach to a message, built from plain data and checked against
Telegram's limits before sending (a keyboard Telegram refuses loses the whole message).

- inline keyboard (buttons under the message, a press comes back as a ``callback_query``):
  rows of ``(label, callback_data)``; ``callback_data`` is 1-64 bytes
  (``telegram.constants.InlineKeyboardButtonLimit``), at most 100 buttons;
- reply keyboard with one "share my location" button (``request_location``, private
  chats only: ``telegram/_keyboardbutton.py``), hidden once used;
- removing a reply keyboard.

Pure: builds PTB values, no I/O.
"""

from collections.abc import Sequence
from typing import TypeAlias

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import InlineKeyboardButtonLimit

from channels.telegram.errors import BadKeyboard

ButtonRows: TypeAlias = Sequence[Sequence[tuple[str, str]]]
"""Rows of ``(label, callback_data)``."""

MAX_CALLBACK_DATA = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # bytes, UTF-8
MAX_BUTTONS = 100  # Telegram answers "Too many inline keyboard buttons" above it
SEPARATOR = ":"


def check_rows(rows: ButtonRows) -> None:
    """Raise :class:`BadKeyboard` for rows Telegram would refuse."""
    if not rows or any(not row for row in rows):
        raise BadKeyboard("el teclado no tiene botones o tiene una fila vacía")
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise BadKeyboard(f"el teclado tiene más de {MAX_BUTTONS} botones")
    for row in rows:
        for label, data in row:
            if not label.strip():
                raise BadKeyboard("un botón no tiene texto")
            size = len(data.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA:
                raise BadKeyboard(
                    f"los datos del botón «{label}» ocupan {size} bytes; "
                    f"deben ocupar de 1 a {MAX_CALLBACK_DATA}"
                )


def inline_keyboard(rows: ButtonRows) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of ``(label, callback_data)``."""
    check_rows(rows)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def location_keyboard(label: str) -> ReplyKeyboardMarkup:
    """One button that shares the citizen's location (private chats only), sized to fit
    and hidden after use."""
    if not label.strip():
        raise BadKeyboard("el botón de ubicación no tiene texto")
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()


def button_data(*parts: str) -> str:
    """``button_data("cat", "robo") == "cat:robo"``, checked to fit in a button."""
    if not parts or any(not part or SEPARATOR in part for part in parts):
        raise BadKeyboard(f"cada parte de los datos debe ser no vacía y sin «{SEPARATOR}»")
    data = SEPARATOR.join(parts)
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        raise BadKeyboard(f"los datos «{data}» superan {MAX_CALLBACK_DATA} bytes")
    return data


def data_parts(data: str) -> tuple[str, ...]:
    """The parts :func:`button_data` joined."""
    return tuple(data.split(SEPARATOR))
