"""``voicebridge dialplan render`` and ``voicebridge prompts build``: what Asterisk needs
from voicebridge, written out for an administrator to install."""

import argparse
import sys
from pathlib import Path

from dialplans.errors import DialplanError
from dialplans.render import DialplanParams, render_file
from voicebridge.errors import VoicebridgeError
from voicebridge.settings import Settings


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dialplan = sub.add_parser("dialplan", help="voicebridge's Asterisk contexts").add_subparsers(
        dest="dialplan_command", required=True
    )
    render = dialplan.add_parser(
        "render", help="write the contexts vb-ack and vb-room (extensions.conf syntax)"
    )
    render.add_argument("--out", type=Path, help="the file to write (default: standard output)")
    render.add_argument("--read-timeout", type=int, default=10, help="seconds to wait for a key")
    render.add_argument(
        "--max-repeats", type=int, default=3, help="plays of the message in all (9 repeats)"
    )
    prompts = sub.add_parser("prompts", help="the Spanish prompts").add_subparsers(
        dest="prompts_command", required=True
    )
    build = prompts.add_parser(
        "build", help="synthesise the prompts (espeak-ng and sox) as 8 kHz WAV files"
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path("var/sounds"),
        help="the sounds directory (files go to <out>/es/vb/; default: var/sounds)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "dialplan":
            return _render(args, settings)
        return _build(args)
    except DialplanError as exc:
        raise VoicebridgeError(str(exc)) from exc


def _render(args: argparse.Namespace, settings: Settings) -> int:
    params = DialplanParams(
        read_timeout=args.read_timeout,
        max_repeats=args.max_repeats,
        absolute_timeout=max(180, args.max_repeats * (25 + args.read_timeout) + 10),
        room_prefix=settings.incident_prefix,
    )
    text = render_file(params)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.out}: include it from extensions.conf (#include "
        f'"{args.out.name}") and run: asterisk -rx "dialplan reload"',
        file=sys.stderr,
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from dialplans.prompts import build_prompts

    written = build_prompts(args.out)
    folder = written[0].parent if written else args.out
    print(
        f"wrote {len(written)} prompts to {folder}: copy the folder to Asterisk's sounds "
        "directory (Debian: /usr/share/asterisk/sounds/es/vb)",
        file=sys.stderr,
    )
    return 0
