import pytest

from routing.districts import DISTRICTS, district_by_code, find_district, resolve_district
from routing.errors import InvalidValue


def test_the_43_districts_of_lima_with_their_ubigeo_codes() -> None:
    assert len(DISTRICTS) == 43
    assert [d.ubigeo for d in DISTRICTS] == [f"1501{n:02d}" for n in range(1, 44)]
    assert len({d.name for d in DISTRICTS}) == 43


@pytest.mark.parametrize(
    ("ubigeo", "name"),
    [
        ("150101", "Lima"),
        ("150105", "Breña"),
        ("150113", "Jesús María"),
        ("150119", "Lurín"),
        ("150123", "Pachacámac"),
        ("150128", "Rímac"),
        ("150132", "San Juan de Lurigancho"),
        ("150135", "San Martín de Porres"),
        ("150138", "Santa María del Mar"),
        ("150140", "Santiago de Surco"),
        ("150143", "Villa María del Triunfo"),
    ],
)
def test_official_names_keep_their_accents(ubigeo: str, name: str) -> None:
    assert district_by_code(ubigeo).name == name


@pytest.mark.parametrize(
    ("text", "ubigeo"),
    [
        ("150122", "150122"),
        ("miraflores", "150122"),
        ("RIMAC", "150128"),
        ("  san  martin de porres ", "150135"),
        ("Jesus Maria", "150113"),
        ("Brena", "150105"),
        ("SJL", "150132"),
        ("smp", "150135"),
        ("VES", "150142"),
        ("Vmt", "150143"),
        ("Cercado", "150101"),
        ("Surco", "150140"),
        ("La Victoria", "150115"),
        ("Lurigancho-Chosica", "150118"),
    ],
)
def test_names_and_aliases_people_use(text: str, ubigeo: str) -> None:
    found = find_district(text)
    assert found is not None
    assert found.ubigeo == ubigeo


def test_callao_is_not_lima_metropolitana() -> None:
    assert find_district("Callao") is None
    with pytest.raises(InvalidValue, match="ni el nombre de un distrito de Lima Metropolitana"):
        resolve_district("Callao")
    with pytest.raises(InvalidValue, match="150144"):
        district_by_code("150144")
