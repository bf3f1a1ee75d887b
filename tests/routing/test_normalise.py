"""A citizen's free text read: what is shown to operators, the category and priority,
the district and the address; measured against the table of tests.routing.messages."""

import unicodedata

import pytest

from routing.districts import find_in_text
from routing.text import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("robo en av abancay 123", "robo en av abancay 123"),
        ("  robo\r\nen\tLince  ", "robo en Lince"),
        ("Ana\r\nAction: Originate", "Ana Action: Originate"),
        ("robo\x00 en\x07 Lince\x7f", "robo en Lince"),  # C0 and DEL
        ("a\x85b", "a b"),  # NEL: a line break
        ("a\x9bc", "ac"),  # another C1 control
        ("\x1b[31mrojo\x1b[0m", "[31mrojo[0m"),  # a terminal's escape: harmless once ESC goes
        ("robo en \u202eodicerp\u202c Lince", "robo en odicerp Lince"),  # bidi override
        ("\u2066aislado\u2069", "aislado"),  # bidi isolate
        ("x\u200by\u200cz\u200dw\u2060v", "xyzwv"),  # zero-width characters
        ("\ufeffhola", "hola"),  # byte order mark
        ("ni\u00ado", "nio"),  # soft hyphen
        ("línea\u2028otra\u2029párrafo", "línea otra párrafo"),
        ("no\u00a0break\u3000ideográfico", "no break ideográfico"),
        ("\ud800suelto", "suelto"),  # a lone surrogate
        ("Jesús María, Breña, ¡auxilio! ¿dónde?", "Jesús María, Breña, ¡auxilio! ¿dónde?"),
        ("🔥 incendio 🚒", "🔥 incendio 🚒"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_what_operators_are_shown(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_no_control_or_format_character_survives() -> None:
    """Unassigned code points are kept: an emoji newer than Python's Unicode tables is
    one, and is no control."""
    text = "".join(chr(c) for c in range(0x3100)) + "\u202e\u2066\ufeff\U000e0041"
    shown = printable(text)
    assert not [c for c in shown if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert [c for c in shown if c.isspace()] == [" "] * shown.count(" ")
    assert "  " not in shown
    assert shown == shown.strip()


# ------------------------------------------------------------ districts in free text


@pytest.mark.parametrize(
    ("text", "ubigeo", "words", "misspelt"),
    [
        ("robo en sjl", "150132", "sjl", False),
        ("robo en S.J.L.", "150132", "sjl", False),
        ("choque en s.m.p", "150135", "smp", False),
        ("pelea en el cercado", "150101", "cercado", False),
        ("robo en jesus maria", "150113", "jesus maria", False),
        ("asalto en surco", "150140", "surco", False),
        ("incendio en chorrillos", "150108", "chorrillos", False),
        ("huaico en lurigancho chosica", "150118", "lurigancho chosica", False),
        ("losa de villa maria", "150143", "villa maria", False),
        ("robo en miraflres", "150122", "miraflres", True),
        ("choque en san borga", "150130", "san borga", True),
        ("asalto en chorrilos", "150108", "chorrilos", True),
        ("buzon en surquiyo", "150141", "surquiyo", True),
        ("herido en independecia", "150112", "independecia", True),
        ("no hay luz en la vitoria", "150115", "la vitoria", True),
        ("incendio en los olibos", "150117", "los olibos", True),
        ("arbol en villa el salvado", "150142", "villa el salvado", True),
        ("pelea en carabayo", "150106", "carabayo", True),
        ("me robaron en sanjuan de lurigancho", "150132", "sanjuan de lurigancho", True),
        ("incendio en el mercado de la parada", "150115", "la parada", False),
        ("me robaron en gamarra", "150115", "gamarra", False),
        ("se cayo una pared en barrios altos", "150101", "barrios altos", False),
        ("pelea en huaycan", "150103", "huaycan", False),
        ("el parque de pueblo libre", "150121", "pueblo libre", False),  # a place's, not a road's
        ("el malecon de barranco", "150104", "barranco", False),
    ],
)
def test_districts_as_people_write_them(text: str, ubigeo: str, words: str, misspelt: bool) -> None:
    match = find_in_text(text)
    assert match is not None
    assert (match.district.ubigeo, match.words, match.misspelt) == (ubigeo, words, misspelt)


@pytest.mark.parametrize(
    "text",
    [
        "choque en la av. proceres de la independencia",  # the avenue's name
        "Av. de la Marina 2000",
        "choque en barranca",  # a province north of Lima, not Barranco
        "esta en coma",  # not Comas: short names are never guessed
        "juego en la calle",
        "robo en la av. san luis",
        "en san martin",
        "Jr. Gamarra 700",  # the street, not the emporium
    ],
)
def test_no_district_guessed(text: str) -> None:
    assert find_in_text(text) is None
