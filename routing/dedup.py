"""One incident per event: which open incident a citizen's report joins.

A report joins an open incident (not resolved, cancelled or merged) of the same category
whose latest report arrived within :attr:`Nearby.window` (the window counts from the
incident's *latest* report, so an event people keep reporting stays one incident while
they do) and that is either

- within :attr:`Nearby.radius_m` of the report's point, measured from the incident's
  point (haversine), when both have a point; or
- in the same district with the same normalised address (``address_key``, from
  :func:`routing.normalise.read_message`), when either lacks a point: points decide
  when both have one, the address otherwise; or
- in the same district, for a report that has neither a point nor an address when
  :attr:`Nearby.district_wide` (a caller of the phone IVR says no more than the category
  and the district: a second caller for the same fire joins the first one's incident).

The nearest point wins; among matches by address, the incident reported most recently.
The category :data:`routing.reading.UNCLASSIFIED` never joins: such a report is an
incident of its own for the operators to triage.

The candidates are read with a bounding box on ``lat``/``lon`` and the index on
``(category, last_report_at)``, the same SQL on SQLite and PostgreSQL; the exact distance
is computed here. :func:`filing_lock` serialises the filing of reports of one category on
PostgreSQL (SQLite serialises every writer), so two reports of one event arriving at
once cannot both miss each other and make two incidents.
"""

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select, text

from routing import schema as t
from routing.errors import InvalidValue
from routing.lifecycle import FINAL
from routing.models import Incident, Report
from routing.reading import UNCLASSIFIED

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
MAX_CANDIDATES = 100  # of one category in one small box and half an hour: plenty

_FINAL = sorted(s.value for s in FINAL)


@dataclass(frozen=True, kw_only=True, slots=True)
class Nearby:
    """How near in space and time a report must be to join an open incident."""

    radius_m: float = 200.0
    window: timedelta = timedelta(minutes=30)
    district_wide: bool = False
    """A report with neither a point nor an address joins on its district alone."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and 0 < self.radius_m <= 50_000):
            raise InvalidValue("radius_m", "el radio debe ser de más de 0 m y hasta 50 km")
        if not timedelta(0) < self.window <= timedelta(days=7):
            raise InvalidValue("window", "la ventana debe ser de más de 0 s y hasta 7 días")


@dataclass(frozen=True, kw_only=True, slots=True)
class Filed:
    """Where a citizen's report went (:meth:`routing.store.IncidentStore.file_report`).

    ``joined``: it joined an open incident (``distance_m`` from that incident's point,
    when both have one). ``repeated``: the same report (source and external id) was
    stored already; ``incident`` and ``report`` are where it went then, and nothing was
    written. Otherwise a new incident was created. ``cause`` says why, in Spanish."""

    incident: Incident
    report: Report
    joined: bool
    distance_m: float | None
    cause: str
    repeated: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Match:
    """An open incident a report may join."""

    row_id: int
    public_id: str
    last_report_at: datetime
    distance_m: float | None  # None: matched on district and address
    address_key: str | None
    by_district: bool = False  # matched on the district alone (Nearby.district_wide)

    def after_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.last_report_at).total_seconds()))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """``(south, north, west, east)`` in degrees, holding every point within
    ``radius_m`` of ``(lat, lon)`` (with 1 % to spare for rounding)."""
    dlat = math.degrees(radius_m * 1.01 / EARTH_RADIUS_M)
    cos_lat = math.cos(math.radians(lat))
    dlon = 180.0 if cos_lat < 1e-6 else min(180.0, dlat / cos_lat)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def joins(category: str) -> bool:
    """Whether a report of ``category`` may join an open incident at all."""
    return category != UNCLASSIFIED


def candidates_query(
    *,
    category: str,
    since: datetime,
    lat: float | None,
    lon: float | None,
    radius_m: float,
    district: str | None,
    address_key: str | None,
    district_wide: bool = False,
) -> Select[Any] | None:
    """The open incidents a report may join, most recently reported first; None when
    the report has neither a point nor a district and address to match on (nor, with
    ``district_wide``, a district alone)."""
    c = t.incidents.c
    ways = []
    has_point = lat is not None and lon is not None
    if lat is not None and lon is not None:
        south, north, west, east = bounding_box(lat, lon, radius_m)
        ways.append(and_(c.lat.between(south, north), c.lon.between(west, east)))
    if district is not None and address_key:
        same_place = and_(c.district == district, c.address_key == address_key)
        # when both have a point the points decide
        ways.append(and_(same_place, c.lat.is_(None)) if has_point else same_place)
    if district is not None and district_wide and not has_point and not address_key:
        ways.append(c.district == district)
    if not ways:
        return None
    return (
        select(c.id, c.public_id, c.lat, c.lon, c.address_key, c.last_report_at)
        .where(
            c.category == category,
            c.last_report_at >= since,
            c.status.not_in(_FINAL),
            or_(*ways),
        )
        .order_by(c.last_report_at.desc(), c.id.desc())
        .limit(MAX_CANDIDATES)
    )


def rank(
    rows: Iterable[Any], *, lat: float | None, lon: float | None, radius_m: float
) -> list[Match]:
    """The candidates that match, best first: by point, nearest first, then by address,
    most recently reported first (``rows`` come most recent first)."""
    by_point: list[Match] = []
    by_address: list[Match] = []
    for row in rows:
        if lat is not None and lon is not None and row.lat is not None and row.lon is not None:
            distance = haversine_m(lat, lon, row.lat, row.lon)
            if distance <= radius_m:
                by_point.append(_match(row, distance))
        else:
            by_address.append(_match(row, None))
    by_point.sort(key=lambda m: m.distance_m or 0.0)  # stable: the most recent first on ties
    return by_point + by_address


def _match(row: Any, distance: float | None) -> Match:
    return Match(
        row_id=row.id,
        public_id=row.public_id,
        last_report_at=row.last_report_at,
        distance_m=distance,
        address_key=row.address_key,
    )


def find_matches(
    conn: Connection,
    *,
    category: str,
    now: datetime,
    lat: float | None,
    lon: float | None,
    district: str | None,
    address_key: str | None,
    nearby: Nearby,
) -> list[Match]:
    """The open incidents, best first, that a report of ``category`` at this place may
    join (none for :data:`UNCLASSIFIED`)."""
    if not joins(category):
        return []
    query = candidates_query(
        category=category,
        since=now - nearby.window,
        lat=lat,
        lon=lon,
        radius_m=nearby.radius_m,
        district=district,
        address_key=address_key,
        district_wide=nearby.district_wide,
    )
    if query is None:
        return []
    matches = rank(conn.execute(query).all(), lat=lat, lon=lon, radius_m=nearby.radius_m)
    if (lat is None or lon is None) and not address_key:  # the district alone matched
        return [replace(m, by_district=True) for m in matches]
    return matches


# ------------------------------------------------------------------ locking


def lock_key(category: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit key) under which reports of
    ``category`` are filed."""
    digest = hashlib.blake2b(f"voicebridge.file_report:{category}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def filing_lock(conn: Connection, categories: Sequence[str]) -> None:
    """Hold, until this transaction ends, the lock under which reports of these
    categories are filed: on PostgreSQL a transaction-scoped advisory lock per category,
    taken in a fixed order (a transaction filing several reports takes them all at once,
    first, so that two such transactions cannot deadlock); on SQLite nothing, as a write
    transaction excludes every other writer already."""
    if conn.dialect.name != "postgresql":
        return
    for category in sorted({c for c in categories if joins(c)}):
        conn.execute(_LOCK, {"key": lock_key(category)})


# ------------------------------------------------------------------ causes


def _after(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s después"
    return f"{seconds // 60} min después"


def joined_cause(match: Match, now: datetime) -> str:
    """Why the report joined, in Spanish: ``se sumó: misma categoría a 120 m, 10 min
    después``."""
    after = _after(match.after_seconds(now))
    if match.distance_m is not None:
        return f"se sumó: misma categoría a {match.distance_m:.0f} m, {after}"
    if match.by_district:
        return f"se sumó: misma categoría en el mismo distrito (llamada sin dirección), {after}"
    return f"se sumó: misma categoría y misma dirección en el distrito, {after}"


def created_cause(category: str, nearby: Nearby | None) -> str:
    """Why the report became a new incident, in Spanish."""
    if nearby is None:
        return "incidente nuevo"
    if not joins(category):
        return "incidente nuevo: sin clasificar, queda para que un operador lo revise"
    minutes = int(nearby.window.total_seconds() // 60)
    return (
        f"incidente nuevo: ninguno abierto de la misma categoría a menos de "
        f"{nearby.radius_m:.0f} m ni en la misma dirección en los últimos {minutes} min"
    )


def repeated_cause(incident_id: str) -> str:
    return f"reporte repetido: ya estaba registrado en {incident_id}"
