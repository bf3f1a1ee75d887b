"""SMS segments as Twilio counts them, with Spanish text (CHANNELS.md B9)."""

import pytest

from channels.twilio.segments import Segments, fits_one_segment, segments


@pytest.mark.parametrize("char", list("éÉñÑüÜ¿¡"))
def test_spanish_letters_that_stay_in_gsm7(char: str) -> None:
    assert segments(char) == Segments(encoding="GSM-7", length=1, count=1)


@pytest.mark.parametrize("char", list("áíóúÁÍÓÚ"))
def test_spanish_letters_that_switch_to_ucs2(char: str) -> None:
    assert segments(char) == Segments(encoding="UCS-2", length=1, count=1, outside_gsm7=char)


@pytest.mark.parametrize("char", list("€[]{}^~\\|"))
def test_the_extension_table_costs_two_septets(char: str) -> None:
    assert segments(char) == Segments(encoding="GSM-7", length=2, count=1)


@pytest.mark.parametrize(
    ("text", "encoding", "length", "count"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        # an escape and its character are never split: 152 + 2 cannot share 153
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("ñ" * 70, "GSM-7", 70, 1),
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("á" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "ó", "UCS-2", 70, 1),
        ("a" * 70 + "ó", "UCS-2", 71, 2),
        # an emoji is two UTF-16 units, never split
        ("🚑", "UCS-2", 2, 1),
        ("á" * 66 + "🚑" + "á" * 66, "UCS-2", 134, 3),
    ],
)
def test_lengths_and_segments(text: str, encoding: str, length: int, count: int) -> None:
    got = segments(text)
    assert (got.encoding, got.length, got.count) == (encoding, length, count)


def test_the_characters_that_forced_ucs2_are_named_once_in_order() -> None:
    assert segments("Ubicación: Jirón Ucayali, ¿está bien?").outside_gsm7 == "óá"
    assert segments("ç").outside_gsm7 == "ç"  # only the capital Ç is in GSM 03.38
    assert segments("Ç").encoding == "GSM-7"


def test_replies_in_spanish() -> None:
    gsm = (
        "Reporte LIM-2026-000123 recibido: robo en Av. Abancay 123, Cercado. La PNP ya fue "
        "avisada. Escriba ESTADO LIM-2026-000123 para saber como sigue. ¿Hay heridos?"
    )
    assert segments(gsm).encoding == "GSM-7"
    assert fits_one_segment(gsm)
    accented = gsm.replace("saber como", "saber cómo")
    assert segments(accented).encoding == "UCS-2"
    assert not fits_one_segment(accented)
    assert segments(accented).count == 3
    assert fits_one_segment("Señor, ¿qué pasó?")  # UCS-2 (ó), 17 units
    assert fits_one_segment("")
