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
