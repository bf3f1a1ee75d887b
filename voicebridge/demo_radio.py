"""``voicebridge demo radio``: a responder's radio played through the radio simulator of a
running ``make run`` (``voicebridge fake-radio``, found by ``var/fake-radio.json``):

- ``demo radio status 2001 32770``: radio 2001 sends the status 32770 ("en camino" in
  Lima's plan) to the centre's radio;
- ``demo radio text 2001 recibido``: it sends a text;
- ``demo radio sent``: what the centre's radio sent (the alerts, the reports).

An incident whose serenazgo radio is alerted is acknowledged by the radio's own answer
(the fake's radios answer each alert with their agency's "received" status after 5 s);
these commands play the rest: en route, on scene, a text.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from voicebridge.cli_channels import Failed
from voicebridge.cli_tetra import FAKE_RADIO_FILE


def add_parser(demo: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    radio = demo.add_parser(
        "radio", help="a responder's radio sends a status or a text to the centre's radio"
    ).add_subparsers(dest="radio_command", required=True)
    status = radio.add_parser("status", help="a radio sends a status number")
    status.add_argument("ssi", type=_ssi, metavar="ISSI", help="the radio, e.g. 2001")
    status.add_argument("value", type=_status, metavar="STATUS", help="e.g. 32770 (en camino)")
    text = radio.add_parser("text", help="a radio sends a text")
    text.add_argument("ssi", type=_ssi, metavar="ISSI")
    text.add_argument("words", nargs="+", metavar="TEXT", help="e.g. recibido")
    radio.add_parser("sent", help="what the centre's radio sent")


def _ssi(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 0xFFFFFF:
        raise argparse.ArgumentTypeError(f"expected a radio's ISSI (1 to 16777215), got {text!r}")
    return int(text)


def _status(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"expected a status number (0 to 65535), got {text!r}")
    return int(text)


def fake_radio(path: Path = FAKE_RADIO_FILE) -> str:
    """The control URL of the fake radio ``make run`` started."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        return f"http://127.0.0.1:{int(found['control'])}"
    except (OSError, ValueError, KeyError, TypeError):
        raise Failed(
            f"no fake radio is running ({path} is not there): make run starts one when "
            "VOICEBRIDGE_TETRA_PEI is not set"
        ) from None


def run(args: argparse.Namespace) -> int:
    from voicebridge.demo import control

    url = fake_radio()
    if args.radio_command == "sent":
        for item in control(url, "/sent", name="the fake radio"):
            print(f"to {item['to']}: {item['text'] or item['pdu']}")
        return 0
    body: dict[str, Any]
    if args.radio_command == "status":
        body, path, said = {"value": args.value}, f"/radios/{args.ssi}/status", str(args.value)
    else:
        said = " ".join(args.words)
        body, path = {"text": said}, f"/radios/{args.ssi}/text"
    result = control(url, path, body, name="the fake radio")
    verb = "status" if args.radio_command == "status" else "text"
    if result.get("delivered"):
        print(f"radio {args.ssi} -> the centre's radio: {verb} {said}")
        return 0
    print(
        f"radio {args.ssi}: {verb} {said} not delivered (the centre's radio is not "
        "connected, or did not ask for it)"
    )
    return 1
