"""Which district an incident belongs to, and how we know: the district given, else the
reported point (point in polygon), else an address or message that names it, else the
district central that received the report."""

from dataclasses import dataclass
from enum import StrEnum

from routing.districts import district_by_code, find_in_text
from routing.geo import Outlines, Place


class DistrictSource(StrEnum):
    GIVEN = "given"
    POINT = "point"
    ADDRESS = "address"
    CENTRAL = "central"


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    district: str | None  # UBIGEO
    source: DistrictSource | None
    detail: str  # Spanish, for the incident's log
    outside: Place | None = None  # the reported point lies outside Lima Metropolitana


def resolve(
    outlines: Outlines,
    *,
    given: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    texts: tuple[str | None, ...] = (),
    central: str | None = None,
) -> Resolution:
    """The district by the first source that tells. A point outside Lima Metropolitana is
    reported in ``outside`` (and gives no district); a given district always wins."""
    place = outlines.locate(lat, lon) if lat is not None and lon is not None else None
    outside = place if place is not None and not place.in_lima else None
    if given is not None:
        name = district_by_code(given).name
        detail = f"Distrito indicado: {name}."
        if place is not None and place.ubigeo != given:
            where = place.name if place.in_lima else _outside(place)
            detail += f" El punto reportado cae en {where}."
        return Resolution(
            district=given, source=DistrictSource.GIVEN, detail=detail, outside=outside
        )
    if place is not None and place.in_lima and place.ubigeo is not None:
        return Resolution(
            district=place.ubigeo,
            source=DistrictSource.POINT,
            detail=f"El punto ({lat:.5f}, {lon:.5f}) cae en {place.name}.",
        )
    for text in texts:
        if text and (match := find_in_text(text)) is not None:
            return Resolution(
                district=match.district.ubigeo,
                source=DistrictSource.ADDRESS,
                detail=f"El texto nombra «{match.words}»: {match.district.name}.",
                outside=outside,
            )
    if central is not None:
        return Resolution(
            district=central,
            source=DistrictSource.CENTRAL,
            detail=f"Central distrital que recibió el reporte: {district_by_code(central).name}.",
            outside=outside,
        )
    return Resolution(
        district=None, source=None, detail="No se pudo determinar el distrito.", outside=outside
    )


def _outside(place: Place) -> str:
    if place.province == "Callao":
        return f"{place.name}, Callao ({place.ubigeo}): fuera de Lima Metropolitana"
    return "fuera de Lima Metropolitana y del Callao"


def describe(place: Place) -> str:
    """What ``voicebridge districts locate`` prints."""
    return f"{place.ubigeo} {place.name}" if place.in_lima else _outside(place)
