import pytest

from routing.categories import CATEGORIES, category_by_code, find_category
from routing.errors import InvalidValue
from routing.models import AgencyKind, Priority


def test_taxonomy_codes_are_unique_slugs_with_spanish_labels() -> None:
    codes = [c.code for c in CATEGORIES]
    assert len(codes) == len(set(codes))
    for c in CATEGORIES:
        assert c.code.isascii()
        assert c.code == c.code.lower()
        assert " " not in c.code
        assert c.label[0].isupper()
        assert c.agency_kinds, f"{c.code} calls for no agency"


@pytest.mark.parametrize(
    ("code", "label", "kinds"),
    [
        ("robo", "Robo", {AgencyKind.POLICE}),
        ("asalto", "Asalto", {AgencyKind.POLICE}),
        (
            "accidente_transito",
            "Accidente de tránsito",
            {AgencyKind.POLICE, AgencyKind.MEDICAL, AgencyKind.FIRE},
        ),
        ("buzon_sin_tapa", "Buzón sin tapa", {AgencyKind.WATER, AgencyKind.MUNICIPAL}),
        ("fuga_gas", "Fuga de gas", {AgencyKind.GAS, AgencyKind.FIRE}),
        ("incendio", "Incendio", {AgencyKind.FIRE}),
        ("emergencia_medica", "Emergencia médica", {AgencyKind.MEDICAL}),
        ("corte_energia", "Corte de energía eléctrica", {AgencyKind.ELECTRICITY}),
        ("aniego", "Aniego o tubería rota", {AgencyKind.WATER}),
    ],
)
def test_the_categories_the_centre_handles(code: str, label: str, kinds: set[AgencyKind]) -> None:
    category = category_by_code(code)
    assert category.label == label
    assert kinds <= set(category.agency_kinds)


def test_life_threatening_categories_are_critical_by_default() -> None:
    for code in ("incendio", "fuga_gas", "emergencia_medica", "accidente_transito", "derrumbe"):
        assert category_by_code(code).priority is Priority.CRITICAL


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Fuga de gas", "fuga_gas"),
        ("BUZON SIN TAPA", "buzon_sin_tapa"),
        ("choque", "accidente_transito"),
        ("apagón", "corte_energia"),
        ("incendio", "incendio"),
    ],
)
def test_categories_are_found_by_label_and_alias(text: str, code: str) -> None:
    found = find_category(text)
    assert found is not None
    assert found.code == code


def test_an_unknown_category_lists_the_codes() -> None:
    with pytest.raises(InvalidValue, match="use one of: robo, asalto"):
        category_by_code("granizo")
