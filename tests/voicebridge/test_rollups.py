"""The analytics at the scale of a year (issue 15, points 2 to 4): the summary rows give
the figures the log gives, before and after the rollup, for a day changed after it was
rolled and for a target changed after a month was; the open day is live; a generated
year shows its own parameters back."""

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from routing import schema as t
from routing.analytics import (
    BY_CODE,
    INTERVALS,
    Figures,
    Interval,
    Period,
    Phases,
    figures,
    measure,
    phases,
)
from routing.config import RoutingConfig, parse_config
from routing.db import Database
from routing.events import Acknowledged, Calling, event
from routing.models import Location, NewIncident, NewReport, Source, Status
from routing.rollups import SETTLE, Analytics, Rollups, days_of, periods_between
from routing.store import IncidentStore
from tests.conftest import FakeClock
from voicebridge.demo_year import CATEGORY_SHARES, POPULATION, YearGenerator, YearPlan, generate
from voicebridge.rules import read_rules_file

TODAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in Lima
TARGETS = {"acknowledgement": 60, "response": 90, "answering": 5}
SJL = "150132"


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return parse_config(read_rules_file(None)[0])


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url, pool_size=4)
    yield database
    database.dispose()


def same(
    found: Mapping[tuple[str, ...], Figures], expected: Mapping[tuple[str, ...], Figures]
) -> None:
    assert found.keys() == expected.keys()
    for key, want in expected.items():
        got = found[key]
        assert (got.count, got.excluded, got.unanswered, got.first_try) == (
            want.count, want.excluded, want.unanswered, want.first_try,
        ), key  # fmt: skip
        for name in ("mean", "median", "p90", "within"):
            a, b = getattr(got, name), getattr(want, name)
            assert (a is None) == (b is None), (key, name)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-6), (key, name)


def all_phases(db: Database, store: IncidentStore) -> list[Phases]:
    with db.read() as conn:
        numbers = conn.execute(select(t.incidents.c.public_id)).scalars().all()
    return [phases(store.detail(n)) for n in numbers]


GROUPINGS: Sequence[tuple[tuple[str, ...], dict[str, str]]] = (
    ((), {}),
    (("district",), {}),
    (("agency",), {}),
    (("category", "priority"), {}),
    (("source",), {"district": SJL}),
    (("district", "source"), {"category": "robo"}),  # three dimensions: from the days
)


def check_all(
    analytics: Analytics, incidents: Sequence[Phases], intervals: Sequence[Interval],
    periods: Sequence[Period], first: date, last: date,
) -> None:  # fmt: skip
    for interval in intervals:
        target = TARGETS.get(interval.code)
        for period in periods:
            for by, where in GROUPINGS:
                if "agency" in by and not interval.per_agency:
                    continue
                found = analytics.figures(
                    interval, period=period, first=first, last=last, by=by, where=where
                )
                want = figures(
                    incidents, interval, period=period, by=by, where=where, target=target
                )
                asked = set(periods_between(period, first, last))
                same(found, {key: f for key, f in want.items() if key[0] in asked})


def plain_incident(store: IncidentStore, clock: FakeClock, district: str) -> str:
    incident, _ = store.create_incident(
        NewIncident(
            category="robo",
            district=district,
            report=NewReport(source=Source.SMS, text="me robaron", location=Location()),
        ),
        actor="operator:ana",
    )
    clock.advance(20)
    store.transition(incident.id, Status.DISPATCHED, actor="operator:ana", cause="despacho")
    clock.advance(2)
    store.append_event(
        incident.id,
        event(Calling(agency="pnp", target="pnp/1", number=1), actor="system:worker", cause="t"),
    )
    return incident.id


def test_the_rollups_give_the_figures_the_log_gives(db: Database, config: RoutingConfig) -> None:
    clock = FakeClock(TODAY - timedelta(days=1))
    store = IncidentStore(db, clock=clock)
    plan = YearPlan(incidents=900, first_month="2026-09", months=3, seed=7)
    generate(store, plan, config)
    # an incident yesterday, through the store as a live one, its agency not answering
    late = plain_incident(store, clock, SJL)
    clock.current = TODAY
    today = plain_incident(store, clock, SJL)  # and one today, the open day
    store.append_event(
        today,
        event(Acknowledged(agency="pnp", method="keypress"), actor="responder:pnp", cause="t"),
    )
    first, last = date(2026, 9, 1), TODAY.date()
    analytics = Analytics(db, clock=clock, targets=TARGETS)
    incidents = all_phases(db, store)
    # nothing rolled yet: every figure live from the log
    check_all(analytics, incidents, [BY_CODE["response"], BY_CODE["acknowledgement"]],
              [Period.MONTH], first, last)  # fmt: skip

    rollups = Rollups(db, clock=clock, targets=TARGETS)
    report = rollups.roll()
    assert (report.days, report.weeks, report.months) == (92, 13, 3)
    check_all(analytics, incidents, INTERVALS, [Period.WEEK, Period.MONTH], first, last)
    check_all(analytics, incidents, [BY_CODE["acknowledgement"]], [Period.DAY], first, last)

    # yesterday's incident is acknowledged today: the next run rolls yesterday again
    clock.advance(600)
    store.append_event(
        late, event(Acknowledged(agency="pnp", method="sds"), actor="responder:pnp", cause="t")
    )
    again = rollups.roll()
    assert again.days == 1
    assert again.months == 0
    incidents = all_phases(db, store)
    check_all(analytics, incidents, [BY_CODE["acknowledgement"], BY_CODE["response"]],
              [Period.DAY, Period.WEEK, Period.MONTH], date(2026, 11, 25), last)  # fmt: skip
    # a step is looked at again by the runs within SETTLE of it, then no more
    clock.advance(SETTLE.total_seconds() + 1)
    rollups.roll()
    assert rollups.roll().days == 0

    # a target changed after the months were rolled: their rows are not used for it
    moved = Analytics(db, clock=clock, targets={**TARGETS, "acknowledgement": 30})
    found = moved.figures(BY_CODE["acknowledgement"], period=Period.MONTH, first=first, last=last)
    want = figures(incidents, BY_CODE["acknowledgement"], period=Period.MONTH, target=30)
    same(found, want)

    # a history imported into a day already rolled: read live until rolled again
    more = YearPlan(incidents=31, first_month="2026-10", months=1, seed=8)
    generate(store, more, config)
    incidents = all_phases(db, store)
    check_all(analytics, incidents, [BY_CODE["response"]], [Period.DAY, Period.MONTH],
              date(2026, 10, 1), date(2026, 10, 31))  # fmt: skip
    assert rollups.roll().days == 31
    check_all(analytics, incidents, [BY_CODE["response"]], [Period.MONTH], first, last)

    # and a rebuild from nothing gives the same rows
    assert rollups.rebuild().incidents == len(incidents) - 1  # all but today's: live
    check_all(analytics, incidents, [BY_CODE["processing"]], [Period.MONTH], first, last)


def test_answering_runs_from_when_the_citizen_s_contact_began(db: Database) -> None:
    """A report whose contact began before it was filed (a conversation's first message,
    an SMS read late) gives an answering time, live and rolled up alike; one from a
    clock ahead of the filing counts as filed then; one with no start, as received."""
    clock = FakeClock(TODAY - timedelta(days=1))
    store = IncidentStore(db, clock=clock)
    began = {
        "conversation": clock.now() - timedelta(seconds=45),
        "ahead": clock.now() + timedelta(seconds=30),
        "operator": None,
    }
    ids = {}
    for name, at in began.items():
        incident, _ = store.create_incident(
            NewIncident(
                category="robo",
                district=SJL,
                report=NewReport(source=Source.TELEGRAM, text=name, began_at=at),
            ),
            actor="system:telegram",
        )
        ids[name] = incident.id
    answering = BY_CODE["answering"]
    seconds = {
        name: [m.seconds for m in measure(phases(store.detail(i)), answering)]
        for name, i in ids.items()
    }
    assert seconds == {"conversation": [45.0], "ahead": [0.0], "operator": [0.0]}
    [report] = store.detail(ids["ahead"]).reports
    assert report.began == report.received_at  # never after the filing
    clock.current = TODAY
    analytics = Analytics(db, clock=clock, targets=TARGETS)
    day = (TODAY - timedelta(days=1)).date()
    live = analytics.figures(answering, period=Period.DAY, first=day, last=day)
    Rollups(db, clock=clock, targets=TARGETS).roll()
    rolled = analytics.figures(answering, period=Period.DAY, first=day, last=day)
    for found in (live, rolled):
        [(_, figure)] = found.items()
        assert (figure.count, figure.mean) == (3, 15.0)
        assert figure.p90 == pytest.approx(36.0)  # 0, 0, 45 s: 80% of the way to 45


def test_a_contact_begun_before_midnight_counts_on_the_day_its_report_was_filed(
    db: Database,
) -> None:
    """An SMS that arrived at 23:59:50 in Lima and was filed at 00:00:10: its 20 s of
    answering count on the day of the filing, live and rolled up alike (the rollups
    select a day's incidents by their first report's filing)."""
    midnight = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 00:00 of 2 December in Lima
    clock = FakeClock(midnight + timedelta(seconds=10))
    store = IncidentStore(db, clock=clock)
    store.create_incident(
        NewIncident(
            category="robo",
            district=SJL,
            report=NewReport(
                source=Source.SMS, text="robo", began_at=midnight - timedelta(seconds=10)
            ),
        ),
        actor="system:sms",
    )
    clock.current = TODAY + timedelta(days=1)
    analytics = Analytics(db, clock=clock, targets=TARGETS)
    answering = BY_CODE["answering"]
    first, last = date(2026, 12, 1), date(2026, 12, 2)
    live = analytics.figures(answering, period=Period.DAY, first=first, last=last)
    assert Rollups(db, clock=clock, targets=TARGETS).roll().days == 1  # from the first day
    rolled = analytics.figures(answering, period=Period.DAY, first=first, last=last)
    # and the domain's own figures over the incidents' phases
    domain = figures(all_phases(db, store), answering, period=Period.DAY, target=5)
    for found in (live, rolled, domain):
        assert {key: (f.count, f.mean) for key, f in found.items()} == {("2026-12-02",): (1, 20.0)}


def test_periods_are_lima_s_calendar() -> None:
    assert days_of(Period.WEEK, "2026-W01") == (date(2025, 12, 29), date(2026, 1, 4))
    assert days_of(Period.MONTH, "2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert days_of(Period.MONTH, "2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert periods_between(Period.WEEK, date(2025, 12, 28), date(2026, 1, 5)) == [
        "2025-W52", "2026-W01", "2026-W02",
    ]  # fmt: skip
    assert periods_between(Period.MONTH, date(2026, 1, 31), date(2026, 3, 1)) == [
        "2026-01", "2026-02", "2026-03",
    ]  # fmt: skip


def test_the_same_plan_gives_the_same_year(config: RoutingConfig) -> None:
    plan = YearPlan(incidents=400, first_month="2026-01", months=2, seed=3)
    one, two = YearGenerator(plan, config), YearGenerator(plan, config)
    assert list(one.histories(0)) == list(two.histories(0))
    other = YearGenerator(YearPlan(incidents=400, first_month="2026-01", months=2, seed=4), config)
    assert list(one.histories(1)) != list(other.histories(1))


def test_a_generated_year_shows_its_own_parameters(sqlite_url: str, config: RoutingConfig) -> None:
    db = Database.from_url(sqlite_url)
    clock = FakeClock(TODAY)
    store = IncidentStore(db, clock=clock)
    plan = YearPlan(incidents=8000, first_month="2025-12", months=12, seed=11)
    assert generate(store, plan, config) == 8000
    analytics = Analytics(db, clock=clock, targets=TARGETS)
    Rollups(db, clock=clock, targets=TARGETS).roll()
    first, last = date(2025, 12, 1), date(2026, 11, 30)

    def over_year(code: str, by: tuple[str, ...]) -> dict[tuple[str, ...], Figures]:
        return analytics.figures(BY_CODE[code], period=Period.MONTH, first=first, last=last, by=by)

    # every incident is counted once by the answering interval (it has no exclusions)
    answering = over_year("answering", ("district",))
    per_district: dict[str, int] = {}
    for (_, district), f in answering.items():
        per_district[district] = per_district.get(district, 0) + f.count
    total = sum(per_district.values())
    assert total == 8000
    people = sum(POPULATION.values())
    for district, inhabitants in POPULATION.items():
        expected = 8000 * inhabitants / people
        # a binomial count within four standard deviations of its expectation
        assert abs(per_district.get(district, 0) - expected) <= 4 * math.sqrt(expected) + 2

    by_category: dict[str, int] = {}
    for (_, category), f in over_year("answering", ("category",)).items():
        by_category[category] = by_category.get(category, 0) + f.count
    for category, share in CATEGORY_SHARES.items():
        expected = 8000 * share
        assert abs(by_category.get(category, 0) - expected) <= 4 * math.sqrt(expected) + 2

    # processing falls by the plan's monthly change: the slope of log(mean) per month
    means = [f.mean for f in over_year("processing", ()).values()]
    assert len(means) == 12
    assert all(m is not None for m in means)
    xs = range(12)
    ys = [math.log(m or 1) for m in means]
    x_mean, y_mean = sum(xs) / 12, sum(ys) / 12
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - x_mean) ** 2 for x in xs
    )
    assert slope == pytest.approx(math.log(1 + plan.monthly_change), abs=0.012)

    legs = over_year("acknowledgement", ())
    count = sum(f.legs for f in legs.values())
    first_try = sum(f.first_try for f in legs.values()) / count
    unanswered = sum(f.unanswered for f in legs.values()) / count
    assert first_try == pytest.approx(plan.first_try, abs=0.025)
    assert unanswered == pytest.approx(plan.unanswered, abs=0.012)
    db.dispose()
