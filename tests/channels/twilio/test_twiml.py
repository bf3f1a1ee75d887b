"""The TwiML answer to an inbound SMS, and the fake's reading of one."""

import pytest

from channels.twilio.errors import BadForm
from channels.twilio.twiml import parse_twiml, twiml_reply

HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def test_no_reply_is_an_empty_response() -> None:
    assert twiml_reply([]) == HEAD + "<Response />"
    assert twiml_reply(["", "\x00"]) == HEAD + "<Response />"


def test_one_message_per_text_escaped() -> None:
    texts = ["Reporte LIM-2026-000123 registrado. ¿Algún herido? Responda SI o NO", "<b> & </b>"]
    xml = twiml_reply(texts)
    assert xml == (
        HEAD + "<Response><Message>Reporte LIM-2026-000123 registrado. ¿Algún herido? "
        "Responda SI o NO</Message><Message>&lt;b&gt; &amp; &lt;/b&gt;</Message></Response>"
    )
    assert parse_twiml(xml) == tuple(texts)


def test_characters_xml_cannot_carry_are_dropped() -> None:
    xml = twiml_reply(["a\x00b\x1bc\x7fd\ud800e\tf\ng"])
    assert parse_twiml(xml) == ("abc\x7fde\tf\ng",)


def test_reading_a_message_with_a_body_element() -> None:
    xml = "<Response><Message><Body>hola</Body><Media>https://x/y.jpg</Media></Message></Response>"
    assert parse_twiml(xml) == ("hola",)
    assert parse_twiml(b"") == ()


@pytest.mark.parametrize(
    ("document", "start"),
    [
        ("<Response><Message>", "no es XML"),
        ("<Respuesta/>", "la raíz es <Respuesta>, no <Response>"),
    ],
)
def test_what_is_not_twiml(document: str, start: str) -> None:
    with pytest.raises(BadForm) as caught:
        parse_twiml(document)
    assert caught.value.field == "(TwiML)"
    assert caught.value.message.startswith(start)
