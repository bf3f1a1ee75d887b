"""Text normalisation shared by the lookups: accent-, case- and space-insensitive keys."""

import functools
import re
import unicodedata

_SPACES = re.compile(r"[\s\-_.,]+")
# an ASCII character -> a space if one of those, else itself
_ASCII_SPACES = "".join(" " if c in "-_.," else c for c in map(chr, range(128)))
# the combining marks NFKD leaves after Latin letters (á: a + U+0301), but U+034F, which
# is none (the grapheme joiner)
_LATIN_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]+")


def strip_accents(text: str) -> str:
    """``"Sáb Peña"`` -> ``"Sab Pena"``."""
    if text.isascii():
        return text  # no ASCII character decomposes, none is a combining mark
    decomposed = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text))
    if decomposed.isascii():
        return decomposed  # "Peña": "Pen" + U+0303 + "a" -> "Pena"
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """``"  San Martín de  Porres"`` -> ``"san martin de porres"``.

    NFKD splits accented letters into letter + combining mark, the marks are dropped
    (ñ becomes n, as people type it without the tilde too), case is folded and runs of
    spaces, hyphens, underscores, dots and commas collapse to one space.
    """
    if text.isascii():  # the same, quicker: split at the spaces, joined by one
        return " ".join(text.lower().translate(_ASCII_SPACES).split())
    return _SPACES.sub(" ", strip_accents(text).casefold()).strip()


_WORD = re.compile(r"[a-z0-9]+")
# an ASCII character -> itself if a letter or a digit folded, else a space
_ASCII_WORD_CHARS = "".join(c if re.fullmatch("[a-z0-9]", c) else " " for c in map(chr, range(128)))


@functools.lru_cache(maxsize=64)  # a message's readers ask for its words in turn
def folded_words(text: str) -> tuple[str, ...]:
    """The words of ``fold(text)``, its runs of letters a to z and digits:
    ``"Av. Próceres 1250, S.J.L."`` -> ``("av", "proceres", "1250", "s", "j", "l")``."""
    folded = strip_accents(text).casefold()  # fold's spaces do not change its words
    if folded.isascii():  # quicker than the pattern
        return tuple(folded.translate(_ASCII_WORD_CHARS).split())
    return tuple(_WORD.findall(folded))


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


_DOUBLE = re.compile(r"(.)\1+")
_SOFT_C = re.compile(r"c(?=[ei])")
_SOFT_G = re.compile(r"g(?=[ei])")
_Y_VOWEL = re.compile(r"y(?![aeiou])")


@functools.lru_cache(maxsize=8192)  # words recur; a word's sound never changes
def sounds(folded: str) -> str:
    """How a folded Spanish word sounds in Lima, so that the ways people spell it agree:
    ``"insendio"`` and ``"incendio"`` -> ``"insendio"``; ``"rovaron"`` -> ``"robaron"``;
    ``"kable kaido"`` -> ``"kable kaido"`` as ``"cable caido"``; ``"uele"`` as ``"huele"``;
    ``"surquiyo"`` as ``"surquillo"``; ``"ayudaaaa"`` as ``"ayuda"``.

    ll and y, b and v, s, z and soft c, j and soft g, c and qu and k sound alike; h is
    silent (ch is not); doubled letters are one. Give it :func:`fold`'s output.
    """
    s = folded.replace("ch", "\0").replace("ll", "y")
    s = _DOUBLE.sub(r"\1", s).replace("qu", "k")
    s = _SOFT_C.sub("s", s).replace("c", "k").replace("z", "s").replace("v", "b")
    s = _SOFT_G.sub("j", s).replace("h", "")
    s = _Y_VOWEL.sub("i", s)
    return _DOUBLE.sub(r"\1", s).replace("\0", "ch")
