"""``voicebridge analytics``: the response-time analytics from the command line.

- ``analytics rebuild``: forget the summary rows and roll them again from the log, with
  a progress bar (after a change of the definitions, or to check them);
- ``analytics roll``: what the periodic job does (the days over and not rolled, the days
  whose incidents changed, their weeks and months);
- ``analytics report --month 2026-11 --out informe.pdf``: the monthly report (KPIs and
  charts; PDF, HTML, SVG or PNG);
- ``analytics show``: one interval's figures per period, grouped and filtered, as a
  table.
"""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from tqdm import tqdm

from routing.analytics import BY_CODE, GROUPS, Period, period_of_day
from routing.ids import lima_day
from routing.rollups import (
    Analytics,
    Progress,
    Rollups,
    days_of,
    previous_month,
)
from voicebridge.runtime import Runtime
from voicebridge.settings import Settings

COMMANDS = frozenset({"analytics"})


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    analytics = sub.add_parser(
        "analytics", help="response-time analytics: roll up, rebuild, show"
    ).add_subparsers(dest="analytics_command", required=True)
    analytics.add_parser("rebuild", help="recompute every summary row from the log")
    analytics.add_parser("roll", help="roll up what the periodic job would (days over, changes)")
    report = analytics.add_parser(
        "report", help="the monthly report: KPIs and charts as PDF, HTML, SVG or PNG"
    )
    report.add_argument("--month", type=_month, help="YYYY-MM (default: the month before this)")
    report.add_argument(
        "--out", type=Path, required=True, help="informe.pdf, informe.html, .svg or .png"
    )
    show = analytics.add_parser("show", help="an interval's figures per period, as a table")
    show.add_argument(
        "--interval", default="response", choices=list(BY_CODE), help="default: response"
    )
    show.add_argument(
        "--period", default="month", choices=[p.value for p in Period], help="default: month"
    )
    show.add_argument(
        "--from",
        dest="first",
        type=_period_name,
        help="first period (a month "
        "2026-01, a week 2026-W02 or a day 2026-01-05; default: 12 months ago)",
    )
    show.add_argument("--to", dest="last", type=_period_name, help="last period (default: now)")
    show.add_argument("--by", action="append", default=[], choices=GROUPS, help="group by")
    show.add_argument(
        "--where",
        action="append",
        default=[],
        type=_condition,
        metavar="DIMENSION=VALUE",
        help="only these (e.g. district=150132, agency=pnp)",
    )


def _period_name(text: str) -> date:
    for period in (Period.DAY, Period.WEEK, Period.MONTH):
        try:
            return days_of(period, text)[0]
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"expected 2026-11, 2026-W45 or 2026-11-03, got {text!r}")


def _month(text: str) -> str:
    try:
        days_of(Period.MONTH, text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {text!r}") from None
    return text


def _condition(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or name not in GROUPS:
        raise argparse.ArgumentTypeError(
            f"expected DIMENSION=VALUE with a dimension among {', '.join(GROUPS)}, got {text!r}"
        )
    return name, value


@contextmanager
def progress_bar(what: str, unit: str) -> Iterator[Progress]:
    """A :data:`~routing.rollups.Progress` drawn as a bar on standard error when it is a
    terminal (nothing otherwise: a log has the summary line)."""
    with tqdm(desc=what, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=None) as bar:

        def told(done: int, total: int) -> None:
            if bar.total != total:
                bar.reset(total=total)
            bar.update(done - bar.n)

        yield told


@contextmanager
def locked_progress(runtime: Runtime, what: str) -> Iterator[Progress]:
    """A progress bar over a rollup holding the analytics' lock (waiting for a rollup
    under way, the worker's say, to end first)."""
    from voicebridge.jobs import analytics_lock

    with analytics_lock(runtime.redis, wait=True) as keep, progress_bar(what, "día") as told:

        def both(done: int, total: int) -> None:
            if keep is not None:
                keep(done, total)
            told(done, total)

        yield both


def run(args: argparse.Namespace, settings: Settings, *, origin: str = "") -> int:
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings, origin=origin)
    try:
        targets = settings.analytics_targets
        if args.analytics_command in ("rebuild", "roll"):
            rollups = Rollups(runtime.db, clock=runtime.clock, targets=targets)
            with locked_progress(runtime, "días") as told:
                if args.analytics_command == "rebuild":
                    report = rollups.rebuild(told)
                else:
                    report = rollups.roll(told)
            print(
                f"{report.days} day(s) rolled ({report.incidents} incidents), "
                f"{report.weeks} week(s), {report.months} month(s)"
            )
            return 0
        analytics = Analytics(runtime.db, clock=runtime.clock, targets=targets)
        if args.analytics_command == "report":
            return _report(args, analytics, runtime, settings)
        return _show(args, analytics)
    finally:
        runtime.close()


def _report(
    args: argparse.Namespace, analytics: Analytics, runtime: Runtime, settings: Settings
) -> int:
    from voicebridge import report

    try:
        kind = report.kind_of(args.out)
    except ValueError as exc:
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 2
    month = args.month or previous_month(period_of_day(lima_day(runtime.clock.now()), Period.MONTH))
    config, _ = runtime.rules.current()
    data = report.gather(analytics, month, config, settings.analytics_goal)
    body = report.render(data, runtime.outlines, kind)
    args.out.write_bytes(body)
    print(f"{args.out}: {kind}, {len(body):,} bytes, {month}")
    return 0


def _show(args: argparse.Namespace, analytics: Analytics) -> int:
    interval = BY_CODE[args.interval]
    period = Period(args.period)
    today = lima_day(analytics.clock.now())
    last = args.last or today
    first = args.first or date(last.year - 1, last.month, 1)
    try:
        found = analytics.figures(
            interval, period=period, first=first, last=last, by=args.by, where=dict(args.where)
        )
    except ValueError as exc:
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 2
    target = analytics.targets.get(interval.code)
    head = [period.value, *args.by, "n", "excluded", "mean_s", "p50_s", "p90_s"]
    head += [f"within_{target}s"] if target is not None else []
    if interval.per_agency:
        head += ["first_try", "unanswered"]
    print("\t".join(head))
    for key, f in found.items():
        row = [*key, str(f.count), str(sum(f.excluded.values()))]
        row += [_number(f.mean), _number(f.median), _number(f.p90)]
        if target is not None:
            row.append(_share(f.within))
        if interval.per_agency:
            row += [_share(f.first_try_share), _share(f.unanswered_share)]
        print("\t".join(row))
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"
