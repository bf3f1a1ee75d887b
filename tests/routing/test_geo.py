"""Locating points in the districts of Lima Metropolitana and Callao (routing.geo).

The border points were computed once from the reference file (joseluisq/peru-geojson-datasets,
commit 2c2a8ae) with the same point-in-polygon: for each of 54 pairs of neighbours, a point on
each side of their common border, 60-150 m from the nearest border of the source (noted per
pair), offset square to the middle of a border edge at least 120 m long, picking the edge
where the simplification moved the border most. The tests never read the reference file.
"""

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from routing.districts import DISTRICTS
from routing.errors import InvalidValue
from routing.geo import (
    CALLAO_DISTRICTS,
    Outline,
    Outlines,
    Place,
    place_named,
    place_of_code,
    repair_mojibake,
)


@pytest.fixture(scope="module")
def outlines() -> Outlines:
    return Outlines.bundled()


@pytest.mark.parametrize(
    ("lat", "lon", "ubigeo", "province"),
    [
        pytest.param(-12.0464, -77.0300, "150101", "Lima", id="Plaza de Armas de Lima"),
        pytest.param(-12.1211, -77.0297, "150122", "Lima", id="Parque Kennedy"),
        pytest.param(-12.0219, -77.1143, "070101", "Callao", id="Jorge Chávez airport"),
        pytest.param(-12.0725, -77.1628, "070105", "Callao", id="La Punta, Plaza Grau"),
        pytest.param(-12.1300, -77.1000, None, None, id="the sea west of Miraflores"),
        pytest.param(-11.1000, -77.6100, None, None, id="Huacho"),
    ],
)
def test_landmarks(
    outlines: Outlines, lat: float, lon: float, ubigeo: str | None, province: str | None
) -> None:
    place = outlines.locate(lat, lon)
    assert place.ubigeo == ubigeo
    assert place.province == province
    assert place.in_lima is (province == "Lima")


def test_a_place_says_whether_it_is_in_lima_metropolitana(outlines: Outlines) -> None:
    assert outlines.locate(-12.1211, -77.0297) == Place(
        ubigeo="150122", name="Miraflores", province="Lima"
    )
    airport = outlines.locate(-12.0219, -77.1143)
    assert airport == Place(ubigeo="070101", name="Callao", province="Callao")
    assert not airport.in_lima
    sea = outlines.locate(-12.13, -77.10)
    assert sea == Place(ubigeo=None, name=None, province=None)
    assert not sea.in_lima


BORDER_POINTS: list[tuple[float, float, str]] = [
    # San Isidro / Miraflores: 64 m and 65 m
    (-12.11121, -77.04383, "150122"),  # Miraflores
    (-12.11011, -77.04343, "150131"),  # San Isidro
    # Lima / Rímac: 80 m and 80 m
    (-12.04389, -77.02920, "150101"),  # Lima
    (-12.04248, -77.02888, "150128"),  # Rímac
    # Lima / La Victoria: 95 m and 95 m
    (-12.06986, -77.03251, "150101"),  # Lima
    (-12.06923, -77.03088, "150115"),  # La Victoria
    # San Juan de Lurigancho / Lurigancho: 110 m and 110 m
    (-12.01918, -76.95172, "150118"),  # Lurigancho
    (-12.01916, -76.95374, "150132"),  # San Juan de Lurigancho
    # San Juan de Miraflores / Villa María del Triunfo: 125 m and 125 m
    (-12.12730, -76.94614, "150133"),  # San Juan de Miraflores
    (-12.12792, -76.94393, "150143"),  # Villa María del Triunfo
    # Lima / Breña: 140 m and 140 m
    (-12.06438, -77.06143, "150101"),  # Lima
    (-12.06521, -77.05900, "150105"),  # Breña
    # Santiago de Surco / San Borja: 65 m and 65 m
    (-12.08767, -76.98308, "150130"),  # San Borja
    (-12.08673, -76.98237, "150140"),  # Santiago de Surco
    # Comas / Independencia: 79 m and 80 m
    (-11.96927, -77.05214, "150110"),  # Comas
    (-11.97009, -77.05094, "150112"),  # Independencia
    # San Martín de Porres / Callao: 95 m and 95 m
    (-11.95946, -77.11690, "150135"),  # San Martín de Porres
    (-11.95942, -77.11865, "070101"),  # Callao
    # Lima / Callao: 110 m and 62 m
    (-12.04735, -77.07604, "150101"),  # Lima
    (-12.04729, -77.07806, "070101"),  # Callao
    # San Miguel / Bellavista: 125 m and 125 m
    (-12.06377, -77.09864, "150136"),  # San Miguel
    (-12.06152, -77.09885, "070102"),  # Bellavista
    # Lima / Carmen de la Legua Reynoso: 140 m and 138 m
    (-12.03764, -77.08149, "150101"),  # Lima
    (-12.03794, -77.08404, "070103"),  # Carmen de la Legua Reynoso
    # Puente Piedra / Ventanilla: 65 m and 65 m
    (-11.83384, -77.11521, "150125"),  # Puente Piedra
    (-11.83482, -77.11586, "070106"),  # Ventanilla
    # Ancón / Ventanilla: 80 m and 80 m
    (-11.81962, -77.14144, "150102"),  # Ancón
    (-11.82093, -77.14080, "070106"),  # Ventanilla
    # Puente Piedra / Mi Perú: 95 m and 95 m
    (-11.85168, -77.11038, "150125"),  # Puente Piedra
    (-11.85173, -77.11212, "070107"),  # Mi Perú
    # San Miguel / La Perla: 110 m and 110 m
    (-12.06789, -77.10304, "150136"),  # San Miguel
    (-12.06771, -77.10505, "070104"),  # La Perla
    # Miraflores / Barranco: 125 m and 125 m
    (-12.13771, -77.02519, "150104"),  # Barranco
    (-12.13658, -77.02718, "150122"),  # Miraflores
    # Miraflores / Surquillo: 140 m and 140 m
    (-12.11837, -77.01187, "150122"),  # Miraflores
    (-12.11795, -77.01441, "150141"),  # Surquillo
    # Miraflores / Santiago de Surco: 65 m and 65 m
    (-12.12766, -77.00549, "150122"),  # Miraflores
    (-12.12882, -77.00568, "150140"),  # Santiago de Surco
    # San Isidro / Lince: 80 m and 80 m
    (-12.09090, -77.04697, "150116"),  # Lince
    (-12.09234, -77.04710, "150131"),  # San Isidro
    # Lince / Jesús María: 95 m and 95 m
    (-12.08217, -77.04297, "150113"),  # Jesús María
    (-12.08387, -77.04271, "150116"),  # Lince
    # Magdalena del Mar / San Isidro: 110 m and 110 m
    (-12.10580, -77.06138, "150120"),  # Magdalena del Mar
    (-12.10596, -77.05936, "150131"),  # San Isidro
    # San Miguel / Magdalena del Mar: 100 m and 125 m
    (-12.08712, -77.07341, "150120"),  # Magdalena del Mar
    (-12.08606, -77.07543, "150136"),  # San Miguel
    # Pueblo Libre / San Miguel: 140 m and 139 m
    (-12.07684, -77.07937, "150121"),  # Pueblo Libre
    (-12.07583, -77.08172, "150136"),  # San Miguel
    # Rímac / San Juan de Lurigancho: 65 m and 66 m
    (-12.02197, -77.02063, "150128"),  # Rímac
    (-12.02242, -77.01952, "150132"),  # San Juan de Lurigancho
    # Rímac / Independencia: 80 m and 80 m
    (-12.01514, -77.04763, "150112"),  # Independencia
    (-12.01604, -77.04878, "150128"),  # Rímac
    # Los Olivos / San Martín de Porres: 95 m and 95 m
    (-11.98743, -77.07928, "150117"),  # Los Olivos
    (-11.98661, -77.08082, "150135"),  # San Martín de Porres
    # Comas / Carabayllo: 110 m and 110 m
    (-11.90001, -77.00239, "150106"),  # Carabayllo
    (-11.90190, -77.00175, "150110"),  # Comas
    # El Agustino / Santa Anita: 125 m and 125 m
    (-12.05828, -76.98410, "150111"),  # El Agustino
    (-12.05612, -76.98478, "150137"),  # Santa Anita
    # Ate / La Molina: 140 m and 140 m
    (-12.05771, -76.89604, "150103"),  # Ate
    (-12.06019, -76.89553, "150114"),  # La Molina
    # Santiago de Surco / Chorrillos: 65 m and 65 m
    (-12.17163, -77.00576, "150108"),  # Chorrillos
    (-12.17089, -77.00483, "150140"),  # Santiago de Surco
    # Barranco / Chorrillos: 80 m and 80 m
    (-12.15628, -77.02536, "150104"),  # Barranco
    (-12.15770, -77.02509, "150108"),  # Chorrillos
    # Villa El Salvador / Villa María del Triunfo: 95 m and 95 m
    (-12.23015, -76.91076, "150142"),  # Villa El Salvador
    (-12.22852, -76.91020, "150143"),  # Villa María del Triunfo
    # Lurín / Pachacámac: 110 m and 109 m
    (-12.22587, -76.87253, "150119"),  # Lurín
    (-12.22438, -76.87120, "150123"),  # Pachacámac
    # San Juan de Miraflores / Santiago de Surco: 125 m and 125 m
    (-12.12447, -76.96089, "150133"),  # San Juan de Miraflores
    (-12.12396, -76.96313, "150140"),  # Santiago de Surco
    # La Victoria / San Luis: 140 m and 64 m
    (-12.06467, -77.00074, "150115"),  # La Victoria
    (-12.06216, -77.00042, "150134"),  # San Luis
    # San Borja / San Luis: 64 m and 65 m
    (-12.08433, -77.00173, "150130"),  # San Borja
    (-12.08317, -77.00190, "150134"),  # San Luis
    # Santa Anita / Ate: 80 m and 80 m
    (-12.05282, -76.95818, "150103"),  # Ate
    (-12.05148, -76.95873, "150137"),  # Santa Anita
    # La Molina / Santiago de Surco: 95 m and 95 m
    (-12.09176, -76.95918, "150114"),  # La Molina
    (-12.09190, -76.96092, "150140"),  # Santiago de Surco
    # Lima / San Martín de Porres: 110 m and 110 m
    (-12.03601, -77.06432, "150101"),  # Lima
    (-12.03404, -77.06405, "150135"),  # San Martín de Porres
    # Lima / El Agustino: 125 m and 125 m
    (-12.04647, -77.00444, "150101"),  # Lima
    (-12.04844, -77.00331, "150111"),  # El Agustino
    # Callao / Bellavista: 140 m and 140 m
    (-12.05336, -77.10389, "070101"),  # Callao
    (-12.05584, -77.10337, "070102"),  # Bellavista
    # Punta Hermosa / Punta Negra: 65 m and 65 m
    (-12.23140, -76.66203, "150126"),  # Punta Hermosa
    (-12.23117, -76.66086, "150127"),  # Punta Negra
    # Pucusana / Santa María del Mar: 80 m and 79 m
    (-12.41958, -76.76334, "150124"),  # Pucusana
    (-12.41815, -76.76349, "150138"),  # Santa María del Mar
    # Lurigancho / Chaclacayo: 95 m and 95 m
    (-11.98644, -76.72211, "150107"),  # Chaclacayo
    (-11.98526, -76.72084, "150118"),  # Lurigancho
    # Cieneguilla / Pachacámac: 111 m and 110 m
    (-12.10962, -76.85461, "150109"),  # Cieneguilla
    (-12.11132, -76.85566, "150123"),  # Pachacámac
    # Santa Rosa / Ventanilla: 124 m and 125 m
    (-11.82093, -77.15476, "150139"),  # Santa Rosa
    (-11.82311, -77.15416, "070106"),  # Ventanilla
    # Ancón / Carabayllo: 140 m and 140 m
    (-11.78922, -77.07248, "150102"),  # Ancón
    (-11.79156, -77.07148, "150106"),  # Carabayllo
    # Villa El Salvador / Lurín: 65 m and 65 m
    (-12.24908, -76.91657, "150119"),  # Lurín
    (-12.24793, -76.91683, "150142"),  # Villa El Salvador
    # San Isidro / San Borja: 80 m and 80 m
    (-12.09989, -77.01129, "150130"),  # San Borja
    (-12.10005, -77.01275, "150131"),  # San Isidro
    # Surquillo / San Borja: 95 m and 88 m
    (-12.10746, -77.00945, "150130"),  # San Borja
    (-12.10819, -77.01103, "150141"),  # Surquillo
    # La Victoria / San Isidro: 110 m and 110 m
    (-12.08890, -77.01648, "150115"),  # La Victoria
    (-12.09087, -77.01618, "150131"),  # San Isidro
    # Jesús María / Lima: 125 m and 125 m
    (-12.06624, -77.03672, "150101"),  # Lima
    (-12.06592, -77.03899, "150113"),  # Jesús María
    # Breña / Pueblo Libre: 140 m and 141 m
    (-12.06738, -77.05115, "150105"),  # Breña
    (-12.06934, -77.05279, "150121"),  # Pueblo Libre
]


@pytest.mark.parametrize(
    ("lat", "lon", "ubigeo"),
    [pytest.param(*point, id=f"{point[2]}@{point[0]},{point[1]}") for point in BORDER_POINTS],
)
def test_points_near_borders_fall_on_the_same_side_as_in_the_source(
    outlines: Outlines, lat: float, lon: float, ubigeo: str
) -> None:
    assert outlines.locate(lat, lon).ubigeo == ubigeo


def test_the_border_points_cover_many_pairs_of_neighbours() -> None:
    assert len(BORDER_POINTS) >= 40
    pairs = {
        frozenset((a[2], b[2]))
        for a, b in zip(BORDER_POINTS[::2], BORDER_POINTS[1::2], strict=True)
    }
    assert all(len(pair) == 2 for pair in pairs)
    assert len(pairs) == len(BORDER_POINTS) // 2
    assert any(any(c.startswith("07") for c in p) and "150101" in p for p in pairs)


def test_every_district_of_lima_and_callao_has_an_outline(outlines: Outlines) -> None:
    codes = [o.ubigeo for o in outlines.outlines]
    assert codes == [d.ubigeo for d in DISTRICTS] + [d.ubigeo for d in CALLAO_DISTRICTS]
    for district in DISTRICTS:
        outline = outlines.outline(district.ubigeo)
        assert (outline.name, outline.province) == (district.name, "Lima")
    assert outlines.outline("070107").name == "Mi Perú"
    with pytest.raises(InvalidValue):
        outlines.outline("150199")


def _interior_point(outline: Outline) -> tuple[float, float]:
    """The middle of the longest stretch inside the outline along a few parallels (even-odd
    rule, as the outline itself): inside by construction, and away from the border."""
    _, south, _, north = outline.bbox
    best, point = -1.0, (math.nan, math.nan)
    for k in range(24):
        lat = south + (north - south) * (k + 0.5) / 24
        xs = sorted(
            x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            for ring in outline.rings
            for (x1, y1), (x2, y2) in itertools.pairwise(ring)
            if (y1 > lat) != (y2 > lat)
        )
        for a, b in zip(xs[::2], xs[1::2], strict=True):
            if b - a > best:
                best, point = b - a, (lat, (a + b) / 2)
    return point


@pytest.mark.parametrize("ubigeo", [d.ubigeo for d in (*DISTRICTS, *CALLAO_DISTRICTS)])
def test_an_interior_point_of_each_district_is_in_it_and_in_no_other(
    outlines: Outlines, ubigeo: str
) -> None:
    lat, lon = _interior_point(outlines.outline(ubigeo))
    assert outlines.locate(lat, lon).ubigeo == ubigeo
    assert [o.ubigeo for o in outlines.outlines if o.contains(lat, lon)] == [ubigeo]


def _bundled_document() -> Any:
    return json.loads((Path(__file__).parents[2] / "routing/data/districts.json").read_text())


def test_the_bundled_outlines_credit_their_source_and_licence() -> None:
    document = _bundled_document()
    assert "joseluisq/peru-geojson-datasets" in document["source"]
    assert "2c2a8ae" in document["source"]
    assert "MIT" in document["licence"]
    assert "Apache-2.0" in document["licence"]
    assert document["tolerance_degrees"] == pytest.approx(0.0003)


def test_neighbours_share_their_borders_exactly() -> None:
    """Valid closed rings, 5 decimals, and every edge in at most two districts, run in
    opposite directions: no gap and no overlap between neighbours."""
    runs: dict[frozenset[tuple[float, float]], list[tuple[float, float]]] = {}
    for district in _bundled_document()["districts"]:
        for ring in district["rings"]:
            assert len(ring) >= 4
            assert ring[0] == ring[-1]
            assert all(round(v, 5) == v for position in ring for v in position)
            for a, b in itertools.pairwise(ring):
                assert a != b
                runs.setdefault(frozenset((tuple(a), tuple(b))), []).append(tuple(a))
    assert all(len(starts) <= 2 for starts in runs.values())
    assert all(len(set(starts)) == len(starts) for starts in runs.values())
    assert sum(len(starts) == 2 for starts in runs.values()) > 1000


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.5, -77.0, "lat"),
        (-91.0, -77.0, "lat"),
        (math.nan, -77.0, "lat"),
        (-12.0, 180.5, "lon"),
        (-12.0, -181.0, "lon"),
        (-12.0, math.inf, "lon"),
    ],
)
def test_coordinates_out_of_range_are_refused(
    outlines: Outlines, lat: float, lon: float, field: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        outlines.locate(lat, lon)
    assert raised.value.field == field


def test_names_join_despite_accents_and_mangled_utf8() -> None:
    assert place_named("RIMAC") == place_of_code("150128")
    assert place_named("CARMEN DE LA LEGUA") == place_of_code("070103")
    assert repair_mojibake("MI PERÃš") == "MI PERÚ"
    # The reference file's own spelling: the second byte of "Ú" is lost, not repairable.
    assert place_named("MI PERÃz") == Place(ubigeo="070107", name="Mi Perú", province="Callao")
    assert place_named("ATLANTIS") is None
    assert place_of_code("150801") is None


# --- from_geojson, with hand-written files ---------------------------------------------


def _square(west: float, south: float, size: float) -> list[list[float]]:
    east, north = west + size, south + size
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def _feature(properties: dict[str, Any], kind: str, coordinates: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def _write(tmp_path: Path, *features: dict[str, Any]) -> Path:
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


GOOD = (
    # a square of 0.1 degrees with a hole of 0.02 in its middle
    _feature(
        {"UBIGEO": "150122", "NOMBDIST": "MIRAFLORES"},
        "Polygon",
        [_square(-77.10, -12.20, 0.10), _square(-77.06, -12.16, 0.02)[::-1]],
    ),
    # two separate squares, joined by name
    _feature(
        {"provincia": "LIMA", "distrito": "RIMAC"},
        "MultiPolygon",
        [[_square(-77.00, -12.00, 0.01)], [_square(-76.95, -12.00, 0.01)]],
    ),
    # a number loses the leading zero of Callao's codes
    _feature({"iddist": 70105}, "Polygon", [_square(-77.20, -12.10, 0.01)]),
    # the mangled name of the reference file
    _feature({"distrito": "MI PERÃz"}, "Polygon", [_square(-77.20, -11.90, 0.01)]),
    # another province, by code and by name: skipped
    _feature({"ubigeo": "150801", "name": "HUACHO"}, "Polygon", [_square(-77.65, -11.15, 0.1)]),
    _feature(
        {"NOMBPROV": "HUAURA", "NOMBDIST": "HUALMAY"}, "Polygon", [_square(-77.7, -11.2, 0.01)]
    ),
)


@pytest.mark.parametrize(
    ("lat", "lon", "ubigeo"),
    [
        pytest.param(-12.19, -77.09, "150122", id="in the square"),
        pytest.param(-12.15, -77.05, None, id="in the hole"),
        pytest.param(-11.995, -76.995, "150128", id="first part"),
        pytest.param(-11.995, -76.945, "150128", id="second part"),
        pytest.param(-11.995, -76.970, None, id="between the parts"),
        pytest.param(-12.095, -77.195, "070105", id="numeric code"),
        pytest.param(-11.895, -77.195, "070107", id="mangled name"),
        pytest.param(-11.10, -77.61, None, id="other province"),
    ],
)
def test_an_official_file_given_at_run_time(
    tmp_path: Path, lat: float, lon: float, ubigeo: str | None
) -> None:
    outlines = Outlines.from_geojson(_write(tmp_path, *GOOD))
    assert [o.ubigeo for o in outlines.outlines] == ["150122", "150128", "070105", "070107"]
    assert outlines.locate(lat, lon).ubigeo == ubigeo


@pytest.mark.parametrize(
    ("feature", "named"),
    [
        pytest.param(
            _feature({"distrito": "ATLANTIS"}, "Polygon", [_square(-77, -12, 0.01)]),
            "ATLANTIS",
            id="unknown name",
        ),
        pytest.param(
            _feature({"UBIGEO": "150199"}, "Polygon", [_square(-77, -12, 0.01)]),
            "150199",
            id="unknown code of Lima",
        ),
        pytest.param(
            _feature({"UBIGEO": "1501-22"}, "Polygon", [_square(-77, -12, 0.01)]),
            "1501-22",
            id="malformed code",
        ),
        pytest.param(
            _feature({"UBIGEO": "150104"}, "Point", [-77.02, -12.14]),
            "150104",
            id="not a polygon",
        ),
        pytest.param(
            _feature({"distrito": "LINCE"}, "Polygon", [_square(-77, -12, 0.01)[:-1]]),
            "LINCE",
            id="ring not closed",
        ),
        pytest.param(
            _feature({"distrito": "SURQUILLO"}, "Polygon", [[["a", "b"], [0, 0], [1, 1], [0, 0]]]),
            "SURQUILLO",
            id="not a position",
        ),
        pytest.param(
            _feature({"id": 7}, "Polygon", [_square(-77, -12, 0.01)]), "features[1]", id="no name"
        ),
    ],
)
def test_a_bad_feature_is_refused_by_name(
    tmp_path: Path, feature: dict[str, Any], named: str
) -> None:
    path = _write(tmp_path, GOOD[0], feature)
    with pytest.raises(InvalidValue) as raised:
        Outlines.from_geojson(path)
    assert raised.value.field == "districts_file"
    assert "features[1]" in raised.value.message
    assert named in raised.value.message


def test_a_file_that_is_no_feature_collection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "districts.geojson"
    for text in (
        "{not json",
        '{"type": "Feature"}',
        '{"type": "FeatureCollection", "features": []}',
        "[" * 100_000,  # json's decoder would overflow the stack
    ):
        path.write_text(text)
        with pytest.raises(InvalidValue) as raised:
            Outlines.from_geojson(path)
        assert raised.value.field == "districts_file"
    with pytest.raises(InvalidValue):
        Outlines.from_geojson(tmp_path / "absent.geojson")
