"""Incident ids: what looks like one, and what only nearly does."""

import pytest

from routing.ids import format_incident_id, is_incident_id


def test_an_id_as_voicebridge_writes_it_is_one() -> None:
    assert is_incident_id(format_incident_id("LIM", 2026, 123))
    assert is_incident_id("LIM-2026-1234567")


@pytest.mark.parametrize(
    "text",
    [
        "LIM-2026-000123\n",  # a trailing newline (``$`` alone lets it through)
        "LIM-2026-00012٣",  # an Arabic-Indic digit, which \\d takes
        "LIM-２026-000123",  # a fullwidth digit
        " LIM-2026-000123",
        "lim-2026-000123",
        "LIM-2026-12345",
        "LIM-2026-0001234567",
    ],
)
def test_what_only_nearly_looks_like_an_id_is_not_one(text: str) -> None:
    assert not is_incident_id(text)
