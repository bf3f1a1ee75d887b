"""A citizen's free text read: what is shown to operators, the category and priority,
the district and the address; measured against the table of tests.routing.messages."""

import unicodedata

import pytest

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
