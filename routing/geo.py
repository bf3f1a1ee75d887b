"""Which district a point (lat, lon) falls in: one of the 43 of Lima Metropolitana (the
province of Lima), one of the 7 of Callao, or neither.

The bundled outlines (``routing/data/districts.json``) are derived by
``scripts/derive_district_outlines.py`` from ``lima_callao_distritos_simple.geojson`` of
joseluisq/peru-geojson-datasets (commit 2c2a8ae, boundaries from IGN, licensed MIT or
Apache-2.0 at your option): further simplified (Douglas-Peucker, 0.0003 degrees, about 33 m)
without opening gaps or overlaps between neighbours, rounded to 5 decimals. A point within a
few tens of metres of a border may therefore land on either side of it; use an official
boundary file (:meth:`Outlines.from_geojson`) where that matters.

Rings are lists of [lon, lat] positions and a district holds the points inside an odd
number of its rings (even-odd rule), which covers holes and several parts alike.
"""

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from routing.districts import DISTRICTS, District
from routing.errors import InvalidValue
from routing.text import fold

LIMA = "Lima"
CALLAO = "Callao"

CALLAO_DISTRICTS: tuple[District, ...] = (
    District(ubigeo="070101", name="Callao"),
    District(ubigeo="070102", name="Bellavista"),
    District(ubigeo="070103", name="Carmen de la Legua Reynoso", aliases=("Carmen de la Legua",)),
    District(ubigeo="070104", name="La Perla"),
    District(ubigeo="070105", name="La Punta"),
    District(ubigeo="070106", name="Ventanilla"),
    District(ubigeo="070107", name="Mi Perú"),
)

Position = tuple[float, float]  # (lon, lat), as in GeoJSON
Ring = tuple[Position, ...]  # closed: the last position repeats the first


@dataclass(frozen=True, kw_only=True, slots=True)
class Place:
    ubigeo: str | None  # the district's UBIGEO (Lima or Callao), None when outside both
    name: str | None
    province: str | None  # "Lima", "Callao", or None

    @property
    def in_lima(self) -> bool:
        """Inside Lima Metropolitana (the province of Lima); Callao is not."""
        return self.province == LIMA


OUTSIDE = Place(ubigeo=None, name=None, province=None)


def where_phrase(place: Place) -> str:
    """Where a point falls, to follow a verb ("el punto cae ..."): ``en Miraflores
    (150122)``, ``en Bellavista (070102), en el Callao``, ``fuera de Lima Metropolitana y
    del Callao``."""
    if place.ubigeo is None:
        return "fuera de Lima Metropolitana y del Callao"
    where = f"en {place.name} ({place.ubigeo})"
    return where if place.in_lima else f"{where}, en el Callao"


_TABLE: dict[str, tuple[str, str]] = {  # code -> (official name, province)
    d.ubigeo: (d.name, province)
    for province, table in ((LIMA, DISTRICTS), (CALLAO, CALLAO_DISTRICTS))
    for d in table
}
_BY_NAME: dict[str, str] = {  # folded name or alias -> code
    fold(name): d.ubigeo for d in (*DISTRICTS, *CALLAO_DISTRICTS) for name in (d.name, *d.aliases)
}
# Text that went through UTF-8 -> Latin-1/CP1252 -> UTF-8: an accented letter ("Ú") shows
# as "Ã" or "Â" and one more character, which may itself have been lost on the way (the
# reference file's "MI PERÃz").
_MOJIBAKE = re.compile("[ÃÂ].")


def place_of_code(ubigeo: str) -> Place | None:
    """The district of Lima or Callao with this UBIGEO code, or None."""
    if ubigeo not in _TABLE:
        return None
    name, province = _TABLE[ubigeo]
    return Place(ubigeo=ubigeo, name=name, province=province)


def place_named(text: str) -> Place | None:
    """The district of Lima or Callao named ``text`` (official name or common alias; case,
    accents and spacing ignored), or None. Double-encoded UTF-8 ("PERÃš") is repaired; when
    it cannot be (a byte was lost), each mangled letter matches any one letter, provided
    exactly one district then matches."""
    code = _code_named(text)
    return None if code is None else place_of_code(code)


def _code_named(text: str) -> str | None:
    code = _BY_NAME.get(fold(repair_mojibake(text)))
    if code is not None or not _MOJIBAKE.search(text):
        return code
    pieces = fold(_MOJIBAKE.sub("\0", text)).split("\0")
    pattern = re.compile(".".join(re.escape(piece) for piece in pieces))
    matches = {code for key, code in _BY_NAME.items() if pattern.fullmatch(key)}
    return matches.pop() if len(matches) == 1 else None


def repair_mojibake(text: str) -> str:
    """``"PERÃš"`` -> ``"PERÚ"``; text without the tell-tale "Ã"/"Â", or that does not
    round-trip, comes back unchanged."""
    if not _MOJIBAKE.search(text):
        return text
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
    return text


@dataclass(frozen=True, kw_only=True, slots=True)
class Outline:
    """One district's outline; ``bbox`` is (west, south, east, north) in degrees."""

    ubigeo: str
    name: str
    province: str
    bbox: tuple[float, float, float, float]
    rings: tuple[Ring, ...]

    def contains(self, lat: float, lon: float) -> bool:
        west, south, east, north = self.bbox
        if not (west <= lon <= east and south <= lat <= north):
            return False
        inside = False
        for ring in self.rings:
            if _in_ring(ring, lon, lat):
                inside = not inside
        return inside

    @property
    def place(self) -> Place:
        return Place(ubigeo=self.ubigeo, name=self.name, province=self.province)


@dataclass(frozen=True, kw_only=True, slots=True)
class Outlines:
    """The outlines of the districts of Lima Metropolitana and Callao."""

    outlines: tuple[Outline, ...]

    @classmethod
    def bundled(cls) -> "Outlines":
        """The outlines shipped with the package (``routing/data/districts.json``), read on
        the first call and shared afterwards."""
        return _bundled()

    @classmethod
    def from_geojson(cls, path: Path) -> "Outlines":
        """Outlines from a boundary file: a GeoJSON FeatureCollection of Polygon or
        MultiPolygon features (holes allowed), one district per feature (several features
        of one district are merged).

        A feature's district is its UBIGEO code, from a property ``ubigeo``, ``UBIGEO``,
        ``IDDIST`` or ``iddist`` (6 digits; 1501xx for Lima, 0701xx for Callao; codes of
        other provinces are skipped), else its name, from ``distrito``, ``NOMBDIST`` or
        ``name`` (features whose ``provincia``/``NOMBPROV`` is neither Lima nor Callao are
        skipped). A file that cannot be read, is no FeatureCollection or holds no district
        of Lima or Callao, and a feature that does not join or whose geometry is not valid
        GeoJSON, raise :class:`InvalidValue` (field ``districts_file``) naming the feature.
        """
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            raise InvalidValue("districts_file", f"cannot read {path}: {exc}") from None
        except RecursionError:  # json's decoder recurses once per level of nesting
            raise InvalidValue("districts_file", f"{path} is nested too deeply") from None
        if not (
            isinstance(document, dict)
            and document.get("type") == "FeatureCollection"
            and isinstance(document.get("features"), list)
        ):
            raise InvalidValue("districts_file", f"{path} is not a GeoJSON FeatureCollection")
        features: list[object] = document["features"]
        rings_of: dict[str, list[Ring]] = {}
        for index, feature in enumerate(features):
            label = _label(index, feature)
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise InvalidValue("districts_file", f"{label} is not a GeoJSON Feature")
            code = _code_of_feature(feature, label)
            if code is not None:
                rings_of.setdefault(code, []).extend(_rings(feature.get("geometry"), label))
        if not rings_of:
            raise InvalidValue("districts_file", f"{path} has no district of Lima or Callao")
        outlines = [_outline(code, tuple(rings)) for code, rings in rings_of.items()]
        return cls(outlines=_ordered(outlines))

    def locate(self, lat: float, lon: float) -> Place:
        """The district containing the point, or a Place of None when it is outside both
        Lima Metropolitana and Callao. A point on a border goes to either side."""
        _check_coordinates(lat, lon)
        for outline in self.outlines:
            if outline.contains(lat, lon):
                return outline.place
        return OUTSIDE

    def outline(self, ubigeo: str) -> Outline:
        for outline in self.outlines:
            if outline.ubigeo == ubigeo:
                return outline
        raise InvalidValue("district", f"no outline for {ubigeo!r}")


@functools.cache
def _bundled() -> Outlines:
    text = resources.files("routing").joinpath("data/districts.json").read_text("utf-8")
    outlines: list[Outline] = []
    for raw in json.loads(text)["districts"]:
        rings = tuple(_ring(r, "routing/data/districts.json") for r in raw["rings"])
        outlines.append(_outline(str(raw["ubigeo"]), rings))
    return Outlines(outlines=_ordered(outlines))


def _check_coordinates(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidValue("lat", f"{lat!r} is not a latitude (-90 to 90 degrees)")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidValue("lon", f"{lon!r} is not a longitude (-180 to 180 degrees)")


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    """Ray casting towards +x: does the ray from (x, y) cross the ring an odd number of times?"""
    inside = False
    x1, y1 = ring[0]
    for x2, y2 in ring[1:]:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
        x1, y1 = x2, y2
    return inside


def _outline(ubigeo: str, rings: tuple[Ring, ...]) -> Outline:
    name, province = _TABLE[ubigeo]
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    return Outline(
        ubigeo=ubigeo,
        name=name,
        province=province,
        bbox=(min(xs), min(ys), max(xs), max(ys)),
        rings=rings,
    )


def _ordered(outlines: list[Outline]) -> tuple[Outline, ...]:
    """Lima's districts first, then Callao's, each by code."""
    return tuple(sorted(outlines, key=lambda o: (o.province != LIMA, o.ubigeo)))


_CODE_KEYS = ("ubigeo", "UBIGEO", "IDDIST", "iddist")
_NAME_KEYS = ("distrito", "NOMBDIST", "name")
_PROVINCE_KEYS = ("provincia", "NOMBPROV")


def _properties(feature: object) -> dict[str, Any]:
    if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
        return feature["properties"]  # type: ignore[no-any-return]
    return {}


def _first(properties: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if properties.get(key) not in (None, ""):
            return properties[key]
    return None


def _label(index: int, feature: object) -> str:
    properties = _properties(feature)
    names = [str(v) for v in (_first(properties, _CODE_KEYS), _first(properties, _NAME_KEYS)) if v]
    return f"features[{index}]" + (f" ({', '.join(names)})" if names else "")


def _code_of_feature(feature: dict[str, Any], label: str) -> str | None:
    """The feature's district code; None for a district of another province."""
    properties = _properties(feature)
    code = _first(properties, _CODE_KEYS)
    if code is not None:
        if isinstance(code, int) and not isinstance(code, bool):
            code = f"{code:06d}"  # a number loses Callao's leading zero
        if not (isinstance(code, str) and len(code.strip()) == 6 and code.strip().isdigit()):
            raise InvalidValue("districts_file", f"{label}: {code!r} is not a 6-digit UBIGEO")
        code = code.strip()
        if code in _TABLE:
            return code
        if code[:4] in ("1501", "0701"):
            raise InvalidValue(
                "districts_file", f"{label}: {code} is no district of Lima or Callao"
            )
        return None
    name = _first(properties, _NAME_KEYS)
    if not isinstance(name, str):
        raise InvalidValue("districts_file", f"{label} has neither a UBIGEO code nor a name")
    province = _first(properties, _PROVINCE_KEYS)
    if isinstance(province, str) and fold(province) not in (fold(LIMA), fold(CALLAO)):
        return None
    code = _code_named(name)
    if code is None:
        raise InvalidValue("districts_file", f"{label}: no district of Lima or Callao is named so")
    return code


def _rings(geometry: object, label: str) -> list[Ring]:
    if not isinstance(geometry, dict):
        raise InvalidValue("districts_file", f"{label} has no geometry")
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coordinates, list):
        polygons: list[Any] = [coordinates]
    elif kind == "MultiPolygon" and isinstance(coordinates, list):
        polygons = coordinates
    else:
        raise InvalidValue("districts_file", f"{label}: a {kind} is not a Polygon/MultiPolygon")
    rings: list[Ring] = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise InvalidValue("districts_file", f"{label}: a polygon without rings")
        rings.extend(_ring(raw, label) for raw in polygon)
    return rings


def _ring(raw: object, label: str) -> Ring:
    if not isinstance(raw, list):
        raise InvalidValue("districts_file", f"{label}: a ring is not a list of positions")
    ring = tuple(_position(p, label) for p in raw)
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise InvalidValue(
            "districts_file", f"{label}: a ring needs 4 or more positions, the last = the first"
        )
    return ring


def _position(raw: object, label: str) -> Position:
    if (
        isinstance(raw, list)
        and len(raw) >= 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw[:2])
        and -180.0 <= raw[0] <= 180.0
        and -90.0 <= raw[1] <= 90.0
    ):
        return (float(raw[0]), float(raw[1]))
    raise InvalidValue("districts_file", f"{label}: {raw!r} is not a [lon, lat] position")
