"""Time-of-day schedules of targets: ``"lun-vie 08:00-18:00"``, ``"sat 08:00-13:00"``,
``"22:00-06:00"`` (every day, across midnight), ``"24h"``. Lima local time (UTC-5).

Days may be written in English or Spanish: mon/lun, tue/mar, wed/mie (mié), thu/jue,
fri/vie, sat/sab (sáb), sun/dom; ranges ``mon-fri`` and lists ``mon,wed``.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time

from routing.ids import LIMA
from routing.text import strip_accents

_DAYS = {
    "mon": 0, "lun": 0, "tue": 1, "mar": 1, "wed": 2, "mie": 2, "thu": 3, "jue": 3,
    "fri": 4, "vie": 4, "sat": 5, "sab": 5, "sun": 6, "dom": 6,
}  # fmt: skip
_WINDOW = re.compile(
    r"^(?:(?P<days>[a-z,\- ]+?)\s+)?(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # end <= start: the window runs past midnight into the next day
    text: str = ""  # as written

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(LIMA)
        now, day = local.time(), local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        # across midnight: the evening part belongs to the day, the morning to the day before
        return (day in self.days and now >= self.start) or (
            (day - 1) % 7 in self.days and now < self.end
        )

    def __str__(self) -> str:
        return self.text


def parse_window(text: str) -> Window:
    """A window, or ValueError saying what is expected."""
    folded = re.sub(r"\s*-\s*", "-", strip_accents(text).strip().lower())
    if folded in ("24h", "24 h", "siempre", "always"):
        return Window(days=frozenset(range(7)), start=time(0), end=time(0), text=text)
    match = _WINDOW.match(folded)
    if match is None:
        raise ValueError(
            f"{text!r}: se esperaba p. ej. 'lun-vie 08:00-18:00', '22:00-06:00' o '24h'"
        )
    days = _days(match["days"]) if match["days"] else frozenset(range(7))
    return Window(days=days, start=_time(match["start"]), end=_time(match["end"]), text=text)


def _time(text: str) -> time:
    hours, minutes = (int(p) for p in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(0)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{text!r} no es una hora del día")
    return time(hours, minutes)


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"{part!r}: los días son lun..dom (o mon..sun)")
        a, b = _DAYS[first], _DAYS[last or first]
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def active(windows: tuple[Window, ...], at: datetime) -> bool:
    """No windows: always active."""
    return not windows or any(w.contains(at) for w in windows)
