"""Inbound SMS webhook forms: a real one (the key set of CHANNELS.md B2), with media,
through a Messaging Service, and a table of malformed ones naming the field."""

import random
from urllib.parse import parse_qsl, urlencode

import pytest

from channels.twilio.errors import BadForm
from channels.twilio.form import MAX_FIELDS, parse_form
from channels.twilio.inbound import InboundSms, parse_inbound

SID = "SM" + "0123456789abcdef" * 2
ACCOUNT = "AC" + "fedcba9876543210" * 2
SERVICE = "MG" + "00112233445566778899aabbccddeeff"

REAL = (
    f"ToCountry=PE&ToState=&SmsMessageSid={SID}&NumMedia=0&ToCity=&FromZip=&SmsSid={SID}"
    "&FromState=&SmsStatus=received&FromCity=&Body=robo+en+av+abancay+123+cercado"
    f"&FromCountry=PE&To=%2B5116400000&ToZip=&NumSegments=1&MessageSid={SID}"
    f"&AccountSid={ACCOUNT}&From=%2B51987654321&ApiVersion=2010-04-01"
)


def _form(**changes: str | list[str] | None) -> dict[str, list[str]]:
    form = parse_form(REAL.encode())
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value if isinstance(value, list) else [value]
    return form


def test_a_real_inbound_sms() -> None:
    form = parse_form(REAL.encode())
    sms = parse_inbound(form)
    assert sms == InboundSms(
        message_sid=SID,
        account_sid=ACCOUNT,
        from_="+51987654321",
        to="+5116400000",
        body="robo en av abancay 123 cercado",
        num_media=0,
        media=(),
        num_segments=1,
        messaging_service_sid=None,
        opt_out_type=None,
        params=form,
    )
    assert sms.params["ToCity"] == [""]  # empty geo fields kept, as Twilio signed them
    assert list(sms.params)[:3] == ["ToCountry", "ToState", "SmsMessageSid"]


def test_spanish_text_and_symbols_arrive_as_typed() -> None:
    body = "¿Hay un herido? Sí, en Jr. Huallaga 450 & Ucayali, 2° piso — ¡rápido! 🚑"
    real = REAL.replace("Body=robo+en+av+abancay+123+cercado", urlencode({"Body": body}))
    form = parse_form(real.encode())
    assert parse_inbound(form).body == body


def test_media_and_a_messaging_service() -> None:
    mms = "MM" + SID[2:]
    form = _form(
        MessageSid=mms,
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="image/png",
        MessagingServiceSid=SERVICE,
        Body="",
        OptOutType="stop",
    )
    sms = parse_inbound(form)
    assert sms.message_sid == mms
    assert sms.media == (
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "image/png"),
    )
    assert (sms.num_media, sms.body, sms.messaging_service_sid) == (2, "", SERVICE)
    assert sms.opt_out_type == "STOP"


def test_what_may_be_missing() -> None:
    sms = parse_inbound(_form(Body=None, NumMedia=None, NumSegments=None))
    assert (sms.body, sms.num_media, sms.num_segments) == ("", 0, 1)
    assert parse_inbound(_form(MessagingServiceSid="")).messaging_service_sid is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"MessageSid": None}, "MessageSid", "falta"),
        ({"MessageSid": ""}, "MessageSid", "falta"),
        ({"MessageSid": "SM123"}, "MessageSid", "no tiene el formato de Twilio"),
        ({"MessageSid": "CA" + SID[2:]}, "MessageSid", "no tiene el formato de Twilio"),
        ({"MessageSid": SID.upper()}, "MessageSid", "no tiene el formato de Twilio"),
        ({"MessageSid": SID + "\n"}, "MessageSid", "no tiene el formato de Twilio"),
        ({"MessageSid": [SID, SID]}, "MessageSid", "viene repetido"),
        ({"AccountSid": None}, "AccountSid", "falta"),
        ({"AccountSid": "AC1"}, "AccountSid", "no tiene el formato de Twilio"),
        ({"From": None}, "From", "falta"),
        ({"From": ""}, "From", "falta"),
        ({"From": "+5198765\r\n4321"}, "From", "no es un número de teléfono"),
        ({"From": "+51" + "9" * 70}, "From", "no es un número de teléfono"),
        ({"To": None}, "To", "falta"),
        ({"Body": "a" * 1601}, "Body", "más de 1600 caracteres"),
        ({"Body": ["uno", "dos"]}, "Body", "viene repetido"),
        ({"NumMedia": "dos"}, "NumMedia", "no es un número"),
        ({"NumMedia": "-1"}, "NumMedia", "no es un número"),
        ({"NumMedia": "١"}, "NumMedia", "no es un número"),  # an Arabic-Indic digit
        ({"NumMedia": "11"}, "NumMedia", "fuera de rango (0 a 10)"),
        ({"NumMedia": "1"}, "MediaUrl0", "falta"),
        (
            {"NumMedia": "1", "MediaUrl0": "file:///etc/passwd", "MediaContentType0": "x/y"},
            "MediaUrl0",
            "no es una URL http(s)",
        ),
        (
            {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m"},
            "MediaContentType0",
            "falta",
        ),
        ({"NumSegments": "0"}, "NumSegments", "fuera de rango (1 a 99)"),
        ({"NumSegments": "1e3"}, "NumSegments", "no es un número"),
        ({"MessagingServiceSid": "MG1"}, "MessagingServiceSid", "no tiene el formato de Twilio"),
    ],
)
def test_malformed_forms_name_the_field(
    changes: dict[str, str | list[str] | None], field: str, message: str
) -> None:
    with pytest.raises(BadForm) as caught:
        parse_inbound(_form(**changes))
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == f"{field}: {message}"


def test_a_body_that_is_a_form_of_multi_values() -> None:
    assert parse_form(b"a=1&b=&a=2&c") == {"a": ["1", "2"], "b": [""], "c": [""]}
    assert parse_form(b"Body=%C2%BFqu%C3%A9%3F+%C3%B1") == {"Body": ["¿qué? ñ"]}
    assert parse_form(b"") == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Body=\xff", "el cuerpo no es UTF-8 válido"),
        (b"Body=%FF", "el cuerpo no es UTF-8 válido"),
        (b"&".join([b"a=1"] * (MAX_FIELDS + 1)), "más de 200 parámetros"),
    ],
)
def test_a_form_body_that_cannot_be_read(body: bytes, message: str) -> None:
    with pytest.raises(BadForm) as caught:
        parse_form(body)
    assert (caught.value.field, caught.value.message) == ("(formulario)", message)


def _parse_qsl_form(body: bytes) -> dict[str, list[str]] | tuple[str, str]:
    """What parse_form answered when it was parse_qsl's reading collected into a dict
    (or the BadForm it raised), the reference for the one-pass reader."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        return ("(formulario)", "el cuerpo no es UTF-8 válido")
    except ValueError:
        return ("(formulario)", f"más de {MAX_FIELDS} parámetros")
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def _parsed(body: bytes) -> dict[str, list[str]] | tuple[str, str]:
    try:
        return parse_form(body)
    except BadForm as exc:
        return (exc.field, exc.message)


PIECES = (
    "a", "Body", "From", "=", "==", "&", "&&", "+", "++", "%", "%2", "%2B", "%2b", "%20",
    "%26", "%3D", "%25", "%C3", "%B1", "%C3%B1", "%C3%A9", "%F0%9F%9A%91", "%F0%9F", "%FF",
    "%ED%A0%80", "%zz", "%%", "%0A", "%00", "ñ", "é", "🚑", "漢", ";", " ", "?", "#", "\t",
)  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        REAL.encode(),
        b"",
        b"&",
        b"&&a=1&&",
        b"=",
        b"=1&=2&a",
        b"a==b&c=d=e",
        b"a+b=c+d&a%2Bb=c%2Bd",
        b"a=%zz&b=%&c=%2&d=100%",
        b"Body=%C3%B1%C3",
        b"Body=%C3+%B1",
        b"Body=\xc3\xb1%C3%B1",
        b"Body=%C3\xb1",
        b"Body=\xff",
        b"Body=%ED%A0%80",
        b"Body=%F0%9F%9A%91&Body=&Body",
        "Ñandú=ñ+é&ñ=1".encode(),
        b"&".join([b"a=1"] * MAX_FIELDS),
        b"&".join([b"a=1"] * MAX_FIELDS) + b"&",
        b"&".join([b"a=1"] * (MAX_FIELDS - 1)) + b"&" + b"%FF=1",
        b"&".join([b"a=1"] * (MAX_FIELDS + 1)) + b"&" + b"%FF=1",
        b"&" * (MAX_FIELDS - 1),
        b"&" * MAX_FIELDS,
    ],
)
def test_the_form_is_read_as_parse_qsl_reads_it(body: bytes) -> None:
    assert _parsed(body) == _parse_qsl_form(body)


def test_generated_bodies_are_read_as_parse_qsl_reads_them() -> None:
    rng = random.Random(20260509)
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 16)))
        body = text.encode("utf-8")
        if rng.random() < 0.1:  # a raw byte that is not UTF-8 somewhere
            at = rng.randrange(len(body) + 1)
            body = body[:at] + bytes([rng.randrange(0x80, 0x100)]) + body[at:]
        assert _parsed(body) == _parse_qsl_form(body), body
