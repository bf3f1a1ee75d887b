"""Keyboards from plain data, refused before sending when Telegram would refuse them."""

import pytest
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from channels.telegram.errors import BadKeyboard
from channels.telegram.keyboards import (
    button_data,
    data_parts,
    inline_keyboard,
    location_keyboard,
)


def test_an_inline_keyboard_from_rows() -> None:
    markup = inline_keyboard([[("Robo", "cat:robo"), ("Incendio", "cat:fuego")], [("Otro", "x")]])
    assert isinstance(markup, InlineKeyboardMarkup)
    assert markup.to_dict() == {
        "inline_keyboard": [
            [
                {"text": "Robo", "callback_data": "cat:robo"},
                {"text": "Incendio", "callback_data": "cat:fuego"},
            ],
            [{"text": "Otro", "callback_data": "x"}],
        ]
    }


def test_callback_data_fits_in_64_bytes_of_utf8() -> None:
    inline_keyboard([[("ok", "a" * 64)]])
    inline_keyboard([[("ok", "ñ" * 32)]])  # two bytes each: 64
    with pytest.raises(BadKeyboard) as caught:
        inline_keyboard([[("Señal", "ñ" * 33)]])
    assert (
        caught.value.message_es
        == "los datos del botón «Señal» ocupan 66 bytes; deben ocupar de 1 a 64"
    )
    with pytest.raises(BadKeyboard, match="ocupan 0 bytes"):
        inline_keyboard([[("Vacío", "")]])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "el teclado no tiene botones o tiene una fila vacía"),
        ([[("a", "a")], []], "el teclado no tiene botones o tiene una fila vacía"),
        ([[(" ", "a")]], "un botón no tiene texto"),
        ([[("b", "b")] * 101], "el teclado tiene más de 100 botones"),
    ],
)
def test_keyboards_telegram_refuses(rows: list[list[tuple[str, str]]], message: str) -> None:
    with pytest.raises(BadKeyboard) as caught:
        inline_keyboard(rows)
    assert caught.value.message_es == message


def test_the_location_keyboard() -> None:
    markup = location_keyboard("📍 Enviar mi ubicación")
    assert isinstance(markup, ReplyKeyboardMarkup)
    assert markup.to_dict() == {
        "keyboard": [[{"text": "📍 Enviar mi ubicación", "request_location": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    with pytest.raises(BadKeyboard, match="no tiene texto"):
        location_keyboard("")


def test_button_data_joins_and_splits() -> None:
    data = button_data("ack", "LIM-2026-000123", "bomberos")
    assert data == "ack:LIM-2026-000123:bomberos"
    assert data_parts(data) == ("ack", "LIM-2026-000123", "bomberos")
    with pytest.raises(BadKeyboard, match="sin «:»"):
        button_data("a:b")
    with pytest.raises(BadKeyboard, match="superan 64 bytes"):
        button_data("x" * 40, "y" * 40)
