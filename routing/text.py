"""Text normalisation shared by the lookups: accent-, case- and space-insensitive keys."""

import re
import unicodedata

_SPACES = re.compile(r"[\s\-_.,]+")


def strip_accents(text: str) -> str:
    """``"Sáb Peña"`` -> ``"Sab Pena"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """``"  San Martín de  Porres"`` -> ``"san martin de porres"``.

    NFKD splits accented letters into letter + combining mark, the marks are dropped
    (ñ becomes n, as people type it without the tilde too), case is folded and runs of
    spaces, hyphens, underscores, dots and commas collapse to one space.
    """
    return _SPACES.sub(" ", strip_accents(text).casefold()).strip()


# what separates words although it is not a space: tabs, newlines, the Unicode line and
# paragraph separators; any other control or format character is dropped
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_DROPPED = frozenset(("Cc", "Cf", "Cs"))  # control, format (U+202E, U+200B), surrogate


def printable(text: str) -> str:
    """What a citizen wrote, fit to show to an operator on one line:
    ``"robo\\r\\nen\\u202e  Lince\\x00 "`` -> ``"robo en Lince"``.

    Tabs and line breaks become a space; other control characters (C0, DEL, C1) and
    format characters (the bidirectional overrides and isolates such as U+202E, which
    reorder what the console shows; zero-width spaces and joiners; the byte order mark;
    the soft hyphen) and lone surrogates are dropped; runs of whitespace (including
    no-break and other Unicode spaces) collapse to one space; the ends are trimmed.
    Letters, accents and emoji are kept.
    """
    if not text.isprintable():
        text = "".join(
            " " if c in _BREAKS else "" if unicodedata.category(c) in _DROPPED else c for c in text
        )
    return " ".join(text.split())
