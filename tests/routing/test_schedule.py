from datetime import UTC, datetime

import pytest

from routing.ids import LIMA
from routing.ratelimits import Limit, parse_limit
from routing.schedule import active, parse_window


def lima(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` of November 2026 (the 23rd is a Monday) at hour:minute in Lima, in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LIMA).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "when", "inside"),
    [
        ("lun-vie 08:00-18:00", lima(25, 10), True),  # Wednesday 10:00
        ("lun-vie 08:00-18:00", lima(25, 18), False),  # the end is excluded
        ("lun-vie 08:00-18:00", lima(28, 10), False),  # Saturday
        ("mon-fri 8:00-18:00", lima(23, 8), True),
        ("Sáb 08:00-13:00", lima(28, 12, 59), True),
        ("sab,dom 08:00-13:00", lima(29, 9), True),
        ("22:00-06:00", lima(25, 23), True),
        ("22:00-06:00", lima(26, 5, 59), True),
        ("22:00-06:00", lima(26, 6), False),
        ("vie 22:00-06:00", lima(28, 3), True),  # Friday night goes on into Saturday
        ("vie 22:00-06:00", lima(27, 3), False),  # Thursday night is not Friday's
        ("fri-mon 10:00-11:00", lima(23, 10, 30), True),  # a range across the weekend
        ("24h", lima(24, 3), True),
    ],
)
def test_windows(text: str, when: datetime, inside: bool) -> None:
    assert parse_window(text).contains(when) is inside


@pytest.mark.parametrize("text", ["8-18", "lunes 08:00-18:00", "25:00-26:00", "mon-fri"])
def test_malformed_windows(text: str) -> None:
    with pytest.raises(ValueError, match=r"se esperaba|los días son|no es una hora"):
        parse_window(text)


def test_no_windows_means_always() -> None:
    assert active((), lima(25, 3))


@pytest.mark.parametrize(
    ("text", "limit", "shown", "spanish"),
    [
        ("3/15m", Limit(count=3, seconds=900), "3/15m", "3 en 15 min"),
        ("7/1h", Limit(count=7, seconds=3600), "7/1h", "7 en 1 h"),
        ("7/h", Limit(count=7, seconds=3600), "7/1h", "7 en 1 h"),
        ("20 / 1 min", Limit(count=20, seconds=60), "20/1m", "20 en 1 min"),
    ],
)
def test_limits(text: str, limit: Limit, shown: str, spanish: str) -> None:
    assert parse_limit(text) == limit
    assert (str(limit), limit.spanish()) == (shown, spanish)


@pytest.mark.parametrize("text", ["3 per 15 minutes", "0/1h", "3/0m", "3/15w"])
def test_malformed_limits(text: str) -> None:
    with pytest.raises(ValueError, match=r"se esperaba una cantidad por período|al menos 1"):
        parse_limit(text)
