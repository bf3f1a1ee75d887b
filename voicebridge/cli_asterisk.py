"""``voicebridge dialplan render`` and ``voicebridge prompts build``: what Asterisk needs
from voicebridge, written out for an administrator to install; ``voicebridge
fake-asterisk``: the fake Asterisk of the tests as a server, for the demo of ``make run``
when no Asterisk is configured."""

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from dialplans.errors import DialplanError
from dialplans.render import CitizenLine, DialplanParams, render_file
from routing.config import ConfigError
from voicebridge import cli_dialplan
from voicebridge.errors import StdoutFailed, VoicebridgeError
from voicebridge.settings import Settings


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dialplan = sub.add_parser("dialplan", help="voicebridge's Asterisk contexts").add_subparsers(
        dest="dialplan_command", required=True
    )
    render = dialplan.add_parser(
        "render",
        help="write the contexts vb-ack, vb-room, the line check vb-check and the citizen IVR "
        "vb-citizen (with the routing file's citizens' numbers), in extensions.conf syntax",
    )
    render.add_argument("--out", type=Path, help="the file to write (default: standard output)")
    render.add_argument(
        "--parents", action="store_true", help="create the missing directories of --out"
    )
    render.add_argument("--read-timeout", type=int, default=10, help="seconds to wait for a key")
    render.add_argument(
        "--max-repeats", type=int, default=3, help="plays of the message in all (9 repeats)"
    )
    cli_dialplan.add_parsers(dialplan)
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
    build.add_argument(
        "--parents", action="store_true", help="create the missing directories above --out"
    )
    fake = sub.add_parser(
        "fake-asterisk",
        help="development: an AMI server that plays Asterisk 22 (no real calls are made)",
    )
    fake.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    fake.add_argument("--port", type=_port, default=5038, help="the AMI port (default: 5038)")
    fake.add_argument(
        "--press-after",
        type=_seconds,
        default=4.0,
        help="seconds after answering before each responder presses 1 (default: 4)",
    )


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port, 0 to 65535, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    """A delay: a finite number of seconds, 0 to an hour."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # NaN and infinities fail this too
        raise argparse.ArgumentTypeError(f"expected seconds, 0 to 3600, got {text!r}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "fake-asterisk":
        try:
            lines = citizen_lines(settings)
        except ConfigError as exc:  # serve says what is wrong with it
            print(
                f"fake Asterisk: the routing file does not validate ({exc.source}): the "
                "citizen IVR runs without its numbers",
                file=sys.stderr,
            )
            lines = ()
        asyncio.run(_fake_asterisk(args, lines))
        return 0
    try:
        if args.command == "dialplan":
            return _render(args, settings)
        return _build(args)
    except DialplanError as exc:
        raise VoicebridgeError(str(exc)) from exc
    except OSError as exc:
        if args.out is None:  # standard output
            raise
        # writing --out failed: a folder that cannot be made, a file that is a folder, a
        # file that refuses writes (/proc/version: EIO), a full disk
        culprit = (
            ""
            if exc.filename is None or str(exc.filename) == str(args.out)
            else f" ({exc.filename})"
        )
        reason = exc.strerror or type(exc).__name__
        print(f"voicebridge: cannot write {args.out}: {reason}{culprit}", file=sys.stderr)
        return 1
    except _NoFolder as exc:
        print(f"voicebridge: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1


class _NoFolder(Exception):
    """The folder ``--out`` goes in is not there (and ``--parents`` was not given)."""


def _folder(folder: Path, parents: bool) -> None:
    """``folder`` exists, or is created with ``parents``; never created silently."""
    if folder.is_dir():
        return
    if folder.exists():
        raise _NoFolder(f"{folder} is not a directory")
    if not parents:
        raise _NoFolder(f"there is no directory {folder} (create it, or add --parents)")
    folder.mkdir(parents=True, exist_ok=True)


def citizen_lines(settings: Settings) -> tuple[CitizenLine, ...]:
    """The routing file's citizens' numbers (ConfigError, exit 2, names its problems)."""
    from routing.config import parse_config
    from voicebridge.rules import read_rules_file

    content, source = read_rules_file(settings.routing_file)
    return CitizenLine.from_routing(parse_config(content, source).citizen_lines())


def _render(args: argparse.Namespace, settings: Settings) -> int:
    params = DialplanParams(
        read_timeout=args.read_timeout,
        max_repeats=args.max_repeats,
        absolute_timeout=max(180, args.max_repeats * (25 + args.read_timeout) + 10),
        room_prefix=settings.incident_prefix,
        citizen_lines=citizen_lines(settings),
    )
    text = render_file(params)
    if args.out is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:  # > /dev/full: the same line as main's after a flush
            raise StdoutFailed(exc) from None
        return 0
    _folder(args.out.parent, args.parents)
    args.out.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.out}: include it from extensions.conf (#include "
        f'"{args.out.name}") and run: asterisk -rx "dialplan reload"',
        file=sys.stderr,
    )
    return 0


def _build(args: argparse.Namespace) -> int:
    from dialplans.prompts import build_prompts

    _folder(args.out.parent, args.parents)  # --out itself and <out>/es/vb are made
    written = build_prompts(args.out)
    folder = written[0].parent if written else args.out
    print(
        f"wrote {len(written)} prompts to {folder}: copy the folder to Asterisk's sounds "
        "directory (Debian: /usr/share/asterisk/sounds/es/vb)",
        file=sys.stderr,
    )
    return 0


async def _fake_asterisk(args: argparse.Namespace, lines: tuple[CitizenLine, ...]) -> None:
    """Serve until SIGINT or SIGTERM. Every line answers; whoever hears voicebridge's
    prompt presses 1 ``--press-after`` seconds after answering (the lab's dial strings,
    ``Local/s@epr-busy-sim`` and the others, behave as their names say). The citizen IVR
    runs with the routing file's citizens' numbers."""
    from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk

    fake = FakeAsterisk(
        default=Endpoint(behaviour=Behaviour.PRESS, after=args.press_after), citizen_lines=lines
    )
    try:
        await fake.start(args.host, args.port)
    except OSError as exc:
        raise VoicebridgeError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    print(
        f"fake Asterisk: AMI on {args.host}:{fake.port} (user voicebridge, secret "
        "voicebridge); no real calls are made",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()
