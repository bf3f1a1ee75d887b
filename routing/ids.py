"""Human-readable incident ids: ``LIM-2026-000123``.

``<prefix>-<year>-<n>``: the year is the Lima calendar year (UTC-5, no daylight saving)
in which the incident was received; ``n`` counts from 1 within that year and is padded
to six digits. Lima receives about 1.4 million incidents a year, so ``n`` passes 999999
in a busy year and then simply has seven digits: ids stay unique and sort by year.
"""

import re
from datetime import date, datetime, timedelta, timezone

LIMA = timezone(timedelta(hours=-5), "America/Lima")
# ASCII digits only, and the whole text (``$`` would let a trailing newline through)
_ID = re.compile(r"(?P<prefix>[A-Z]{2,8})-(?P<year>[0-9]{4})-(?P<n>[0-9]{6,9})")
PREFIX_PATTERN = re.compile(r"^[A-Z]{2,8}$")


def lima_year(at: datetime) -> int:
    return at.astimezone(LIMA).year


def lima_day(at: datetime) -> date:
    """The day ``at`` falls on in Lima."""
    return at.astimezone(LIMA).date()


def format_incident_id(prefix: str, year: int, n: int) -> str:
    return f"{prefix}-{year:04d}-{n:06d}"


def is_incident_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None
