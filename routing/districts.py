"""The 43 districts of Lima Metropolitana (province of Lima), with their official names
and INEI UBIGEO codes 150101 to 150143, and the names people use for them.

Callao is a separate constitutional province (UBIGEO 07xxxx) with its own centrals: it is
not in this table, and a report from Callao is outside Lima Metropolitana for routing.
"""

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz.distance import LCSseq, Levenshtein

from routing.errors import InvalidValue
from routing.text import fold, folded_words, sounds


@dataclass(frozen=True, kw_only=True, slots=True)
class District:
    ubigeo: str
    name: str
    aliases: tuple[str, ...] = ()


DISTRICTS: tuple[District, ...] = (
    District(ubigeo="150101", name="Lima", aliases=("Cercado de Lima", "Cercado", "Lima Cercado")),
    District(ubigeo="150102", name="Ancón"),
    District(ubigeo="150103", name="Ate", aliases=("Ate Vitarte", "Vitarte")),
    District(ubigeo="150104", name="Barranco"),
    District(ubigeo="150105", name="Breña"),
    District(ubigeo="150106", name="Carabayllo"),
    District(ubigeo="150107", name="Chaclacayo"),
    District(ubigeo="150108", name="Chorrillos"),
    District(ubigeo="150109", name="Cieneguilla"),
    District(ubigeo="150110", name="Comas"),
    District(ubigeo="150111", name="El Agustino"),
    District(ubigeo="150112", name="Independencia"),
    District(ubigeo="150113", name="Jesús María"),
    District(ubigeo="150114", name="La Molina"),
    District(ubigeo="150115", name="La Victoria"),
    District(ubigeo="150116", name="Lince"),
    District(ubigeo="150117", name="Los Olivos"),
    District(ubigeo="150118", name="Lurigancho", aliases=("Lurigancho-Chosica", "Chosica")),
    District(ubigeo="150119", name="Lurín"),
    District(ubigeo="150120", name="Magdalena del Mar", aliases=("Magdalena",)),
    District(ubigeo="150121", name="Pueblo Libre"),
    District(ubigeo="150122", name="Miraflores"),
    District(ubigeo="150123", name="Pachacámac"),
    District(ubigeo="150124", name="Pucusana"),
    District(ubigeo="150125", name="Puente Piedra"),
    District(ubigeo="150126", name="Punta Hermosa"),
    District(ubigeo="150127", name="Punta Negra"),
    District(ubigeo="150128", name="Rímac"),
    District(ubigeo="150129", name="San Bartolo"),
    District(ubigeo="150130", name="San Borja"),
    District(ubigeo="150131", name="San Isidro"),
    District(ubigeo="150132", name="San Juan de Lurigancho", aliases=("SJL",)),
    District(ubigeo="150133", name="San Juan de Miraflores", aliases=("SJM",)),
    District(ubigeo="150134", name="San Luis"),
    District(ubigeo="150135", name="San Martín de Porres", aliases=("SMP",)),
    District(ubigeo="150136", name="San Miguel"),
    District(ubigeo="150137", name="Santa Anita"),
    District(ubigeo="150138", name="Santa María del Mar"),
    District(ubigeo="150139", name="Santa Rosa"),
    District(ubigeo="150140", name="Santiago de Surco", aliases=("Surco",)),
    District(ubigeo="150141", name="Surquillo"),
    District(ubigeo="150142", name="Villa El Salvador", aliases=("VES",)),
    District(ubigeo="150143", name="Villa María del Triunfo", aliases=("VMT", "Villa María")),
)

_BY_CODE: dict[str, District] = {d.ubigeo: d for d in DISTRICTS}
_BY_NAME: dict[str, District] = {fold(name): d for d in DISTRICTS for name in (d.name, *d.aliases)}


def district_by_code(ubigeo: str) -> District:
    try:
        return _BY_CODE[ubigeo]
    except KeyError:
        raise InvalidValue(
            "district", f"{ubigeo!r} no es un código UBIGEO de Lima Metropolitana (150101-150143)"
        ) from None


def find_district(text: str) -> District | None:
    """The district whose code, official name or common alias is ``text`` (accents, case
    and spacing ignored), or None."""
    text = text.strip()
    if text in _BY_CODE:
        return _BY_CODE[text]
    return _BY_NAME.get(fold(text))


def resolve_district(text: str) -> District:
    """Like :func:`find_district`, but an unknown value is an :class:`InvalidValue`."""
    found = find_district(text)
    if found is None:
        raise InvalidValue(
            "district",
            f"{text!r} no es un código UBIGEO (150101-150143) ni el nombre de un distrito "
            "de Lima Metropolitana",
        )
    return found


# ------------------------------------------------------------ in free text

# places everybody in Lima knows the district of, named in messages instead of it (only
# in free text: they are no district's name for find_district)
PLACES: tuple[tuple[str, str], ...] = (
    ("Centro de Lima", "150101"),
    ("Barrios Altos", "150101"),
    ("Mesa Redonda", "150101"),
    ("Mercado Central", "150101"),
    ("Parque de la Exposición", "150101"),
    ("La Parada", "150115"),
    ("Gamarra", "150115"),
    ("Matute", "150115"),
    ("Huaycán", "150103"),
    ("Canto Grande", "150132"),
    ("Zárate", "150132"),
    ("Mangomarca", "150132"),
    ("Caja de Agua", "150132"),
    ("Collique", "150110"),
    ("Tahuantinsuyo", "150112"),
    ("Condevilla", "150135"),
    ("Parque Kennedy", "150122"),
    ("Larcomar", "150122"),
    ("Higuereta", "150140"),
    ("Matellini", "150108"),
    ("Pamplona Alta", "150133"),
    ("Tablada de Lurín", "150143"),
    ("Manchay", "150123"),
    ("Zapallal", "150125"),
)

# words after which a district's name is a street's or a place's, not the district; after
# a road's word and "de" too (Av. de la Marina), not after a place's ("el parque de
# Pueblo Libre" is in Pueblo Libre)
_ROAD = {
    "av", "avenida", "jr", "jiron", "calle", "ca", "psje", "pasaje", "prolongacion", "prol",
    "via", "carretera",
}  # fmt: skip
_STREET = _ROAD | {
    "malecon", "ovalo", "plaza", "parque", "pque", "puente",
    "urbanizacion", "urb", "asentamiento", "aahh",
}  # fmt: skip
# "Lima" alone names the city more often than the Cercado district
_NOT_IN_TEXT = {"lima"}
# a district's name misspelt: only names this long are looked for so (a one-letter slip
# in "Lince" or "Comas" makes another word), and never these, which are other places
_FUZZY_MIN = 7
_NOT_FUZZY = {"barranca", "huaral", "huarochiri", "chilca", "callao", "sanmartin"}


def _words(text: str) -> tuple[str, ...]:
    return folded_words(text)


_NAMES: tuple[tuple[tuple[str, ...], District], ...] = tuple(
    (words, d)
    for d in DISTRICTS
    for name in (d.name, *d.aliases, *(p for p, code in PLACES if code == d.ubigeo))
    if (words := _words(name)) and " ".join(words) not in _NOT_IN_TEXT
)
_NAMED: dict[tuple[str, ...], District] = dict(_NAMES)  # no two districts share a name
# a name's first word -> how many words the names it starts have, longest first
_SIZES: dict[str, tuple[int, ...]] = {
    first: tuple(sorted({len(name) for name in _NAMED if name[0] == first}, reverse=True))
    for first in {name[0] for name in _NAMED}
}


@dataclass(frozen=True, slots=True)
class _Fuzzy:
    """An official name looked for misspelt ("miraflres", "san borga", "sanjuan de
    lurigancho", "surquiyo")."""

    words: tuple[str, ...]
    district: District
    spelt: str  # its words together: "sanborja"
    heard: str  # and as they sound: "sanborja"
    slips: int  # how many it may have: one, two from 11 letters

    def may_start(self, word: str, heard: str) -> bool:
        """Whether a misspelling of the name may start with the folded ``word`` (``heard``
        as it sounds), as written or as it sounds (:func:`_may_begin`)."""
        return _may_begin(word, self.spelt, self.slips) or _may_begin(heard, self.heard, self.slips)

    def may_be(self, words: int, spelt: int, heard: int) -> bool:
        """Whether ``words`` words, ``spelt`` letters long together and ``heard`` long as
        they sound, may misspell the name: a word more or less, and a length within the
        slips (nearer it cannot be), as written or as it sounds."""
        return abs(words - len(self.words)) <= 1 and (
            abs(spelt - len(self.spelt)) <= self.slips or abs(heard - len(self.heard)) <= self.slips
        )


def _may_begin(start: str, name: str, slips: int) -> bool:
    """Whether ``name`` with ``slips`` slips or fewer may begin with ``start``: then the
    name's first letters, as many as ``start``'s and the slips, hold all of ``start``'s
    letters but the slips, in order (a slip changes, drops or adds one letter)."""
    return LCSseq.similarity(start, name[: len(start) + slips]) >= len(start) - slips


_FUZZY: tuple[_Fuzzy, ...] = tuple(
    _Fuzzy(
        words=words,
        district=d,
        spelt="".join(words),
        heard="".join(sounds(w) for w in words),
        slips=1 if len("".join(words)) < 11 else 2,
    )
    for d in DISTRICTS
    if len("".join(words := _words(d.name))) >= _FUZZY_MIN
)
_FUZZY_MAX = max(len(f.spelt) for f in _FUZZY)
_FUZZY_BY_START: dict[str, list[_Fuzzy]] = {}  # a slip is seldom in the first letter
for _fuzzy in _FUZZY:
    for _letter in {_fuzzy.spelt[0], _fuzzy.heard[0]}:
        _FUZZY_BY_START.setdefault(_letter, []).append(_fuzzy)
# words no district's name starts with (La Molina, El Agustino, Los Olivos do)
_NOT_FIRST = {"de", "del", "en", "a", "al", "y", "o", "un", "una", "mi", "su", "por", "con",
              "que", "se", "me", "le", "lo", "las", "hay", "esta", "es"}  # fmt: skip
_ABBREVIATION = re.compile(r"\b([a-z])\.\s?([a-z])\.\s?([a-z])\b\.?", re.IGNORECASE)  # S.J.L.
_DOTTED = re.compile(r"\.\s?[a-z]\.", re.IGNORECASE)  # in every abbreviation, quicker found
_PARTS = re.compile(r"[,;\n/()]")


@dataclass(frozen=True, kw_only=True, slots=True)
class TextMatch:
    district: District
    words: str  # the words that named it, folded
    misspelt: bool = False  # named by a misspelling: "miraflres"


def find_in_text(text: str) -> TextMatch | None:
    """The district an address or a message names: ``"Jr. Huallaga 123, Cercado de Lima"``
    -> Lima; ``"Av. Próceres 1250, SJL"`` (or ``S.J.L.``) -> San Juan de Lurigancho;
    ``"en La Parada"`` -> La Victoria; ``"robo en miraflres"`` -> Miraflores (a misspelt
    official name of 7 letters or more, one slip, or two from 11 letters, as written or
    as it sounds). A name right after a street word (``Av. La Molina``), or after ``de
    la`` in a street's name (``Av. Próceres de la Independencia``), names the street.
    When several districts are named, the one named last wins (addresses end with the
    district), unless the text says ``distrito de ...``; None when no district is named."""
    if _DOTTED.search(text):
        text = _ABBREVIATION.sub(r"\1\2\3", text)
    last: tuple[tuple[str, ...], int, int, District, bool] | None = None
    for part in _PARTS.split(text):
        words = _words(part)
        for start, end, district, slip in _named(words):  # in order
            if _says_distrito(words[:start]):
                return TextMatch(district=district, words=" ".join(words[start:end]), misspelt=slip)
            last = (words, start, end, district, slip)
    if last is None:
        return None
    words, start, end, district, slip = last
    return TextMatch(district=district, words=" ".join(words[start:end]), misspelt=slip)


def _says_distrito(before: tuple[str, ...]) -> bool:
    """Whether the words ``before`` a name end with ``distrito`` or ``distrito de``."""
    return before[-1:] == ("distrito",) or before[-2:] == ("distrito", "de")


def _named(words: tuple[str, ...]) -> list[tuple[int, int, District, bool]]:
    """The districts ``words`` name, as (start, end, district, misspelt), in order. Where
    names overlap the longest wins, then the best spelt: ``sanjuan de lurigancho`` (a
    slip: spelt together) wins the ``lurigancho`` in it."""
    candidates: list[tuple[int, float, int, int, District]] = []  # (length, slips, start, ...)
    for start, may in enumerate(map(_starting, words)):
        if may is None:
            continue  # no name starts with the word
        for size in may.sizes:
            name = words[start : start + size]  # shorter at the end
            if len(name) == size and (district := _NAMED.get(name)) is not None:
                candidates.append((len("".join(name)), 0, start, start + size, district))
        if not may.most:
            continue  # no misspelt name starts with it
        length = 0  # of words[start:end] together
        for end in range(start + 1, min(start + may.most, len(words)) + 1):
            if words[end - 1].isdigit():
                break
            length += len(words[end - 1])
            if length > _FUZZY_MAX + 2:
                break
            if length < may.shortest or end - start < may.fewest:
                continue
            for fuzzy, slips in _misspelt(words[start:end]):
                candidates.append((len(fuzzy.spelt), slips + 0.5, start, end, fuzzy.district))
    if not candidates:
        return []
    if len(candidates) > 1:
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    taken: set[int] = set()  # the words of the names taken
    named: list[tuple[int, int, District, bool]] = []
    for _, cost, start, end, district in candidates:
        if not taken.isdisjoint(range(start, end)):
            continue
        taken.update(range(start, end))
        if not _names_a_street(words, start):
            named.append((start, end, district, cost > 0))
    named.sort()  # by start: names taken do not overlap
    return named


class _Start(NamedTuple):
    """The names that may start at a word."""

    sizes: tuple[int, ...]  # how many words those spelt right have (:data:`_SIZES`)
    most: int  # how many words a misspelling of one (:func:`_may_start`) has at most; 0: none
    fewest: int  # and at least (a name's, one more or less)
    shortest: int  # and letters at least: the shortest name's as it sounds less its slips,
    # and never fewer than _FUZZY_MIN - 1


@functools.lru_cache(maxsize=8192)  # words recur
def _starting(word: str) -> _Start | None:
    """The names that may start at the folded ``word``; None if none."""
    sizes, misspelt = _SIZES.get(word, ()), _may_start(word)
    if not misspelt:
        return _Start(sizes, most=0, fewest=0, shortest=0) if sizes else None
    return _Start(
        sizes,
        most=min(5, max(len(f.words) for f in misspelt) + 1),
        fewest=min(len(f.words) for f in misspelt) - 1,
        shortest=max(_FUZZY_MIN - 1, min(len(f.heard) - f.slips for f in misspelt)),
    )


@functools.lru_cache(maxsize=8192)  # words recur
def _may_start(word: str) -> tuple[_Fuzzy, ...]:
    """The official names a misspelling starting with the folded ``word`` may be of:
    those starting with its letter (as written or as they sound) that it may start
    (:meth:`_Fuzzy.may_start`); none from the little words no name starts with."""
    if word in _NOT_FIRST:
        return ()
    heard = sounds(word)
    return tuple(f for f in _FUZZY_BY_START.get(word[0], ()) if f.may_start(word, heard))


@functools.lru_cache(maxsize=8192)  # so do runs of words: "la av", "san isidro"
def _misspelt(window: tuple[str, ...]) -> tuple[tuple[_Fuzzy, int], ...]:
    """The official names the folded words of ``window`` misspell (with one word more or
    less, as written or as they sound), each with its slips; not the name spelt right."""
    spelt = "".join(window)
    if spelt in _NOT_FUZZY:
        return ()
    heard = "".join(sounds(w) for w in window)
    found = []
    for fuzzy in _may_start(window[0]):
        if not fuzzy.may_be(len(window), len(spelt), len(heard)):
            continue
        slips = min(
            Levenshtein.distance(spelt, fuzzy.spelt, score_cutoff=fuzzy.slips + 1),
            Levenshtein.distance(heard, fuzzy.heard, score_cutoff=fuzzy.slips + 1),
        )
        if slips <= fuzzy.slips and window != fuzzy.words:
            found.append((fuzzy, slips))
    return tuple(found)


def _names_a_street(words: tuple[str, ...], start: int) -> bool:
    """Whether the name at ``start`` is part of a street's: ``Av. La Molina``, ``Av. de
    la Marina``, ``Av. Próceres de la Independencia`` (a street word a few words before,
    no number between)."""
    before = words[:start]
    if before and before[-1] in _STREET:
        return True
    if len(before) >= 2 and before[-1] in ("de", "del") and before[-2] in _ROAD:
        return True
    if len(before) >= 3 and before[-2] == "de" and before[-1] in ("la", "los", "las"):
        for word in reversed(before[-6:-2]):
            if word in _ROAD:
                return True
            if word.isdigit():
                break
    return False


def name_at(words: Sequence[str], start: int) -> int:
    """How many of the folded ``words`` from ``start`` spell a district's name, alias or
    known place (``["la", "victoria", "123"]`` -> 2); 0 when none starts there."""
    if start >= len(words) or words[start] not in _SIZES:
        return 0
    for size in _SIZES[words[start]]:  # longest first
        if start + size <= len(words) and tuple(words[start : start + size]) in _NAMED:
            return size
    return 0
