"""The fake Asterisk of ``dispatch_latency`` and ``ivr_latency`` in a process of its own:
``python -m bench.fake_server PORT OUT [--citizen-lines]``. Every line answers and its
responder presses 1 after a second; with ``--citizen-lines`` the citizen IVR runs with the
shipped routing file's numbers. On SIGTERM it writes to OUT, one JSON object per line,
each Originate it received (its ChannelId, its VB_INCIDENT, its Context and when it
arrived) and each key a caller pressed on the IVR and each CitizenReport (the channel's
Uniqueid and when), all timed with ``time.monotonic()``, the clock every process of this
machine shares."""

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from dialplans.render import CitizenLine
from voicebridge.ami.sim import Behaviour, Endpoint, FakeAsterisk
from voicebridge.ami.sim.wire import Field


def citizen_lines() -> tuple[CitizenLine, ...]:
    from routing.config import parse_config
    from voicebridge.rules import read_rules_file

    content, source = read_rules_file(None)
    return CitizenLine.from_routing(parse_config(content, source).citizen_lines())


async def serve(port: int, out: Path, lines: tuple[CitizenLine, ...]) -> None:
    fake = FakeAsterisk(default=Endpoint(behaviour=Behaviour.PRESS, after=1.0), citizen_lines=lines)
    heard: list[dict[str, Any]] = []
    broadcast = fake.pbx.emit

    def recording(fields: list[Field]) -> None:
        event = dict(fields)
        name = event.get("Event")
        if name == "DTMFEnd" and event.get("Context", "").startswith("vb-citizen"):
            heard.append({"key": event["Uniqueid"], "at": asyncio.get_running_loop().time()})
        elif name == "UserEvent" and event.get("UserEvent") == "CitizenReport":
            heard.append({"report": event["Uniqueid"], "at": asyncio.get_running_loop().time()})
        broadcast(fields)

    fake.pbx.emit = recording  # every channel event passes here
    await fake.start(port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    records = []
    for received in fake.actions("Originate"):
        headers = dict(received.headers)
        variables = dict(
            v.split("=", 1) for k, v in received.headers if k == "Variable" and "=" in v
        )
        records.append(
            {
                "channel_id": headers.get("ChannelId", ""),
                "incident": variables.get("VB_INCIDENT", ""),
                "context": headers.get("Context", ""),
                "at": received.at,  # the loop's clock is time.monotonic()
            }
        )
    await fake.stop()
    text = "\n".join(json.dumps(r) for r in [*records, *heard]) + "\n"
    await asyncio.to_thread(out.write_text, text, encoding="utf-8")


def main() -> None:
    lines = citizen_lines() if "--citizen-lines" in sys.argv[3:] else ()
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2]), lines))


if __name__ == "__main__":
    main()
