"""``voicebridge routing ...``, ``voicebridge route explain`` and
``voicebridge districts locate``."""

import argparse
import getpass
import sys
from pathlib import Path

from routing.config import ConfigError, parse_config
from routing.errors import NotFound
from routing.geo import Outlines
from routing.resolve import describe
from voicebridge.dispatch import Explanation
from voicebridge.rules import read_rules_file
from voicebridge.settings import Settings


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rules = sub.add_parser("routing", help="the routing rules").add_subparsers(
        dest="routing_command", required=True
    )
    check = rules.add_parser("check", help="validate a routing file (default: the configured)")
    check.add_argument("file", nargs="?", type=Path)
    rules.add_parser("reload", help="validate the configured file and put it in force")
    rules.add_parser("revisions", help="list the revisions of the rules")
    show = rules.add_parser("show", help="print a revision's content and its diff")
    show.add_argument("revision", type=_revision_number)

    route = sub.add_parser("route", help="routing of an incident").add_subparsers(
        dest="route_command", required=True
    )
    explain = route.add_parser("explain", help="which rules matched, why each target")
    explain.add_argument("incident_id")

    districts = sub.add_parser("districts", help="districts of Lima Metropolitana").add_subparsers(
        dest="districts_command", required=True
    )
    locate = districts.add_parser("locate", help="the district of a point (exit 1: outside)")
    locate.add_argument("lat", type=float)
    locate.add_argument("lon", type=float)


# the largest id a revision can have (a 64-bit signed integer, SQLite's and PostgreSQL's)
MAX_REVISION = 2**63 - 1


def _revision_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"expected a revision number (digits), got {text!r}")
    return int(text)


def run(args: argparse.Namespace, settings: Settings, *, origin: str = "") -> int:
    """``origin``: where the database URL came from, for messages."""
    if args.command == "routing" and args.routing_command == "check":
        return _check(args.file or settings.routing_file)
    if args.command == "districts":  # no database needed
        outlines = (
            Outlines.from_geojson(settings.districts_file)
            if settings.districts_file is not None
            else Outlines.bundled()
        )
        place = outlines.locate(args.lat, args.lon)
        print(describe(place))
        return 0 if place.in_lima else 1
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings, origin=origin)
    try:
        if args.command == "route":
            print_explanation(runtime.dispatcher.explain(args.incident_id))
            return 0
        revisions = runtime.rules.revisions
        if args.routing_command == "reload":
            try:
                revision, changed = runtime.rules.load_file(actor=f"cli:{getpass.getuser()}")
            except ConfigError as exc:
                print("\n".join(exc.lines()), file=sys.stderr)
                print("the rules in force did not change", file=sys.stderr)
                return 1
            print(f"revision {revision.id} in force" + ("" if changed else " (unchanged)"))
        elif args.routing_command == "revisions":
            for r in revisions.history():
                print(
                    f"{r.id}\t{r.created_at:%Y-%m-%d %H:%M:%S}Z\t{r.actor}\t{r.source}\t"
                    f"{r.digest[:12]}"
                )
        elif args.routing_command == "show":
            try:
                if not 1 <= args.revision <= MAX_REVISION:
                    raise NotFound(str(args.revision))
                r = revisions.get(args.revision)
            except NotFound:
                print(
                    f"voicebridge: no revision {args.revision} of the rules "
                    "(they are listed by: voicebridge routing revisions)",
                    file=sys.stderr,
                )
                return 1
            print(r.content, end="")
            print(f"\n# --- diff from the revision before ---\n{r.diff}", end="")
        return 0
    finally:
        runtime.close()


def _check(path: Path | None) -> int:
    try:
        content, source = read_rules_file(path)
        config = parse_config(content, source)
    except ConfigError as exc:
        print("\n".join(exc.lines()), file=sys.stderr)
        return 1
    stations = sum(len(a.stations) for a in config.agencies.values())
    print(
        f"{source}: valid ({len(config.agencies)} agencies, {stations} stations, "
        f"{len(config.rules)} rules)"
    )
    return 0


def print_explanation(e: Explanation) -> None:
    d = e.decision
    incident = e.incident
    state = (
        f"despachado con la revisión {e.revision} de las reglas"
        if e.frozen
        else f"no despachado; con las reglas en vigor (revisión {e.revision})"
    )
    print(f"{incident.id} ({incident.category}, distrito {incident.district}): {state}")
    for reason in d.reasons:
        print(f"  {reason}")
    for plan in d.plans:
        print(f"\n  {plan.priority}. {plan.agency_name} [{plan.agency}]")
        for reason in plan.reasons:
            print(f"     {reason}")
        for n, planned in enumerate(plan.targets, 1):
            t = planned.target
            print(
                f"     destino {n}: {t.label or t.id} ({t.kind.value} {t.address}) "
                f"— {planned.station_name}"
            )
