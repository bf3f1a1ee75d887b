"""GSM-7 arithmetic: septets, transliteration, cutting, one segment."""

import pytest

from channels.conversation.gsm7 import fits_one_segment, septets, to_gsm7, truncate


@pytest.mark.parametrize(
    ("text", "count"),
    [("hola", 4), ("ñÑüÜ¿¡éÉ", 8), ("[x]", 5), ("€", 2), ("{}^~\\|", 12), ("á", None),
     ("😀", None), ("", 0)],
)  # fmt: skip
def test_septets(text: str, count: int | None) -> None:
    assert septets(text) == count


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("Comisaría PNP Zárate", "Comisaria PNP Zarate"),
        ("Jesús María, Rímac, Pachacámac", "Jesus Maria, Rimac, Pachacamac"),
        ("Breña, Ñaña, güe, ¿qué? ¡sí!", "Breña, Ñaña, güe, ¿qué? ¡si!"),
        ("Cía. N.º 10 — «Salvadora» “Lima” ‘x’…", 'Cia. N.o 10 - "Salvadora" "Lima" \'x\'...'),
        ("línea 1\nlínea 2\tfin", "linea 1 linea 2 fin"),
        ("sin\x00control\x1b\u200bes", "sincontroles"),
        ("fuego 🔥 ya", "fuego  ya"),
        ("ç Ç à ò", "c Ç à ò"),
    ],
)
def test_to_gsm7_transliterates_what_gsm7_lacks(text: str, gsm: str) -> None:
    assert to_gsm7(text) == gsm
    assert septets(gsm) is not None


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("Av. Abancay 123", 15, "Av. Abancay 123"),
        ("Av. Abancay 123", 14, "Av. Abancay..."),
        ("Av. Abancay, 123", 15, "Av. Abancay..."),  # no comma before the dots
        ("[[[[", 7, "[[..."),  # two septets each
        ("[[[[", 6, "[..."),
        ("abc", 2, ".."),
    ],
)
def test_truncate_cuts_to_septets_with_dots(text: str, limit: int, cut: str) -> None:
    assert truncate(text, limit) == cut
    assert (septets(cut) or 0) <= limit


def test_truncate_needs_gsm7() -> None:
    with pytest.raises(ValueError, match="not GSM-7"):
        truncate("árbol", 3)


def test_one_segment_is_160_septets_or_70_ucs2_characters() -> None:
    assert fits_one_segment("x" * 160)
    assert not fits_one_segment("x" * 161)
    assert not fits_one_segment("x" * 159 + "€")
    assert fits_one_segment("á" * 70)
    assert not fits_one_segment("x" * 70 + "á")


def _codec_septets(text: str) -> int | None:
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def test_septets_agree_with_the_gsm0338_codec_on_every_character() -> None:
    """The alphabet comes from gsm0338's tables; its codec counts the same (the lone
    escape character aside, which the codec passes and a text never carries)."""
    for code in range(0x3000):
        ch = chr(code)
        if ch != "\x1b":
            assert septets(ch) == _codec_septets(ch), hex(code)
    assert septets("\x1b") is None


def test_to_gsm7_always_gives_gsm7() -> None:
    text = "".join(chr(code) for code in range(0x3000))
    assert _codec_septets(to_gsm7(text)) is not None
