"""The district of an incident: given, from the point, from text, from the central."""

import pytest

from routing.districts import find_in_text
from routing.geo import Outlines
from routing.resolve import DistrictSource, describe, resolve

OUTLINES = Outlines.bundled()


@pytest.mark.parametrize(
    ("text", "ubigeo"),
    [
        ("Jr. Huallaga 123, Cercado de Lima", "150101"),
        ("Av. Abancay cuadra 5, Cercado", "150101"),
        ("Av. Próceres de la Independencia 1250, SJL", "150132"),
        ("Mz A Lt 5 AAHH Los Jardines, San Juan de Miraflores", "150133"),
        ("Av. Larco 345 Miraflores", "150122"),
        ("Av. La Molina 123, Ate", "150103"),  # "La Molina" names the avenue
        ("calle Lima 123, Miraflores, Lima", "150122"),  # "Lima" names the city
        ("Av. Perú 2500, SMP", "150135"),
        ("sector 3, grupo 1, VES", "150142"),
        ("Nueva Esperanza, VMT", "150143"),
        ("Av. Caminos del Inca 300, Surco", "150140"),
        ("Jr. Gamarra 700, La Victoria", "150115"),
        ("Av. Brasil 3500, Magdalena", "150120"),
        ("Lurigancho-Chosica, km 30 de la Carretera Central", "150118"),
        ("distrito de Comas, cerca a Independencia", "150110"),
        ("Independencia, en el límite con Comas", "150110"),  # the last one named
        ("RÍMAC, jirón Trujillo", "150128"),
    ],
)
def test_a_district_named_in_text(text: str, ubigeo: str) -> None:
    match = find_in_text(text)
    assert match is not None
    assert match.district.ubigeo == ubigeo


@pytest.mark.parametrize(
    "text",
    ["Lima", "Plaza San Martín", "Jr. Callao 500, Lima", "Av. San Juan de Lurigancho", ""],
)
def test_no_district_named(text: str) -> None:
    assert find_in_text(text) is None


def test_the_given_district_wins_and_a_different_point_is_noted() -> None:
    r = resolve(OUTLINES, given="150122", lat=-12.0464, lon=-77.0300, texts=("Surco",))
    assert (r.district, r.source) == ("150122", DistrictSource.GIVEN)
    assert r.detail == "Distrito indicado: Miraflores. El punto reportado cae en Lima."


def test_then_the_point() -> None:
    r = resolve(OUTLINES, lat=-12.1211, lon=-77.0297, texts=("Av. Larco, Surco",), central="150101")
    assert (r.district, r.source) == ("150122", DistrictSource.POINT)
    assert r.detail == "El punto (-12.12110, -77.02970) cae en Miraflores."


def test_then_the_text_then_the_central() -> None:
    r = resolve(OUTLINES, texts=(None, "robo en Surquillo"), central="150101")
    assert (r.district, r.source) == ("150141", DistrictSource.ADDRESS)
    r = resolve(OUTLINES, texts=("un robo",), central="150101")
    assert (r.district, r.source) == ("150101", DistrictSource.CENTRAL)
    assert r.detail == "Central distrital que recibió el reporte: Lima."
    r = resolve(OUTLINES, texts=("un robo",))
    assert (r.district, r.source) == (None, None)


def test_a_point_outside_lima_metropolitana() -> None:
    airport = resolve(OUTLINES, lat=-12.0219, lon=-77.1143, central="150101")
    assert airport.outside is not None
    assert airport.outside.province == "Callao"
    assert describe(airport.outside) == "Callao, Callao (070101): fuera de Lima Metropolitana"
    sea = OUTLINES.locate(-12.13, -77.20)
    assert describe(sea) == "fuera de Lima Metropolitana y del Callao"
    assert describe(OUTLINES.locate(-12.0464, -77.0300)) == "150101 Lima"
