"""``voicebridge tetra``: the radio's tools for a technician, and the radio simulator.

- ``tetra sds-encode --to ISSI --ref N TEXT`` prints the AT commands that send TEXT as an
  SDS-TL text (what a technician would type at the radio's PEI);
- ``tetra sds-decode HEX`` explains an SDS's user data field by field;
- ``tetra monitor`` shows the PEI traffic of the radio ``serve`` drives (it publishes it
  on Redis; the serial port stays ``serve``'s);
- ``fake-radio`` runs the radio simulator (``make run`` starts it without
  ``VOICEBRIDGE_TETRA_PEI``), with the routing file's radios on the air answering each
  alert with their agency's "received" status.
"""

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tetra import sds
from tetra.identity import IdentityError, Network, parse
from voicebridge.settings import Settings

if TYPE_CHECKING:
    from routing.config import RoutingConfig

COMMANDS = frozenset({"tetra", "fake-radio"})
PEI_CHANNEL = "voicebridge:pei"  # where serve publishes its radio's PEI traffic
FAKE_RADIO_FILE = Path("var/fake-radio.json")  # the fake radio's ports, for `demo radio`
CODINGS = {0x00: "7-bit packed (GSM 03.38)", 0x01: "ISO 8859-1", 0x1A: "UTF-16 (big-endian)"}
PIDS = {
    0x02: "simple text messaging",
    0x09: "simple immediate text messaging",
    0x82: "text messaging (SDS-TL)",
    0x89: "immediate text messaging (SDS-TL)",
    0x8A: "message with user data header (SDS-TL, a concatenated part)",
}


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    tetra = sub.add_parser("tetra", help="the TETRA radio: SDS tools and the PEI monitor")
    cmds = tetra.add_subparsers(dest="tetra_command", required=True)
    encode = cmds.add_parser("sds-encode", help="the AT commands that send a text by SDS")
    encode.add_argument("--to", required=True, metavar="ISSI", help="an ISSI, or a TSI")
    encode.add_argument("--ref", type=int, default=1, metavar="N", help="message reference")
    encode.add_argument(
        "--report",
        choices=[r.name.lower() for r in sds.ReportRequest],
        default="received",
        help="the delivery report asked for",
    )
    encode.add_argument("text")
    decode = cmds.add_parser("sds-decode", help="an SDS's user data, field by field")
    decode.add_argument("hex", help="the user data in hex (as +CTSDSR's second line)")
    decode.add_argument(
        "--service", type=int, choices=[12, 13], help="the AI service (default: guessed)"
    )
    cmds.add_parser("monitor", help="the PEI traffic of the radio serve drives, as it goes")
    fake = sub.add_parser("fake-radio", help="development: the radio simulator (PEI on TCP)")
    fake.add_argument("--port", type=int, default=0)
    fake.add_argument("--control-port", type=int, default=0)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "fake-radio":
        from voicebridge.fake_radio import serve_fake_radio

        return serve_fake_radio(settings, args.port, args.control_port, FAKE_RADIO_FILE)
    if args.tetra_command == "sds-encode":
        return _encode(args, settings)
    if args.tetra_command == "sds-decode":
        return _decode(args)
    return _monitor(settings)


def routing_config(settings: Settings) -> "RoutingConfig":
    """The routing file's configuration (the network, its radios and their plans)."""
    from routing.config import parse_config
    from voicebridge.rules import read_rules_file

    content, source = read_rules_file(settings.routing_file)
    return parse_config(content, source)


def home_network(settings: Settings) -> Network:
    config = routing_config(settings)
    return Network(config.centre.tetra.mcc, config.centre.tetra.mnc)


def _encode(args: argparse.Namespace, settings: Settings) -> int:
    home = home_network(settings)
    try:
        to = parse(args.to, home)
    except IdentityError as exc:
        print(f"voicebridge: --to: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.ref <= 255:
        print("voicebridge: --ref: a message reference is 0 to 255", file=sys.stderr)
        return 2
    report = sds.ReportRequest[args.report.upper()]
    identity, kind = to.pei(home)
    pdus = sds.text_messages(args.text, args.ref, report=report)
    print(f"AT+CTSDS=12,{kind},0,0,0")
    for pdu in pdus:
        print(f"AT+CMGS={identity},{sds.bits(pdu)}")
        print(f"{sds.hexed(sds.encode(pdu))}<Ctrl-Z>")
    coding = CODINGS.get(pdus[0].coding, str(pdus[0].coding))
    parts = f", in {len(pdus)} parts" if len(pdus) > 1 else ""
    print(f"# to {to} ({'ISSI' if kind == 0 else 'TSI'}), {coding}{parts}", file=sys.stderr)
    return 0


def _decode(args: argparse.Namespace) -> int:
    try:
        data = sds.unhexed(args.hex)
        service = args.service or (13 if len(data) == 2 else 12)
        pdu = sds.decode(service, data)
    except sds.SdsError as exc:
        print(f"voicebridge: not an SDS: {exc}", file=sys.stderr)
        return 2
    for name, value in explain(service, data, pdu):
        print(f"{name:<16}{value}")
    return 0


def explain(service: int, data: bytes, pdu: sds.Pdu) -> list[tuple[str, str]]:
    """The fields of ``pdu`` (decoded from ``data`` on AI ``service``), named."""
    rows = [("service", f"{service} ({'status' if service == 13 else 'SDS type 4'})")]
    rows.append(("length", f"{len(data)} bytes, {len(data) * 8} bits"))
    if isinstance(pdu, sds.Status):
        kind = "the network's own" if pdu.user else "pre-coded"
        rows.append(("status", f"{pdu.value} (0x{pdu.value:04X}, {kind})"))
        return rows
    if isinstance(pdu, sds.ShortReport):
        rows.append(("short report", pdu.kind.name.lower().replace("_", " ")))
        rows.append(("reference", f"{pdu.ref} (0x{pdu.ref:02X})"))
        return rows
    rows.append(("protocol", f"0x{pdu.pid:02X} {PIDS.get(pdu.pid, '')}".rstrip()))
    if isinstance(pdu, sds.Report | sds.Ack):
        what = "SDS-REPORT" if isinstance(pdu, sds.Report) else "SDS-ACK"
        rows.append(("message type", what))
        status = sds.Delivery(pdu.status).name if pdu.status in set(sds.Delivery) else "?"
        rows.append(
            ("delivery", f"0x{pdu.status:02X} {status.lower()} ({sds.delivery_kind(pdu.status)})")
        )
        rows.append(("reference", f"{pdu.ref} (0x{pdu.ref:02X})"))
        if isinstance(pdu, sds.Report):
            rows.append(("ack required", "yes" if pdu.ack_required else "no"))
        return rows
    if pdu.ref is not None:
        rows.append(("message type", "SDS-TRANSFER"))
        rows.append(("report asked", pdu.report.name.lower()))
        rows.append(("short report", "allowed" if pdu.short_report else "not allowed"))
        rows.append(("reference", f"{pdu.ref} (0x{pdu.ref:02X})"))
    if pdu.store_forward is not None:
        sf = pdu.store_forward
        rows.append(
            (
                "store/forward",
                f"validity {sf.validity}, address type {sf.address_type}, "
                f"address {sf.address.hex().upper() or '-'}",
            )
        )
    rows.append(("coding", f"0x{pdu.coding:02X} {CODINGS.get(pdu.coding, '')}".rstrip()))
    if pdu.timestamp is not None:
        t = pdu.timestamp
        rows.append(
            (
                "timestamp",
                f"{t.day:02d}/{t.month:02d} {t.hour:02d}:{t.minute:02d} "
                f"({'UTC' if t.utc else 'local time'})",
            )
        )
    if pdu.part is not None:
        p = pdu.part
        rows.append(("part", f"{p.seq} of {p.total}, concatenation reference {p.ref}"))
    rows.append(("text", f"«{pdu.text}» ({len(pdu.text)} characters)"))
    return rows


def _monitor(settings: Settings) -> int:
    from redis.asyncio import Redis

    async def follow() -> None:
        client = Redis.from_url(settings.redis_url)
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(PEI_CHANNEL)
                print(f"# the PEI traffic serve publishes on {PEI_CHANNEL} (Ctrl-C stops)",
                      file=sys.stderr)  # fmt: skip
                async for message in pubsub.listen():
                    try:
                        line = json.loads(message["data"])
                        print(f"{line['at']}  {line['dir']}  {line['text']}", flush=True)
                    except (ValueError, KeyError, TypeError):
                        continue
        finally:
            await client.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow())
    return 0
