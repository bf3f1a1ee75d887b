"""The TwiML answer to an inbound SMS, and the fake's reading of one."""

import random

import pytest
from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]

from channels.twilio.errors import BadForm
from channels.twilio.twiml import _NOT_XML, parse_twiml, twiml_reply

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


TRICKY = (
    "Reporte LIM-2026-000123 registrado. ¿Algún herido? Responda SI o NO",
    "a & b < c > d",
    "&amp; &lt; ya escapado &#38; &#x26;",
    "<![CDATA[x]]> ]]> --> <!-- -->",
    "\"comillas\" y 'apóstrofes' `tildes`",
    "acentos: á é í ó ú ü Á É Í Ó Ú, eñe: ñ Ñ, ¿¡ °ª",
    "emoji 🚑🔥👩‍🚒 y banderas 🇵🇪",
    "漢字 العربية עברית",
    "control: \x00 \x01 \x08 \x0b \x0c \x1b \x1f \x7f \x80 \x9f fin",
    "saltos \r\n \r \n y\ttab",
    "no caracteres: \ufffe \uffff \ud800 \udfff \U0010ffff \ue000 \ufffd",
    " espacios al borde ",
    "\x00",
    "",
    " ",
    "\u2028\u2029\xa0\u200b",
)


def _messaging_response(texts: list[str]) -> str:
    """What twilio-python's MessagingResponse writes (the texts cleaned as twiml_reply
    cleans them)."""
    response = MessagingResponse()
    for text in texts:
        clean = _NOT_XML.sub("", text)
        if clean:
            response.message(clean)
    xml: str = response.to_xml()
    return xml


@pytest.mark.parametrize("text", TRICKY)
def test_each_text_is_written_as_messaging_response_writes_it(text: str) -> None:
    assert twiml_reply([text]) == _messaging_response([text])
    assert twiml_reply([text, text]) == _messaging_response([text, text])


def test_many_messages_are_written_as_messaging_response_writes_them() -> None:
    rng = random.Random(20260509)
    pieces = [*TRICKY, *(chr(c) for c in range(0x00, 0x100))]
    for _ in range(300):
        texts = [
            "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 5)))
            for _ in range(rng.randrange(0, 4))
        ]
        assert twiml_reply(texts) == _messaging_response(texts), texts
    assert twiml_reply(()) == _messaging_response([]) == HEAD + "<Response />"
