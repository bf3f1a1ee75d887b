"""GSM 03.38 arithmetic for the texts voicebridge sends by SMS.

One SMS segment holds 160 septets of the GSM-7 alphabet; the escape characters
``€ [ ] { } ^ ~ \\ |`` take two septets each. One character outside GSM-7 (á, í, ó, ú,
an emoji) switches the whole message to UCS-2 and the segment shrinks to 70 characters
(3GPP TS 23.038; twilio.com/docs/glossary/what-sms-character-limit). é, ñ, ü, ¿ and ¡
are GSM-7. The alphabet is the ``gsm0338`` package's tables (its codec, one encoded byte
per septet, is what the tests check against; it is too slow, a Python call per
character, to cut texts with).

Our fixed SMS wording avoids á, í, ó and ú; values that come from elsewhere (category
labels, district and agency names, addresses a citizen typed) go through
:func:`to_gsm7`, which transliterates deliberately: á -> a, "Comisaría" -> "Comisaria".
"""

import unicodedata

from gsm0338.charset import (  # type: ignore[import-untyped, unused-ignore]
    BASIC_CHARACTER_SET,
    BASIC_CHARACTER_SET_EXTENSION,
)

SEGMENT = 160  # septets in one GSM-7 SMS
UCS2_SEGMENT = 70  # characters in one UCS-2 SMS
ELLIPSIS = "..."  # "…" is not GSM-7

# look-alikes that NFKD does not reduce to a GSM-7 character
_SUBSTITUTES = {
    "…": "...",
    "–": "-",
    "—": "-",
    "‐": "-",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "‘": "'",
    "’": "'",
    "´": "'",
    "`": "'",
    "°": "o",
    "\u00a0": " ",
}


_ESCAPE = "\x1b"  # introduces an extension character; never sent alone
BASIC: frozenset[str] = frozenset(
    unicodedata.lookup(name) for name in BASIC_CHARACTER_SET.values()
) - {_ESCAPE}
EXTENSION: frozenset[str] = frozenset(
    unicodedata.lookup(name) for name in BASIC_CHARACTER_SET_EXTENSION.values()
)


# what :func:`to_gsm7` keeps as it is (a text of only these is returned unchanged)
_KEPT: frozenset[str] = frozenset(
    ch
    for ch in BASIC | EXTENSION
    if ch not in "\n\r\t" and unicodedata.category(ch) not in ("Cc", "Cf")
)


def septets(text: str) -> int | None:
    """The septets ``text`` takes in GSM-7, or None when it cannot be sent in GSM-7."""
    if BASIC.issuperset(text):  # the usual case, at C speed
        return len(text)
    count = 0
    for ch in text:
        if ch in BASIC:
            count += 1
        elif ch in EXTENSION:
            count += 2
        else:
            return None
    return count


def is_gsm7(text: str) -> bool:
    return septets(text) is not None


def fits_one_segment(text: str) -> bool:
    """One SMS: at most 160 septets of GSM-7, else at most 70 UCS-2 characters."""
    count = septets(text)
    if count is not None:
        return count <= SEGMENT
    return len(text.encode("utf-16-be")) // 2 <= UCS2_SEGMENT


def _char(ch: str) -> str:
    if ch in "\n\r\t":
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf"):  # control and format characters
        return ""
    if is_gsm7(ch):
        return ch
    if ch in _SUBSTITUTES:
        return _SUBSTITUTES[ch]
    # á -> a, ç -> c, º -> o: the letter without its marks, if that letter is GSM-7
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and is_gsm7(base) else ""


def to_gsm7(text: str) -> str:
    """``text`` in the GSM-7 alphabet: é, ñ, ü, ¿, ¡ kept; á, í, ó, ú written without
    their accent; typographic quotes and dashes as their ASCII look-alikes; line breaks
    as spaces; control characters and what has no GSM-7 look-alike (emoji) dropped."""
    if _KEPT.issuperset(text):
        return text
    return "".join(_char(ch) for ch in text)


def truncate(text: str, limit: int) -> str:
    """``text`` (GSM-7) cut to at most ``limit`` septets, ending in "..." when cut."""
    count = septets(text)
    if count is None:
        raise ValueError(f"not GSM-7: {text!r}")
    if count <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    cut = text[:room]  # every character takes at least one septet
    while cut and (septets(cut) or 0) > room:
        cut = cut[:-1]
    return cut.rstrip(" ,;.-") + ELLIPSIS
