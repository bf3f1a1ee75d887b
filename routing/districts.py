"""The 43 districts of Lima Metropolitana (province of Lima), with their official names
and INEI UBIGEO codes 150101 to 150143, and the names people use for them.

Callao is a separate constitutional province (UBIGEO 07xxxx) with its own centrals: it is
not in this table, and a report from Callao is outside Lima Metropolitana for routing.
"""

import re
from dataclasses import dataclass

from routing.errors import InvalidValue
from routing.text import fold


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
    District(ubigeo="150143", name="Villa María del Triunfo", aliases=("VMT",)),
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

# words after which a district's name is a street's or a place's, not the district
_STREET = {
    "av", "avenida", "jr", "jiron", "calle", "ca", "psje", "pasaje", "prolongacion", "prol",
    "malecon", "ovalo", "plaza", "parque", "pque", "puente", "via", "carretera",
    "urbanizacion", "urb", "asentamiento", "aahh",
}  # fmt: skip
# "Lima" alone names the city more often than the Cercado district
_NOT_IN_TEXT = {"lima"}
_NAMES = sorted(
    ((fold(name), d) for d in DISTRICTS for name in (d.name, *d.aliases)
     if fold(name) not in _NOT_IN_TEXT),
    key=lambda pair: -len(pair[0]),
)  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class TextMatch:
    district: District
    words: str  # the words that named it, folded


def find_in_text(text: str) -> TextMatch | None:
    """The district an address or a message names: ``"Jr. Huallaga 123, Cercado de Lima"``
    -> Lima; ``"Av. Próceres 1250, SJL"`` -> San Juan de Lurigancho. A name right after a
    street word (``Av. La Molina``) names the street. When several districts are named,
    the one named last wins (addresses end with the district), unless the text says
    ``distrito de ...``; None when no district is named."""
    parts = [fold(p) for p in re.split(r"[,;\n/()]", text) if p.strip()]
    found: list[tuple[int, int, District, str]] = []  # (part, position, district, words)
    for n, part in enumerate(parts):
        taken: list[tuple[int, int]] = []
        for name, district in _NAMES:  # longest first: "san juan de miraflores" before "miraflores"
            for match in re.finditer(rf"\b{re.escape(name)}\b", part):
                start, end = match.span()
                if any(s < end and start < e for s, e in taken):
                    continue
                taken.append((start, end))
                before = part[:start].split()
                if before and before[-1] in _STREET:
                    continue
                if len(before) >= 2 and before[-1] in ("de", "del") and before[-2] in _STREET:
                    continue
                found.append((n, start, district, name))
    if not found:
        return None
    for n, start, district, name in found:
        if re.search(r"\bdistrito( de)?$", parts[n][:start].strip()):
            return TextMatch(district=district, words=name)
    n, start, district, name = max(found, key=lambda f: (f[0], f[1]))
    return TextMatch(district=district, words=name)
