"""A plausible year of Lima's incidents (issue 15, point 4): ``voicebridge demo year``.

Each incident is drawn from stated parameters (:class:`YearPlan`) and stored with its
whole log through the store (:meth:`~routing.store.IncidentStore.import_history`), so
that the analytics, the console and the benchmarks read what live incidents leave:

- **where**: the 43 districts of the province of Lima, in proportion to their population
  at the 2017 census (:data:`POPULATION`);
- **what**: the categories' shares of :data:`CATEGORY_SHARES` (robberies, traffic
  accidents and medical emergencies first), with each category's priority;
- **when**: spread over the year's days, and over the hours of the day by
  :data:`HOURLY` (quiet before dawn, busiest in the evening);
- **how**: the channel of the first report by :data:`SOURCE_SHARES`;
- **who answers**: the agencies the shipped routing rules dispatch for the category
  and district, each called in its plan's order; an agency acknowledges on its first
  try with :attr:`YearPlan.first_try`, on a later one or not at all otherwise (never,
  :attr:`YearPlan.unanswered` of the time), after a delay that falls by
  :attr:`YearPlan.monthly_change` each month (the centre's integration at work);
- units of the police, firefighters and SAMU report en route and on scene by radio
  (:attr:`YearPlan.radio_status` of the time); a few arrivals are recorded before
  their en route (:attr:`YearPlan.skewed`), which the analytics leave out;
- the district's operators, on three shifts, register, dispatch and close.

The same plan and seed give the same year; a test checks that a generated year shows
its own parameters back (shares, month-on-month change, first-try and unanswered
shares) within tolerance.
"""

import argparse
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Final

from routing.categories import category_by_code
from routing.config import RoutingConfig, parse_config
from routing.decide import Facts, decide
from routing.events import (
    Acknowledged,
    AttemptEnded,
    Calling,
    NewEvent,
    RadioStatusReported,
    StatusChanged,
    Unanswered,
    event,
)
from routing.ids import LIMA
from routing.models import (
    AgencyKind,
    Location,
    NewIncident,
    NewReport,
    Source,
    Status,
)
from routing.rollups import Rollups
from routing.store import History, IncidentStore, Intake
from voicebridge.settings import Settings

POPULATION: Final = {
    "150101": 268_000, "150102": 63_000, "150103": 599_000, "150104": 34_000,
    "150105": 85_000, "150106": 333_000, "150107": 43_000, "150108": 314_000,
    "150109": 35_000, "150110": 520_000, "150111": 199_000, "150112": 211_000,
    "150113": 75_000, "150114": 141_000, "150115": 174_000, "150116": 55_000,
    "150117": 326_000, "150118": 241_000, "150119": 89_000, "150120": 60_000,
    "150121": 83_000, "150122": 99_000, "150123": 110_000, "150124": 15_000,
    "150125": 330_000, "150126": 16_000, "150127": 8_000, "150128": 175_000,
    "150129": 8_000, "150130": 113_000, "150131": 61_000, "150132": 1_038_000,
    "150133": 355_000, "150134": 52_000, "150135": 654_000, "150136": 155_000,
    "150137": 196_000, "150138": 2_000, "150139": 28_000, "150140": 329_000,
    "150141": 91_000, "150142": 393_000, "150143": 398_000,
}  # fmt: skip
"""Inhabitants of each district of the province of Lima (UBIGEO) at the 2017 census
(INEI, *Censos Nacionales 2017*), to the thousand: the districts' relative sizes."""

CATEGORY_SHARES: Final = {
    "robo": 0.20, "asalto": 0.06, "violencia_familiar": 0.08, "rina": 0.06,
    "disturbio": 0.05, "persona_desaparecida": 0.01, "accidente_transito": 0.14,
    "buzon_sin_tapa": 0.03, "fuga_gas": 0.02, "incendio": 0.03,
    "emergencia_medica": 0.15, "rescate": 0.01, "derrumbe": 0.01,
    "materiales_peligrosos": 0.01, "corte_energia": 0.02, "cable_caido": 0.02,
    "aniego": 0.02, "semaforo_averiado": 0.03, "arbol_caido": 0.02, "otro": 0.03,
}  # fmt: skip
"""What Lima's centrals receive, as shares (the seed's list: robberies, traffic
accidents, manhole covers, gas leaks, fires, medical emergencies, first)."""

HOURLY: Final = (
    2.0, 1.5, 1.2, 1.0, 1.0, 1.3, 2.2, 3.5, 4.5, 5.0, 5.2, 5.4,
    5.6, 5.5, 5.4, 5.5, 5.8, 6.2, 6.8, 7.0, 6.6, 5.5, 4.0, 2.8,
)  # fmt: skip
"""Relative number of incidents in each hour of the day, 0 to 23, in Lima."""

SOURCE_SHARES: Final = {
    Source.PHONE: 0.72, Source.CONSOLE: 0.12, Source.TELEGRAM: 0.07, Source.SMS: 0.06,
    Source.API: 0.03,
}  # fmt: skip
"""The channel of the first report."""

IN_THE_FIELD: Final = frozenset({AgencyKind.POLICE, AgencyKind.FIRE, AgencyKind.MEDICAL})
"""Agencies whose units report en route and on scene by radio status."""
TRIES: Final = 3
"""Tries per agency (its plan's targets in turn) before it is unanswered."""
TRY_SECONDS: Final = 45.0
"""How long a try rings before the next."""


@dataclass(frozen=True, kw_only=True, slots=True)
class YearPlan:
    """The parameters of a generated year (each one a test checks comes back)."""

    incidents: int = 1_400_000
    first_month: str = "2025-12"
    """The year's first month (``YYYY-MM``); the year is 12 months from it."""
    months: int = 12
    seed: int = 2026
    monthly_change: float = -0.05
    """Month-on-month relative change of the response delays (-0.05: 5% faster)."""
    first_try: float = 0.80
    """An agency's share of legs acknowledged on the first try."""
    unanswered: float = 0.04
    """An agency's share of legs never acknowledged."""
    cancelled: float = 0.03
    """Share of incidents cancelled (a false alarm, a prank)."""
    radio_status: float = 0.6
    """Of agencies in the field that acknowledged, the share reporting en route and on
    scene."""
    skewed: float = 0.002
    """Of those, the share whose on scene is recorded before their en route (an operator
    noting the arrival before the radio's status came in)."""
    ack_median: float = 18.0
    """The first month's median seconds from a try's start to its acknowledgement."""

    @property
    def days(self) -> list[date]:
        year, month = (int(part) for part in self.first_month.split("-"))
        first = date(year, month, 1)
        last_month = month - 1 + self.months
        end = date(year + last_month // 12, last_month % 12 + 1, 1)
        return [first + timedelta(days=i) for i in range((end - first).days)]


Progress = Callable[[int, int], None]


class YearGenerator:
    """Draws the incidents of a :class:`YearPlan`, day by day."""

    def __init__(self, plan: YearPlan, config: RoutingConfig) -> None:
        self.plan = plan
        self.config = config
        self.rng = random.Random(plan.seed)  # noqa: S311 (demo data, reproducible, not secret)
        self.districts = list(POPULATION)
        self.district_weights = list(accumulate(POPULATION.values()))
        self.categories = list(CATEGORY_SHARES)
        self.category_weights = list(accumulate(CATEGORY_SHARES.values()))
        self.sources = list(SOURCE_SHARES)
        self.source_weights = list(accumulate(SOURCE_SHARES.values()))
        self.hours = list(accumulate(HOURLY))
        self._plans: dict[tuple[str, str], list[tuple[str, AgencyKind, int]]] = {}
        days = plan.days
        self.per_day = _spread(plan.incidents, len(days))
        self.first_day = days[0]

    def histories(self, day_index: int) -> Iterator[History]:
        day = self.first_day + timedelta(days=day_index)
        month = (day.year - self.first_day.year) * 12 + day.month - self.first_day.month
        speed = (1 + self.plan.monthly_change) ** month
        for _ in range(self.per_day[day_index]):
            yield self._incident(day, speed)

    def _incident(self, day: date, speed: float) -> History:
        rng, plan = self.rng, self.plan
        district = rng.choices(self.districts, cum_weights=self.district_weights)[0]
        category = rng.choices(self.categories, cum_weights=self.category_weights)[0]
        source = rng.choices(self.sources, cum_weights=self.source_weights)[0]
        hour = rng.choices(range(24), cum_weights=self.hours)[0]
        local = datetime.combine(day, time(hour), LIMA) + timedelta(seconds=rng.random() * 3600)
        received = local.astimezone(UTC)
        shift = hour // 8
        operator = (
            f"operator:{district}-{shift}{rng.randrange(2 + POPULATION[district] // 300_000)}"
        )
        answering = rng.lognormvariate(math.log(6 if source is Source.PHONE else 2), 0.5)
        created = received + timedelta(seconds=answering)
        log: list[tuple[datetime, NewEvent]] = []
        at = created

        def step(seconds: float, new: NewEvent) -> datetime:
            nonlocal at
            at += timedelta(seconds=seconds)
            log.append((at, new))
            return at

        def status(
            seconds: float, to: Status, was: Status, agencies: tuple[str, ...] = ()
        ) -> Status:
            change = StatusChanged(from_=was.value, to=to.value, agencies=agencies)
            step(seconds, event(change, actor=operator, cause="demo"))
            return to

        current = Status.RECEIVED
        if rng.random() < plan.cancelled:
            current = status(rng.uniform(20, 300), Status.CANCELLED, current)
            return self._history(
                district, category, source, received, created, log, current, operator
            )
        agencies = self._agencies(category, district)
        processing = rng.lognormvariate(math.log(35 * speed), 0.5)
        current = status(
            processing, Status.DISPATCHED, current, agencies=tuple(a for a, _, _ in agencies)
        )
        dispatched = at
        legs: list[tuple[datetime, str, AgencyKind, datetime | None]] = []
        for order, (agency, kind, targets) in enumerate(agencies):
            started = dispatched + timedelta(seconds=1 + order * 2)
            acked: datetime | None = None
            draw = rng.random()
            answered_on = (
                1
                if draw < plan.first_try
                else None
                if draw < plan.first_try + plan.unanswered
                else rng.randint(2, TRIES)
            )
            for number in range(1, TRIES + 1):
                begun = started + timedelta(seconds=(number - 1) * TRY_SECONDS)
                target = f"{agency}/{(number - 1) % max(1, targets) + 1}"
                log.append(
                    (
                        begun,
                        event(
                            Calling(agency=agency, target=target, number=number),
                            actor="system:worker",
                            cause="demo",
                        ),
                    )
                )
                if number == answered_on:
                    delay = min(
                        TRY_SECONDS - 1, rng.lognormvariate(math.log(plan.ack_median * speed), 0.5)
                    )
                    acked = begun + timedelta(seconds=delay)
                    log.append(
                        (
                            acked,
                            event(
                                Acknowledged(agency=agency, method="keypress"),
                                actor=f"responder:{agency}",
                                cause="demo",
                            ),
                        )
                    )
                    break
                log.append(
                    (
                        begun + timedelta(seconds=TRY_SECONDS),
                        event(
                            AttemptEnded(
                                agency=agency, number=number, outcome="no_answer", target=target
                            ),
                            actor="system:worker",
                            cause="demo",
                        ),
                    )
                )
            if acked is None:
                log.append(
                    (
                        started + timedelta(seconds=TRIES * TRY_SECONDS),
                        event(Unanswered(agency=agency), actor="system:worker", cause="demo"),
                    )
                )
            legs.append((started, agency, kind, acked))
        log.sort(key=lambda item: item[0])
        at = log[-1][0]
        acks = sorted(a for _, _, _, a in legs if a is not None)
        # the incident's status follows its agencies: ringing, then acknowledged or not
        current = self._statuses(log, current, dispatched, acks, operator)
        for _, agency, kind, acked in legs:
            if acked is None or kind not in IN_THE_FIELD or rng.random() >= plan.radio_status:
                continue
            en_route = acked + timedelta(seconds=rng.lognormvariate(math.log(70 * speed), 0.5))
            on_scene = en_route + timedelta(seconds=rng.lognormvariate(math.log(480 * speed), 0.5))
            if rng.random() < plan.skewed:  # recorded on scene before en route came in
                on_scene = en_route - (en_route - acked) * rng.uniform(0.1, 0.9)
            for when, means, number in (
                (en_route, "en_route", 32770),
                (on_scene, "on_scene", 32771),
            ):
                log.append(
                    (
                        when,
                        event(
                            RadioStatusReported(agency=agency, status=number, means=means),
                            actor=f"responder:{agency}",
                            cause="demo",
                        ),
                    )
                )
        log.sort(key=lambda item: item[0])
        at = max(at, log[-1][0])
        current = status(rng.lognormvariate(math.log(1800), 0.7), Status.RESOLVED, current)
        return self._history(district, category, source, received, created, log, current, operator)

    def _statuses(
        self,
        log: list[tuple[datetime, NewEvent]],
        current: Status,
        dispatched: datetime,
        acks: Sequence[datetime],
        operator: str,
    ) -> Status:
        def change(when: datetime, to: Status) -> None:
            nonlocal current
            log.append(
                (
                    when,
                    event(
                        StatusChanged(from_=current.value, to=to.value),
                        actor=operator,
                        cause="demo",
                    ),
                )
            )
            current = to

        change(dispatched + timedelta(seconds=1), Status.RINGING)
        if acks:
            change(acks[0], Status.ACKNOWLEDGED)
            if self.rng.random() < 0.7:
                change(acks[0] + timedelta(seconds=self.rng.uniform(3, 12)), Status.BRIDGED)
        else:
            change(log[-1][0], Status.UNANSWERED)
        log.sort(key=lambda item: item[0])
        return current

    def _agencies(self, category: str, district: str) -> list[tuple[str, AgencyKind, int]]:
        key = (category, district)
        if key not in self._plans:
            decision = decide(
                self.config,
                Facts(
                    category=category,
                    district=district,
                    priority=category_by_code(category).priority,
                    at=datetime(2026, 1, 1, 17, tzinfo=UTC),
                ),
            )
            self._plans[key] = [(p.agency, p.kind, len(p.targets)) for p in decision.plans]
        return self._plans[key]

    def _history(
        self,
        district: str,
        category: str,
        source: Source,
        received: datetime,
        created: datetime,
        log: list[tuple[datetime, NewEvent]],
        status: Status,
        actor: str,
    ) -> History:
        new = NewIncident(
            category=category,
            district=district,
            report=NewReport(source=source, text=f"demo: {category}", location=Location()),
        )
        return History(
            intake=Intake(new=new, actor=actor),
            received_at=received,
            created_at=created,
            events=log,
            status=status,
        )


def _spread(total: int, days: int) -> list[int]:
    """``total`` over ``days`` as evenly as whole numbers go."""
    base, extra = divmod(total, days)
    return [base + (1 if i < extra else 0) for i in range(days)]


def generate(
    store: IncidentStore,
    plan: YearPlan,
    config: RoutingConfig,
    *,
    batch: int = 2000,
    progress: Progress | None = None,
) -> int:
    """Store the year of ``plan``; how many incidents."""
    generator = YearGenerator(plan, config)
    stored = 0
    days = len(plan.days)
    for index in range(days):
        pending: list[History] = []
        for history in generator.histories(index):
            pending.append(history)
            if len(pending) >= batch:
                store.import_history(pending)
                stored += len(pending)
                pending = []
        if pending:
            store.import_history(pending)
            stored += len(pending)
        if progress is not None:
            progress(index + 1, days)
    return stored


# ---------------------------------------------------------------- the command


def add_parser(demo: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    year = demo.add_parser(
        "year",
        help="store a plausible year of Lima's incidents (for the analytics, the console "
        "and the benchmarks)",
    )
    defaults = YearPlan()
    year.add_argument(
        "--incidents",
        type=_count,
        default=defaults.incidents,
        help=f"how many (default: {defaults.incidents:,})",
    )
    year.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help=f"the same seed gives the same year (default: {defaults.seed})",
    )
    year.add_argument(
        "--first-month",
        type=_month,
        default=None,
        help="the year's first month, YYYY-MM (default: the 12 months before this one)",
    )


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 20_000_000:
        raise argparse.ArgumentTypeError(f"expected 1 to 20000000 incidents, got {text!r}")
    return int(text)


def _month(text: str) -> str:
    try:
        datetime.strptime(text, "%Y-%m")  # noqa: DTZ007 (a calendar month, no instant)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {text!r}") from None
    return text


def run(args: argparse.Namespace, settings: Settings) -> int:
    from voicebridge.cli_analytics import locked_progress
    from voicebridge.rules import read_rules_file
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings)
    try:
        first = args.first_month
        if first is None:
            today = runtime.clock.now().astimezone(LIMA).date()
            first = f"{today.year - 1:04d}-{today.month:02d}"
        plan = YearPlan(incidents=args.incidents, seed=args.seed, first_month=first)
        config = parse_config(*read_rules_file(settings.routing_file))
        # under the analytics' lock: a rollup meanwhile could roll a day before its
        # incidents are in (import_history unmarks the days it writes, but a rollup
        # reading a day before the import commits would mark it whole after)
        with locked_progress(runtime, "días") as told:
            stored = generate(runtime.store, plan, config, progress=told)
        print(f"{stored} incidents stored, {plan.days[0]} to {plan.days[-1]} (seed {plan.seed})")
        rollups = Rollups(runtime.db, clock=runtime.clock, targets=settings.analytics_targets)
        with locked_progress(runtime, "resumen") as told:
            report = rollups.roll(told)
        print(f"{report.days} day(s) rolled up for the analytics")
        return 0
    finally:
        runtime.close()
