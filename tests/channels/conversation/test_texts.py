"""The channels' texts: every SMS text fits one GSM-7 segment with the worst arguments,
Telegram texts and button data keep Telegram's limits, every text is Spanish, and a
responder's reply is read right."""

import inspect
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import routing
from channels import texts
from channels.conversation.gsm7 import SEGMENT
from channels.texts import Channel
from routing.categories import CATEGORIES
from routing.config import parse_config
from routing.districts import DISTRICTS
from routing.geo import CALLAO_DISTRICTS
from routing.models import Priority, Status
from routing.reading import MISSING_CATEGORY, MISSING_PLACE, UNCLASSIFIED
from tests.voicebridge.test_spanish import english_in

# the longest id routing.ids accepts, a busy year's, and the usual
IDS = ("ABCDEFGH-2026-123456789", "LIM-2026-1234567", "LIM-2026-000123")
WORST_ID = IDS[0]
CATEGORY_CODES = (*(c.code for c in CATEGORIES), UNCLASSIFIED, "una_categoria_nueva_sin_etiqueta")
DISTRICT_CODES = (*(d.ubigeo for d in (*DISTRICTS, *CALLAO_DISTRICTS)), None, "999999")
ADDRESSES = (
    None,
    "Av. Abancay 123",
    "Av. Próceres de la Independencia cuadra 45, frente al mercado «Santa Rosa» [puesto 3]"
    " {altura} del paradero ~ € | \\ ^ 🚒 y a media cuadra del colegio " * 3,
)
# the longest names of Lima and of Callao, none, and a code that names no district
LONG_DISTRICTS = ("150143", "070103", None, "999999")
MISSING = ((), (MISSING_CATEGORY,), (MISSING_PLACE,), (MISSING_CATEGORY, MISSING_PLACE))


def _directory_names() -> list[str]:
    config = parse_config(
        (Path(routing.__file__).parent / "data" / "lima.yaml").read_text("utf-8"), "lima.yaml"
    )
    names = {a.name for a in config.agencies.values()}
    names |= {s.name for a in config.agencies.values() for s in a.stations}
    return sorted(names, key=len, reverse=True)


LONGEST_NAMES = _directory_names()[:8]
AGENCY_LISTS = (
    ["Comisaría PNP Miraflores", "Serenazgo Miraflores"],
    LONGEST_NAMES[:1],
    LONGEST_NAMES,
    ["Compañía de Bomberos {Salvadora} [Lima] N.º 10 — turno € ~ | \\ ^ " * 4, "SAMU"],
)

Sample = tuple[str, str, tuple[str, ...]]  # (where, text, what it must contain whole)


def sms_texts() -> Iterator[Sample]:
    """Every SMS text, with worst-case arguments, and the parts no cut may touch."""
    sms = Channel.SMS
    yield "SMS_OPTED_OUT", texts.SMS_OPTED_OUT, ("INICIO",)
    yield "SMS_OPTED_IN", texts.SMS_OPTED_IN, ("PARA",)
    yield "ask_missing", texts.ask_missing(), ()
    for missing in MISSING:
        yield "ask_missing", texts.ask_missing(missing), ()
    for i in IDS:
        yield "sms_help", texts.sms_help(example=i), (i, "PARA.")
        yield "status_usage", texts.status_usage(sms, example=i), (i,)
        yield "report_joined", texts.report_joined(sms, i), (i, "por este medio.")
        yield "report_joined_later", texts.report_joined_later(sms, i, WORST_ID), (i, WORST_ID)
        yield "report_refiled", texts.report_refiled(sms, WORST_ID, i), (i, WORST_ID, "medio.")
        yield "incident_not_found", texts.incident_not_found(sms, i), (i,)
        yield "news_resolved", texts.news_resolved(sms, i), (i,)
        yield "news_cancelled", texts.news_cancelled(sms, i), (i,)
        yield "news_merged", texts.news_merged(sms, i, WORST_ID), (i, WORST_ID, "medio.")
        yield "responder_confirmed", texts.responder_confirmed(sms, i), (i,)
        yield "responder_declined", texts.responder_declined(sms, i), (i,)
        yield "responder_not_understood", texts.responder_not_understood(sms, i), (i, "declinar.")
        yield "responder_not_understood", texts.responder_not_understood(sms), ("declinar.",)
        yield "responder_not_target", texts.responder_not_target(sms, i), (i,)
        yield "responder_too_late", texts.responder_too_late(sms, i), (i,)
        for missing in MISSING:
            yield "report_received", texts.report_received(sms, i, missing=missing), (i,)
            yield "report_completed", texts.report_completed(sms, i, missing=missing), (i,)
        for names in AGENCY_LISTS:
            yield "news_derived", texts.news_derived(sms, i, names), (i,)
            yield "news_confirmed", texts.news_confirmed(sms, i, names[0]), (i, "atenderlo.")
        for status, confirmed in itertools.product(Status, ([], *AGENCY_LISTS)):
            text = texts.incident_status(sms, i, status, confirmed=confirmed, merged_into=WORST_ID)
            yield "incident_status", text, (i, status.label)
        for category, address in itertools.product(CATEGORY_CODES, ADDRESSES):
            for district in LONG_DISTRICTS:
                text = texts.responder_alert(
                    sms, i, category=category, district=district, address=address
                )
                yield "responder_alert", text, (i, "Responda 1 o SI para confirmar, 2 o NO")
                notice = texts.supervisor_notice(
                    sms, i, category=category, district=district, address=address
                )
                yield "supervisor_notice", notice, (i, "revise el incidente.")
    for district in DISTRICT_CODES:
        text = texts.responder_alert(
            sms, WORST_ID, category="derrumbe", district=district, address=ADDRESSES[-1]
        )
        yield "responder_alert", text, (WORST_ID, "Responda 1 o SI para confirmar, 2 o NO")


def telegram_texts() -> Iterator[tuple[str, str]]:
    tg = Channel.TELEGRAM
    for name, value in vars(texts).items():
        if name.startswith("TG_") and isinstance(value, str):
            yield name, value
    for i in IDS:
        yield "tg_help", texts.tg_help(example=i)
        yield "status_usage", texts.status_usage(tg, example=i)
        yield "report_received", texts.report_received(tg, i)
        yield "report_joined", texts.report_joined(tg, i)
        yield "report_joined_later", texts.report_joined_later(tg, i, i)
        yield "report_refiled", texts.report_refiled(tg, i, i)
        for missing in MISSING:
            yield "report_completed", texts.report_completed(tg, i, missing=missing)
        yield "incident_not_found", texts.incident_not_found(tg, i)
        for status in Status:
            for confirmed in ([], *AGENCY_LISTS):
                text = texts.incident_status(tg, i, status, confirmed=confirmed, merged_into=i)
                yield "incident_status", text
        for names in AGENCY_LISTS:
            yield "news_derived", texts.news_derived(tg, i, names)
            yield "news_confirmed", texts.news_confirmed(tg, i, names[0])
        yield "news_resolved", texts.news_resolved(tg, i)
        yield "news_cancelled", texts.news_cancelled(tg, i)
        yield "news_merged", texts.news_merged(tg, i, WORST_ID)
        for category, address in itertools.product(CATEGORY_CODES, ADDRESSES):
            for priority in (None, *Priority):
                yield "responder_alert", texts.responder_alert(
                    tg, i, category=category, district="150132", address=address,
                    priority=priority,
                )  # fmt: skip
        yield (
            "supervisor_notice",
            texts.supervisor_notice(
                tg, i, category="derrumbe", district="150132", address=ADDRESSES[-1]
            ),
        )
        yield "responder_confirmed", texts.responder_confirmed(tg, i)
        yield "responder_declined", texts.responder_declined(tg, i)
        yield "responder_not_understood", texts.responder_not_understood(tg, i)
        yield "responder_not_understood", texts.responder_not_understood(tg)
        yield "responder_not_target", texts.responder_not_target(tg, i)
        yield "responder_too_late", texts.responder_too_late(tg, i)
    for category in CATEGORY_CODES:
        for place, point, description in itertools.product(
            (None, "Av. Abancay 123, Lima", "x" * 5000),
            (None, (-12.0464, -77.0428)),
            (None, "Me robaron el celular", "y" * 10_000),
        ):
            for photo in (False, True):
                yield "tg_summary", texts.tg_summary(
                    category=category, place=place, point=point, description=description,
                    photo=photo,
                )  # fmt: skip


SMS_SAMPLES = list(sms_texts())
TELEGRAM_SAMPLES = list(telegram_texts())
# texts people read that are not made by the functions below, or helpers
NOT_TEXTS = {"category_label", "district_name", "place_text", "responder_answer",
             "responder_button", "responder_buttons"}  # fmt: skip


def test_every_text_function_is_sampled() -> None:
    functions = {
        name
        for name, value in vars(texts).items()
        if inspect.isfunction(value)
        and not name.startswith("_")
        and value.__module__ == texts.__name__
    }
    sampled = {where for where, _, _ in SMS_SAMPLES} | {where for where, _ in TELEGRAM_SAMPLES}
    assert functions - NOT_TEXTS - sampled == set()
    constants = {
        n for n, v in vars(texts).items() if n.startswith(("SMS_", "TG_")) and isinstance(v, str)
    }
    assert constants <= sampled


def test_every_sms_text_fits_one_gsm7_segment_with_the_worst_arguments() -> None:
    failures = []
    for where, text, whole in SMS_SAMPLES:
        try:
            septets = len(text.encode("gsm03.38"))
        except UnicodeEncodeError as exc:
            failures.append(f"{where}: not GSM-7 ({exc.object[exc.start]!r}): {text!r}")
            continue
        if septets > SEGMENT:
            failures.append(f"{where}: {septets} septets: {text!r}")
        failures += [
            f"{where}: {part!r} cut or missing in {text!r}" for part in whole if part not in text
        ]
    assert not failures, "\n".join(failures[:20])
    assert len(SMS_SAMPLES) > 1_000


def test_sms_values_are_transliterated_and_cut_to_fit() -> None:
    derived = texts.news_derived(Channel.SMS, "LIM-2026-000123", AGENCY_LISTS[0])
    assert derived == (
        "Su reporte LIM-2026-000123 fue derivado a: Comisaria PNP Miraflores, Serenazgo Miraflores."
    )
    crowded = texts.news_derived(Channel.SMS, WORST_ID, LONGEST_NAMES)
    assert crowded.endswith(f" y {len(LONGEST_NAMES) - 1} mas."), crowded
    alert = texts.responder_alert(
        Channel.SMS, "LIM-2026-000123", category="accidente_transito", district="150113",
        address="Av. Brasil cuadra 5",
    )  # fmt: skip
    assert alert == (
        "Alerta LIM-2026-000123: Accidente de transito en Av. Brasil cuadra 5, Jesus Maria. "
        "Responda 1 o SI para confirmar, 2 o NO para declinar."
    )
    cut = texts.responder_alert(
        Channel.SMS, WORST_ID, category="derrumbe", district="150143", address=ADDRESSES[2]
    )
    assert "..." in cut
    assert "...." not in cut


def test_telegram_texts_keep_telegram_s_limit() -> None:
    for where, text in TELEGRAM_SAMPLES:
        assert 0 < len(text) <= texts.TELEGRAM_LIMIT, where


def test_status_texts_name_the_status_and_the_confirmed_agencies() -> None:
    text = texts.incident_status(
        Channel.TELEGRAM, "LIM-2026-000123", Status.ACKNOWLEDGED,
        confirmed=["Comisaría PNP Miraflores", "Serenazgo Miraflores"],
    )  # fmt: skip
    assert text == (
        "Estado de LIM-2026-000123: confirmado. Ya hay una entidad a cargo. Confirmaron: "
        "Comisaría PNP Miraflores, Serenazgo Miraflores."
    )
    merged = texts.incident_status(
        Channel.SMS, "LIM-2026-000123", Status.MERGED, merged_into="LIM-2026-000100"
    )
    assert merged == "Estado de LIM-2026-000123: fusionado. Ahora se sigue en LIM-2026-000100."


# ------------------------------------------------------------------- Spanish

# English words a channel's text might slip in, besides test_spanish's list
MORE_ENGLISH = {"report", "send", "sent", "cancel", "confirm", "skip", "share", "location",
                "photo", "status", "help", "stop", "start", "yes", "thanks", "alert", "reply",
                "agency", "unsubscribe", "done"}  # fmt: skip


# Spanish words that SMS texts write without their accent and that read as English
TRANSLITERATED = {"via"}  # "vía pública"


def _english(text: str) -> list[str]:
    words = {w.lower() for w in text.replace("/", " /").split()}
    return english_in(text) + sorted(
        w.strip(".,:;!?¿¡«»()") for w in words if w.strip(".,:;!?¿¡«»()") in MORE_ENGLISH
    )


def test_the_detector_finds_english_in_a_channel_text() -> None:
    assert _english("Report received, send STOP to cancel") == [
        "received",
        "to",
        "cancel",
        "report",
        "send",
        "stop",
    ]
    assert _english(texts.TG_GREETING) == []


def test_every_text_is_spanish() -> None:
    samples = [(w, t) for w, t, _ in SMS_SAMPLES[:2000]] + TELEGRAM_SAMPLES
    seen: set[str] = set()
    failures = []
    for where, text in samples:
        if text in seen:
            continue
        seen.add(text)
        found = [w for w in _english(text) if w not in TRANSLITERATED]
        if found:
            failures.append(f"{where}: {found} in {text!r}")
    assert not failures, "\n".join(failures)
    for label, _data in texts.responder_buttons("r1")[0]:
        assert _english(label) == []


# --------------------------------------------------------------- responders


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("1", "accept"), ("si", "accept"), ("sí", "accept"), ("SI.", "accept"), ("Sí!", "accept"),
        ("ok", "accept"), ("OK", "accept"), ("okey", "accept"), ("Confirmo", "accept"),
        ("si, confirmo", "accept"), (" 1 ", "accept"), ("voy", "accept"),
        ("Recibido", "accept"), ("ok, recibido", "accept"),
        ("2", "decline"), ("no", "decline"), ("NO.", "decline"), ("No puedo", "decline"),
        ("no, no puedo", "decline"), ("declino", "decline"),
        ("", None), ("3", None), ("11", None), ("12", None), ("si no", None), ("puedo", None),
        ("no se", None), ("quizas", None), ("sí, pero más tarde", None), ("1 2", None),
        ("hola", None), ("ok ok ok ok ok", None),
    ],
)  # fmt: skip
def test_a_responder_s_reply(reply: str, answer: str | None) -> None:
    assert texts.responder_answer(reply) == answer


def test_a_responder_s_buttons_carry_the_reference() -> None:
    ref = "c" * texts.REF_LIMIT
    ((confirm, decline),) = texts.responder_buttons(ref)
    assert confirm == ("Confirmo (1)", f"ack:{ref}")
    assert decline == ("No puedo (2)", f"dec:{ref}")
    for _, data in (confirm, decline):
        assert len(data.encode()) <= texts.CALLBACK_LIMIT
    assert texts.responder_button(confirm[1]) == ("accept", ref)
    assert texts.responder_button(decline[1]) == ("decline", ref)
    assert texts.responder_button("ack:LIM-2026-000123/pnp-zarate/1#3") == (
        "accept", "LIM-2026-000123/pnp-zarate/1#3",
    )  # fmt: skip


@pytest.mark.parametrize("ref", ["", "c" * 41, "con espacio", "ñ", "a\nb"])
def test_a_reference_that_would_not_fit_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        texts.responder_buttons(ref)


@pytest.mark.parametrize("data", ["ack", "ack:", "ok:1", "dec:" + "x" * 41, "cat:1:robo", "dec x"])
def test_other_button_data_is_not_a_responder_s(data: str) -> None:
    assert texts.responder_button(data) is None


# ------------------------------------------------------------------ helpers

LABELS: list[tuple[Callable[[], str], str]] = [
    (lambda: texts.category_label("buzon_sin_tapa"), "Buzón sin tapa"),
    (lambda: texts.category_label(UNCLASSIFIED), "Sin clasificar"),
    (lambda: texts.category_label("granizo_fuerte"), "Granizo fuerte"),
    (lambda: texts.place_text("150122", "Av. Larco 400"), "Av. Larco 400, Miraflores"),
    (lambda: texts.place_text("070102", None), "Bellavista"),
    (lambda: texts.place_text(None, None), "lugar por confirmar"),
    (lambda: texts.place_text("999999", "Jr. X 1"), "Jr. X 1"),
]


@pytest.mark.parametrize(("made", "text"), LABELS)
def test_labels_and_places(made: Callable[[], str], text: str) -> None:
    assert made() == text
