"""What both conversations share: the injected reader of free text, the incident ids
citizens type, and the checks of their states' data."""

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from routing.ids import format_incident_id, is_incident_id, lima_year
from routing.reading import Reading
from routing.text import strip_accents

Reader = Callable[[str], Reading]
"""Reads a citizen's free text: ``routing.normalise.read_message`` in production."""


# ------------------------------------------------------------------ incident ids

_SEPARATORS = re.compile(r"[\s\-_./#:,]+")
_TYPED_ID = re.compile(r"(?P<prefix>[A-Z]{2,8})?-?(?P<first>[0-9]+)(?:-(?P<second>[0-9]+))?")


def parse_incident_id(text: str, *, now: datetime, prefix: str) -> str | None:
    """The incident id a citizen typed, as voicebridge writes it, or None.

    Case, accents and separators do not matter and the number is padded:
    ``"LIM-2026-000123"``, ``"lim 2026 123"``, ``"Lim2026000123"`` -> ``LIM-2026-000123``.
    Without a prefix the centre's ``prefix`` is meant (``"2026-123"``); without a year,
    the current Lima year (``"123"``, ``"LIM 123"``).
    """
    typed = _SEPARATORS.sub("-", strip_accents(text).upper()).strip("-")
    match = _TYPED_ID.fullmatch(typed)
    if match is None:
        return None
    first, second = match["first"], match["second"]
    if second is not None:
        if len(first) != 4:
            return None
        year, number = first, second
    elif match["prefix"] and 10 <= len(first) <= 13:  # "LIM2026000123": year, then n
        year, number = first[:4], first[4:]
    else:
        year, number = str(lima_year(now)), first
    if len(number) > 9 or int(number) == 0:
        return None
    found = format_incident_id(match["prefix"] or prefix, int(year), int(number))
    return found if is_incident_id(found) else None


def example_id(prefix: str, now: datetime) -> str:
    """An incident id to show in examples: ``LIM-2026-000123``."""
    return format_incident_id(prefix, lima_year(now), 123)


# ------------------------------------------------------------------ state data


def aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"a naive time: {value!r} (pass an aware datetime)")
    return value


def time_data(value: datetime | None) -> str | None:
    return None if value is None else aware(value).isoformat()


def time_of(data: Any) -> datetime | None:
    if data is None:
        return None
    if not isinstance(data, str):
        raise ValueError(f"a time must be an ISO 8601 text: {data!r}")
    return aware(datetime.fromisoformat(data))


def text_of(data: Any, *, optional: bool = True) -> str | None:
    if data is None and optional:
        return None
    if not isinstance(data, str):
        raise ValueError(f"expected a text: {data!r}")
    return data


def texts_of(data: Any) -> tuple[str, ...]:
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ValueError(f"expected a list of texts: {data!r}")
    return tuple(data)
