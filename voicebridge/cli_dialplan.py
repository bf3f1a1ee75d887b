"""``voicebridge dialplan revisions | show N | diff A B | propose FILE | trial N |
switch N | rollback``: the dialplan templates' revisions from the command line (English;
the console says the same in Spanish). Trial, switch and rollback talk to Asterisk
(:mod:`voicebridge.dialplan_push`) and print its steps."""

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dialplans.templateset import EDITABLE, PARAMETERS, SUFFIX
from routing.errors import NotFound
from voicebridge.dialplan_admin import MAX_REVISION, Conflict, DialplanStore, Refused
from voicebridge.settings import Settings

if TYPE_CHECKING:
    from voicebridge.runtime import Runtime

COMMANDS = frozenset({"revisions", "show", "diff", "propose", "trial", "switch", "rollback"})


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The admin's commands, under ``voicebridge dialplan``."""
    listing = sub.add_parser("revisions", help="list the templates' revisions (* in force)")
    listing.add_argument("--template", choices=EDITABLE, help="only this template's")
    show = sub.add_parser("show", help="print a revision's content")
    show.add_argument("revision", type=_number)
    diff = sub.add_parser("diff", help="the unified diff from revision A to revision B")
    diff.add_argument("a", type=_number)
    diff.add_argument("b", type=_number)
    propose = sub.add_parser(
        "propose",
        help="validate a template (or the parameters) and save it as a new revision; "
        "nothing changes in Asterisk until a trial and a switch",
    )
    propose.add_argument("file", type=Path, help=f"<template>{SUFFIX} or {PARAMETERS}.yaml")
    propose.add_argument(
        "--template", choices=EDITABLE, help="the template (default: from the file's name)"
    )
    propose.add_argument(
        "--base",
        type=_number,
        required=True,
        help="the revision the file was edited from (voicebridge dialplan show N); "
        "refused if the template was saved since, with what changed",
    )
    propose.add_argument("--comment", default="", help="what changes and why")
    trial = sub.add_parser(
        "trial",
        help="load revision N with the rest in force into trial contexts of the live "
        "Asterisk and check Asterisk loaded every line (nothing live changes)",
    )
    trial.add_argument("revision", type=_number)
    switch = sub.add_parser(
        "switch", help="trial revision N, then put it live in one step and in force"
    )
    switch.add_argument("revision", type=_number)
    sub.add_parser(
        "rollback", help="put back the revision in force before the last switch or rollback"
    )


def _number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_REVISION:
        raise argparse.ArgumentTypeError(f"expected a revision number, got {text!r}")
    return int(text)


def template_of(path: Path) -> str | None:
    name = path.name.removesuffix(SUFFIX).removesuffix(".yaml").removesuffix(".yml")
    return name if name in EDITABLE else None


def run(args: argparse.Namespace, settings: Settings, *, origin: str = "") -> int:
    from voicebridge.runtime import open_runtime

    runtime = open_runtime(settings, origin=origin)
    try:
        store = runtime.dialplans
        store.seed()
        try:
            return _run(args, runtime, settings)
        except NotFound as exc:
            print(f"voicebridge: {exc}", file=sys.stderr)
            return 1
    finally:
        runtime.close()


def _run(args: argparse.Namespace, runtime: "Runtime", settings: Settings) -> int:
    command = args.dialplan_command
    store = runtime.dialplans
    if command == "revisions":
        in_force = set(store.pointers().values())
        for r in store.revisions(args.template):
            mark = "*" if r.id in in_force else " "
            print(
                f"{mark}{r.id}\t{r.template}\t{r.created_at:%Y-%m-%d %H:%M:%S}Z\t{r.author}\t"
                f"{r.comment}"
            )
        return 0
    if command == "show":
        print(store.get(args.revision).content, end="")
        return 0
    if command == "diff":
        print(store.diff(args.a, args.b), end="")
        return 0
    if command == "propose":
        return _propose(args, store, settings)
    return asyncio.run(_push(args, runtime))


def _propose(args: argparse.Namespace, store: DialplanStore, settings: Settings) -> int:
    from voicebridge.cli_asterisk import citizen_lines
    from voicebridge.dialplan_admin import checker

    template = args.template or template_of(args.file)
    if template is None:
        print(
            f"voicebridge: which template is {args.file.name}? name it <template>{SUFFIX} "
            f"or {PARAMETERS}.yaml, or give --template ({', '.join(EDITABLE)})",
            file=sys.stderr,
        )
        return 2
    try:
        content = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"voicebridge: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    base = args.base
    author = f"cli:{getpass.getuser()}"
    try:
        revision, created = store.propose(
            template,
            content,
            base=base,
            comment=args.comment,
            author=author,
            check=checker(citizen_lines(settings), room_prefix=settings.incident_prefix),
        )
    except Conflict as exc:
        print(f"voicebridge: refused: {exc}. What changed meanwhile:\n{exc.diff}", file=sys.stderr)
        return 1
    except Refused as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("voicebridge: refused: nothing was saved", file=sys.stderr)
        return 1
    if not created:
        print(f"revision {revision.id} of {template} is the same: nothing saved")
        return 0
    print(f"revision {revision.id} of {template} saved (not in force until a trial and a switch)")
    return 0


async def _push(args: argparse.Namespace, runtime: "Runtime") -> int:
    from voicebridge.blocking import Blocking
    from voicebridge.dialplan_push import PushError, connected_pusher

    actor = f"cli:{getpass.getuser()}"
    blocking = Blocking(2)
    try:
        async with connected_pusher(runtime, blocking) as pusher:
            if args.dialplan_command == "trial":
                outcome = await pusher.trial(args.revision, actor)
            elif args.dialplan_command == "switch":
                outcome = await pusher.switch(args.revision, actor)
            else:
                outcome = await pusher.rollback(actor)
    except PushError as exc:
        print(f"voicebridge: {exc}", file=sys.stderr)
        return 1
    finally:
        blocking.shutdown()
    for step in outcome.steps:
        print(step.en)
    for problem in outcome.problems:
        print(problem.en, file=sys.stderr)
    if not outcome.ok:
        print(
            f"voicebridge: the {args.dialplan_command} failed: the revisions in force did not "
            "change",
            file=sys.stderr,
        )
        return 1
    return 0
