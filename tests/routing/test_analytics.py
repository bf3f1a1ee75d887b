"""The analytics' definitions (issue 15, point 1): the exact percentile, the same as
PostgreSQL's percentile_cont on the same rows; the intervals, each once, with what
they leave out (a phase missing, two clocks that disagree) counted apart, never as
zero."""

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from routing.analytics import (
    BY_CODE,
    INTERVALS,
    Excluded,
    Period,
    Phase,
    Phases,
    change,
    figures,
    measure,
    percentile_cont,
    period_of,
    share_improved,
)

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


def test_the_percentile_is_postgresql_s_percentile_cont(postgres_url: str) -> None:
    url = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    rng = random.Random(20261205)
    samples = [[rng.expovariate(1 / 45) for _ in range(n)] for n in (1, 2, 3, 10, 101, 1000)] + [
        [5.0, 5.0, 5.0, 7.0],
        [0.0, 3600.0],
        [12.5],
    ]
    with psycopg.connect(url) as conn:
        for values in samples:
            for fraction in (0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0):
                row = conn.execute(
                    "SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY x) "
                    "FROM unnest(%s::float8[]) AS x",
                    (fraction, values),
                ).fetchone()
                assert row is not None
                assert percentile_cont(values, fraction) == pytest.approx(row[0], abs=1e-9)


def test_the_percentile_of_nothing_is_none_and_a_bad_fraction_an_error() -> None:
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([7.0], 0.9) == 7.0
    assert percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="0 to 1"):
            percentile_cont([1.0], bad)


def test_each_interval_is_defined_once_and_says_what_it_leaves_out() -> None:
    assert len({i.code for i in INTERVALS}) == len(INTERVALS)
    assert all(i.leaves_out and i.label and i.leaves_out_label for i in INTERVALS)
    assert BY_CODE["acknowledgement"].per_agency
    assert not BY_CODE["total"].per_agency
    assert "never as zero" in BY_CODE["acknowledgement"].leaves_out


def phases_of(**agencies: dict[Phase, datetime]) -> Phases:
    return Phases(
        incident="LIM-2026-000001",
        district="150122",
        category="robo",
        priority="high",
        source="phone",
        final=None,
        at={
            Phase.RECEIVED: T0,
            Phase.CREATED: T0 + timedelta(seconds=4),
            Phase.DISPATCHED: T0 + timedelta(seconds=30),
        },
        agencies=agencies,
    )


def test_an_agency_that_never_acknowledged_is_counted_apart_never_as_zero() -> None:
    p = phases_of(
        pnp={
            Phase.NOTIFIED: T0 + timedelta(seconds=31),
            Phase.ACKNOWLEDGED: T0 + timedelta(seconds=76),
        },
        serenazgo={Phase.NOTIFIED: T0 + timedelta(seconds=31)},
    )
    found = {m.agency: m for m in measure(p, BY_CODE["acknowledgement"])}
    assert found["pnp"].seconds == 45.0
    assert (found["serenazgo"].seconds, found["serenazgo"].excluded) == (None, Excluded.MISSING)
    [answering] = measure(p, BY_CODE["answering"])
    assert (answering.agency, answering.seconds) == (None, 4.0)
    [total] = measure(p, BY_CODE["total"])  # still open: no resolution
    assert total.excluded is Excluded.MISSING


def test_two_clocks_that_disagree_are_left_out_not_taken_as_negative() -> None:
    p = phases_of(
        pnp={
            Phase.EN_ROUTE: T0 + timedelta(seconds=200),
            Phase.ON_SCENE: T0 + timedelta(seconds=150),
        }
    )
    [travel] = measure(p, BY_CODE["travel"])
    assert (travel.seconds, travel.excluded) == (None, Excluded.NEGATIVE)


def incident(n: int, received: datetime, district: str, ack: float | None) -> Phases:
    """An incident received at ``received``, its police notified 30 s later and
    acknowledging ``ack`` seconds after that (None: never)."""
    notified = received + timedelta(seconds=30)
    pnp = {Phase.NOTIFIED: notified}
    if ack is not None:
        pnp[Phase.ACKNOWLEDGED] = notified + timedelta(seconds=ack)
    return Phases(
        incident=f"LIM-2026-{n:06d}",
        district=district,
        category="robo",
        priority="high",
        source="phone",
        final=None,
        at={Phase.RECEIVED: received, Phase.CREATED: received + timedelta(seconds=3)},
        agencies={"pnp": pnp},
    )


def test_figures_per_month_and_district_in_lima_s_calendar() -> None:
    october = datetime(2026, 10, 10, 15, 0, tzinfo=UTC)
    # 04:30 UTC on 1 November is still 31 October in Lima (UTC-5)
    late_october = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)
    november = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
    rows = [
        incident(1, october, "150122", 40.0),
        incident(2, october, "150122", 80.0),
        incident(3, late_october, "150122", 120.0),
        incident(4, october, "150132", 60.0),
        incident(5, november, "150122", 30.0),
        incident(6, november, "150122", None),  # never acknowledged: apart, never zero
        incident(7, november, "150132", 90.0),
    ]
    found = figures(
        rows, BY_CODE["acknowledgement"], period=Period.MONTH, by=("district",), target=60.0
    )
    miraflores_oct = found[("2026-10", "150122")]
    assert (miraflores_oct.count, miraflores_oct.mean) == (3, 80.0)
    assert miraflores_oct.median == 80.0
    assert miraflores_oct.p90 == pytest.approx(112.0)
    assert miraflores_oct.within == pytest.approx(1 / 3)
    miraflores_nov = found[("2026-11", "150122")]
    assert (miraflores_nov.count, miraflores_nov.mean) == (1, 30.0)
    assert miraflores_nov.excluded == {Excluded.MISSING: 1}
    assert change(miraflores_oct.mean, miraflores_nov.mean) == pytest.approx(-0.625)
    # Miraflores got faster, San Juan de Lurigancho slower: half the districts improved
    assert share_improved(found, "2026-10", "2026-11") == 0.5
    by_agency = figures(rows, BY_CODE["acknowledgement"], period=Period.WEEK, by=("agency",))
    assert set(by_agency) == {("2026-W41", "pnp"), ("2026-W44", "pnp"), ("2026-W46", "pnp")}
    assert period_of(late_october, Period.DAY) == "2026-10-31"


def test_figures_refuse_what_cannot_be_grouped() -> None:
    with pytest.raises(ValueError, match="not colour"):
        figures([], BY_CODE["total"], period=Period.DAY, by=("colour",))
    with pytest.raises(ValueError, match="no agency"):
        figures([], BY_CODE["total"], period=Period.DAY, by=("agency",))
    assert figures([], BY_CODE["total"], period=Period.DAY) == {}
    assert change(None, 3.0) is None
    assert change(0.0, 3.0) is None
    assert share_improved({}, "2026-10", "2026-11") is None
