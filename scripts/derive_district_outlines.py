"""Derive ``routing/data/districts.json`` (the bundled district outlines of :mod:`routing.geo`)
from the shared reference file of Lima and Callao districts.

A dev tool, run once by hand; its output is committed, the source file never is::

    .venv/bin/python scripts/derive_district_outlines.py [SOURCE.geojson] [-o OUTPUT.json]

Source: ``lima_callao_distritos_simple.geojson`` of joseluisq/peru-geojson-datasets (commit
2c2a8ae), boundaries from IGN, licensed MIT or Apache-2.0. Its 50 features (43 districts of
Lima province, 7 of Callao) carry no UBIGEO code: they are joined to the codes by their
upper-case name (``MI PERÃz``, mangled UTF-8, included), and the run stops on any feature
that does not join, on a province that does not match, and on any code left without an
outline.

Neighbouring polygons share their border vertices exactly, so the outlines are simplified
topologically: every ring is cut into arcs at its junctions (the vertices where the set of
rings running along the boundary changes), each arc is simplified once (Douglas-Peucker)
and rounded to 5 decimals, and both neighbours reuse that same arc (one of them reversed).
The borders therefore stay common, without gaps or overlaps. Arcs whose simplified form
would collapse a ring, cross another arc or change which ring lies inside which are
simplified again with half the tolerance, down to none; so are arcs where the rounding
would merge distinct vertices.
"""

import argparse
import itertools
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routing.districts import DISTRICTS
from routing.geo import CALLAO_DISTRICTS, LIMA, place_named, repair_mojibake
from routing.text import fold

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / "../shared/geo/lima_callao_distritos_simple.geojson"
DEFAULT_OUTPUT = ROOT / "routing/data/districts.json"
TOLERANCE = 0.0003  # degrees, about 33 m at Lima's latitude
DECIMALS = 5
SCALE = 10**DECIMALS
EXPECTED = [d.ubigeo for d in (*DISTRICTS, *CALLAO_DISTRICTS)]
NAMES = {d.ubigeo: d.name for d in (*DISTRICTS, *CALLAO_DISTRICTS)}

SOURCE = (
    "lima_callao_distritos_simple.geojson of joseluisq/peru-geojson-datasets "
    "(https://github.com/joseluisq/peru-geojson-datasets, commit 2c2a8ae), boundaries from IGN"
)
LICENCE = "MIT OR Apache-2.0, as the source (joseluisq/peru-geojson-datasets)"
DERIVED_BY = (
    "scripts/derive_district_outlines.py: arcs between junctions simplified once "
    "(Douglas-Peucker) and shared by both neighbours, coordinates rounded to 5 decimals"
)

# Metres per degree at Lima (12.05 S), for the displacement report.
M_PER_DEG_LAT = 110_600.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(12.05))

Point = tuple[float, float]  # (lon, lat) as in the source
Grid = tuple[int, int]  # (lon, lat) * 10**5, rounded: exact arithmetic for the checks
Arc = tuple[Point, ...]


class Failure(Exception):
    """The source cannot be turned into outlines; the message says why."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Feature:
    ubigeo: str
    name: str
    province: str
    rings: tuple[tuple[Point, ...], ...]  # open: the closing position dropped


@dataclass(frozen=True, kw_only=True, slots=True)
class Use:
    """An arc as one ring runs along it."""

    arc: int
    reverse: bool


# --- reading and joining -------------------------------------------------------------


def read_features(path: Path) -> list[Feature]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Failure(f"cannot read {path}: {exc}") from None
    problems: list[str] = []
    features: list[Feature] = []
    for index, raw in enumerate(document["features"]):
        properties: dict[str, Any] = raw["properties"]
        source_name = str(properties.get("distrito"))
        place = place_named(source_name)
        label = f"features[{index}] {source_name!r}"
        if place is None or place.ubigeo is None or place.name is None:
            problems.append(f"{label}: no district of Lima or Callao is named so")
            continue
        if fold(str(properties.get("provincia"))) != fold(str(place.province)):
            problem = (
                f"province {properties.get('provincia')!r}, but {place.name} is in {place.province}"
            )
            problems.append(f"{label}: {problem}")
            continue
        repaired = repair_mojibake(source_name)
        if repaired != source_name or fold(source_name) != fold(place.name):
            print(f"joined {source_name!r} to {place.ubigeo} {place.name}")
        features.append(
            Feature(
                ubigeo=place.ubigeo,
                name=place.name,
                province=str(place.province),
                rings=tuple(open_ring(ring) for ring in polygon_rings(raw["geometry"])),
            )
        )
    codes = [f.ubigeo for f in features]
    problems += [
        f"{code} has two features" for code in sorted({c for c in codes if codes.count(c) > 1})
    ]
    problems += [f"no feature for {code} {NAMES[code]}" for code in EXPECTED if code not in codes]
    if problems:
        raise Failure("the source does not join to the UBIGEO codes:\n  " + "\n  ".join(problems))
    return sorted(features, key=lambda f: (f.province != LIMA, f.ubigeo))


def polygon_rings(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    if geometry["type"] == "Polygon":
        yield from geometry["coordinates"]
    elif geometry["type"] == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon
    else:
        raise Failure(f"a {geometry['type']} is not a polygon")


def open_ring(raw: list[list[float]]) -> tuple[Point, ...]:
    ring: list[Point] = []
    for position in raw:
        point = (float(position[0]), float(position[1]))
        if not ring or ring[-1] != point:
            ring.append(point)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise Failure(f"a ring of fewer than 3 vertices at {raw[:1]}")
    return tuple(ring)


# --- arcs ------------------------------------------------------------------------------


def edge(a: Point, b: Point) -> tuple[Point, Point]:
    return (a, b) if a <= b else (b, a)


def junctions(rings: Sequence[tuple[Point, ...]]) -> set[Point]:
    """The vertices where the set of rings running along the boundary changes."""
    along: dict[tuple[Point, Point], list[int]] = defaultdict(list)
    for r, ring in enumerate(rings):
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            along[edge(a, b)].append(r)
    overlapping = [e for e, owners in along.items() if len(owners) > 2]
    if overlapping:
        raise Failure(f"{len(overlapping)} edges belong to 3 or more rings, e.g. {overlapping[0]}")
    found: set[Point] = set()
    for ring in rings:
        seen: set[Point] = set()
        for i, vertex in enumerate(ring):
            before = along[edge(ring[i - 1], vertex)]
            after = along[edge(vertex, ring[(i + 1) % len(ring)])]
            if sorted(before) != sorted(after) or vertex in seen:
                found.add(vertex)
            seen.add(vertex)
    return found


def cut(ring: tuple[Point, ...], at: set[Point]) -> list[Arc]:
    """The ring as consecutive arcs from junction to junction; a ring without junctions is
    one closed arc starting at its smallest vertex (so that a neighbour's matches it)."""
    starts = [i for i, v in enumerate(ring) if v in at]
    first = starts[0] if starts else ring.index(min(ring))
    closed = ring[first:] + ring[:first] + ring[first : first + 1]
    arcs: list[Arc] = []
    begin = 0
    for i in range(1, len(closed)):
        if closed[i] in at or i == len(closed) - 1:
            arcs.append(closed[begin : i + 1])
            begin = i
    return arcs


# --- simplification --------------------------------------------------------------------


def segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2
    t = min(1.0, max(0.0, t))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def douglas_peucker(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker keeping both ends; a closed arc is split at its farthest vertex."""
    if len(points) <= 2:
        return list(points)
    if points[0] == points[-1]:
        far = max(range(1, len(points) - 1), key=lambda i: math.dist(points[0], points[i]))
        head = douglas_peucker(points[: far + 1], tolerance)
        return head[:-1] + douglas_peucker(points[far:], tolerance)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, best_distance = -1, -1.0
        for i in range(first + 1, last):
            distance = segment_distance(points[i], points[first], points[last])
            if distance > best_distance:
                best, best_distance = i, distance
        if best > 0 and best_distance > tolerance:
            keep[best] = True
            stack += [(first, best), (best, last)]
    return [p for p, kept in zip(points, keep, strict=True) if kept]


def to_grid(points: Sequence[Point]) -> tuple[Grid, ...]:
    """Rounded to 5 decimals (as integers), repeated points dropped."""
    grid: list[Grid] = []
    for x, y in points:
        g = (round(x * SCALE), round(y * SCALE))
        if not grid or grid[-1] != g:
            grid.append(g)
    return tuple(grid)


# --- validity (exact, on the integer grid) ----------------------------------------------


def orient(a: Grid, b: Grid, c: Grid) -> int:
    value = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (value > 0) - (value < 0)


def on_segment(a: Grid, b: Grid, p: Grid) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def clash(p1: Grid, p2: Grid, q1: Grid, q2: Grid) -> bool:
    """Do the segments meet anywhere but at a common end?"""
    o1, o2, o3, o4 = orient(p1, p2, q1), orient(p1, p2, q2), orient(q1, q2, p1), orient(q1, q2, p2)
    meet = (o1 != o2 and o3 != o4) or any(
        o == 0 and on_segment(a, b, c)
        for o, a, b, c in ((o1, p1, p2, q1), (o2, p1, p2, q2), (o3, q1, q2, p1), (o4, q1, q2, p2))
    )
    if not meet:
        return False
    common = {p1, p2} & {q1, q2}
    if len(common) != 1:
        return True
    corner = common.pop()
    p = p2 if p1 == corner else p1
    q = q2 if q1 == corner else q1
    dot = (p[0] - corner[0]) * (q[0] - corner[0]) + (p[1] - corner[1]) * (q[1] - corner[1])
    return orient(corner, p, q) == 0 and dot > 0  # collinear, running over each other


def crossing_arcs(arcs: Sequence[tuple[Grid, ...]]) -> set[int]:
    """The arcs having a segment that meets another one elsewhere than at a common end, or
    runs back over it."""
    cell = 500  # grid units: 0.005 degrees
    buckets: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for a, arc in enumerate(arcs):
        for i in range(len(arc) - 1):
            (x1, y1), (x2, y2) = arc[i], arc[i + 1]
            for cx in range(min(x1, x2) // cell, max(x1, x2) // cell + 1):
                for cy in range(min(y1, y2) // cell, max(y1, y2) // cell + 1):
                    buckets[(cx, cy)].append((a, i))
    bad: set[int] = set()
    checked: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for members in buckets.values():
        for m, (a, i) in enumerate(members):
            for b, j in members[m + 1 :]:
                pair = ((a, i), (b, j)) if (a, i) < (b, j) else ((b, j), (a, i))
                if pair in checked:
                    continue
                checked.add(pair)
                s, t = arcs[a][i : i + 2], arcs[b][j : j + 2]
                if clash(s[0], s[1], t[0], t[1]):
                    bad |= {a, b}
    return bad


def merged_arcs(kept: Sequence[Sequence[Point]]) -> set[int]:
    """The arcs where rounding makes distinct source vertices one, other than neighbours
    along an arc (which :func:`to_grid` merges harmlessly)."""
    runs: dict[Grid, list[tuple[int, set[Point]]]] = defaultdict(list)
    for a, points in enumerate(kept):
        for g, run in itertools.groupby(points, key=lambda p: to_grid([p])[0]):
            runs[g].append((a, set(run)))
    bad: set[int] = set()
    for found in runs.values():
        for (a, one), (b, other) in itertools.combinations(found, 2):
            if not one & other:
                bad |= {a, b}
    return bad


def twice_area(ring: Sequence[Grid] | Sequence[Point]) -> float:
    return float(
        sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, [*ring[1:], ring[0]], strict=True))
    )


def inside(ring: Sequence[Grid] | Sequence[Point], p: Grid | Point) -> bool:
    result = False
    for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (a[1] > p[1]) != (b[1] > p[1]) and p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (
            b[1] - a[1]
        ):
            result = not result
    return result


def assemble(uses: Sequence[Use], arcs: Sequence[tuple[Grid, ...]]) -> list[Grid]:
    """A ring from its arcs, open (the closing vertex not repeated)."""
    ring: list[Grid] = []
    for use in uses:
        arc = arcs[use.arc][::-1] if use.reverse else arcs[use.arc]
        ring.extend(arc[:-1])
    return ring


# --- the derivation ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Derived:
    rings: list[list[Grid]]  # open rings, same order as the source's
    arcs: list[Arc]  # the source's arcs
    simplified: list[tuple[Grid, ...]]
    tolerances: list[float]
    owners: list[list[int]]  # the rings along each arc


def derive(rings: Sequence[tuple[Point, ...]], tolerance: float) -> Derived:
    at = junctions(rings)
    arcs: list[Arc] = []
    index: dict[Arc, int] = {}
    uses: list[list[Use]] = []
    owners: list[list[int]] = []
    for r, ring in enumerate(rings):
        uses.append([])
        for arc in cut(ring, at):
            key = min(arc, arc[::-1])
            if key not in index:
                index[key] = len(arcs)
                arcs.append(key)
                owners.append([])
            uses[r].append(Use(arc=index[key], reverse=arc != key))
            owners[index[key]].append(r)
    # Which ring lies inside which, among rings that do not touch: to be kept.
    vertex_sets = [set(ring) for ring in rings]
    nesting = {
        (r, s): inside(rings[r], rings[s][0])
        for r in range(len(rings))
        for s in range(len(rings))
        if r != s and not vertex_sets[r] & vertex_sets[s]
    }
    tolerances = [tolerance] * len(arcs)
    for _ in range(64):
        kept = [douglas_peucker(arc, t) for arc, t in zip(arcs, tolerances, strict=True)]
        simplified = [to_grid(points) for points in kept]
        bad = crossing_arcs(simplified) | merged_arcs(kept)
        built = [assemble(u, simplified) for u in uses]
        for r, candidate in enumerate(built):
            area = twice_area(candidate)
            if len(set(candidate)) < 3 or area == 0 or (area > 0) != (twice_area(rings[r]) > 0):
                bad |= {use.arc for use in uses[r]}
        for (r, s), was_inside in nesting.items():
            if inside(built[r], built[s][0]) != was_inside:
                bad |= {use.arc for use in uses[r] + uses[s]}
        if not bad:
            return Derived(
                rings=built, arcs=arcs, simplified=simplified, tolerances=tolerances, owners=owners
            )
        if all(tolerances[a] == 0 for a in bad):
            raise Failure(f"{len(bad)} arcs are invalid even unsimplified (the source is invalid)")
        for a in bad:
            tolerances[a] = tolerances[a] / 2 if tolerances[a] > 1e-6 else 0.0
    raise Failure("the simplification did not settle")


def displacement_m(original: Arc, simplified: tuple[Grid, ...]) -> float:
    """How far (metres) the simplified arc strays from the original, either way."""

    def metres(p: Point) -> Point:
        return (p[0] * M_PER_DEG_LON, p[1] * M_PER_DEG_LAT)

    new = [metres((x / SCALE, y / SCALE)) for x, y in simplified]
    old = [metres(p) for p in original]

    def away(points: Sequence[Point], line: Sequence[Point]) -> float:
        if len(line) == 1:
            return max(math.dist(p, line[0]) for p in points)
        return max(
            min(segment_distance(p, a, b) for a, b in itertools.pairwise(line)) for p in points
        )

    return max(away(old, new), away(new, old))


def district_json(feature: Feature, rings: Sequence[list[Grid]]) -> dict[str, Any]:
    closed = [[[x / SCALE, y / SCALE] for x, y in [*ring, ring[0]]] for ring in rings]
    xs = [p[0] for ring in closed for p in ring]
    ys = [p[1] for ring in closed for p in ring]
    return {
        "ubigeo": feature.ubigeo,
        "name": feature.name,
        "province": feature.province,
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "rings": closed,
    }


def write_json(path: Path, tolerance: float, districts: list[dict[str, Any]]) -> None:
    header = {
        "source": SOURCE,
        "licence": LICENCE,
        "derived_by": DERIVED_BY,
        "tolerance_degrees": tolerance,
        "coordinates": "[lon, lat] WGS84, 5 decimals; a district is inside an odd number of "
        "its rings; bbox is [west, south, east, north]",
    }

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    lines = ",\n".join(compact(d) for d in districts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{compact(header)[:-1]},"districts":[\n{lines}\n]}}\n', encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE.resolve())
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="degrees")
    args = parser.parse_args(argv)
    try:
        features = read_features(args.source)
        flat = [(f, ring) for f in features for ring in f.rings]
        derived = derive([ring for _, ring in flat], args.tolerance)
    except Failure as exc:
        print(f"derive_district_outlines: {exc}", file=sys.stderr)
        return 1
    rings_of: dict[str, list[list[Grid]]] = defaultdict(list)
    for (feature, _), ring in zip(flat, derived.rings, strict=True):
        rings_of[feature.ubigeo].append(ring)
    write_json(
        args.output, args.tolerance, [district_json(f, rings_of[f.ubigeo]) for f in features]
    )

    before = sum(len(ring) for _, ring in flat)
    after = sum(len(ring) for ring in derived.rings)
    unique_before = len({p for _, ring in flat for p in ring})
    unique_after = len({p for ring in derived.rings for p in ring})
    shared = [a for a, owners in enumerate(derived.owners) if len(owners) == 2]
    moved = [
        displacement_m(arc, s) for arc, s in zip(derived.arcs, derived.simplified, strict=True)
    ]
    worst = max(shared, key=lambda a: moved[a])
    pair = " / ".join(flat[r][0].name for r in derived.owners[worst])
    reduced = sum(1 for t in derived.tolerances if t < args.tolerance)
    print(f"{len(features)} districts, {len(flat)} rings, {len(derived.arcs)} arcs", end=" ")
    print(f"({len(shared)} shared by two districts)")
    print(f"vertices before: {before} ({unique_before} distinct)")
    print(f"vertices after:  {after} ({unique_after} distinct)")
    print(f"arcs simplified with a reduced tolerance: {reduced}")
    print(f"largest displacement: {max(moved):.1f} m", end="; ")
    print(f"of a border between districts: {moved[worst]:.1f} m ({pair})")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
