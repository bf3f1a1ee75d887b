"""``voicebridge lines check`` and ``voicebridge lines list``: the responder lines of the
directory checked by a Spanish test call, and their last results.

The command records the checks in the service's database and wakes the service, whose
voice adapter places them (``serve`` with ``VOICEBRIDGE_AMI_URL``); then it waits for
their results (``--no-wait``: it does not)."""

import argparse
import getpass
import sys
import time
from collections.abc import Callable

from routing.linechecks import Check, LineStatus
from voicebridge.settings import Settings

COMMANDS = frozenset({"lines"})
WAIT_SECONDS = 120.0  # a check rings 20 s, its message plays twice: about a minute at most
POLL_SECONDS = 1.0


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    lines = sub.add_parser("lines", help="the responder lines and their checks").add_subparsers(
        dest="lines_command", required=True
    )
    check = lines.add_parser(
        "check", help="call lines now with a Spanish test message (1 confirms)"
    )
    which = check.add_mutually_exclusive_group()
    which.add_argument("--agency", metavar="CODE", help="every line of one agency (e.g. pnp)")
    which.add_argument("--line", metavar="TARGET", help="one line (e.g. pnp-miraflores/1)")
    check.add_argument("--no-wait", action="store_true", help="do not wait for the results")
    check.add_argument(
        "--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait for the results"
    )
    show = lines.add_parser("list", help="every line with its last check")
    show.add_argument("--agency", metavar="CODE")
    show.add_argument("--failing", action="store_true", help="only lines failing their checks")
    history = lines.add_parser("history", help="one line's checks, the newest first")
    history.add_argument("line", metavar="TARGET")


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    origin: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings, origin=origin)
    try:
        checks = runtime.linechecks
        config, _ = runtime.rules.current()
        agency = getattr(args, "agency", None)
        if agency is not None and agency not in config.agencies:
            known = ", ".join(sorted(config.agencies))
            print(f"no agency {agency!r} in the directory (known: {known})", file=sys.stderr)
            return 2
        if args.lines_command == "history":
            if not checks.lines(line=args.line):
                print(f"no phone line {args.line!r} in the directory", file=sys.stderr)
                return 2
            for c in checks.history(args.line):
                print(_check_line(c))
            return 0
        if args.lines_command == "list":
            statuses = checks.status(checks.lines(agency=agency))
            if args.failing:
                statuses = [s for s in statuses if s.failing]
            for s in statuses:
                print(_status_line(s))
            failing = sum(1 for s in statuses if s.failing)
            print(f"{len(statuses)} line(s), {failing} failing", file=sys.stderr)
            return 1 if failing else 0
        found = checks.lines(agency=agency, line=args.line)
        if not found:
            print(f"no phone line {args.line!r} in the directory", file=sys.stderr)
            return 2
        if settings.ami_url is None:
            print(
                "warning: VOICEBRIDGE_AMI_URL is not set: no serve places the checks",
                file=sys.stderr,
            )
        requested = checks.request(found, actor=f"cli:{getpass.getuser()}")
        runtime.wakeup.notify()
        refs = [r.check.ref for r in requested]
        for r in requested:
            if r.check.done:
                continue
            was = "" if r.new else " (already in progress)"
            print(f"{r.line.id}: calling {r.line.planned.target.address}{was}", file=sys.stderr)
        results = checks.get(refs)
        deadline = time.monotonic() + args.timeout
        while not args.no_wait and any(not c.done for c in results):
            if time.monotonic() > deadline:
                break
            sleep(POLL_SECONDS)
            results = checks.get(refs)
        for c in results:
            print(_check_line(c))
        if any(not c.done for c in results):
            if not args.no_wait:
                print("some checks have no result yet (see: voicebridge lines list)",
                      file=sys.stderr)  # fmt: skip
            return 0 if args.no_wait else 3
        return 1 if any(c.result is not None and c.result.failure for c in results) else 0
    finally:
        runtime.close()


def _when(c: Check) -> str:
    at = c.ended_at or c.created_at
    return at.strftime("%Y-%m-%d %H:%M:%SZ")


def _check_line(c: Check) -> str:
    result = c.result.label if c.result else "en curso"
    cause = f" ({c.cause})" if c.cause and c.result and c.cause != c.result.label else ""
    raised = " [avisado a la supervisión]" if c.raised else ""
    return f"{c.line}\t{c.number}\t{result}{cause}\t{_when(c)}{raised}"


def _status_line(s: LineStatus) -> str:
    last = "sin pruebas" if s.last is None else _check_line(s.last).split("\t", 2)[2]
    flag = f"FALLA ({s.failures} seguidas)\t" if s.failing else ""
    return f"{s.line.id}\t{s.line.planned.target.address}\t{flag}{last}\t{s.line.label}"
