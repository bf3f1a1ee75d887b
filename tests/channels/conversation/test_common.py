"""The incident ids citizens type."""

from datetime import UTC, datetime

import pytest

from channels.conversation.common import example_id, parse_incident_id

# 2027-01-01 03:00 UTC is still 2026 in Lima (UTC-5)
NEW_YEAR = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "incident_id"),
    [
        ("LIM-2026-000123", "LIM-2026-000123"),
        ("lim-2026-000123", "LIM-2026-000123"),
        ("  lim 2026 123 ", "LIM-2026-000123"),
        ("Lim2026000123", "LIM-2026-000123"),
        ("LIM_2026.123", "LIM-2026-000123"),
        ("lím-2026-123", "LIM-2026-000123"),
        ("2026-123", "LIM-2026-000123"),
        ("2025 99", "LIM-2025-000099"),
        ("123", "LIM-2026-000123"),  # the Lima year of the time given
        ("LIM 5", "LIM-2026-000005"),
        ("CLL-2026-1", "CLL-2026-000001"),  # another centre's prefix, as typed
        ("LIM-2026-1234567", "LIM-2026-1234567"),
        ("LIM-2026-123456789", "LIM-2026-123456789"),
        ("", None),
        ("hola", None),
        ("LIM", None),
        ("LIM-26-1", None),
        ("LIM-2026-0", None),
        ("0", None),
        ("LIM-2026-1234567890", None),
        ("LIM-2026-12-3", None),
        ("ABCDEFGHI-2026-1", None),
        ("12a", None),
    ],
)
def test_parse_incident_id(typed: str, incident_id: str | None) -> None:
    assert parse_incident_id(typed, now=NEW_YEAR, prefix="LIM") == incident_id


def test_example_id() -> None:
    assert example_id("LIM", NEW_YEAR) == "LIM-2026-000123"
