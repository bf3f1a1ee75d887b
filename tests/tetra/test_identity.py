"""TETRA identities normalised (issue 12, point 4): an SSI alone, the PEI's 15-digit TSI
and the 17-digit form name the same radio; Peru's MCC is 716."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tetra.identity import PERU_MCC, IdentityError, Network, Tsi, from_pei, parse

HOME = Network(PERU_MCC, 1)


@pytest.mark.parametrize(
    "written",
    [
        "1234567",
        "01234567",
        "716000101234567",
        "716 0001 01234567",
        "07160000101234567",
        "716-0001-01234567",
    ],
)
def test_every_way_of_writing_a_radio_is_the_same_radio(written: str) -> None:
    assert parse(written, HOME) == Tsi(716, 1, 1234567)


def test_a_radio_is_written_for_the_pei_as_its_network_needs() -> None:
    assert Tsi(716, 1, 1234567).pei(HOME) == ("1234567", 0)
    assert Tsi(262, 1001, 1234567).pei(HOME) == ("262100101234567", 1)
    assert str(Tsi(716, 1, 9)) == "716000100000009"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("", "digits only"),
        ("12a4", "digits only"),
        ("١٢٣", "digits only"),  # Arabic-Indic digits are not a radio's
        ("0", "SSI 0"),
        ("16777216", "SSI 16777216"),
        ("1234567890", "10 digits"),
        ("20000000101234567", "MCC 2000"),
        ("07162000001234567", "MNC 20000"),
    ],
)
def test_what_is_not_an_identity_is_refused_in_words(written: str, problem: str) -> None:
    with pytest.raises(IdentityError, match=problem):
        parse(written, HOME)


def test_an_identity_from_a_pei_indication() -> None:
    assert from_pei("2345678", "0", HOME) == Tsi(716, 1, 2345678)
    assert from_pei("262100101234567", "1", HOME) == Tsi(262, 1001, 1234567)
    with pytest.raises(IdentityError, match="TSI of 7 digits"):
        from_pei("2345678", "1", HOME)


@given(
    mcc=st.integers(0, 1023),
    mnc=st.integers(0, 16383),
    ssi=st.integers(1, 0xFFFFFF),
)
def test_the_written_form_reads_back(mcc: int, mnc: int, ssi: int) -> None:
    tsi = Tsi(mcc, mnc, ssi)
    assert parse(str(tsi), HOME) == tsi
    identity, kind = tsi.pei(HOME)
    assert from_pei(identity, str(kind), HOME) == tsi
