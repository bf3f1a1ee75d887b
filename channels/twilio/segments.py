"""How many SMS segments a text takes, as Twilio counts and bills them.

A text whose every character is in the GSM 03.38 alphabet (basic set or its extension
table) goes as GSM-7: 160 septets in one segment, 153 per segment when concatenated
(the rest of the 140 bytes is the 6-byte header), an extension character (``€ [ ] { } ^
~ \\ |``) costing 2 septets, the escape and its character never split across segments.
One character outside it (``á í ó ú``, an emoji) sends the whole text as UCS-2: 70
UTF-16 code units in one segment, 67 per segment, a character outside the BMP taking 2
units, never split. (twilio.com/docs/glossary/what-sms-character-limit; 3GPP TS 23.038.)

In Spanish: ``é É ñ Ñ ü Ü ¿ ¡`` are GSM-7; ``á í ó ú Á Í Ó Ú`` are not. Twilio does not
use the Spanish national-language shift table, so neither does this count.

The alphabet is the ``gsm0338`` codec's (``gsm03.38``, registered when its package is
imported).
"""

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "GSM7_MULTI",
    "GSM7_SINGLE",
    "MAX_BODY",
    "UCS2_MULTI",
    "UCS2_SINGLE",
    "Segments",
    "fits_one_segment",
    "segments",
]

importlib.import_module("gsm0338")  # registers the "gsm03.38" codec

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67
MAX_BODY = 1600
"""Twilio's limit on a message body, in characters (error 21617 above it)."""

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Segments:
    """``encoding``: GSM-7 or UCS-2. ``length``: septets (GSM-7) or UTF-16 code units
    (UCS-2). ``count``: segments (1 for the empty text, as Twilio bills it).
    ``outside_gsm7``: the distinct characters, in order of appearance, that made it
    UCS-2 (empty for GSM-7)."""

    encoding: Encoding
    length: int
    count: int
    outside_gsm7: str = ""


@lru_cache(maxsize=4096)
def _septets(char: str) -> int:
    """Septets of one character in GSM-7 (1, or 2 for the extension table); 0 when it is
    not in the alphabet."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return 0


def _pack(units: list[int], single: int, multi: int) -> int:
    """Segments for characters of these sizes: one if they fit in ``single``, else
    ``multi``-unit segments filled in order, a character never split."""
    total = sum(units)
    if total <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count


def segments(text: str) -> Segments:
    """The encoding, length and segment count of ``text`` as an SMS body."""
    septets = [_septets(c) for c in text]
    if all(septets):
        return Segments(
            encoding="GSM-7",
            length=sum(septets),
            count=_pack(septets, GSM7_SINGLE, GSM7_MULTI),
        )
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    outside = "".join(dict.fromkeys(c for c, n in zip(text, septets, strict=True) if not n))
    return Segments(
        encoding="UCS-2",
        length=sum(units),
        count=_pack(units, UCS2_SINGLE, UCS2_MULTI),
        outside_gsm7=outside,
    )


def fits_one_segment(text: str) -> bool:
    """Whether ``text`` goes in one SMS: 160 GSM-7 septets, or 70 UCS-2 units."""
    return segments(text).count == 1
